"""Config values the formula language cannot hold directly, exposed as numbers and bools.

The formula language has ints, floats and bools only. A config also holds strings
(`hidden_act`), nested mappings (`rope_scaling`) and lists (`layer_types`). eval exposes them
under derived parameter names, which a rule opts into by declaring them:

| config                                   | parameter                               | value |
|------------------------------------------|-----------------------------------------|-------|
| `rope_scaling: {factor: 8.0}`            | `rope_scaling__factor: float`           | 8.0   |
| `hidden_act: "gelu_new"`                 | `hidden_act__gelu_new: bool`            | true  |
|                                          | `hidden_act__silu: bool`                | false |
| `rope_scaling: {rope_type: "longrope"}`  | `rope_scaling__rope_type__longrope: bool` | true |
| `layer_types: ["full_attention", ...]`   | `layer_types__count__full_attention: int` | occurrences |
|                                          | `layer_types__len: int`                 | list length |
| the workload's dtype `bfloat16`          | `dtype__bfloat16: bool`                 | true  |
| the workload's attention path `sdpa`     | `attn_implementation__sdpa: bool`       | true  |

String values are folded to identifiers (lowercase; other characters become `_`). A name
whose field is absent from the config stays unbound, so the parameter's default applies.
"""

from __future__ import annotations

import re
from typing import Iterator

from lm_predictor.formula.values import Value

MAX_FACT_DEPTH = 3
"""Nested mappings deeper than this are not flattened."""

_NON_IDENTIFIER = re.compile(r"[^a-z0-9_]")


def symbol(text: str) -> str:
    """A string config value folded to an identifier fragment."""
    return _NON_IDENTIFIER.sub("_", text.lower())


WORKLOAD_FIELDS = ("dtype", "attn_implementation")
"""String facts the workload decides (never a config key), answerable without the config."""


def _flatten(prefix: str, value: object, depth: int) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        if depth >= MAX_FACT_DEPTH:
            return
        for key, inner in value.items():
            if isinstance(key, str) and key.isidentifier() and "__" not in key:
                yield from _flatten(f"{prefix}__{key}" if prefix else key, inner, depth + 1)
        return
    yield prefix, value


def derived_facts(config: dict) -> tuple[dict[str, Value], dict[str, str]]:
    """(numeric/bool facts by name, string fields by name) derived from a resolved config.

    The workload fields (dtype, attention path) are answered by `workload_fact`, never here."""
    facts: dict[str, Value] = {}
    strings: dict[str, str] = {}
    for name, value in _flatten("", config, 0):
        if name in WORKLOAD_FIELDS:
            continue  # the workload decides dtype and attention path, not a config key
        if isinstance(value, str):
            strings[name] = symbol(value)
        elif isinstance(value, (bool, int, float)) and "__" in name:
            facts[name] = value
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            facts[f"{name}__len"] = len(value)
            for item in value:
                key = f"{name}__count__{symbol(item)}"
                facts[key] = facts.get(key, 0) + 1  # type: ignore[operator]
    return facts, strings


def workload_fact(name: str, dtype: str, attn: str) -> bool | None:
    """`dtype__X` / `attn_implementation__X` from the workload alone; None for any other name."""
    field, _, wanted = name.rpartition("__")
    if field not in WORKLOAD_FIELDS:
        return None
    return symbol(dtype if field == "dtype" else attn) == wanted


def lookup_fact(name: str, facts: dict[str, Value], strings: dict[str, str]) -> Value | None:
    """The value of a derived parameter `name`, or None when the config says nothing about it."""
    if name in facts:
        return facts[name]
    if "__count__" in name:
        field = name.split("__count__", 1)[0]
        return 0 if f"{field}__len" in facts else None
    field, _, wanted = name.rpartition("__")
    if field in strings:
        return strings[field] == wanted
    return None
