"""The formula Visitor base: one method per node type, a default for the rest, one table per subclass."""

from __future__ import annotations

import pytest

from lm_predictor.formula import nodes as n
from lm_predictor.formula.parser import parse_formula
from lm_predictor.formula.visitor import METHOD_NAMES, Visitor


class CountParams(Visitor):
    """Counts `${...}` references; every other node just visits its children."""

    def __default__(self, node: n.Node) -> int:
        return sum(self.visit(child) for child in n.children(node))

    def param(self, node: n.Param) -> int:
        return 1 + (self.visit(node.default) if node.default is not None else 0)


class Strict(Visitor):
    """Handles numbers only; the base default refuses the rest."""

    def number(self, node: n.Number) -> str:
        return "number"


def test_every_node_type_has_a_method_name():
    assert set(METHOD_NAMES) == set(n.Node.__args__)


def test_overridden_method_and_default():
    # ${a} twice, ${b}, and ${c} inside b's inline default: 4 references
    assert CountParams().visit(parse_formula("${a} * (if defined(a) then ${b:-${c} + 1} else ${a}) + max(2, 3)")) == 4


def test_tables_are_per_subclass():
    assert Strict().visit(parse_formula("7")) == "number"
    with pytest.raises(TypeError, match="not a formula node"):
        Strict().visit(parse_formula("true"))
    assert CountParams().visit(parse_formula("7")) == 0  # Strict's `number` did not leak into CountParams
