"""`if self.training:` statements whose training arm calls a custom autograd.Function.

The analysis reads `self.training` as False in statements (the inference path: LayerDrop's random
skip and noise injection stay out of the rules). A module that computes the same values through a
`torch.autograd.Function` in training (4.56 BLOOM's `BloomGelu`: `GeLUFunction.apply(x)` if
`self.training` else `bloom_gelu_forward(x)`) saves different tensors for backward in the two modes,
so there the statement forks on the workload fact `training` (eval --mode train binds it true): both
arms are priced, each under its condition.

`if self.gradient_checkpointing and self.training [and ...]:` is true in a step with
gradient_checkpointing_enable() (which implies model.train()). The analysis reads it as false, except
in a derivation for that step (`checkpointing`: a fixed fact, keyed apart in the derived-rule cache,
suggest/derive.py), where the test is its other operands: recurrent_gemma 4.56's model then sets
`use_cache = False` and sets up no attention window. An arm that checkpoints a call itself
(`self._gradient_checkpointing_func`, `torch.utils.checkpoint.checkpoint`, a nested custom forward)
keeps the plain reading (interp/ckpt_calls.py prices the other arm as checkpointed).
"""

from __future__ import annotations

from typing import Any

from astroid import nodes


CHECKPOINT_CALLS = frozenset(("_gradient_checkpointing_func", "checkpoint"))
"""Callees that checkpoint a call themselves: an arm that calls one keeps the plain reading of the test."""


def training_test(test: Any) -> bool | None:
    """True for `self.training`, False for `not self.training`, None for any other test."""
    negated = isinstance(test, nodes.UnaryOp) and test.op == "not"
    if negated:
        test = test.operand
    if self_attr(test, "training"):
        return not negated
    return None


def self_attr(node: Any, name: str) -> bool:
    """Whether `node` reads `self.<name>`."""
    return isinstance(node, nodes.Attribute) and node.attrname == name and isinstance(node.expr, nodes.Name) and node.expr.name == "self"


def checkpoint_test(stmt: nodes.If) -> list | None:
    """The other operands of `if self.gradient_checkpointing and self.training and ...:` (an empty list
    for just the two); None for any other test, or where an arm checkpoints a call itself."""
    test = stmt.test
    if not isinstance(test, nodes.BoolOp) or test.op != "and":
        return None
    gc = [v for v in test.values if self_attr(v, "gradient_checkpointing")]
    train = [v for v in test.values if self_attr(v, "training")]
    if not gc or not train:
        return None
    for node in (*stmt.body, *stmt.orelse):
        if any(True for _ in node.nodes_of_class((nodes.FunctionDef, nodes.Lambda))):
            return None
        for call in node.nodes_of_class(nodes.Call):
            func = call.func
            name = func.attrname if isinstance(func, nodes.Attribute) else func.name if isinstance(func, nodes.Name) else None
            if name in CHECKPOINT_CALLS:
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


def cache_off_in_training(module: Any) -> bool:
    """Whether a module's source defaults `use_cache` through a `... if not self.training else ...` test
    (Mamba's, RWKV's and xLSTM's `use_cache if use_cache is not None else (self.config.use_cache if not
    self.training else False)`): a train step, which passes no use_cache, then runs without a cache."""
    for assign in module.nodes_of_class(nodes.Assign):
        if not any(isinstance(t, nodes.AssignName) and t.name == "use_cache" for t in assign.targets):
            continue
        if any(training_test(e.test) is not None for e in assign.value.nodes_of_class(nodes.IfExp)):
            return True
    return False
