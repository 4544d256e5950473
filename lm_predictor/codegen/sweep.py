"""Vectorised totals over many workloads: numpy int64 where it provably cannot overflow.

    sweep(library, rule, metrics, bindings, {"batch": b, "seq_len": s, "past_len": p})

evaluates each metric once over whole arrays of workload values instead of once per workload.
Integer arrays carry a bound (a Python int >= every |element|), propagated through each
operation: `a + b` has bound |a|+|b|, `a * b` |a|*|b|, `a // b` |a|, `a % b` |b|, ... An
operation runs in int64 only if the bound of its result is below 2**63; otherwise it runs on
numpy object arrays of Python ints (exact, slower). Results whose bound reaches 2**MAX_INT_BITS,
fractions, floats, a zero divisor anywhere, a type error, or a call the engine could refuse
(cycle, depth, budget) make the whole metric fall back to one exact scalar evaluation per
workload (generated fast path, else the engine), which also gives per-workload diagnostics.

Conditionals with per-workload tests evaluate both branches and select (np.where); a branch
that cannot be vectorised sends the metric to the scalar fallback, never to a wrong value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lm_predictor.codegen.emit_base import requirements
from lm_predictor.codegen.runtime import Backend, usable_fast_paths
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.frame import type_matches
from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import call_builtin
from lm_predictor.formula.values import ValueFault, arithmetic, compare, logical_not, negate, positive, require_bool
from lm_predictor.formula.visitor import Visitor
from lm_predictor.limits import MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Rule

INT64_LIMIT = 2**63
SIZE_LIMIT = 2**MAX_INT_BITS


class Unvectorisable(Exception):
    """This evaluation needs the exact scalar path."""


@dataclass
class Vec:
    """Per-workload ints: `arr` is int64 or object (Python ints); `bound` >= max |element|."""

    arr: np.ndarray
    bound: int


@dataclass
class BVec:
    """Per-workload bools."""

    arr: np.ndarray


def _vec(arr: np.ndarray, bound: int) -> Vec:
    if bound >= SIZE_LIMIT:
        raise Unvectorisable("result may exceed the integer size limit")
    return Vec(arr, bound)


def _operand(x: Any) -> tuple[Any, int] | None:
    """(array-or-int, bound) for an int operand; None for a non-int scalar."""
    if isinstance(x, Vec):
        return x.arr, x.bound
    if type(x) is int:
        return x, abs(x)
    return None


def _as_object(a: Any) -> Any:
    if isinstance(a, np.ndarray) and a.dtype != object:
        return a.astype(object)
    return a


def _int_op(op: str, a: Any, b: Any) -> Vec:
    """An arithmetic op where at least one side is a Vec and both are ints."""
    left, right = _operand(a), _operand(b)
    if left is None or right is None:
        raise Unvectorisable("non-int operand")
    (x, bx), (y, by) = left, right
    if op in ("//", "%", "/"):
        if isinstance(y, np.ndarray):
            if not y.all():
                raise Unvectorisable("zero divisor")
        elif y == 0:
            raise Unvectorisable("zero divisor")
    if op == "+":
        bound = bx + by
    elif op == "-":
        bound = bx + by
    elif op == "*":
        bound = bx * by
    elif op in ("//", "/"):
        bound = bx
    elif op == "%":
        bound = by
    else:
        raise Unvectorisable(op)
    wide = bound >= INT64_LIMIT or not _fits_int64(x, bx) or not _fits_int64(y, by)
    if wide:
        x, y = _as_object(x), _as_object(y)
    if op == "+":
        result = x + y
    elif op == "-":
        result = x - y
    elif op == "*":
        result = x * y
    elif op == "//":
        result = x // y
    elif op == "%":
        result = x % y
    else:  # "/": exact only when every quotient is whole
        if np.any(x % y != 0):
            raise Unvectorisable("fractional quotient")
        result = x // y
    if not isinstance(result, np.ndarray):
        result = np.asarray(result)
    return _vec(result, bound)


def _fits_int64(x: Any, bound: int) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype != object and bound < INT64_LIMIT
    return bound < INT64_LIMIT


def _bool_arr(x: Any) -> Any:
    if isinstance(x, BVec):
        return x.arr
    if type(x) is bool:
        return x
    raise Unvectorisable("not a bool")


def _compare(op: str, a: Any, b: Any) -> BVec:
    if isinstance(a, BVec) or isinstance(b, BVec):
        if op not in ("==", "!="):
            raise Unvectorisable("ordering of bools")
        x, y = _bool_arr(a), _bool_arr(b)
    else:
        left, right = _operand(a), _operand(b)
        if left is None or right is None:
            raise Unvectorisable("non-int comparison")
        x, y = left[0], right[0]
        if not (_fits_int64(x, left[1]) and _fits_int64(y, right[1])):
            x, y = _as_object(x), _as_object(y)
    result = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op](x, y)
    return BVec(np.asarray(result, dtype=bool))


def _is_vector(x: Any) -> bool:
    return isinstance(x, (Vec, BVec))


def _select(test: np.ndarray, a: Any, b: Any) -> Any:
    if isinstance(a, BVec) or isinstance(b, BVec) or type(a) is bool or type(b) is bool:
        return BVec(np.where(test, _bool_arr(a), _bool_arr(b)))
    left, right = _operand(a), _operand(b)
    if left is None or right is None:
        raise Unvectorisable("non-int branch")
    bound = max(left[1], right[1])
    x, y = left[0], right[0]
    if not (_fits_int64(x, left[1]) and _fits_int64(y, right[1])):
        x, y = _as_object(x), _as_object(y)
    return _vec(np.where(test, x, y), bound)


class _Env:
    __slots__ = ("rule", "given", "metric", "defaults")

    def __init__(self, rule: Rule, given: dict[str, Any], metric: str):
        self.rule = rule
        self.given = given
        self.metric = metric
        self.defaults: dict[str, Any] = {}


class _VectorEvaluator(Visitor):
    """Formula nodes over arrays of workloads (one method per node type)."""

    def __init__(self, library: RuleLibrary):
        self.library = library
        self.memo: dict[tuple, Any] = {}

    def rule_metric(self, rule: Rule, metric: str, given: dict[str, Any]) -> Any:
        formula = rule.metrics.get(metric)
        if formula is None:
            raise Unvectorisable("metric not defined")
        key = None
        if not any(_is_vector(v) for v in given.values()):
            key = (rule.name, metric, tuple(sorted((k, type(v).__name__, v) for k, v in given.items())))
            if key in self.memo:
                return self.memo[key]
        env = _Env(rule, given, metric)
        for requirement in requirements(rule):  # the engine checks these before the metric
            holds = self.eval(requirement.node, env)
            if not (holds is True or (isinstance(holds, BVec) and bool(holds.arr.all()))):
                raise Unvectorisable("a requirement does not hold for every workload")
        value = self.eval(formula.node, env)
        if key is not None:
            self.memo[key] = value
        return value

    def has_value(self, env: _Env, name: str) -> bool:
        if name in env.given:
            return True
        spec = env.rule.params.get(name)
        return spec is not None and spec.default is not None

    def lookup(self, env: _Env, name: str) -> Any:
        if name in env.given:
            return env.given[name]
        spec = env.rule.params.get(name)
        if spec is None or spec.default is None:
            raise Unvectorisable("missing parameter")
        if name in env.defaults:
            value = env.defaults[name]
            if value is None:
                raise Unvectorisable("default cycle")
            return value
        env.defaults[name] = None
        value = self.eval(spec.default.node, env)
        self.check_type(spec.type, value)
        env.defaults[name] = value
        return value

    def check_type(self, expected: str, value: Any) -> None:
        if isinstance(value, Vec):
            ok = expected in ("int", "float", "number")
        elif isinstance(value, BVec):
            ok = expected == "bool"
        else:
            ok = type_matches(expected, value) and not (expected == "int" and type(value) is not int)
        if not ok:
            raise Unvectorisable("argument type")

    def eval(self, node: n.Node, env: _Env) -> Any:
        try:
            return self.visit(node, env)
        except ValueFault:
            raise Unvectorisable("value error") from None

    def __default__(self, node: n.Node, env: _Env) -> Any:
        raise Unvectorisable(type(node).__name__)

    def number(self, node: n.Number | n.Bool, env: _Env) -> Any:
        return node.value

    boolean = number

    def param(self, node: n.Param, env: _Env) -> Any:
        if node.default is None or self.has_value(env, node.name):
            return self.lookup(env, node.name)
        return self.eval(node.default, env)

    def defined(self, node: n.Defined, env: _Env) -> Any:
        return node.name in env.given

    def unary(self, node: n.Unary, env: _Env) -> Any:
        value = self.eval(node.operand, env)
        if node.op == "not":
            return BVec(~value.arr) if isinstance(value, BVec) else logical_not(value)
        if isinstance(value, BVec):
            raise Unvectorisable("bool in arithmetic")
        if node.op == "+":
            return value if isinstance(value, Vec) else positive(value)
        return Vec(-value.arr, value.bound) if isinstance(value, Vec) else negate(value)

    def conditional(self, node: n.Conditional, env: _Env) -> Any:
        test = self.eval(node.test, env)
        if isinstance(test, BVec):
            if test.arr.all():
                return self.eval(node.then, env)
            if not test.arr.any():
                return self.eval(node.otherwise, env)
            return _select(test.arr, self.eval(node.then, env), self.eval(node.otherwise, env))
        return self.eval(node.then if require_bool(test, "if") else node.otherwise, env)

    def function_call(self, node: n.Function, env: _Env) -> Any:
        args = [self.eval(a, env) for a in node.args]
        if not any(_is_vector(a) for a in args):
            return call_builtin(node.name, tuple(args))
        return self.builtin(node.name, args)

    def binary(self, node: n.Binary, env: _Env) -> Any:
        op = node.op
        if op in ("and", "or"):
            left = self.eval(node.left, env)
            if not isinstance(left, BVec):
                decided = require_bool(left, op)
                if decided is (op == "or"):
                    return decided
                right = self.eval(node.right, env)
                return right if isinstance(right, BVec) else require_bool(right, op)
            right = self.eval(node.right, env)
            r = _bool_arr(right)
            return BVec(np.logical_and(left.arr, r) if op == "and" else np.logical_or(left.arr, r))
        left = self.eval(node.left, env)
        right = self.eval(node.right, env)
        if not (_is_vector(left) or _is_vector(right)):
            if op in n.COMPARISON_OPS:
                return compare(op, left, right)
            return arithmetic(op, left, right)
        if op in n.COMPARISON_OPS:
            return _compare(op, left, right)
        if isinstance(left, BVec) or isinstance(right, BVec):
            raise Unvectorisable("bool in arithmetic")
        return _int_op(op, left, right)

    def builtin(self, name: str, args: list[Any]) -> Any:
        if any(isinstance(a, BVec) for a in args):
            raise Unvectorisable("bool argument")
        ops = [_operand(a) for a in args]
        if any(o is None for o in ops):
            raise Unvectorisable("non-int argument")
        if name in ("min", "max"):
            bound = max(o[1] for o in ops)
            arrays = [o[0] for o in ops]
            if not all(_fits_int64(o[0], o[1]) for o in ops):
                arrays = [_as_object(a) for a in arrays]
            fn = np.minimum if name == "min" else np.maximum
            result = arrays[0]
            for a in arrays[1:]:
                result = fn(result, a)
            return _vec(np.asarray(result), bound)
        if name == "ceil_div":
            neg = _int_op("*", args[0], -1)
            return Vec(-_int_op("//", neg, args[1]).arr, ops[0][1])
        if name == "abs":
            return Vec(np.abs(ops[0][0]), ops[0][1])
        if name in ("ceil", "floor"):
            return args[0]
        raise Unvectorisable(f"{name}() of a vector")

    def call(self, node: n.Call, env: _Env) -> Any:
        values = {a.name: self.eval(a.value, env) for a in node.args}
        callee = self.library.get(node.callee)
        if callee is None:
            raise Unvectorisable("unknown rule")
        if node.forward_all:
            for name in callee.params:
                if name not in values and self.has_value(env, name):
                    values[name] = self.lookup(env, name)
        for name, value in values.items():
            spec = callee.params.get(name)
            if spec is None:
                raise Unvectorisable("unknown keyword")
            self.check_type(spec.type, value)
        for name, spec in callee.params.items():
            if spec.required and name not in values:
                raise Unvectorisable("missing argument")
        return self.rule_metric(callee, node.metric or env.metric, values)


def _static_ok(library: RuleLibrary) -> set[tuple[str, str]]:
    """(rule, metric) pairs with no call cycle, depth or budget limit reachable (as for the fast path)."""
    candidates = {(r.name, m): None for r in library for m in r.metrics}
    return set(usable_fast_paths(library, candidates))  # type: ignore[arg-type]


def sweep(
    library: RuleLibrary,
    rule_name: str,
    metrics: list[str],
    bindings: dict[str, Any],
    arrays: dict[str, np.ndarray],
    *,
    backend: Backend | None = None,
) -> dict[str, np.ndarray]:
    """Each metric for every workload i (bindings with arrays[k][i] for each k in arrays).

    Returns int64 arrays where int64 was exact throughout, else object arrays of exact values
    (an element is the LmPredictorError of that workload when it has no value).
    """
    rule = library.get(rule_name)
    if rule is None:
        raise LmPredictorError(library.diagnostics[:0] or [])  # pragma: no cover - callers check
    size = len(next(iter(arrays.values())))
    given: dict[str, Any] = dict(bindings)
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.dtype.kind not in "iu" or len(arr) != size:
            raise ValueError("sweep arrays must be integer arrays of one length")
        values = arr.astype(np.int64)
        given[name] = Vec(values, int(np.abs(values).max(initial=0)))
    out: dict[str, np.ndarray] = {}
    evaluator = _VectorEvaluator(library)
    safe = _static_ok(library)
    for metric in metrics:
        try:
            if (rule.name, metric) not in safe:
                raise Unvectorisable("call graph needs the engine's limits")
            for name, value in given.items():
                spec = rule.params.get(name)
                if spec is None:
                    raise Unvectorisable("unknown binding")
                evaluator.check_type(spec.type, value)
            value = evaluator.rule_metric(rule, metric, given)
            if isinstance(value, Vec):
                out[metric] = value.arr
            elif isinstance(value, BVec):
                out[metric] = value.arr
            else:
                result = np.empty(size, dtype=np.int64 if type(value) is int and abs(value) < INT64_LIMIT else object)
                result[:] = value
                out[metric] = result
        except Unvectorisable:
            out[metric] = _scalar_fallback(library, rule, metric, bindings, arrays, size, backend)
    return out


def _scalar_fallback(library, rule, metric, bindings, arrays, size, backend) -> np.ndarray:
    from lm_predictor.codegen.runtime import backend_for

    backend = backend or backend_for(library)
    result = np.empty(size, dtype=object)
    columns = {k: np.asarray(v).tolist() for k, v in arrays.items()}
    for i in range(size):
        current = dict(bindings)
        for k, col in columns.items():
            current[k] = col[i]
        try:
            result[i] = backend.evaluate(rule.name, metric, current).value
        except LmPredictorError as err:
            result[i] = err
    return result
