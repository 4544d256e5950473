"""Symbolic terms of the source analysis: atoms, `Num` (a polynomial normal form), `Bool`, and their text.

`Num` is a sum of monomials with exact (or float) coefficients. A monomial is a product of
atoms raised to integer powers (negative powers are exact divisions by a product). Atoms are
rule parameters (`Sym`) or opaque nodes (`Op`: floor division, `if`, min/max, rule calls, ...).
The normal form makes equal shapes compare equal (`b*s*h` == `s*h*b`) and makes `view(-1)`
inference a monomial division. `Bool` covers comparisons, `and`/`or`/`not`, `defined(name)`.
Everything renders to formula-language text (`render`), with the fewest parentheses.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Union

Coeff = Union[int, Fraction, float]


# ----------------------------------------------------------------------------- atoms


@dataclass(frozen=True)
class Sym:
    """A rule parameter."""

    name: str

    def key(self) -> str:
        return "0" + self.name


@dataclass(frozen=True)
class Op:
    """An opaque numeric node: kind in OP_KINDS, args are Num / Bool / str / tuples."""

    kind: str
    args: tuple

    def key(self) -> str:
        cached = self.__dict__.get("_key")
        if cached is None:
            cached = "1" + self.kind + "(" + ",".join(_arg_key(a) for a in self.args) + ")"
            object.__setattr__(self, "_key", cached)
        return cached


Atom = Union[Sym, Op]
OP_KINDS = ("floordiv", "mod", "div", "pow", "fn", "if", "call", "unresolved", "opt")


@dataclass(frozen=True)
class Num:
    """sum(coeff * prod(atom ** exp)); terms sorted, no zero coefficients."""

    terms: tuple  # ((mono, coeff), ...), mono = ((atom, exp), ...)

    # -- construction
    @staticmethod
    def const(value: Coeff) -> "Num":
        if isinstance(value, bool):
            raise TypeError("bool is not a Num")
        if isinstance(value, Fraction) and value.denominator == 1:
            value = value.numerator
        return Num(((((), value),) if value != 0 else ()))

    @staticmethod
    def atom(atom: Atom) -> "Num":
        return Num(((((atom, 1),), 1),))

    @staticmethod
    def sym(name: str) -> "Num":
        return Num.atom(Sym(name))

    # -- inspection
    def const_value(self) -> Coeff | None:
        if not self.terms:
            return 0
        if len(self.terms) == 1 and self.terms[0][0] == ():
            return self.terms[0][1]
        return None

    def is_const(self) -> bool:
        return self.const_value() is not None

    def single_atom(self) -> Atom | None:
        if len(self.terms) == 1:
            mono, coeff = self.terms[0]
            if coeff == 1 and len(mono) == 1 and mono[0][1] == 1:
                return mono[0][0]
        return None

    def sym_name(self) -> str | None:
        atom = self.single_atom()
        return atom.name if isinstance(atom, Sym) else None

    def atoms(self) -> set:
        found: set = set()
        for mono, _ in self.terms:
            for atom, _ in mono:
                found.add(atom)
        return found

    def is_monomial(self) -> bool:
        return len(self.terms) == 1

    # -- arithmetic
    def __add__(self, other: "NumLike") -> "Num":
        other = as_num(other)
        acc: dict = dict(self.terms)
        for mono, coeff in other.terms:
            acc[mono] = acc.get(mono, 0) + coeff
        return _norm(acc)

    __radd__ = __add__

    def __neg__(self) -> "Num":
        return Num(tuple((m, -c) for m, c in self.terms))

    def __sub__(self, other: "NumLike") -> "Num":
        return self + (-as_num(other))

    def __rsub__(self, other: "NumLike") -> "Num":
        return as_num(other) - self

    def __mul__(self, other: "NumLike") -> "Num":
        other = as_num(other)
        acc: dict = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                mono = _mono_mul(m1, m2)
                acc[mono] = acc.get(mono, 0) + c1 * c2
        return _norm(acc)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"Num({render(self)})"


NumLike = Union[Num, int, float, Fraction]


def _arg_key(value: object) -> str:
    """A canonical, cheap text for an Op argument (used to order terms)."""
    if isinstance(value, Num):
        cached = value.__dict__.get("_key")
        if cached is None:
            cached = "N[" + ";".join(f"{c!r}*" + ".".join(f"{a.key()}^{e}" for a, e in m) for m, c in value.terms) + "]"
            object.__setattr__(value, "_key", cached)
        return cached
    if isinstance(value, Bool):
        return "B" + value.kind + "(" + ",".join(_arg_key(a) for a in value.args) + ")"
    if isinstance(value, tuple):
        return "(" + ",".join(_arg_key(a) for a in value) + ")"
    if isinstance(value, (str, int, float, bool, Fraction)) or value is None:
        return repr(value)
    target = getattr(value, "target", None)
    if target is not None:
        return f"R{getattr(target, 'qualname', '')}{getattr(target, 'signature', '')}"
    return f"{type(value).__name__}#{id(value)}"


def as_num(value: "NumLike") -> Num:
    if isinstance(value, Num):
        return value
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    if isinstance(value, (int, float, Fraction)):
        return Num.const(value)
    raise TypeError(f"not a number: {value!r}")


def _mono_mul(m1: tuple, m2: tuple) -> tuple:
    if not m1:
        return m2
    if not m2:
        return m1
    exps: dict = {}
    for atom, e in m1 + m2:
        exps[atom] = exps.get(atom, 0) + e
    return tuple(sorted(((a, e) for a, e in exps.items() if e != 0), key=lambda p: p[0].key()))


def _norm(acc: dict) -> Num:
    terms = []
    for mono, coeff in acc.items():
        if coeff == 0 and not isinstance(coeff, float):
            continue
        if isinstance(coeff, float) and coeff == 0.0:
            continue
        if isinstance(coeff, Fraction) and coeff.denominator == 1:
            coeff = coeff.numerator
        terms.append((mono, coeff))
    terms.sort(key=_term_key)
    return Num(tuple(terms))


def _term_key(term: tuple) -> tuple:
    mono, _ = term
    degree = sum(e for _, e in mono)
    return (-degree, tuple((a.key(), e) for a, e in mono))


ZERO = Num.const(0)
ONE = Num.const(1)


# ----------------------------------------------------------------------------- bools


@dataclass(frozen=True)
class Bool:
    """kind: const (args=(bool,)), sym (name), defined (name), cmp (op, a, b), and/or (items), not (x)."""

    kind: str
    args: tuple

    def __repr__(self) -> str:
        return f"Bool({render_bool(self)})"


TRUE = Bool("const", (True,))
FALSE = Bool("const", (False,))


def bconst(value: bool) -> Bool:
    return TRUE if value else FALSE


def bsym(name: str) -> Bool:
    return Bool("sym", (name,))


def defined(name: str) -> Bool:
    return Bool("defined", (name,))


def bool_value(b: Bool) -> bool | None:
    return b.args[0] if b.kind == "const" else None


# ----------------------------------------------------------------------------- rendering

P_IF, P_OR, P_AND, P_NOT, P_CMP, P_SUM, P_PROD, P_UNARY, P_POW, P_ATOM = range(10)


def _wrap(text: str, prec: int, need: int) -> str:
    return f"({text})" if prec < need else text


def _coeff_text(c: Coeff) -> str:
    if isinstance(c, float):
        text = repr(c)
        return text if ("." in text or "e" in text) else text + ".0"
    return str(c)


def render(value: "Num | Bool", need: int = P_IF) -> str:
    """Formula text for a Num or Bool, parenthesised for a context of precedence `need`."""
    if isinstance(value, Bool):
        return render_bool(value, need)
    text, prec = _render_num(value)
    return _wrap(text, prec, need)


def _render_num(num: Num) -> tuple[str, int]:
    if not num.terms:
        return "0", P_ATOM
    parts: list[tuple[bool, str, int]] = []  # (negative, text, prec)
    for mono, coeff in num.terms:
        neg = not isinstance(coeff, float) and coeff < 0 or (isinstance(coeff, float) and coeff < 0)
        parts.append((neg, *_render_term(mono, -coeff if neg else coeff)))
    if len(parts) == 1:
        neg, text, prec = parts[0]
        if neg:
            return "-" + _wrap(text, prec, P_UNARY), P_UNARY
        return text, prec
    # put a positive term first when there is one
    parts.sort(key=lambda p: p[0])
    out = []
    for i, (neg, text, prec) in enumerate(parts):
        if i == 0:
            out.append(("-" + _wrap(text, prec, P_UNARY)) if neg else _wrap(text, prec, P_SUM))
        else:
            out.append((" - " if neg else " + ") + _wrap(text, prec, P_PROD))
    return "".join(out), P_SUM


def _render_term(mono: tuple, coeff: Coeff) -> tuple[str, int]:
    """coeff * prod(atom ** e): numerator factors joined by `*`, then `/` the denominator."""
    factors: list[tuple[str, int]] = []
    den: list[tuple[str, int]] = []
    if isinstance(coeff, Fraction):
        if coeff.numerator != 1:
            factors.append((str(coeff.numerator), P_ATOM))
        den.append((str(coeff.denominator), P_ATOM))
    elif coeff != 1 or isinstance(coeff, float):
        factors.append((_coeff_text(coeff), P_ATOM))
    for atom, e in mono:
        text, prec = _render_atom(atom)
        if abs(e) != 1:
            text, prec = f"{_wrap(text, prec, P_ATOM)} ** {abs(e)}", P_POW
        (factors if e > 0 else den).append((text, prec))
    if not factors:
        factors.append(("1", P_ATOM))
    if len(factors) == 1 and not den:
        return factors[0]
    out = _wrap(factors[0][0], factors[0][1], P_PROD)
    for text, prec in factors[1:]:
        out += " * " + _wrap(text, prec, P_UNARY)
    if den:
        if len(den) == 1:
            out += " / " + _wrap(den[0][0], den[0][1], P_UNARY)
        else:
            out += " / (" + " * ".join(_wrap(t, p, P_UNARY) for t, p in den) + ")"
    return out, P_PROD


_INFIX = {"floordiv": "//", "mod": "%", "div": "/"}


def _render_atom(atom: Atom) -> tuple[str, int]:
    if isinstance(atom, Sym):
        return f"${atom.name}", P_ATOM
    kind, args = atom.kind, atom.args
    if kind in _INFIX:
        return f"{render(args[0], P_PROD)} {_INFIX[kind]} {render(args[1], P_UNARY)}", P_PROD
    if kind == "pow":
        return f"{render(args[0], P_ATOM)} ** {render(args[1], P_UNARY)}", P_POW
    if kind == "fn":
        return f"{args[0]}({', '.join(render(a) for a in args[1:])})", P_ATOM
    if kind == "if":
        return f"if {render_bool(args[0])} then {render(args[1])} else {render(args[2])}", P_IF
    if kind == "opt":
        return f"${{{args[0]}:-{render(args[1])}}}", P_ATOM
    if kind == "unresolved":
        return f"{{unresolved.{args[0]}}}()", P_ATOM
    if kind in ("routed", "experts_hit"):
        return f"{{unresolved.A160_{kind}}}()", P_ATOM
    if kind == "call":
        label, rule, items, fwd, metric = args
        head = f"{{{label}: {rule}}}" if label else f"{{{rule}}}"
        parts = []
        if fwd:
            parts.append("...")
        for k, v in items:
            same = v.sym_name() == k if isinstance(v, Num) else (v.kind == "sym" and v.args[0] == k)
            if same:
                parts.append(k)
            else:
                parts.append(f"{k}={render(v)}")
        text = f"{head}({', '.join(parts)})"
        if metric:
            text += f".{metric}"
        return text, P_ATOM
    raise ValueError(kind)


def render_bool(b: Bool, need: int = P_IF) -> str:
    kind, args = b.kind, b.args
    if kind == "const":
        return "true" if args[0] else "false"
    if kind == "sym":
        return f"${args[0]}"
    if kind == "defined":
        return f"defined({args[0]})"
    if kind == "cmp":
        op, x, y = args
        return _wrap(f"{render(x, P_SUM)} {op} {render(y, P_SUM)}", P_CMP, need)
    if kind == "not":
        return _wrap(f"not {render_bool(args[0], P_NOT)}", P_NOT, need)
    if kind == "and":
        return _wrap(" and ".join(render_bool(x, P_NOT) for x in args), P_AND, need)
    if kind == "or":
        return _wrap(" or ".join(render_bool(x, P_AND) for x in args), P_OR, need)
    raise ValueError(kind)
