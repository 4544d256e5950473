"""Static types of formula nodes: what a formula yields, and where a bool meets a number."""

from __future__ import annotations

from typing import Callable

from lm_predictor import diagnostics as d
from lm_predictor.formula import nodes as n
from lm_predictor.rules.model import Rule

BOOL, NUMBER, UNKNOWN = "bool", "number", "unknown"

Report = Callable[[d.Code, n.Span, dict], None]


def _param_type(rule: Rule, name: str) -> str:
    spec = rule.params.get(name)
    if spec is None:
        return UNKNOWN
    return BOOL if spec.type == "bool" else NUMBER


def infer(node: n.Node, rule: Rule, report: Report) -> str:
    """The static type of `node`, reporting bool/number misuse below it."""

    def need(child: n.Node, want: str, op: str) -> None:
        got = infer(child, rule, report)
        if want == NUMBER and got == BOOL:
            report(d.L_BOOL_ARITHMETIC, child.span, {"what": _describe(child), "op": op})
        elif want == BOOL and got == NUMBER:
            report(d.L_NUMBER_CONDITION, child.span, {"what": _describe(child), "op": op})

    if isinstance(node, n.Number):
        return NUMBER
    if isinstance(node, (n.Bool, n.Defined)):
        return BOOL
    if isinstance(node, n.Param):
        declared = _param_type(rule, node.name)
        if node.default is not None:
            fallback = infer(node.default, rule, report)
            if declared != UNKNOWN and fallback not in (UNKNOWN, declared):
                report(d.L_BOOL_ARITHMETIC if declared == NUMBER else d.L_NUMBER_CONDITION, node.default.span,
                       {"what": "the inline default", "op": f"${{{node.name}}}"})
            return declared if declared != UNKNOWN else fallback
        return declared
    if isinstance(node, n.Unary):
        if node.op == "not":
            need(node.operand, BOOL, "not")
            return BOOL
        need(node.operand, NUMBER, node.op)
        return NUMBER
    if isinstance(node, n.Binary):
        if node.op in n.BOOLEAN_OPS:
            need(node.left, BOOL, node.op)
            need(node.right, BOOL, node.op)
            return BOOL
        if node.op in ("==", "!="):
            left, right = infer(node.left, rule, report), infer(node.right, rule, report)
            if UNKNOWN not in (left, right) and left != right:
                bad = node.left if left == BOOL else node.right
                report(d.L_BOOL_ARITHMETIC, bad.span, {"what": _describe(bad), "op": node.op})
            return BOOL
        need(node.left, NUMBER, node.op)
        need(node.right, NUMBER, node.op)
        return BOOL if node.op in n.COMPARISON_OPS else NUMBER
    if isinstance(node, n.Conditional):
        need(node.test, BOOL, "if")
        then, otherwise = infer(node.then, rule, report), infer(node.otherwise, rule, report)
        if UNKNOWN not in (then, otherwise) and then != otherwise:
            report(d.L_BOOL_ARITHMETIC, node.span, {"what": "one branch of the conditional", "op": "if"})
        return then if then == otherwise else UNKNOWN
    if isinstance(node, n.Function):
        for arg in node.args:
            need(arg, NUMBER, f"{node.name}()")
        return NUMBER
    if isinstance(node, n.Call):
        for arg in node.args:
            infer(arg.value, rule, report)
        return NUMBER
    return UNKNOWN


def _describe(node: n.Node) -> str:
    if isinstance(node, n.Param):
        return f"'${{{node.name}}}'"
    if isinstance(node, (n.Number, n.Bool)):
        return f"the literal {str(node.value).lower()}"
    if isinstance(node, n.Call):
        return f"the call to {node.callee}"
    return "this expression"
