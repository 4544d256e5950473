"""Module calls a model checkpoints itself through `self._gradient_checkpointing_func`.

Before transformers' GradientCheckpointingLayer, a model checkpointed its blocks in its own loop
(4.56's xLSTMModel):

    if self.gradient_checkpointing and self.training:
        hidden_states, rnn_state = self._gradient_checkpointing_func(xlstm_block.__call__, hidden_states, ...)
    else:
        hidden_states, rnn_state = xlstm_block(hidden_states, state=...)

The analysis runs in eval mode and follows the `else` arm, so the block call it prices is the plain
one. `checkpointed_by_func` tells, from the syntax, that the other arm hands the same module to
`_gradient_checkpointing_func`: with gradient_checkpointing_enable() that call is recomputed in
backward exactly as a GradientCheckpointingLayer is (the same `_gradient_checkpointing_func`).
"""

from __future__ import annotations

from typing import Any

from astroid import nodes

CHECKPOINT_FUNC = "_gradient_checkpointing_func"


def _callee_name(call: nodes.Call) -> str | None:
    """The local name a module call goes through: `block(...)` or `block.__call__(...)` / `block.forward(...)`."""
    func = call.func
    if isinstance(func, nodes.Attribute) and func.attrname in ("__call__", "forward"):
        func = func.expr
    return func.name if isinstance(func, nodes.Name) else None


def _hands_to_checkpoint(stmts: list, name: str) -> bool:
    """Whether `stmts` call `self._gradient_checkpointing_func(<name> | <name>.__call__ | <name>.forward, ...)`."""
    for stmt in stmts:
        for call in stmt.nodes_of_class(nodes.Call):
            func = call.func
            if isinstance(func, nodes.Attribute) and func.attrname == CHECKPOINT_FUNC and call.args:
                first = call.args[0]
                if isinstance(first, nodes.Attribute) and first.attrname in ("__call__", "forward"):
                    first = first.expr
                if isinstance(first, nodes.Name) and first.name == name:
                    return True
    return False


def checkpointed_by_func(node: Any) -> bool:
    """Whether the module call `node` is the plain arm of an `if` whose other arm checkpoints the same
    module through `self._gradient_checkpointing_func`."""
    if not isinstance(node, nodes.Call):
        return False
    name = _callee_name(node)
    if name is None:
        return False
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, (nodes.FunctionDef, nodes.ClassDef, nodes.Module)):
        if isinstance(parent, nodes.If):
            other = parent.body if child in parent.orelse else parent.orelse if child in parent.body else None
            if other and _hands_to_checkpoint(other, name):
                return True
        child, parent = parent, parent.parent
    return False
