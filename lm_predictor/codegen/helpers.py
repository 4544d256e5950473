"""The only names generated modules import: checked value operations and a few constants.

Every helper is the reference semantics of lm_predictor.formula.values / builtins, with an
exact-int shortcut in front where that is cheap: for two ints the shortcut computes what the
checked operation would, and anything else (other types, too many bits, division by zero)
goes to the checked operation itself, which raises the reference error.

Generated code may use only names starting with `h_` from this module (safety.py checks it).
"""

from __future__ import annotations

from fractions import Fraction

from lm_predictor.formula.builtins import call_builtin
from lm_predictor.formula.faults import EvalFault
from lm_predictor.formula.nodes import Call, Span
from lm_predictor.formula.values import (
    ValueFault,
    arithmetic,
    compare,
    is_number,
    logical_not,
    negate,
    positive,
    require_bool,
)
from lm_predictor.limits import MAX_INT_BITS


class _NotGiven:
    """The value of a parameter the caller did not give (fast path)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not given>"


class Bail(Exception):
    """The fast path cannot decide this evaluation: the engine path must run instead."""


h_NO = _NotGiven()
h_Bail = Bail
h_VE = ValueFault
h_Span = Span
h_int = int
h_bool = bool
h_type = type
h_len = len
h_isnum = is_number
h_MAXBITS = MAX_INT_BITS


def h_Site(callee: str, label: str | None, forward_all: bool, metric: str | None, span: Span, callee_span: Span) -> Call:
    """A call site for `frame.call` (the engine reads callee, label, forward_all, metric and spans)."""
    return Call(callee, label, (), forward_all, metric, span, callee_span)


def h_fault(err: ValueFault, span: Span, frame) -> EvalFault:
    """A value error located at a node's span, as the compiled closures' guards make it."""
    return EvalFault.from_value_error(err, span, frame.rule_name)


def h_scale(records: list, start: int, factor) -> None:
    """Scale the counts of the call records made since `start` (None: not additive)."""
    for rec in records[start:]:
        rec.scale(factor)


# --- checked arithmetic with an exact-int shortcut -------------------------------------------


def h_add(a, b):
    if type(a) is int and type(b) is int:
        r = a + b
        if r.bit_length() <= MAX_INT_BITS:
            return r
    return arithmetic("+", a, b)


def h_sub(a, b):
    if type(a) is int and type(b) is int:
        r = a - b
        if r.bit_length() <= MAX_INT_BITS:
            return r
    return arithmetic("-", a, b)


def h_mul(a, b):
    if type(a) is int and type(b) is int:
        if a.bit_length() + b.bit_length() <= MAX_INT_BITS + 1:
            r = a * b
            if r.bit_length() <= MAX_INT_BITS:
                return r
    return arithmetic("*", a, b)


def h_div(a, b):
    if type(a) is int and type(b) is int and b:
        q, m = divmod(a, b)
        if not m and q.bit_length() <= MAX_INT_BITS:
            return q
    return arithmetic("/", a, b)


def h_floordiv(a, b):
    if type(a) is int and type(b) is int and b:
        r = a // b
        if r.bit_length() <= MAX_INT_BITS:
            return r
    return arithmetic("//", a, b)


def h_mod(a, b):
    if type(a) is int and type(b) is int and b:
        r = a % b
        if r.bit_length() <= MAX_INT_BITS:
            return r
    return arithmetic("%", a, b)


def h_pow(a, b):
    return arithmetic("**", a, b)


def h_recip(b):
    """1 / b, the count factor of a call divided by b."""
    return arithmetic("/", 1, b)


def h_neg(a):
    if type(a) is int and a.bit_length() <= MAX_INT_BITS:
        return -a
    return negate(a)


h_pos = positive
h_not = logical_not


def h_eq(a, b):
    if type(a) is int and type(b) is int:
        return a == b
    return compare("==", a, b)


def h_ne(a, b):
    if type(a) is int and type(b) is int:
        return a != b
    return compare("!=", a, b)


def h_lt(a, b):
    if type(a) is int and type(b) is int:
        return a < b
    return compare("<", a, b)


def h_le(a, b):
    if type(a) is int and type(b) is int:
        return a <= b
    return compare("<=", a, b)


def h_gt(a, b):
    if type(a) is int and type(b) is int:
        return a > b
    return compare(">", a, b)


def h_ge(a, b):
    if type(a) is int and type(b) is int:
        return a >= b
    return compare(">=", a, b)


def h_and(value):
    return require_bool(value, "and")


def h_or(value):
    return require_bool(value, "or")


def h_if(value):
    return require_bool(value, "if")


def h_builtin(name: str, args: tuple):
    return call_builtin(name, args)


# --- fast-path helpers for arguments statically known to be ints ----------------------------


def h_min_ii(*args: int) -> int:
    r = min(args)
    if r.bit_length() > MAX_INT_BITS:
        raise Bail
    return r


def h_max_ii(*args: int) -> int:
    r = max(args)
    if r.bit_length() > MAX_INT_BITS:
        raise Bail
    return r


def h_ceil_div_ii(a: int, b: int) -> int:
    r = -(-a // b)
    if r.bit_length() > MAX_INT_BITS:
        raise Bail
    return r


def h_unlinked(*args):
    """A link slot the runtime has not filled: the fast path cannot run."""
    raise Bail


def h_check_type(expected: str, value) -> bool:
    """Whether a bound value fits a parameter type (engine.frame.type_matches, Fraction refused for int)."""
    if expected == "bool":
        return type(value) is bool
    if expected == "int":
        return type(value) is int
    return is_number(value)


HELPER_NAMES = frozenset(name for name in globals() if name.startswith("h_"))
"""Every name a generated module may import (safety.py refuses others)."""

__all__ = sorted(HELPER_NAMES) + ["Bail", "HELPER_NAMES"]

_ = Fraction  # re-exported type for tests comparing values
