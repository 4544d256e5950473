"""Operations on symbolic terms (expr_terms.py): comparisons and boolean algebra, arithmetic with
exact division, conditionals, rule calls, substitution; and what one analysis knows about its
symbols (`SymbolFacts`: signs, integrality, exact divisions), active per analysis (`using`).

The analysis uses this module as `X`: the term types and their rendering are imported here too.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Iterator

from lm_predictor.suggest.expr_terms import (
    FALSE,
    ONE,
    P_PROD,
    P_SUM,
    P_UNARY,
    TRUE,
    ZERO,
    Atom,
    Bool,
    Coeff,
    Num,
    NumLike,
    Op,
    Sym,
    as_num,
    bconst,
    bool_value,
    bsym,
    defined,
    render,
    render_bool,
)


__all__ = ["FALSE", "ONE", "P_PROD", "P_SUM", "P_UNARY", "TRUE", "ZERO", "Atom", "Bool", "Coeff", "Num", "NumLike", "Op", "Sym", "as_num", "bconst", "bool_value", "bsym", "defined", "render", "render_bool"]


@dataclass
class SymbolFacts:
    """What one analysis knows about its symbols; set while it runs and while its rules are emitted."""

    positive: set = field(default_factory=set)  # names known to be >= 1 (sizes, batch, seq_len)
    nonneg: set = field(default_factory=set)  # names known to be >= 0 (past_len, layer indices)
    floats: set = field(default_factory=set)  # names of type float/number (not integers)
    divides: set = field(default_factory=set)  # (x, y) pairs the source requires to divide exactly
    upper: dict = field(default_factory=dict)  # name -> U with 0 <= name <= U (the index of `for i in range(n)`: n - 1)
    counts: set = field(default_factory=set)  # token counts (seq_len, past_len and the names they pass as): n // c may be 0
    consulted: set = field(default_factory=set)  # names whose sign was asked (a config number's sign keys eval's derive cache)


class _Forget:
    """The `consulted` of no analysis: records nothing."""

    def add(self, name: str) -> None:
        """Nothing to record outside an analysis."""


_NO_FACTS = SymbolFacts(frozenset(), frozenset(), frozenset(), frozenset(), MappingProxyType({}), frozenset(), _Forget())  # outside an analysis: nothing known, nothing recorded
_ACTIVE: ContextVar[SymbolFacts] = ContextVar("lmpredict_symbol_facts", default=_NO_FACTS)


def symbol_facts() -> SymbolFacts:
    """The facts of the analysis running now (empty and read-only outside one)."""
    return _ACTIVE.get()


@contextmanager
def using(facts: SymbolFacts) -> Iterator[SymbolFacts]:
    """Make `facts` the ones the operations below read and record, for the duration of the block."""
    token = _ACTIVE.set(facts)
    try:
        yield facts
    finally:
        _ACTIVE.reset(token)


_FLIP = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_SWAP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def cmp(op: str, a: NumLike, b: NumLike) -> Bool:
    a, b = as_num(a), as_num(b)
    # (if c then 1 else 0) == 0  ->  not c: compare each arm when the other side is a constant
    for x, y, flip in ((a, b, False), (b, a, True)):
        atom = x.single_atom()
        if isinstance(atom, Op) and atom.kind == "if" and y.is_const() and atom.args[1].is_const() and atom.args[2].is_const():
            o = _SWAP[op] if flip else op
            return ifbool(atom.args[0], cmp(o, atom.args[1], y), cmp(o, atom.args[2], y))
    diff = a - b
    value = diff.const_value()
    if value is not None:
        return bconst({"==": value == 0, "!=": value != 0, "<": value < 0, "<=": value <= 0, ">": value > 0, ">=": value >= 0}[op])
    for side, (gt, ge, lt) in ((diff, (">", ">=", "<")), (-diff, ("<", "<=", ">"))):
        sign = _sign(side)  # side >= 0 (strict: > 0): diff >= 0, then diff <= 0
        if sign is None:
            continue
        strict = sign[1]
        if op == ge or (op in (gt, "!=") and strict):
            return TRUE
        if op == lt or (op == "==" and strict):  # side >= 0: never < 0; == 0 only where it may be 0
            return FALSE
    # canonical orientation: a op b with a the 'larger' key
    if render(a) > render(b):
        a, b, op = b, a, _SWAP[op]
    return Bool("cmp", (op, a, b))


def _sign(num: Num) -> tuple[int, bool] | None:
    """(0, strict) when num >= 0 is provable from the parameter signs (strict: > 0), else from the
    bounds of loop indices (bounded_sign).

    Sizes (positive) are >= 1, so a product of them is >= 1 and `$p - 1` is >= 0."""
    got = _plain_sign(num)
    if got is None and symbol_facts().upper:
        got = bounded_sign(num)
    if got is None and _has_floordiv(num):
        got = floordiv_sign(num)
    return got


def _has_floordiv(num: Num) -> bool:
    return any(isinstance(atom, Op) and atom.kind == "floordiv" for mono, _ in num.terms for atom, _ in mono)


def bounded_sign(num: Num) -> tuple[int, bool] | None:
    """_sign where num is linear in a loop index i with 0 <= i <= U and a coefficient k <= 0: num is
    smallest at i = U, so num >= 0 where num(U) >= 0. `n*c - (i + 1)*c` with i < n is c*(n - 1 - i) >= 0,
    and a slice `x[i*c:(i + 1)*c]` of n*c items has length c."""
    upper = symbol_facts().upper
    for name in sorted(free_params(num) & set(upper)):
        got = _at_upper(num, name, upper[name])
        if got is not None:
            return got
    return None


def floordiv_sign(num: Num) -> tuple[int, bool] | None:
    """_sign where num is linear in a quotient q = a // b (b > 0) with a coefficient k <= 0: q <= a / b,
    so num >= num(q := a / b). `x - c * (x // c)` (x % c) is >= 0; min(x, c * (x // c)) is c * (x // c)."""
    for mono, _ in num.terms:
        for atom, _ in mono:
            if isinstance(atom, Op) and atom.kind == "floordiv" and _plain_sign(atom.args[1]) is not None and atom.args[1].terms:
                q = Sym("%q")
                replaced = replace_atoms(num, atom, Num.atom(q))
                got = _at_upper(replaced, "%q", truediv(atom.args[0], atom.args[1]))
                if got is not None:
                    return got
    return None


def _at_upper(num: Num, name: str, bound: Num) -> tuple[int, bool] | None:
    """_sign of num at name = bound, where num is linear in name with a coefficient <= 0 (its least value)."""
    at = {v: substitute(num, {name: Num.const(v)}) for v in (0, 1, 2)}
    k = at[1] - at[0]
    if at[2] - at[1] != k or name in free_params(k):
        return None  # not linear in it
    if _sign(-k) is None:
        return None
    least = substitute(num, {name: bound})
    value = least.const_value()
    if value is not None:
        return (0, value > 0) if value >= 0 else None
    return _sign(least)


def _plain_sign(num: Num) -> tuple[int, bool] | None:
    if not num.terms:
        return None
    lower = 0  # a lower bound of num
    for mono, coeff in num.terms:
        if isinstance(coeff, float):
            return None
        if not mono:
            lower += coeff
            continue
        at_least_one = True
        for atom, e in mono:
            s = atom_sign(atom)
            if s is None or e < 0 and s != "pos":
                return None
            if s == "nonneg":
                at_least_one = False
        if coeff < 0:
            return None
        if at_least_one and all(e > 0 for _, e in mono):
            lower += coeff
    if lower < 0:
        return None
    return (0, lower > 0)


def atom_sign(atom: "Atom") -> str | None:
    """'pos' (>= 1 for sizes), 'nonneg', or None (unknown) for one atom."""
    if isinstance(atom, Sym):
        symbol_facts().consulted.add(atom.name)
        if atom.name in symbol_facts().positive:
            return "pos"
        if atom.name in symbol_facts().nonneg:
            return "nonneg"
        return None
    kind, args = atom.kind, atom.args
    if kind == "opt":
        symbol_facts().consulted.add(args[0])
        return "pos" if args[0] in symbol_facts().positive and num_sign(args[1]) == "pos" else None
    if kind in ("floordiv", "div"):
        a, b = num_sign(args[0]), num_sign(args[1])
        if kind == "floordiv" and a and b and free_params(args[0]) & symbol_facts().counts:
            return "nonneg"  # seq_len // chunk_size is 0 for a short input (a config quotient is a size: >= 1)
        return "pos" if a == "pos" and b == "pos" else ("nonneg" if a and b else None)
    if kind == "fn":
        name, rest = args[0], args[1:]
        signs = [num_sign(a) for a in rest]
        if name in ("ceil_div", "min", "ceil", "floor") and all(s == "pos" for s in signs):
            return "pos"
        if name in ("ceil_div", "min", "ceil", "floor") and all(s in ("pos", "nonneg") for s in signs):
            return "nonneg"  # min(past_len, window - 1): a cache length
        if name == "max" and any(s == "pos" for s in signs):
            return "pos"
        if name == "max" and any(s == "nonneg" for s in signs):
            return "nonneg"
        if name == "abs":
            return "nonneg"
        return None
    if kind == "if":
        a, b = num_sign(args[1]), num_sign(args[2])
        if a == "pos" and b == "pos":
            return "pos"
        return "nonneg" if a and b else None
    if kind == "call":
        return "nonneg"
    if kind in ("routed", "experts_hit"):
        return "pos"  # tokens one expert gets (an expert with none costs nothing either way)
    if kind == "mod":
        return "nonneg" if num_sign(args[0]) and num_sign(args[1]) == "pos" else None
    if kind == "pow":
        return "pos" if num_sign(args[0]) == "pos" else None
    return None


def num_sign(num: "Num") -> str | None:
    if isinstance(num, Num):
        s = _sign(num)
        if s is None:
            return None
        return "pos" if s[1] else "nonneg"
    return None


def band(*items: Bool) -> Bool:
    """`a and b and ...`, flattened, deduplicated, with constants and contradictions folded."""
    return _junction("and", items, TRUE, FALSE)


def bor(*items: Bool) -> Bool:
    """`a or b or ...`, flattened, deduplicated, with constants and tautologies folded."""
    return _junction("or", items, FALSE, TRUE)


def _junction(kind: str, items: tuple, unit: Bool, zero: Bool) -> Bool:
    """and / or: `unit` is dropped, `zero` (or a literal with its negation) decides the whole."""
    flat: list[Bool] = []
    for item in items:
        if item.kind == kind:
            flat.extend(item.args)
        elif item == unit:
            continue
        elif item == zero:
            return zero
        else:
            flat.append(item)
    unique = list(dict.fromkeys(flat))
    for x in unique:
        if bnot(x) in unique:
            return zero
        if x.kind == "not" and x.args[0].kind == kind and all(y in unique for y in x.args[0].args):
            return zero  # `a or b or not (a or b)`, `a and b and not (a and b)`
    if kind == "or" and 1 < len(unique) <= _MERGE_LIMIT and any(x.kind == "and" for x in unique):
        merged = _merge_adjacent(unique)
        if merged is not None:
            return bor(*merged)
    if not unique:
        return unit
    if len(unique) == 1:
        return unique[0]
    return Bool(kind, tuple(unique))


_MERGE_LIMIT = 32
"""Disjuncts up to which `or` looks for two that differ in one literal only (a pairwise search)."""


def _merge_adjacent(items: list[Bool]) -> list[Bool] | None:
    """`(c and R) or (not c and R)` is `R`: the disjuncts with the first such pair made one, or None.
    (A branch on a condition whose arms save the same storage: 5.23 gemma4_text's rotary pair,
    sliced to a view of itself at `i == num_hidden_layers - num_kv_shared_layers`.)"""
    parts = [x.args if x.kind == "and" else (x,) for x in items]
    for i, a in enumerate(parts):
        for j in range(i + 1, len(parts)):
            b = parts[j]
            only_a, only_b = [x for x in a if x not in b], [x for x in b if x not in a]
            if len(only_a) == 1 and len(only_b) == 1 and bnot(only_a[0]) == only_b[0]:
                common = band(*(x for x in a if x in b))
                return [common if k == i else x for k, x in enumerate(items) if k != j]
    return None


def bnot(b: Bool) -> Bool:
    if b.kind == "const":
        return bconst(not b.args[0])
    if b.kind == "not":
        return b.args[0]
    if b.kind == "cmp":
        op, x, y = b.args
        return Bool("cmp", (_FLIP[op], x, y))
    return Bool("not", (b,))


def bool_eq(a: Bool, b: Bool) -> Bool:
    """a == b for bools."""
    return bor(band(a, b), band(bnot(a), bnot(b)))


# ----------------------------------------------------------------------------- numeric ops


def floordiv(a: NumLike, b: NumLike) -> Num:
    """a // b: folded for constants, exact where b divides a, else an opaque atom."""
    return _integer_division("floordiv", a, b)


def note_fact(fact: "Bool") -> None:
    """Record what an equality fact says about exact division."""
    if fact.kind != "cmp" or fact.args[0] != "==":
        return
    d = fact.args[1] - fact.args[2]
    for mono, _ in d.terms:
        for atom, _ in mono:
            if isinstance(atom, Op) and atom.kind == "floordiv":
                x, y = atom.args
                cand = y * Num.atom(atom) - x
                if d == cand or d == -cand:
                    symbol_facts().divides.add((x, y))


def _exact_floordivs(num: "Num") -> "Num":
    """num with x // y replaced by x / y where y is known to divide x."""
    if not symbol_facts().divides:
        return num
    changed = False
    out = ZERO
    for mono, coeff in num.terms:
        term = Num.const(coeff)
        for atom, e in mono:
            piece = Num.atom(atom)
            if isinstance(atom, Op) and atom.kind == "floordiv" and (atom.args[0], atom.args[1]) in symbol_facts().divides:
                q = exact_div(atom.args[0], atom.args[1])
                if q is not None:
                    piece, changed = q, True
            term = term * (power(piece, Num.const(e)) if e != 1 else piece)
        out = out + term
    return out if changed else num


def as_exact(num: "Num") -> "Num":
    """num with every x // y read as x / y (where the code requires the sizes to divide)."""
    out = ZERO
    for mono, coeff in num.terms:
        term = Num.const(coeff)
        for atom, e in mono:
            piece = Num.atom(atom)
            if isinstance(atom, Op) and atom.kind == "floordiv":
                q = exact_div(as_exact(atom.args[0]), as_exact(atom.args[1]))
                if q is not None:
                    piece = q
            elif isinstance(atom, Op) and atom.kind == "if":  # arms that agree once read exactly are one size
                piece = ifnum(atom.args[0], as_exact(atom.args[1]), as_exact(atom.args[2]))
            term = term * (power(piece, Num.const(e)) if e != 1 else piece)
        out = out + term
    return out


def is_integral(num: Num) -> bool:
    """Whether num is an integer polynomial over integer parameters (no true division)."""
    for mono, coeff in num.terms:
        if isinstance(coeff, float) or (isinstance(coeff, Fraction) and coeff.denominator != 1):
            return False
        for atom, e in mono:
            if e < 0 or not _atom_integral(atom):
                return False
    return True


def _atom_integral(atom: "Atom") -> bool:
    if isinstance(atom, Sym):
        return atom.name not in symbol_facts().floats
    kind, args = atom.kind, atom.args
    if kind in ("floordiv", "mod", "call", "unresolved"):
        return True
    if kind == "fn":
        if args[0] in ("floor", "ceil", "ceil_div"):
            return True
        return args[0] in ("min", "max", "abs") and all(is_integral(a) for a in args[1:])
    if kind == "opt":
        return args[0] not in symbol_facts().floats and is_integral(args[1])
    if kind == "if":
        return is_integral(args[1]) and is_integral(args[2])
    if kind == "pow":
        return is_integral(args[0]) and args[1].const_value() is not None and isinstance(args[1].const_value(), int) and args[1].const_value() >= 0
    return False


def exact_div(a: Num, b: Num) -> Num | None:
    """a / b when b is a monomial (a product of atoms times a coefficient), else None."""
    a, b = _exact_floordivs(a), _exact_floordivs(b)
    if not b.is_monomial() or not b.terms:
        return None
    mono, coeff = b.terms[0]
    if isinstance(coeff, float):
        return None
    inv = Num(((tuple((atom, -e) for atom, e in mono), Fraction(1) / Fraction(coeff)),))
    return a * inv


def monomial_quotient(a: Num, b: Num) -> Num | None:
    """a / b where b may be a sum but the quotient is one monomial with integer powers, reading
    x // y as exact ((h + 2 kv) d / ((h // kv + 2) d) = kv: falcon's fused heads); else None."""
    ea, eb = as_exact(a), as_exact(b)
    if not eb.terms or not ea.terms:
        return None
    for mono, coeff in ea.terms:
        q = exact_div(Num(((mono, coeff),)), Num((eb.terms[0],)))
        if q is None or any(e < 0 for m, _ in q.terms for _, e in m) or any(getattr(c, "denominator", 1) != 1 for _, c in q.terms):
            continue
        if q * eb == ea:
            return q
    return None


def truediv(a: NumLike, b: NumLike) -> Num:
    a, b = as_num(a), as_num(b)
    av, bv = a.const_value(), b.const_value()
    if av is not None and bv is not None and bv != 0:
        if isinstance(av, float) or isinstance(bv, float):
            return Num.const(av / bv)
        return Num.const(Fraction(av) / Fraction(bv))
    exact = exact_div(a, b)
    if exact is not None:
        return exact
    return Num.atom(Op("div", (a, b)))


def mod(a: NumLike, b: NumLike) -> Num:
    """a % b: folded for constants, 0 where b divides a, else an opaque atom."""
    return _integer_division("mod", a, b)


def _integer_division(kind: str, a: NumLike, b: NumLike) -> Num:
    """floordiv or mod of two numbers."""
    a, b = as_num(a), as_num(b)
    av, bv = a.const_value(), b.const_value()
    if av is not None and bv is not None and bv != 0:
        if kind == "mod":
            return Num.const(av % bv)
        if isinstance(av, float) or isinstance(bv, float):
            return Num.const(float(av // bv))
        return Num.const(Fraction(av) // Fraction(bv))
    if bv == 1:
        return a if kind == "floordiv" else ZERO
    if a == b:  # x // x for a size x (the division raises at 0): nn.Conv1d's in_channels // groups with groups = channels
        return ONE if kind == "floordiv" else ZERO
    q = exact_div(a, b)
    if q is not None and is_integral(q):
        return q if kind == "floordiv" else ZERO
    return Num.atom(Op(kind, (a, b)))


def power(a: NumLike, b: NumLike) -> Num:
    a, b = as_num(a), as_num(b)
    av, bv = a.const_value(), b.const_value()
    if av is not None and bv is not None:
        try:
            if isinstance(bv, int) and bv < 0 and not isinstance(av, float):
                return Num.const(Fraction(1) / (Fraction(av) ** -bv)) if av != 0 else Num.atom(Op("pow", (a, b)))
            if abs(bv) < 4096:
                return Num.const(av ** bv)
        except (OverflowError, ZeroDivisionError):
            pass
    if bv is not None and isinstance(bv, int) and not isinstance(bv, bool) and 0 <= bv <= 8:
        result = ONE
        for _ in range(bv):
            result = result * a
        return result
    if bv is not None and isinstance(bv, int) and -8 <= bv < 0 and a.is_monomial():
        inv = exact_div(ONE, a)
        if inv is not None:
            return power(inv, -bv)
    return Num.atom(Op("pow", (a, b)))


def fn(name: str, *args: Num) -> Num:
    values = [a.const_value() for a in args]
    if all(v is not None for v in values):
        try:
            if name == "min":
                return Num.const(min(values))
            if name == "max":
                return Num.const(max(values))
            if name == "abs":
                return Num.const(abs(values[0]))
            if name == "ceil":
                return Num.const(math.ceil(values[0]))
            if name == "floor":
                return Num.const(math.floor(values[0]))
            if name == "ceil_div" and values[1]:
                return Num.const(-(-Fraction(values[0]) // Fraction(values[1])))
        except (TypeError, ValueError, OverflowError):
            pass
    if name in ("min", "max"):
        unique = list(dict.fromkeys(args))
        if len(unique) == 1:
            return unique[0]
        if len(unique) == 2:
            a, b = unique
            if _sign(b - a) is not None:  # a <= b
                return a if name == "min" else b
            if _sign(a - b) is not None:
                return b if name == "min" else a
        args = tuple(sorted(unique, key=render))
    if name in ("floor", "ceil") and is_integral(args[0]):
        return args[0]
    if name == "ceil_div":
        q = exact_div(args[0], args[1])
        if q is not None and is_integral(q):
            return q
        if args[1].const_value() == 1:
            return args[0]
    return Num.atom(Op("fn", (name, *args)))


def ifnum(c: Bool, a: NumLike, b: NumLike) -> Num:
    a, b = as_num(a), as_num(b)
    value = bool_value(c)
    if value is not None:
        return a if value else b
    if a == b:
        return a
    if c.kind == "not":
        return ifnum(c.args[0], b, a)
    # if x > 0 then a else b, where a is b at x = 0 (x >= 0): just a  (if $past_len > 0 then $past_len else 0)
    if c.kind == "cmp" and c.args[0] in ("<=", "==") and c.args[2] == ZERO and c.args[1].sym_name():
        return ifnum(bnot(c), b, a)
    if c.kind == "cmp" and c.args[0] in (">", "!=") and c.args[2] == ZERO:
        x = c.args[1].sym_name()
        if x is not None:
            symbol_facts().consulted.add(x)
        if x is not None and (x in symbol_facts().nonneg or x in symbol_facts().positive or c.args[0] == "!=") and substitute(a, {x: ZERO}) == b:
            return a
    # if c then x else if c then y else z -> if c then x else z
    inner = b.single_atom()
    if isinstance(inner, Op) and inner.kind == "if" and inner.args[0] == c:
        return ifnum(c, a, inner.args[2])
    inner = a.single_atom()
    if isinstance(inner, Op) and inner.kind == "if" and inner.args[0] == c:
        return ifnum(c, inner.args[1], b)
    # defined(x) ? $x : e  ->  ${x:-e}
    if c.kind == "defined" and a.sym_name() == c.args[0]:
        return Num.atom(Op("opt", (c.args[0], b)))
    # factor a common multiplicative monomial out (keeps `n * {call}` readable)
    return Num.atom(Op("if", (c, a, b)))


def ifbool(c: Bool, a: Bool, b: Bool) -> Bool:
    value = bool_value(c)
    if value is not None:
        return a if value else b
    if a == b:
        return a
    return bor(band(c, a), band(bnot(c), b))


def call(label: str | None, rule: str, kwargs: dict, *, forward_all: bool = False, metric: str | None = None) -> Num:
    """A nested rule call `{label: rule}(k=v, ...)` as an atom."""
    items = tuple(sorted(kwargs.items(), key=lambda kv: kv[0]))
    return Num.atom(Op("call", (label, rule, items, forward_all, metric)))


def unresolved(slug: str) -> Num:
    """A visible unresolved term: a call to a rule that does not exist (lint fails loudly)."""
    return Num.atom(Op("unresolved", (slug,)))


def routed(total: Num) -> Num:
    """Tokens routed to one expert of a loop over experts; they sum to `total` over the loop."""
    return Num.atom(Op("routed", (total,)))


def experts_hit(total: Num) -> Num:
    """The number of experts that received tokens (a data-dependent loop count)."""
    return Num.atom(Op("experts_hit", (total,)))


def find_routed(value: object) -> list:
    """The routed-token atoms inside a number (also inside call keywords)."""
    found: list = []
    if isinstance(value, Num):
        for mono, _ in value.terms:
            for atom, _ in mono:
                if isinstance(atom, Op):
                    if atom.kind == "routed":
                        found.append(atom)
                    elif atom.kind == "call":
                        for _, v in atom.args[2]:
                            found.extend(find_routed(v))
                    else:
                        for a in atom.args:
                            found.extend(find_routed(a))
    elif isinstance(value, tuple):
        for v in value:
            found.extend(find_routed(v))
    return found


def replace_atoms(value: "Num", old: "Op", new: "Num") -> "Num":
    """value with one atom replaced everywhere (inside calls, ifs and functions too)."""
    if not isinstance(value, Num):
        return value
    out = ZERO
    for mono, coeff in value.terms:
        term = Num.const(coeff)
        for atom, e in mono:
            if atom == old:
                piece = new
            elif isinstance(atom, Op) and atom.kind == "call":
                label, rule, items, fwd, metric = atom.args
                items = tuple((k, replace_atoms(v, old, new) if isinstance(v, Num) else v) for k, v in items)
                piece = Num.atom(Op("call", (label, rule, items, fwd, metric)))
            elif isinstance(atom, Op) and atom.kind in ("fn", "floordiv", "mod", "div", "pow", "if"):
                args = tuple(replace_atoms(a, old, new) if isinstance(a, Num) else a for a in atom.args)
                piece = Num.atom(Op(atom.kind, args))
            else:
                piece = Num.atom(atom)
            term = term * (power(piece, Num.const(e)) if e != 1 else piece)
        out = out + term
    return out


def free_params(value: object, into: set | None = None) -> set:
    """Names of the parameters an expression reads (including defined() tests)."""
    found = set() if into is None else into
    if isinstance(value, Num):
        for mono, _ in value.terms:
            for atom, _ in mono:
                if isinstance(atom, Sym):
                    found.add(atom.name)
                elif atom.kind == "call":
                    for _, v in atom.args[2]:
                        free_params(v, found)
                elif atom.kind == "opt":
                    found.add(atom.args[0])
                    free_params(atom.args[1], found)
                else:
                    for arg in atom.args:
                        free_params(arg, found)
    elif isinstance(value, Bool):
        if value.kind in ("sym", "defined"):
            found.add(value.args[0])
        else:
            for arg in value.args:
                free_params(arg, found)
    elif isinstance(value, tuple):
        for item in value:
            free_params(item, found)
    return found


def substitute(value, mapping: dict):
    """Replace parameters by Num / Bool values (mapping name -> value)."""
    if isinstance(value, Num):
        result = ZERO
        for mono, coeff in value.terms:
            term = Num.const(coeff)
            for atom, e in mono:
                term = term * power(_subst_atom(atom, mapping), Num.const(e)) if e != 1 else term * _subst_atom(atom, mapping)
            result = result + term
        return result
    if isinstance(value, Bool):
        if value.kind == "const":
            return value
        if value.kind == "sym":
            got = mapping.get(value.args[0])
            if got is None:
                return value
            return got if isinstance(got, Bool) else cmp("!=", got, 0)
        if value.kind == "defined":
            got = mapping.get(value.args[0])
            if got is None:
                return value
            if isinstance(got, Num) and got.sym_name():
                return defined(got.sym_name())
            return TRUE
        if value.kind == "cmp":
            op, a, b = value.args
            return cmp(op, substitute(a, mapping), substitute(b, mapping))
        if value.kind == "and":
            return band(*(substitute(x, mapping) for x in value.args))
        if value.kind == "or":
            return bor(*(substitute(x, mapping) for x in value.args))
        if value.kind == "not":
            return bnot(substitute(value.args[0], mapping))
    if isinstance(value, tuple):
        return tuple(substitute(v, mapping) for v in value)
    return value


def _subst_atom(atom: Atom, mapping: dict) -> Num:
    if isinstance(atom, Sym):
        got = mapping.get(atom.name)
        if got is None:
            return Num.atom(atom)
        if isinstance(got, Bool):
            return ifnum(got, ONE, ZERO)
        return got
    kind, args = atom.kind, atom.args
    if kind == "floordiv":
        return floordiv(substitute(args[0], mapping), substitute(args[1], mapping))
    if kind == "mod":
        return mod(substitute(args[0], mapping), substitute(args[1], mapping))
    if kind == "div":
        return truediv(substitute(args[0], mapping), substitute(args[1], mapping))
    if kind == "pow":
        return power(substitute(args[0], mapping), substitute(args[1], mapping))
    if kind == "fn":
        return fn(args[0], *(substitute(a, mapping) for a in args[1:]))
    if kind == "if":
        return ifnum(substitute(args[0], mapping), substitute(args[1], mapping), substitute(args[2], mapping))
    if kind == "opt":
        name, default = args
        got = mapping.get(name)
        if got is None:
            return Num.atom(Op("opt", (name, substitute(default, mapping))))
        if isinstance(got, Num) and got.sym_name():
            return Num.atom(Op("opt", (got.sym_name(), substitute(default, mapping))))
        return got
    if kind == "call":
        label, rule, items, fwd, metric = args
        new_items = tuple((k, substitute(v, mapping)) for k, v in items)
        return Num.atom(Op("call", (label, rule, new_items, fwd, metric)))
    return Num.atom(atom)
