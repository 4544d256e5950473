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
    """Terms with the same cost: the same guard twice is the cost twice (mults add up); different
    guards are alternatives whose OR is simplified (a cost equal on both sides of a runtime
    branch loses the branch)."""
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
        items = groups[key]
        counts: dict = {}
        first: dict = {}
        for t in items:
            c = _conj(t.guard)
            counts[c] = counts.get(c, 0) + 1
            first.setdefault(c, t)
        if any(n > 1 for n in counts.values()):
            for c, n in counts.items():
                t = first[c]
                out.append(Term(t.guard, t.mult * n, t.expr, t.note))
            continue
        guard = simplify_or([t.guard for t in items]) if len(items) > 1 else items[0].guard
        if guard == X.FALSE:
            continue
        out.append(Term(guard, items[0].mult, items[0].expr, items[0].note))
    return out


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
