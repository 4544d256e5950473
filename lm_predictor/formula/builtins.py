"""The closed table of built-in functions. Nothing outside this table can be called."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from lm_predictor.formula.values import Number, Value, ValueFault, normalise, require_number


@dataclass(frozen=True)
class Builtin:
    name: str
    min_args: int
    max_args: int | None  # None: variadic
    impl: Callable[..., Number]
    doc: str

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} argument(s)"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument(s)"
        return f"{self.min_args} to {self.max_args} arguments"


BUILTINS: dict[str, Builtin] = {}


def builtin(name: str, min_args: int, max_args: int | None, doc: str):
    """Register a built-in; refuses duplicates."""

    def register(fn: Callable[..., Number]) -> Callable[..., Number]:
        if name in BUILTINS:
            raise ValueError(f"duplicate builtin {name}")
        BUILTINS[name] = Builtin(name, min_args, max_args, fn, doc)
        return fn

    return register


def _numbers(name: str, args: tuple[Value, ...]) -> list[Number]:
    return [require_number(a, name) for a in args]


@builtin("min", 1, None, "smallest argument")
def _min(*args: Value) -> Number:
    return min(_numbers("min", args))


@builtin("max", 1, None, "largest argument")
def _max(*args: Value) -> Number:
    return max(_numbers("max", args))


@builtin("abs", 1, 1, "absolute value")
def _abs(x: Value) -> Number:
    return abs(require_number(x, "abs"))


def _to_int(x: Number, rounding: Callable[[Number], int], name: str) -> int:
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueFault("float", f"{name}() of a non-finite float")
    return rounding(x)


@builtin("ceil", 1, 1, "smallest int >= x")
def _ceil(x: Value) -> Number:
    return _to_int(require_number(x, "ceil"), math.ceil, "ceil")


@builtin("floor", 1, 1, "largest int <= x")
def _floor(x: Value) -> Number:
    return _to_int(require_number(x, "floor"), math.floor, "floor")


@builtin("ceil_div", 2, 2, "ceil(a / b) for ints, exactly")
def _ceil_div(a: Value, b: Value) -> Number:
    x, y = _numbers("ceil_div", (a, b))
    if not (isinstance(x, int) and isinstance(y, int)):
        raise ValueFault("type", "ceil_div() needs ints")
    if y == 0:
        raise ValueFault("zero", "division by zero")
    return -(-x // y)


@builtin("log2", 1, 1, "base-2 logarithm; exact int for powers of two")
def _log2(x: Value) -> Number:
    v = require_number(x, "log2")
    if v <= 0:
        raise ValueFault("domain", "log2() of a non-positive number")
    if isinstance(v, int) and v & (v - 1) == 0:
        return v.bit_length() - 1
    if isinstance(v, Fraction) and v.numerator == 1 and v.denominator & (v.denominator - 1) == 0:
        return -(v.denominator.bit_length() - 1)
    return math.log2(v)


def call_builtin(name: str, args: tuple[Value, ...]) -> Number:
    """Apply a built-in (arity already checked at compile time)."""
    return normalise(BUILTINS[name].impl(*args))
