"""AST -> Python closures. No text is ever handed to Python's eval/exec.

Each compiled node is `fn(frame) -> Value`. The frame (see lm_predictor.engine.frame)
supplies parameter values, `defined()`, rule calls, and, when tracing, the list of call
records whose multiplicity (`count`) the arithmetic around a call scales: in
`${n} * {Layer}(...)` the Layer record gets count n.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import call_builtin
from lm_predictor.formula.faults import EvalFault
from lm_predictor.formula.parser import parse_formula
from lm_predictor.formula.visitor import Visitor
from lm_predictor.formula.values import ValueFault, arithmetic, compare, logical_not, negate, positive, require_bool

Compiled = Callable[[Any], Any]


def _guard(fn: Compiled, span: n.Span) -> Compiled:
    """Attach the node's span to value errors raised by `fn`."""

    def guarded(frame: Any) -> Any:
        try:
            return fn(frame)
        except ValueFault as err:
            raise EvalFault.from_value_error(err, span, frame.rule_name) from None

    return guarded


def _scaled(fn: Compiled, factor_of: Callable[[Any, Any], Any]) -> Compiled:
    """Wrap a sub-expression so the call records it creates get their count scaled."""

    def run(frame: Any) -> Any:
        records = frame.records
        if records is None:
            return fn(frame)
        start = len(records)
        value = fn(frame)
        factor = factor_of(frame, value)
        for rec in records[start:]:
            rec.scale(factor)
        return value

    return run


def _nonlinear(fn: Compiled) -> Compiled:
    """Calls under `fn` do not add linearly to the result: their count becomes unknown."""
    return _scaled(fn, lambda frame, value: None)


class Compiler(Visitor):
    """One closure per node type; the tree is walked once, when the formula is compiled."""

    def number(self, node: n.Number | n.Bool) -> Compiled:
        value = node.value
        return lambda frame: value

    boolean = number

    def param(self, node: n.Param) -> Compiled:
        name, span = node.name, node.span
        if node.default is None:
            return lambda frame: frame.lookup(name, span)
        default = _nonlinear(self.visit(node.default))

        def param_with_default(frame: Any) -> Any:
            if frame.has_value(name):
                return frame.lookup(name, span)
            return default(frame)

        return param_with_default

    def defined(self, node: n.Defined) -> Compiled:
        name = node.name
        return lambda frame: frame.is_given(name)

    def unary(self, node: n.Unary) -> Compiled:
        operand = self.visit(node.operand)
        if node.op == "not":
            return _nonlinear(_guard(lambda frame: logical_not(operand(frame)), node.span))  # a call under `not` is no additive term
        if node.op == "+":
            return _guard(lambda frame: positive(operand(frame)), node.span)
        inner = _guard(lambda frame: negate(operand(frame)), node.span)
        return _scaled(inner, lambda frame, value: -1)

    def binary(self, node: n.Binary) -> Compiled:
        op = node.op
        left, right = self.visit(node.left), self.visit(node.right)
        if op == "and":
            def and_(frame: Any) -> Any:
                return require_bool(right(frame), "and") if require_bool(left(frame), "and") else False
            return _nonlinear(_guard(and_, node.span))
        if op == "or":
            def or_(frame: Any) -> Any:
                return True if require_bool(left(frame), "or") else require_bool(right(frame), "or")
            return _nonlinear(_guard(or_, node.span))
        if op in n.COMPARISON_OPS:
            return _nonlinear(_guard(lambda frame: compare(op, left(frame), right(frame)), node.span))
        if op in ("+", "-"):
            if op == "-":
                right = _scaled(right, lambda frame, value: -1)
            return _guard(lambda frame: arithmetic(op, left(frame), right(frame)), node.span)
        if op in ("*", "/"):
            return self.product(node, left, right)
        # //, %, **: the result is not linear in a call
        return _nonlinear(_guard(lambda frame: arithmetic(op, left(frame), right(frame)), node.span))

    def product(self, node: n.Binary, left: Compiled, right: Compiled) -> Compiled:
        """`a * b` and `a / b`: calls on one side are scaled by the call-free other side."""
        op, span = node.op, node.span
        left_calls, right_calls = n.contains_call(node.left), n.contains_call(node.right)

        def plain(frame: Any) -> Any:
            return arithmetic(op, left(frame), right(frame))

        if not (left_calls or right_calls):
            return _guard(plain, span)
        if right_calls and (left_calls or op == "/"):
            return _nonlinear(_guard(plain, span))

        def product(frame: Any) -> Any:
            records = frame.records
            start = len(records) if records is not None else 0
            a = left(frame)
            b = right(frame)
            result = arithmetic(op, a, b)
            if records is not None:
                factor = (b if left_calls else a) if op == "*" else arithmetic("/", 1, b)
                for rec in records[start:]:
                    rec.scale(factor)
            return result

        return _guard(product, span)

    def conditional(self, node: n.Conditional) -> Compiled:
        test = _nonlinear(self.visit(node.test))
        then, otherwise = self.visit(node.then), self.visit(node.otherwise)
        span = node.test.span

        def conditional(frame: Any) -> Any:
            try:
                chosen = require_bool(test(frame), "if")
            except ValueFault as err:
                raise EvalFault.from_value_error(err, span, frame.rule_name) from None
            return then(frame) if chosen else otherwise(frame)

        return conditional

    def function_call(self, node: n.Function) -> Compiled:
        args = tuple(self.visit(a) for a in node.args)
        name = node.name
        # a list comprehension, not tuple(generator): CPython runs it without a C-level frame, so
        # deep nesting times deep call chains costs Python frames only (see ensure_recursion_headroom)
        return _nonlinear(_guard(lambda frame: call_builtin(name, tuple([a(frame) for a in args])), node.span))

    def call(self, node: n.Call) -> Compiled:
        arg_fns = tuple((a.name, _nonlinear(self.visit(a.value))) for a in node.args)

        def call(frame: Any) -> Any:
            values = {name: fn(frame) for name, fn in arg_fns}
            return frame.call(node, values)

        return call


compile_node = Compiler().visit
"""Compile one AST node (and its subtree) to a closure."""


@lru_cache(maxsize=8192)
def compile_text(text: str) -> Compiled:
    """Parse and compile one formula text once per process (the template cache).

    Keyed by text, not by AST: `1` and `1.0` parse to equal-comparing nodes of different type.
    The text must already have parsed cleanly (callers parse first to get located errors).
    """
    return compile_node(parse_formula(text))
