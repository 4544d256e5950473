"""Rule text pieces: merging a metric's terms (guards joined, equal terms summed) and YAML scalars."""

from __future__ import annotations

import json
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool, Num
from lm_predictor.suggest.scope import RuleRef, Term


def _conj(b: Bool) -> frozenset:
    if b == X.TRUE:
        return frozenset()
    return frozenset(b.args) if b.kind == "and" else frozenset((b,))


def simplify_or(guards: list) -> Bool:
    """OR of conjunctions, with A&x | A&!x -> A and absorption."""
    sets = {_conj(g) for g in guards if g != X.FALSE}
    changed = True
    while changed:
        changed = False
        items = list(sets)
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                if len(a) == len(b):
                    diff_a, diff_b = a - b, b - a
                    if len(diff_a) == 1 and len(diff_b) == 1:
                        (x,), (y,) = tuple(diff_a), tuple(diff_b)
                        if X.bnot(x) == y:
                            sets.discard(a)
                            sets.discard(b)
                            sets.add(a & b)
                            changed = True
                            break
            if changed:
                break
        for a in list(sets):
            for b in list(sets):
                if a is not b and a < b and b in sets:
                    sets.discard(b)
                    changed = True
    if frozenset() in sets:
        return X.TRUE
    return X.bor(*(X.band(*sorted(s, key=X.render_bool)) for s in sorted(sets, key=lambda s: sorted(map(X.render_bool, s)))))


def merge_terms(terms: list) -> list:
    """Terms with the same cost: the same guard twice is the cost twice (mults add up); guards that
    exclude each other are alternatives whose OR is simplified (a cost equal on both sides of a
    runtime branch loses the branch); guards that can hold together are separate calls and add up."""
    groups: dict = {}
    order: list = []
    for term in terms:
        key = (X.render(term.mult), X.render(term.expr), _term_identity(term.expr))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(term)
    out = []
    for key in order:
        counted: dict = {}
        for t in groups[key]:
            c = _conj(t.guard)
            if c in counted:
                counted[c] = (counted[c][0], counted[c][1] + 1)
            else:
                counted[c] = (t, 1)
        for items in _exclusive_classes(list(counted.values())):
            first, n = items[0]
            guard = simplify_or([t.guard for t, _ in items]) if len(items) > 1 else first.guard
            if guard != X.FALSE:
                out.append(Term(guard, first.mult * n, first.expr, first.note))
    return out


def _exclusive_classes(items: list) -> list:
    """(term, count) pairs split into classes whose guards pairwise exclude each other and whose
    counts agree: each class is one call on alternative paths (an OR), the classes add up."""
    classes: list = []
    for term, n in items:
        for cls in classes:
            if cls[0][1] == n and all(exclusive(term.guard, other.guard) for other, _ in cls):
                cls.append((term, n))
                break
        else:
            classes.append([(term, n)])
    return classes


def exclusive(a: Bool, b: Bool) -> bool:
    """Whether `a and b` can never hold (a small DPLL over the guards' atoms; False when unsure)."""
    budget = [_SAT_BUDGET]
    return not _satisfiable(X.band(a, b), budget)


_SAT_BUDGET = 4096
"""Branches the search may take before it answers "maybe" (then the terms add up, which is exact)."""
_NEGATIVE_OPS = ("!=", ">=", "<=")


def _satisfiable(b: Bool, budget: list) -> bool:
    if b.kind == "const":
        return bool(b.args[0])
    budget[0] -= 1
    if budget[0] < 0:
        return True
    atom = _first_atom(b)
    return _satisfiable(_assign(b, atom, True), budget) or _satisfiable(_assign(b, atom, False), budget)


def _positive(b: Bool) -> Bool:
    """An atom in one polarity: `x != 1` is `not (x == 1)`."""
    return X.bnot(b) if b.kind == "cmp" and b.args[0] in _NEGATIVE_OPS else b


def _first_atom(b: Bool) -> Bool:
    while b.kind in ("and", "or", "not"):
        b = b.args[0]
    return _positive(b)


def _assign(b: Bool, atom: Bool, value: bool) -> Bool:
    """`b` with `atom` set to `value`, constants folded."""
    if b.kind in ("and", "or"):
        parts = [_assign(x, atom, value) for x in b.args]
        return X.band(*parts) if b.kind == "and" else X.bor(*parts)
    if b.kind == "not":
        return X.bnot(_assign(b.args[0], atom, value))
    if b.kind == "const":
        return b
    if b == atom:
        return X.bconst(value)
    if _positive(b) == atom:
        return X.bconst(not value)
    return b


def _term_identity(expr: Num) -> tuple:
    ids = []
    for atom in call_atoms(expr):
        rule = atom.args[1]
        ids.append(id(rule.target) if isinstance(rule, RuleRef) else str(rule))
    return tuple(ids)


def op_atoms(expr: Num) -> list:
    """The opaque atoms (X.Op) of an expression's monomials, in order."""
    return [atom for mono, _ in expr.terms for atom, _ in mono if isinstance(atom, X.Op)]


def call_atoms(expr: Num) -> list:
    """The rule calls of an expression, those inside `if` arms included."""
    out = []
    for atom in op_atoms(expr):
        if atom.kind == "call":
            out.append(atom)
        elif atom.kind == "if":
            out.extend(call_atoms(atom.args[1]))
            out.extend(call_atoms(atom.args[2]))
    return out


def unresolved_slugs(expr: Num) -> list:
    """The unresolved terms an expression carries, wherever they are nested."""
    out = []
    for atom in op_atoms(expr):
        if atom.kind == "unresolved":
            out.append(atom.args[0])
        elif atom.kind in ("if", "fn", "floordiv", "mod", "div", "pow", "opt"):
            for a in atom.args:
                if isinstance(a, Num):
                    out.extend(unresolved_slugs(a))
        elif atom.kind == "call":
            for _, v in atom.args[2]:
                if isinstance(v, Num):
                    out.extend(unresolved_slugs(v))
    return out


def yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def param_yaml(spec: dict) -> str:
    parts = []
    for key in ("type", "default", "optional", "derived", "doc"):
        if key in spec:
            value = spec[key]
            parts.append(f"{key}: {value if key == 'type' else yaml_scalar(value)}")
    return "{" + ", ".join(parts) + "}"


def formula_yaml(text: str, indent: str) -> str:
    if "\n" not in text and len(text) < 90 and not text.startswith(("{", "[", "'", '"', "*", "&", "!", "%", "@", "`", "|", ">", "-", "?", ":", "#")) and ": " not in text and " #" not in text:
        return text
    lines = text.split("\n")
    return ">-\n" + "\n".join(indent + line for line in lines)


def calls_naming(expr: Num, metric: str) -> Num:
    """`expr` with every call that inherits its metric naming `metric` instead."""
    out = Num.const(0)
    for mono, coeff in expr.terms:
        term = Num.const(coeff)
        for atom, e in mono:
            if isinstance(atom, X.Op) and atom.kind == "call" and atom.args[4] is None:
                atom = X.Op("call", atom.args[:4] + (metric,))
            piece = Num.atom(atom)
            term = term * (X.power(piece, Num.const(e)) if e != 1 else piece)
        out = out + term
    return out
