"""A tree-walking interpreter: the reference semantics the compiled backends must match."""

from __future__ import annotations

from typing import Any

from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import call_builtin
from lm_predictor.formula.faults import EvalFault
from lm_predictor.formula.values import (
    Value,
    ValueFault,
    arithmetic,
    compare,
    logical_not,
    negate,
    positive,
    require_bool,
)


def _scale_since(frame: Any, start: int, factor: Any) -> None:
    if frame.records is not None:
        for rec in frame.records[start:]:
            rec.scale(factor)


def _mark(frame: Any) -> int:
    return len(frame.records) if frame.records is not None else 0


def interpret(node: n.Node, frame: Any) -> Value:
    """Evaluate `node` in `frame` (same protocol as compiled closures)."""
    try:
        return _interpret(node, frame)
    except ValueFault as err:
        raise EvalFault.from_value_error(err, node.span, frame.rule_name) from None


def _nonlinear(node: n.Node, frame: Any) -> Value:
    start = _mark(frame)
    value = interpret(node, frame)
    _scale_since(frame, start, None)
    return value


def _interpret(node: n.Node, frame: Any) -> Value:
    if isinstance(node, (n.Number, n.Bool)):
        return node.value
    if isinstance(node, n.Param):
        if node.default is None or frame.has_value(node.name):
            return frame.lookup(node.name, node.span)
        return _nonlinear(node.default, frame)
    if isinstance(node, n.Defined):
        return frame.is_given(node.name)
    if isinstance(node, n.Unary):
        if node.op == "not":
            return logical_not(_nonlinear(node.operand, frame))
        if node.op == "+":
            return positive(interpret(node.operand, frame))
        start = _mark(frame)
        value = negate(interpret(node.operand, frame))
        _scale_since(frame, start, -1)
        return value
    if isinstance(node, n.Binary):
        return _binary(node, frame)
    if isinstance(node, n.Conditional):
        try:
            chosen = require_bool(_nonlinear(node.test, frame), "if")
        except ValueFault as err:
            raise EvalFault.from_value_error(err, node.test.span, frame.rule_name) from None
        return interpret(node.then if chosen else node.otherwise, frame)
    if isinstance(node, n.Function):
        start = _mark(frame)
        args = tuple([interpret(a, frame) for a in node.args])  # no generator: see compiler.py
        _scale_since(frame, start, None)
        return call_builtin(node.name, args)
    if isinstance(node, n.Call):
        values = {a.name: _nonlinear(a.value, frame) for a in node.args}
        return frame.call(node, values)
    raise TypeError(f"not a formula node: {node!r}")


def _binary(node: n.Binary, frame: Any) -> Value:
    op = node.op
    if op == "and":
        if require_bool(_nonlinear(node.left, frame), "and"):
            return require_bool(_nonlinear(node.right, frame), "and")
        return False
    if op == "or":
        if require_bool(_nonlinear(node.left, frame), "or"):
            return True
        return require_bool(_nonlinear(node.right, frame), "or")
    if op in n.COMPARISON_OPS:
        return compare(op, _nonlinear(node.left, frame), _nonlinear(node.right, frame))
    left_calls, right_calls = n.contains_call(node.left), n.contains_call(node.right)
    linear = op in ("+", "-") or (op == "*" and not (left_calls and right_calls)) or (op == "/" and not right_calls)
    if not linear:
        return arithmetic(op, _nonlinear(node.left, frame), _nonlinear(node.right, frame))
    start = _mark(frame)
    a = interpret(node.left, frame)
    middle = _mark(frame)
    b = interpret(node.right, frame)
    result = arithmetic(op, a, b)
    if op == "-":
        _scale_since(frame, middle, -1)
    elif op == "*":
        _scale_since(frame, start, b if left_calls else a)
    elif op == "/":
        _scale_since(frame, start, arithmetic("/", 1, b))
    return result


class _ConstantFrame:
    """A frame with no parameters and no rules: used to fold constant subexpressions."""

    records = None

    def __init__(self, rule_name: str):
        self.rule_name = rule_name


def _constant_nodes(node: n.Node) -> set[int]:
    """ids of the nodes free of parameters and calls, in one pass (children before parents)."""
    constant: set[int] = set()
    for current in reversed(list(n.walk(node))):
        if not isinstance(current, (n.Param, n.Defined, n.Call)) and all(id(c) in constant for c in n.children(current)):
            constant.add(id(current))
    return constant


def fold_constant(node: n.Node, rule_name: str) -> None:
    """Evaluate every maximal constant subtree, raising the first EvalFault found.

    Linear in the formula's size: constant-ness is computed once for all nodes (asking each
    node's whole subtree again would be quadratic in the nesting depth).
    """
    constant = _constant_nodes(node)
    stack = [node]
    frame = _ConstantFrame(rule_name)
    while stack:
        current = stack.pop()
        if id(current) in constant:
            if not isinstance(current, (n.Number, n.Bool)):
                interpret(current, frame)
            continue
        stack.extend(n.children(current))


def interpreted_runner(formula: Any, frame: Any) -> Value:
    """Run a rule formula with the reference interpreter (engine Runner protocol)."""
    return interpret(formula.node, frame)
