"""Coverage floor: a fixed sample of the survey's exact model types stays exact end to end.

bench/survey.py runs all 132 causal-LM types (minutes); this runs eight of its exact ones through
the same function (`survey_one`: predict() with rules derived from the pinned sources, at the
to_json_file() and the minimal config, against the oracle under fake tensors or real ones on a
shrunk config, prefill and decode), chosen for
different shapes so a change to suggest that loses one kind of model fails here first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.util import load_script

REPO = Path(__file__).resolve().parents[2]

SAMPLE = {
    "starcoder2": "dense decoder, GQA, fake tensors",
    "opt": "learned positions, pre/post layer norm",
    "bloom": "alibi attention bias",
    "phi": "parallel attention and MLP, partial rotary",
    "qwen2_moe": "MoE with a shared expert (real tensors, shrunk config)",
    "whisper": "encoder-decoder (the decoder as a causal LM)",
    "xglm": "sinusoidal positions (real tensors, shrunk config)",
    "roberta": "encoder used as a causal LM: no KV cache, prefill only",
}


def _survey():
    return load_script("survey", "bench")


def test_the_sample_is_exact_in_the_committed_survey() -> None:
    records = {r["model_type"]: r for r in json.loads((REPO / "bench" / "survey.json").read_text(encoding="utf-8"))["records"]}
    assert all(records[mt]["exact"] for mt in SAMPLE), "the sample must come from the survey's exact set"


@pytest.mark.parametrize("model_type", sorted(SAMPLE), ids=sorted(SAMPLE))
def test_a_surveyed_exact_type_stays_exact(model_type: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMPREDICT_CACHE", str(tmp_path))  # derived rules and suggest results: this test's own cache
    record = _survey().survey_one(model_type, names=("to_json", "minimal"))
    failed = {name: f"{r['category']}: {r['detail']}" for name, r in record["configs"].items() if not r["exact"]}
    assert record["exact"], f"{model_type} ({SAMPLE[model_type]}): {failed}"
