"""The default predict() builds its per-module breakdown on first access; it equals the eager one."""

from __future__ import annotations

import pytest

from lm_predictor.engine.evaluate import evaluate
from lm_predictor.evaluate.binding import bind, find_root_rule, resolve
from lm_predictor.evaluate.breakdown import merge_trees
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.evaluate.predict import TOTAL_METRICS, default_library, predict
from lm_predictor.limits import MAX_CALLS
from lm_predictor.workload import Workload


def eager(name: str, workload: Workload) -> tuple[dict, list]:
    """Totals and rows the way predict() built them before: every metric traced through the engine."""
    library = default_library()
    resolved = resolve(load_config(name)[0])
    rule = find_root_rule(library, resolved)
    bindings = bind(rule, resolved, workload)
    metrics = [m for m in TOTAL_METRICS if m in rule.metrics]
    totals, trees, budget = {}, {}, MAX_CALLS
    for metric in metrics:
        result = evaluate(library, rule.name, metric, bindings, trace=True, max_calls=budget)
        budget -= result.calls
        totals[metric], trees[metric] = result.value, result.tree
    return totals, merge_trees(trees)


@pytest.mark.parametrize(
    "name, workload",
    [
        ("llama-2-7b", Workload(1, 128, 0, "float32")),
        ("gpt2", Workload(2, 64, 16, "bfloat16")),  # past_len > 0, a half-precision dtype
        ("qwen2.5-7b", Workload(1, 7, 0, "float16")),  # full and sliding-window layers at one path
    ],
)
def test_lazy_breakdown_equals_eager(name: str, workload: Workload):
    totals, rows = eager(name, workload)
    pred = predict(name, batch=workload.batch, seq_len=workload.seq_len, past_len=workload.past_len, dtype=workload.dtype)
    assert callable(pred.breakdown)  # not built yet
    assert {m: (v, type(v)) for m, v in pred.totals.items() if m in totals} == {m: (v, type(v)) for m, v in totals.items()}
    assert pred.modules == rows
    assert pred.modules is pred.modules  # built once
    now = predict(name, batch=workload.batch, seq_len=workload.seq_len, past_len=workload.past_len, dtype=workload.dtype, breakdown=True)
    assert not callable(now.breakdown)  # built in the same pass as the totals
    assert now.as_json() == pred.as_json()
    assert pred.as_json()["modules"] == [
        {"path": r.path, "rule": r.rule, "count": r.count if isinstance(r.count, int) or r.count is None else str(r.count),
         **{k: v if isinstance(v, int) or v is None else str(v) for k, v in r.totals.items()}}
        for r in rows
    ]


def test_no_breakdown_has_no_rows():
    assert predict("gpt2", breakdown=False).modules == []
