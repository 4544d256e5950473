"""Walking a forward's arguments and return values by position (brains/saved.py's callee-to-caller bookkeeping)."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest.values import ListV, Phi, Record, Tensor


def pairs(a: Any, b: Any) -> list:
    """(callee value, caller value) tensor pairs of a forward's return value, walked through tuples, lists, records and branches."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return [(a, b)]
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        return [p for x, y in zip(a, b) for p in pairs(x, y)]
    if isinstance(a, ListV) and isinstance(b, ListV) and a.rep is None and b.rep is None and len(a.items) == len(b.items):
        return [p for x, y in zip(a.items, b.items) for p in pairs(x, y)]  # a list the forward returns (OpenAI GPT's Block)
    if isinstance(a, Record) and isinstance(b, Record):
        return [p for k in a.fields for p in pairs(a.fields.get(k), b.fields.get(k))]
    if isinstance(a, Phi) and isinstance(b, Phi):
        return pairs(a.a, b.a) + pairs(a.b, b.b)
    return []


def lookup(args: list, kwargs: dict, key: tuple) -> Any:
    """The call's argument at a forward-input key (("pos", i, *path) | ("kw", name, *path))."""
    kind, head, *path = key
    if kind == "pos":
        value = args[head] if head < len(args) else None
    else:
        value = kwargs.get(head)
    return at_path(value, path)


def at_path(value: Any, path: list) -> Any:
    """`value[i][j]...` for the path's indices, through the arms of a value of branches (None: not there)."""
    if isinstance(value, Phi):
        return Phi(value.cond, at_path(value.a, path), at_path(value.b, path))
    for k, i in enumerate(path):
        if isinstance(value, Phi):
            return at_path(value, path[k:])
        if not isinstance(value, (tuple, list)) or i >= len(value):
            return None
        value = value[i]
    return value
