"""Shared sub-expressions of a rule bound once: a condition or size that a rule's formulas repeat
(a per-layer test read at every size, a null-defaulted size nested in others) becomes a parameter
with a formula default, so that each formula names it instead of spelling it out and stays within
the parser's length limit (F002)."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from typing import Any

from lm_predictor.formula.parser import parse_formula
from lm_predictor.limits import MAX_FORMULA_CHARS
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool, Num, Op, Sym

_OP_KINDS = ("floordiv", "mod", "div", "pow", "fn", "if", "opt")
_BOOL_KINDS = ("or", "and", "not", "cmp")
MIN_TEXT = 40
"""Shortest sub-expression worth a parameter (characters as rendered)."""
MAX_LETS = 40


def _impure(value: Any, memo: dict) -> bool:
    """Whether a term holds a rule call or an unresolved value (those stay in the formula)."""
    if isinstance(value, Op):
        if value.kind in ("call", "unresolved"):
            return True
        got = memo.get(value)
        if got is None:
            got = any(_impure(a, memo) for a in value.args)
            memo[value] = got
        return got
    if isinstance(value, Num):
        return any(_impure(atom, memo) for mono, _ in value.terms for atom, _ in mono)
    if isinstance(value, Bool):
        return any(_impure(a, memo) for a in value.args if not isinstance(a, str))
    if isinstance(value, tuple):
        return any(_impure(a, memo) for a in value)
    return False


def _count(value: Any, counts: Counter) -> None:
    """Occurrences of every compound sub-expression (Op atoms other than calls, Bool junctions)."""
    if isinstance(value, Num):
        for mono, _ in value.terms:
            for atom, _ in mono:
                if isinstance(atom, Op):
                    if atom.kind in _OP_KINDS:
                        counts[atom] += 1
                    _count(atom.args, counts)
    elif isinstance(value, Bool):
        if value.kind in _BOOL_KINDS:
            counts[value] += 1
        _count(value.args, counts)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _count(item, counts)


def _text(node: Any) -> str:
    return X.render_bool(node) if isinstance(node, Bool) else X.render(Num.atom(node))


def replace(value: Any, table: dict) -> Any:
    """value with every sub-expression in `table` (node -> parameter) replaced by the parameter."""
    if not table:
        return value
    if isinstance(value, Num):
        out = X.ZERO
        for mono, coeff in value.terms:
            term = Num.const(coeff)
            for atom, e in mono:
                if atom in table:
                    piece = Num.atom(Sym(table[atom]))
                elif isinstance(atom, Op):
                    piece = Num.atom(Op(atom.kind, replace(atom.args, table)))
                else:
                    piece = Num.atom(atom)
                term = term * (X.power(piece, Num.const(e)) if e != 1 else piece)
            out = out + term
        return out
    if isinstance(value, Bool):
        if value in table:
            return X.bsym(table[value])
        return Bool(value.kind, replace(value.args, table))
    if isinstance(value, tuple):
        return tuple(replace(item, table) for item in value)
    return value


def choose(exprs: list, rule: str, budget: int) -> list:
    """Sub-expressions to bind, in order, as (name, node, default, type): `node` as it reads once
    the earlier ones are replaced (apply them in order: `replace_all`), `default` its value over
    the other names; none while the rendered
    formulas (`exprs`, lists of Num/Bool per metric) all fit `budget` characters."""

    def size(group: list) -> int:
        return sum(len(text_of(e)) for e in group)

    if all(size(group) <= budget for group in exprs):
        return []
    tag = hashlib.sha1(rule.encode()).hexdigest()[:6]
    lets: list = []
    table: dict = {}
    memo: dict = {}
    current = [list(group) for group in exprs]
    while len(lets) < MAX_LETS and any(size(group) > budget for group in current):
        counts: Counter = Counter()
        _count(current, counts)
        _count(tuple(node for _, _, node, _ in lets), counts)
        best, gain = None, 0
        for node, n in counts.items():
            if n < 2 or _impure(node, memo):
                continue
            length = len(_text(node))
            if length < MIN_TEXT:
                continue
            if (n - 1) * length > gain:
                best, gain = node, (n - 1) * length
        if best is None:
            break
        name = f"let_{tag}_{len(lets) + 1}"
        one = {best: name}
        lets = [(nm, key, replace(node, one), ty) for nm, key, node, ty in lets]
        lets.append((name, best, best if isinstance(best, Bool) else Num.atom(best), "bool" if isinstance(best, Bool) else "number"))
        table[best] = name
        current = [[replace(e, one) for e in group] for group in current]
    return lets


def replace_all(value: Any, lets: list) -> Any:
    """value with every bound sub-expression of `lets` (choose's answer) replaced, in order."""
    for name, node, _, _ in lets:
        value = replace(value, {node: name})
    return value


def text_of(value: Any) -> str:
    """A Num or Bool as formula text."""
    return X.render_bool(value) if isinstance(value, Bool) else X.render(value)


def loadable(text: str) -> bool:
    """Whether a formula stays within the parser's limits (length, nodes, depth), with a margin for
    the final names: a bytes formula that would not load (F002 / F004) would make the whole rule
    fail, so it is left out instead."""
    if len(text) > MAX_FORMULA_CHARS * 9 // 10:
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("bytes formula left out:", len(text), "characters")
        return False
    try:
        parse_formula(text)
    except Exception as err:  # noqa: BLE001 - any fault of the text: no bytes metric
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("bytes formula left out:", err)
        return False
    return True
