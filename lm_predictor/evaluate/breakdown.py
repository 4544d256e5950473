"""Merge the call trees of several metrics into one per-module breakdown."""

from __future__ import annotations

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


def _walk(record: CallRecord, path: str, depth: int, count: Number | None):
    for child in record.children:
        child_count = None if count is None or child.count is None else count * child.count
        child_path = f"{path}.{child.label}" if path else child.label
        yield child_path, depth + 1, child_count, child
        yield from _walk(child, child_path, depth + 1, child_count)


def merge_trees(trees: dict[str, CallRecord]) -> list[ModuleRow]:
    """Rows in first-seen order; a metric's total at a path sums all its call sites there.

    So does its count: a path reached from several call sites of one metric (e.g. Qwen2's full
    and sliding-window layers, both `model.layers`) counts every instance; the first metric
    that reaches a path fixes its count."""
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
    return list(rows.values())
