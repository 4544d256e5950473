"""`accepts:`: a root rule lists the string config values it prices; eval refuses the others.

The eight hand families read the activation string through derived switches whose defaults are
the one-op activations, so before `accepts` a typo or an unmodelled "xielu" / "prelu" (PReLU owns a
parameter) was priced as silu. transformers itself raises KeyError for the typo (ACT2FN)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import predict
from lm_predictor.rules.library import RuleLibrary

REPO = Path(__file__).resolve().parents[2]
FIELDS = {
    "llama-2-7b": "hidden_act", "mistral-7b": "hidden_act", "qwen2.5-7b": "hidden_act", "gemma-7b": "hidden_act",
    "phi-3-mini": "hidden_act", "gpt2": "activation_function", "pythia-160m": "hidden_act", "falcon-7b": "activation",
}


def config(name: str, **changes: object) -> dict:
    return {**json.loads((REPO / "configs" / name / "config.json").read_text()), **changes}


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("value", ["bogus", "xielu", "prelu", "SiLU"])
def test_unpriced_activation_is_refused(name: str, value: str) -> None:
    with pytest.raises(LmPredictorError) as err:
        predict(config(name, **{FIELDS[name]: value}), seq_len=4, breakdown=False)
    assert err.value.diagnostic.code.code == "C001"
    assert f"config field '{FIELDS[name]}' is {value!r}" in err.value.diagnostic.message


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_the_published_activation_is_priced(name: str) -> None:
    assert predict(config(name), seq_len=4, breakdown=False).totals["flops"] > 0


def test_a_malformed_accepts_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  h.R:\n    accepts:\n      hidden_act: silu\n    flops: 1\n", encoding="utf-8")
    library = RuleLibrary()
    library.load_file(path)
    assert [diag.code.code for diag in library.diagnostics] == ["S006"]
    assert "accepts of 'hidden_act' must be a non-empty list of strings" in library.diagnostics[0].message
