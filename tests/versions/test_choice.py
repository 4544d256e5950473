"""Which transformers pin reads a config (lm_predictor/data/versions.py), and what eval says about it."""

from __future__ import annotations

import json

import pytest

from lm_predictor.data import transformers_table as tt
from lm_predictor.data.versions import DEFAULT_PIN, PINS, choose_pin, reading
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import predict

LLAMA = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 256}


@pytest.mark.parametrize(
    ("written", "pin", "why"),
    [
        (None, "4.56.0", "config has no transformers_version"),
        ("4.31.0.dev0", "4.56.0", "config written by transformers 4.31.0.dev0"),
        ("4.57.1", "4.56.0", "config written by transformers 4.57.1"),
        ("5.0.0", "5.23.0", "config written by transformers 5.0.0"),
        ("5.30.0.dev0", "5.23.0", "config written by transformers 5.30.0.dev0"),
        ("3.4.0", "4.56.0", "older than every pin"),
        ("6.1.0", "5.23.0", "newer than every pin"),
    ],
)
def test_policy(written, pin, why):
    raw = {"model_type": "llama"} if written is None else {"model_type": "llama", "transformers_version": written}
    choice = choose_pin(raw)
    assert choice.version == pin and why in choice.reason


@pytest.mark.parametrize("bad", ["four", "", "5", 5.0, ["5.0.0"], "v5.0.0"])
def test_a_value_that_is_not_a_version_is_c050(bad):
    with pytest.raises(LmPredictorError) as err:
        choose_pin({"model_type": "llama", "transformers_version": bad})
    assert err.value.diagnostic.code.code == "C050"


def test_override_wins_and_must_be_a_pin():
    assert choose_pin({"model_type": "llama", "transformers_version": "5.1.0"}, "4.56.0").version == "4.56.0"
    with pytest.raises(LmPredictorError) as err:
        choose_pin({"model_type": "llama"}, "4.57.0")
    assert err.value.diagnostic.code.code == "C050" and "4.56.0, 5.23.0" in err.value.diagnostic.message


def test_tables_are_per_pin():
    assert tt.load_table("4.56.0")["transformers_version"] == "4.56.0"
    assert tt.load_table("5.23.0")["transformers_version"] == "5.23.0"
    causal = {v: {t for t, f in tt.load_table(v)["model_types"].items() if f["in_causal_lm_mapping"]} for v in PINS}
    # the counts of /work/shared/reference/oracle-notes.md: 132 and 189, 64 new, 7 gone
    assert (len(causal["4.56.0"]), len(causal["5.23.0"])) == (132, 189)
    assert len(causal["5.23.0"] - causal["4.56.0"]) == 64 and len(causal["4.56.0"] - causal["5.23.0"]) == 7
    assert tt.causal_lm_for("qwen3_5", "4.56.0") is None
    assert tt.causal_lm_for("qwen3_5", "5.23.0") == "transformers.models.qwen3_5.modeling_qwen3_5.Qwen3_5ForCausalLM"


def test_lookups_without_a_version_read_the_active_pin():
    assert tt.load_table()["transformers_version"] == DEFAULT_PIN
    with reading("5.23.0"):
        assert tt.load_table()["transformers_version"] == "5.23.0"
        assert tt.config_facts("gemma4_text") is not None
    assert tt.config_facts("gemma4_text") is None


@pytest.mark.parametrize(
    ("raw", "other"),
    [
        ({"model_type": "qwen3_next"}, "5.23.0"),  # added after 4.56
        ({"model_type": "qwen3_next", "transformers_version": "4.57.0.dev0"}, "5.23.0"),  # a 4.x config of a type 4.56 lacks
        ({"model_type": "code_llama", "transformers_version": "5.2.0"}, "4.56.0"),  # removed in 5.x
    ],
)
def test_a_type_only_the_other_pin_knows_is_an_error_naming_it(raw, other):
    with pytest.raises(LmPredictorError) as err:
        predict(raw, seq_len=4)
    assert err.value.diagnostic.code.code == "C051"
    assert f"transformers {other} defines it: pass --transformers {other}" in err.value.diagnostic.message


def test_a_type_no_pin_knows_stays_c002():
    with pytest.raises(LmPredictorError) as err:
        predict({"model_type": "no_such_model"}, seq_len=4)
    assert err.value.diagnostic.code.code == "C002" and "4.56.0" in err.value.diagnostic.message


def test_output_says_which_pin_was_read(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LLAMA, "transformers_version": "4.40.0"}))
    result = predict(path, seq_len=4)
    assert result.as_json()["transformers"] == {"version": "4.56.0", "why": "config written by transformers 4.40.0"}
    forced = predict(path, seq_len=4, transformers="4.56.0").as_json()["transformers"]
    assert forced == {"version": "4.56.0", "why": "chosen explicitly"}


def test_eval_header_names_the_pin(tmp_path, capsys):
    from lm_predictor.cli.main import main

    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA))
    assert main(["eval", str(path), "--seq-len", "4", "--transformers", "4.56.0"]) == 0
    assert "transformers: 4.56.0 (chosen explicitly)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["eval", str(path), "--transformers", "4.57.0"])
    assert usage.value.code == 2
