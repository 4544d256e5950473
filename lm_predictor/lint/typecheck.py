"""Static types of formula nodes: what a formula yields, and where a bool meets a number."""

from __future__ import annotations

from typing import Callable

from lm_predictor import diagnostics as d
from lm_predictor.formula import nodes as n
from lm_predictor.formula.visitor import Visitor
from lm_predictor.rules.model import Rule

BOOL, NUMBER, UNKNOWN = "bool", "number", "unknown"

Report = Callable[[d.Code, n.Span, dict], None]


def _param_type(rule: Rule, name: str) -> str:
    spec = rule.params.get(name)
    if spec is None:
        return UNKNOWN
    return BOOL if spec.type == "bool" else NUMBER


class TypeInference(Visitor):
    """The static type of each node of one rule's formula; misuse goes to `report`."""

    def __init__(self, rule: Rule, report: Report):
        self.rule = rule
        self.report = report

    def need(self, child: n.Node, want: str, op: str) -> None:
        """Infer `child`, reporting it when it is the other kind than `want`."""
        got = self.visit(child)
        if want == NUMBER and got == BOOL:
            self.report(d.L_BOOL_ARITHMETIC, child.span, {"what": _describe(child), "op": op})
        elif want == BOOL and got == NUMBER:
            self.report(d.L_NUMBER_CONDITION, child.span, {"what": _describe(child), "op": op})

    def __default__(self, node: n.Node) -> str:
        return UNKNOWN

    def number(self, node: n.Number) -> str:
        return NUMBER

    def boolean(self, node: n.Bool | n.Defined) -> str:
        return BOOL

    defined = boolean

    def param(self, node: n.Param) -> str:
        declared = _param_type(self.rule, node.name)
        if node.default is None:
            return declared
        fallback = self.visit(node.default)
        if declared != UNKNOWN and fallback not in (UNKNOWN, declared):
            self.report(d.L_BOOL_ARITHMETIC if declared == NUMBER else d.L_NUMBER_CONDITION, node.default.span,
                        {"what": "the inline default", "op": f"${{{node.name}}}"})
        return declared if declared != UNKNOWN else fallback

    def unary(self, node: n.Unary) -> str:
        if node.op == "not":
            self.need(node.operand, BOOL, "not")
            return BOOL
        self.need(node.operand, NUMBER, node.op)
        return NUMBER

    def binary(self, node: n.Binary) -> str:
        if node.op in n.BOOLEAN_OPS:
            self.need(node.left, BOOL, node.op)
            self.need(node.right, BOOL, node.op)
            return BOOL
        if node.op in ("==", "!="):
            left, right = self.visit(node.left), self.visit(node.right)
            if UNKNOWN not in (left, right) and left != right:
                bad = node.left if left == BOOL else node.right
                self.report(d.L_BOOL_ARITHMETIC, bad.span, {"what": _describe(bad), "op": node.op})
            return BOOL
        self.need(node.left, NUMBER, node.op)
        self.need(node.right, NUMBER, node.op)
        return BOOL if node.op in n.COMPARISON_OPS else NUMBER

    def conditional(self, node: n.Conditional) -> str:
        self.need(node.test, BOOL, "if")
        then, otherwise = self.visit(node.then), self.visit(node.otherwise)
        if UNKNOWN not in (then, otherwise) and then != otherwise:
            self.report(d.L_BOOL_ARITHMETIC, node.span, {"what": "one branch of the conditional", "op": "if"})
        return then if then == otherwise else UNKNOWN

    def function_call(self, node: n.Function) -> str:
        for arg in node.args:
            self.need(arg, NUMBER, f"{node.name}()")
        return NUMBER

    def call(self, node: n.Call) -> str:
        for arg in node.args:
            self.visit(arg.value)
        return NUMBER


def infer(node: n.Node, rule: Rule, report: Report) -> str:
    """The static type of `node`, reporting bool/number misuse below it."""
    return TypeInference(rule, report).visit(node)


def _describe(node: n.Node) -> str:
    if isinstance(node, n.Param):
        return f"'${{{node.name}}}'"
    if isinstance(node, n.Literal):
        return f"the literal {str(node.value).lower()}"
    if isinstance(node, n.Call):
        return f"the call to {node.callee}"
    return "this expression"
