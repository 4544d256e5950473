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


def refusal(raw: dict) -> str:
    """The message of the C001 that eval refuses `raw` with."""
    with pytest.raises(LmPredictorError) as err:
        predict(raw, seq_len=4, breakdown=False)
    assert err.value.diagnostic.code.code == "C001"
    return err.value.diagnostic.message


def schema_diagnostics(tmp_path: Path, accepts: str) -> list:
    """The diagnostics of loading a one-rule file whose `accepts:` body is `accepts`."""
    path = tmp_path / "rules.yaml"
    path.write_text(f"rules:\n  h.R:\n    accepts:\n      {accepts}\n    flops: 1\n", encoding="utf-8")
    library = RuleLibrary()
    library.load_file(path)
    return library.diagnostics


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("value", ["bogus", "xielu", "prelu", "SiLU"])
def test_unpriced_activation_is_refused(name: str, value: str) -> None:
    assert f"config field '{FIELDS[name]}' is {value!r}" in refusal(config(name, **{FIELDS[name]: value}))


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_the_published_activation_is_priced(name: str) -> None:
    assert predict(config(name), seq_len=4, breakdown=False).totals["flops"] > 0


def test_a_malformed_accepts_is_a_schema_error(tmp_path: Path) -> None:
    diagnostics = schema_diagnostics(tmp_path, "hidden_act: silu")
    assert [diag.code.code for diag in diagnostics] == ["S006"]
    assert "accepts of 'hidden_act' must be a non-empty list of strings" in diagnostics[0].message


ROPE_FAMILIES = ("llama-2-7b", "mistral-7b", "qwen2.5-7b", "gemma-7b", "pythia-160m", "falcon-7b")


@pytest.mark.parametrize("name", ROPE_FAMILIES)
@pytest.mark.parametrize(("key", "value"), [("rope_type", "bogus"), ("rope_type", "dynamic"), ("type", "dynamic"), ("rope_type", "longrope")])
def test_unpriced_rope_type_is_refused(name: str, key: str, value: str) -> None:
    # dynamic re-derives inv_freq inside forward past max_position_embeddings: verify measured the
    # rotary_emb bytes of llama, qwen2, gemma, gpt_neox and falcon off there (a shrunk real run, 16 tokens
    # past 8 positions); transformers raises KeyError for "bogus"; "type" is the legacy key it copies
    assert f"config field 'rope_scaling.{key}' is {value!r}" in refusal(config(name, rope_scaling={key: value, "factor": 2.0}))


@pytest.mark.parametrize("name", ROPE_FAMILIES)
@pytest.mark.parametrize("value", ["linear", "yarn"])
def test_rope_types_fixed_at_init_are_priced(name: str, value: str) -> None:
    # their frequencies only scale inv_freq at init: flops equal the unscaled model's
    plain = predict(config(name), seq_len=4, breakdown=False).totals["flops"]
    assert predict(config(name, rope_scaling={"rope_type": value, "factor": 2.0}), seq_len=4, breakdown=False).totals["flops"] == plain


def test_a_dotted_accepts_path_must_name_fields(tmp_path: Path) -> None:
    assert [diag.code.code for diag in schema_diagnostics(tmp_path, "rope_scaling..rope_type: [default]")] == ["S006"]


def test_a_rope_scaling_that_is_not_a_mapping_is_refused() -> None:
    assert "config field 'rope_scaling' must be a mapping, got 'linear'" in refusal(config("llama-2-7b", rope_scaling="linear"))
