"""Checked value operations shared by the interpreter, the compiler and generated code.

Values are `int` (exact, bounded by MAX_INT_BITS), `Fraction` (exact results of `/`
and negative powers; normalised to int when whole), `float`, and `bool`. A bool is
never a number here, even though Python says it is.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import Callable, Union

from lm_predictor.limits import MAX_INT_BITS

Value = Union[int, Fraction, float, bool]
Number = Union[int, Fraction, float]


class ValueFault(Exception):
    """A run-time fault in a value operation; the caller attaches code and location."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # "type", "zero", "int-size", "float", "domain"
        self.detail = detail


def type_name(value: object) -> str:
    """The formula-language name of a value's type."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, Fraction):
        return "fraction"
    if isinstance(value, float):
        return "float"
    return type(value).__name__


def is_number(value: object) -> bool:
    return isinstance(value, (int, Fraction, float)) and not isinstance(value, bool)


def require_number(value: object, op: str) -> Number:
    if not is_number(value):
        raise ValueFault("type", f"'{op}' needs a number, got {type_name(value)}")
    return value  # type: ignore[return-value]


def require_bool(value: object, op: str) -> bool:
    if not isinstance(value, bool):
        raise ValueFault("type", f"'{op}' needs a bool, got {type_name(value)}")
    return value


def _bits(value: Number) -> int:
    if isinstance(value, Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length())
    if isinstance(value, int):
        return value.bit_length()
    return 0


def normalise(value: Number, what: str = "result") -> Number:
    """Bound-check a numeric result and turn whole fractions into ints."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            value = value.numerator
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueFault("float", "float result is not finite")
        return value
    if _bits(value) > MAX_INT_BITS:
        raise ValueFault("int-size", f"{what} would exceed {MAX_INT_BITS} bits")
    return value


def _divide(a: Number, b: Number) -> Number:
    if b == 0:
        raise ValueFault("zero", "division by zero")
    if isinstance(a, float) or isinstance(b, float):
        return a / b
    return Fraction(a) / Fraction(b)


def _floordiv(a: Number, b: Number) -> Number:
    if b == 0:
        raise ValueFault("zero", "division by zero")
    result = a // b
    return math.floor(result) if isinstance(result, float) and math.isfinite(result) else result


def _mod(a: Number, b: Number) -> Number:
    if b == 0:
        raise ValueFault("zero", "modulo by zero")
    return a % b


def _power(a: Number, b: Number) -> Number:
    if isinstance(a, float) or isinstance(b, float) or isinstance(b, Fraction):
        if a == 0 and b < 0:
            raise ValueFault("zero", "0 cannot be raised to a negative power")
        if a < 0 and not float(b).is_integer():
            raise ValueFault("domain", "negative base with a fractional exponent")
        try:
            return float(a) ** float(b)
        except OverflowError:
            raise ValueFault("float", "float result is not finite") from None
    # exact base ** int exponent: refuse before computing when the result is too big
    if b < 0:
        if a == 0:
            raise ValueFault("zero", "0 cannot be raised to a negative power")
        return Fraction(1) / _power(a, -b)  # type: ignore[operator]
    # (also for fractions below 1: the denominator of (1/3) ** b grows just as fast)
    if b > 0:
        base_bits = a.numerator.bit_length() if isinstance(a, Fraction) else abs(a).bit_length()
        den_bits = a.denominator.bit_length() if isinstance(a, Fraction) else 0
        if (max(base_bits, den_bits) - 1) * b > MAX_INT_BITS:
            raise ValueFault("int-size", f"power would exceed {MAX_INT_BITS} bits")
    return a ** b


ARITHMETIC: dict[str, Callable[[Number, Number], Number]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
    "//": _floordiv,
    "%": _mod,
    "**": _power,
}

COMPARISON: dict[str, Callable[[Number, Number], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def arithmetic(op: str, left: Value, right: Value) -> Number:
    """Apply an arithmetic operator with type and size checks."""
    a = require_number(left, op)
    b = require_number(right, op)
    if op == "*" and not (isinstance(a, float) or isinstance(b, float)):
        if _bits(a) + _bits(b) > MAX_INT_BITS + 1:
            raise ValueFault("int-size", f"product would exceed {MAX_INT_BITS} bits")
    try:
        result = ARITHMETIC[op](a, b)
    except OverflowError:
        raise ValueFault("float", "float result is not finite") from None
    return normalise(result)


def compare(op: str, left: Value, right: Value) -> bool:
    """Compare two numbers, or two bools for (in)equality."""
    if isinstance(left, bool) and isinstance(right, bool) and op in ("==", "!="):
        return COMPARISON[op](left, right)
    return COMPARISON[op](require_number(left, op), require_number(right, op))


def negate(value: Value) -> Number:
    return normalise(-require_number(value, "-"))


def positive(value: Value) -> Number:
    return require_number(value, "+")


def logical_not(value: Value) -> bool:
    return not require_bool(value, "not")
