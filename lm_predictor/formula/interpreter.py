"""A tree-walking interpreter: the reference semantics the compiled backends must match."""

from __future__ import annotations

from typing import Any

from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import call_builtin
from lm_predictor.formula.faults import EvalFault
from lm_predictor.formula.values import Value, ValueFault, arithmetic, compare, logical_not, negate, positive, require_bool
from lm_predictor.formula.visitor import Visitor


def _scale_since(frame: Any, start: int, factor: Any) -> None:
    if frame.records is not None:
        for rec in frame.records[start:]:
            rec.scale(factor)


def _mark(frame: Any) -> int:
    return len(frame.records) if frame.records is not None else 0


class Interpreter(Visitor):
    """The reference semantics, one method per node type; `frame` is the engine's frame protocol."""

    def evaluate(self, node: n.Node, frame: Any) -> Value:
        """Evaluate `node`, locating a value error at its span."""
        try:
            return self.visit(node, frame)
        except ValueFault as err:
            raise EvalFault.from_value_error(err, node.span, frame.rule_name) from None

    def nonlinear(self, node: n.Node, frame: Any) -> Value:
        """Evaluate `node`; the calls under it add no linear term (their count becomes unknown)."""
        start = _mark(frame)
        value = self.evaluate(node, frame)
        _scale_since(frame, start, None)
        return value

    def number(self, node: n.Number | n.Bool, frame: Any) -> Value:
        return node.value

    boolean = number

    def param(self, node: n.Param, frame: Any) -> Value:
        if node.default is None or frame.has_value(node.name):
            return frame.lookup(node.name, node.span)
        return self.nonlinear(node.default, frame)

    def defined(self, node: n.Defined, frame: Any) -> Value:
        return frame.is_given(node.name)

    def unary(self, node: n.Unary, frame: Any) -> Value:
        if node.op == "not":
            return logical_not(self.nonlinear(node.operand, frame))
        if node.op == "+":
            return positive(self.evaluate(node.operand, frame))
        start = _mark(frame)
        value = negate(self.evaluate(node.operand, frame))
        _scale_since(frame, start, -1)
        return value

    def conditional(self, node: n.Conditional, frame: Any) -> Value:
        try:
            chosen = require_bool(self.nonlinear(node.test, frame), "if")
        except ValueFault as err:
            raise EvalFault.from_value_error(err, node.test.span, frame.rule_name) from None
        return self.evaluate(node.then if chosen else node.otherwise, frame)

    def function_call(self, node: n.Function, frame: Any) -> Value:
        start = _mark(frame)
        args = tuple([self.evaluate(a, frame) for a in node.args])  # no generator: see compiler.py
        _scale_since(frame, start, None)
        return call_builtin(node.name, args)

    def call(self, node: n.Call, frame: Any) -> Value:
        values = {a.name: self.nonlinear(a.value, frame) for a in node.args}
        return frame.call(node, values)

    def binary(self, node: n.Binary, frame: Any) -> Value:
        op = node.op
        if op == "and":
            if require_bool(self.nonlinear(node.left, frame), "and"):
                return require_bool(self.nonlinear(node.right, frame), "and")
            return False
        if op == "or":
            if require_bool(self.nonlinear(node.left, frame), "or"):
                return True
            return require_bool(self.nonlinear(node.right, frame), "or")
        if op in n.COMPARISON_OPS:
            return compare(op, self.nonlinear(node.left, frame), self.nonlinear(node.right, frame))
        left_calls, right_calls = n.contains_call(node.left), n.contains_call(node.right)
        linear = op in ("+", "-") or (op == "*" and not (left_calls and right_calls)) or (op == "/" and not right_calls)
        if not linear:
            return arithmetic(op, self.nonlinear(node.left, frame), self.nonlinear(node.right, frame))
        start = _mark(frame)
        a = self.evaluate(node.left, frame)
        middle = _mark(frame)
        b = self.evaluate(node.right, frame)
        result = arithmetic(op, a, b)
        if op == "-":
            _scale_since(frame, middle, -1)
        elif op == "*":
            _scale_since(frame, start, b if left_calls else a)
        elif op == "/":
            _scale_since(frame, start, arithmetic("/", 1, b))
        return result


interpret = Interpreter().evaluate
"""Evaluate `node` in `frame` (same protocol as compiled closures)."""


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
            if not isinstance(current, n.Literal):
                interpret(current, frame)
            continue
        stack.extend(n.children(current))


def interpreted_runner(formula: Any, frame: Any) -> Value:
    """Run a rule formula with the reference interpreter (engine Runner protocol)."""
    return interpret(formula.node, frame)
