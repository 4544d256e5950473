"""eval of every bundled 4.56 config gives the numbers main gave before the second pin existed.

tests/data/eval_baseline_4_56.json was recorded from main at ebecf23, before this change, with
the command stored in the file ("command"): totals and every module path, prefill (batch 1,
128 tokens) and decode (batch 2, 1 token after 64).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.evaluate.predict import predict

BASELINE = json.loads((Path(__file__).resolve().parents[1] / "data" / "eval_baseline_4_56.json").read_text())
CASES = [(name, phase) for name, phases in sorted(BASELINE["results"].items()) for phase in sorted(phases)]


def test_baseline_covers_every_bundled_config_the_4_56_pin_reads():
    from lm_predictor.data.versions import choose_pin
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.resources import configs_dir

    names = {p.parent.name for p in configs_dir().glob("*/config.json") if choose_pin(load_config(p.parent.name)[0]).version == "4.56.0"}
    assert set(BASELINE["results"]) <= names
    assert len(BASELINE["results"]) == 16  # every config bundled before this change


@pytest.mark.parametrize(("name", "phase"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_eval_is_unchanged(name, phase):
    recorded = BASELINE["results"][name][phase]
    w = recorded["workload"]
    result = predict(name, batch=w["batch"], seq_len=w["seq_len"], past_len=w["past_len"], dtype=w["dtype"]).as_json()
    assert result["transformers"]["version"] == "4.56.0"
    assert result["model"] == recorded["model"]
    # Metrics added since the recording (peak_bytes) are new facts, not changes: every recorded one must hold.
    assert {k: result["totals"].get(k) for k in recorded["totals"]} == recorded["totals"]
    modules = {m["path"]: m for m in result["modules"]}
    assert set(recorded["modules"]) <= set(modules)
    # a new path may only show what a recorded module is made of (ACT2FN's `single_op` under `mlp.act_fn`)
    assert all(any(path.startswith(old + ".") for old in recorded["modules"]) for path in set(modules) - set(recorded["modules"]))
    for path, fields in recorded["modules"].items():
        assert {k: modules[path].get(k) for k in fields} == fields, path
