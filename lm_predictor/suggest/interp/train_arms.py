"""`if self.training:` statements whose training arm calls a custom autograd.Function.

The analysis reads `self.training` as False in statements (the inference path: LayerDrop's random
skip and noise injection stay out of the rules). A module that computes the same values through a
`torch.autograd.Function` in training (4.56 BLOOM's `BloomGelu`: `GeLUFunction.apply(x)` if
`self.training` else `bloom_gelu_forward(x)`) saves different tensors for backward in the two modes,
so there the statement forks on the workload fact `training` (eval --mode train binds it true): both
arms are priced, each under its condition.

`if self.gradient_checkpointing and self.training [and ...]:` is true in a step with
gradient_checkpointing_enable() (which implies train mode): the statement forks on the workload fact
`gradient_checkpointing` (eval --mode train --grad-checkpointing binds it), so the arm that turns the
cache off (recurrent_gemma: `use_cache = False`, and no attention window set up) is priced there. An
`if` that hands a module to `self._gradient_checkpointing_func` keeps reading the test as false
(interp/ckpt_calls.py prices its plain arm as checkpointed).
"""

from __future__ import annotations

from typing import Any

from astroid import nodes

from lm_predictor.suggest.values import GRADIENT_CHECKPOINTING

CHECKPOINT_FUNC = "_gradient_checkpointing_func"


def training_test(test: Any) -> bool | None:
    """True for `self.training`, False for `not self.training`, None for any other test."""
    negated = isinstance(test, nodes.UnaryOp) and test.op == "not"
    if negated:
        test = test.operand
    if _self_attr(test, "training"):
        return not negated
    return None


def _self_attr(node: Any, name: str) -> bool:
    """Whether `node` reads `self.<name>`."""
    return isinstance(node, nodes.Attribute) and node.attrname == name and isinstance(node.expr, nodes.Name) and node.expr.name == "self"


def checkpoint_test(stmt: nodes.If) -> list | None:
    """The other operands of `if self.gradient_checkpointing and self.training and ...:` (an empty list
    for just the two); None for any other test, or where an arm calls `self._gradient_checkpointing_func`."""
    test = stmt.test
    if not isinstance(test, nodes.BoolOp) or test.op != "and":
        return None
    gc = [v for v in test.values if _self_attr(v, GRADIENT_CHECKPOINTING)]
    train = [v for v in test.values if _self_attr(v, "training")]
    if not gc or not train:
        return None
    for arm in (stmt.body, stmt.orelse):
        for node in arm:
            if any(isinstance(c.func, nodes.Attribute) and c.func.attrname == CHECKPOINT_FUNC for c in node.nodes_of_class(nodes.Call)):
                return None
    return [v for v in test.values if v not in gc and v not in train]


def apply_receivers(stmts: list) -> list:
    """The receivers `F` of the `F.apply(...)` calls in `stmts` (a Name or an Attribute chain of names)."""
    found = []
    for stmt in stmts:
        for call in stmt.nodes_of_class(nodes.Call):
            func = call.func
            if isinstance(func, nodes.Attribute) and func.attrname == "apply" and isinstance(func.expr, (nodes.Name, nodes.Attribute)):
                found.append(func.expr)
    return found
