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


def _residue_groups(name: str, args: tuple[Value, ...]) -> list[tuple[int, int, int, bool]]:
    """(p, r, c, want) groups: ((i + r) % p == c) == want; ints, p > 0, one common period bounded."""
    from lm_predictor.limits import MAX_RESIDUE_PERIOD

    if len(args) % 4:
        raise ValueFault("type", f"{name}() takes groups of 4 after the first argument: period, shift, remainder, wanted")
    groups, period = [], 1
    for i in range(0, len(args), 4):
        p, r, c = (require_number(a, name) for a in args[i:i + 3])
        want = args[i + 3]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (p, r, c)) or want not in (0, 1):
            raise ValueFault("type", f"{name}() needs int period, shift and remainder, and 0 or 1 for wanted")
        if p <= 0:
            raise ValueFault("domain", f"{name}() of a period {p} <= 0")
        period = math.lcm(period, p)
        if period > MAX_RESIDUE_PERIOD:
            raise ValueFault("domain", f"{name}(): the periods' common period exceeds {MAX_RESIDUE_PERIOD}")
        groups.append((p, r, c, bool(want)))
    return groups


def _holds(i: int, groups: list[tuple[int, int, int, bool]]) -> bool:
    return all(((i + r) % p == c) == want for p, r, c, want in groups)


def _residue_args(name: str, first: Value, args: tuple[Value, ...]) -> tuple[int, list, int]:
    """(the int first argument, the groups, their common period)."""
    groups, value = _residue_groups(name, args), require_number(first, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueFault("type", f"{name}() needs an int first argument")
    return value, groups, math.lcm(*(p for p, _, _, _ in groups))


@builtin("residue_count", 5, None, "layers i in [0, n) where ((i + r) % p == c) == want (1 or 0) for every (p, r, c, want) group")
def _residue_count(n: Value, *args: Value) -> Number:
    # layers chosen by several periods (jamba: attention every 8th from 4, experts every 2nd from 1)
    top, groups, period = _residue_args("residue_count", n, args)
    full, rest = divmod(max(top, 0), period)
    return full * sum(_holds(i, groups) for i in range(period)) + sum(_holds(i, groups) for i in range(rest))


@builtin("residue_first", 5, None, "the first i >= lo where every (p, r, c, want) group of residue_count holds (lo if none)")
def _residue_first(lo: Value, *args: Value) -> Number:
    start, groups, period = _residue_args("residue_first", lo, args)
    return next((i for i in range(start, start + period) if _holds(i, groups)), start)


def call_builtin(name: str, args: tuple[Value, ...]) -> Number:
    """Apply a built-in (arity already checked at compile time)."""
    return normalise(BUILTINS[name].impl(*args))
