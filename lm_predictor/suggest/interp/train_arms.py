"""`if self.training:` statements whose training arm calls a custom autograd.Function.

The analysis reads `self.training` as False in statements (the inference path: LayerDrop's random
skip and noise injection stay out of the rules). A module that computes the same values through a
`torch.autograd.Function` in training (4.56 BLOOM's `BloomGelu`: `GeLUFunction.apply(x)` if
`self.training` else `bloom_gelu_forward(x)`) saves different tensors for backward in the two modes,
so there the statement forks on the workload fact `training` (eval --mode train binds it true): both
arms are priced, each under its condition.
"""

from __future__ import annotations

from typing import Any

from astroid import nodes


def training_test(test: Any) -> bool | None:
    """True for `self.training`, False for `not self.training`, None for any other test."""
    negated = isinstance(test, nodes.UnaryOp) and test.op == "not"
    if negated:
        test = test.operand
    if isinstance(test, nodes.Attribute) and test.attrname == "training" and isinstance(test.expr, nodes.Name) and test.expr.name == "self":
        return not negated
    return None


def apply_receivers(stmts: list) -> list:
    """The receivers `F` of the `F.apply(...)` calls in `stmts` (a Name or an Attribute chain of names)."""
    found = []
    for stmt in stmts:
        for call in stmt.nodes_of_class(nodes.Call):
            func = call.func
            if isinstance(func, nodes.Attribute) and func.attrname == "apply" and isinstance(func.expr, (nodes.Name, nodes.Attribute)):
                found.append(func.expr)
    return found
