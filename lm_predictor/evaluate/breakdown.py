"""Merge the call trees of several metrics into one per-module breakdown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lm_predictor.engine.records import CallRecord
from lm_predictor.formula.values import Number, Value


@dataclass
class ModuleRow:
    """One call path (e.g. `model.layers.self_attn`): its rule, repetition, and metric totals."""

    path: str
    rule: str
    depth: int
    count: Number | None
    totals: dict[str, Value] = field(default_factory=dict)
    per_call: dict[str, Value] = field(default_factory=dict)
    bindings: dict[str, Value] = field(default_factory=dict)  # arguments of the first call, over all metrics
    sites: list[tuple[str, Value | None, Number | None]] = field(default_factory=list, repr=False)  # (rule, layer_idx, count) per call site
    kinds: list[tuple[str, Number]] = field(default_factory=list)  # layers that differ: (kind, count), first seen first


def _walk(record: CallRecord, path: str, depth: int, count: Number | None):
    for child in record.children:
        child_count = None if count is None or child.count is None else count * child.count
        child_path = f"{path}.{child.label}" if path else child.label
        yield child_path, depth + 1, child_count, child
        yield from _walk(child, child_path, depth + 1, child_count)


def merge_trees(trees: dict[str, CallRecord], layer_kinds: list[str] | None = None) -> list[ModuleRow]:
    """Rows in first-seen order; a metric's total at a path sums all its call sites there.

    So does its count: a path reached from several call sites of one metric (e.g. Qwen2's full
    and sliding-window layers, both `model.layers`) counts every instance; the first metric
    that reaches a path fixes its count.

    Where the call sites of a path differ (jamba's attention and Mamba layers, gemma-3's sliding
    and full ones), the row also lists each kind with its count: the config's per-layer kind
    list `layer_kinds` read at the site's layer_idx, else the callee's class name."""
    rows: dict[str, ModuleRow] = {}
    counted: set[str] = set()
    for metric, tree in trees.items():
        counts: dict[str, Number | None] = {}
        for path, depth, count, record in _walk(tree, "", 0, 1):
            row = rows.get(path)
            if row is None:
                row = rows[path] = ModuleRow(path, record.rule, depth, count)
            elif row.count is None and count is not None and path not in counted:
                row.count = count
            for name, value in record.bindings.items():
                row.bindings.setdefault(name, value)
            if record.metric != metric:
                continue  # `{X}(...).other_metric` inside this metric: not a term of it
            if path not in counted:
                row.sites.append((record.rule, record.bindings.get("layer_idx"), count))
                seen = counts.get(path, 0)
                counts[path] = None if seen is None or count is None else seen + count
            row.per_call.setdefault(metric, record.value)
            if count is not None and row.totals.get(metric, 0) is not None:
                row.totals[metric] = row.totals.get(metric, 0) + count * record.value
            else:
                row.totals[metric] = None
        for path, total in counts.items():
            if total is not None:
                rows[path].count = total
                counted.add(path)
    for row in rows.values():
        row.kinds = row_kinds(row.sites, layer_kinds)
    return list(rows.values())


def row_kinds(sites: list, layer_kinds: list[str] | None) -> list[tuple[str, Number]]:
    """(kind, count) per kind of the call sites of one path, when there is more than one kind."""
    if any(count is None for _, _, count in sites):
        return []
    sites = [site for site in sites if site[2] != 0]  # a group of layers this config does not have
    if len(sites) < 2:
        return []
    names = [re.sub(r"_v\d+$", "", rule.rsplit(".", 1)[-1]) for rule, _, _ in sites]  # JambaMLP_v2: a variant of JambaMLP
    head = len(_common_prefix(names))
    tail = len(_common_prefix([n[head:][::-1] for n in names]))
    out: dict[str, Number] = {}
    for (rule, index, count), name in zip(sites, names):
        if layer_kinds and isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(layer_kinds):
            kind = str(layer_kinds[index])
        else:
            kind = (name[head:len(name) - tail] or name).lower()
        out[kind] = out.get(kind, 0) + count
    return list(out.items()) if len(out) > 1 else []


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]
