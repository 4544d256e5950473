"""Hostile configs of derived (suggest-priced) roots: one C001 line, never a price transformers cannot give.

Before config_checks.py a qwen3 config (no hand rule: its rules are derived from the pinned source)
with rope_type "bogus" was C013 with a dozen A-notes, and hidden_act "SILU", rope_scaling "linear",
num_key_value_heads 3 of 4 heads or sliding_window -5 were priced, though transformers raises on each
(KeyError in ACT2FN; AttributeError in rope_config_validation; "The size of tensor a (4) must match
the size of tensor b (3)" in repeat_kv's attention; a mask it cannot broadcast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.config_checks import activations, attention_names, check_config, rope_types
from lm_predictor.evaluate.predict import predict

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "model_type": "qwen3", "hidden_act": "silu", "hidden_size": 64, "head_dim": 16, "intermediate_size": 128,
    "max_position_embeddings": 128, "num_attention_heads": 4, "num_hidden_layers": 1, "num_key_value_heads": 2,
    "tie_word_embeddings": False, "vocab_size": 256,
}


def refusal(raw: dict, pin: str = "4.56.0") -> str:
    """The headline eval refuses `raw` with; it must be one C001 line without notes."""
    with pytest.raises(LmPredictorError) as err:
        predict(raw, seq_len=4, breakdown=False, transformers=pin)
    diag = err.value.diagnostic
    assert diag.code.code == "C001" and not diag.notes and len(err.value.diagnostics) == 1
    return diag.message


def test_the_tiny_config_prices() -> None:
    # the control: the checks below refuse one changed field, not the config
    assert predict(TINY, seq_len=4, breakdown=False).totals["flops"] > 0


@pytest.mark.parametrize("pin", ["4.56.0", "5.23.0"])
@pytest.mark.parametrize(("changes", "expected"), [
    ({"rope_scaling": {"rope_type": "bogus", "factor": 2.0}}, "config field 'rope_scaling.rope_type' is 'bogus', which is not a rope type"),
    ({"rope_scaling": {"type": "bogus", "factor": 2.0}}, "config field 'rope_scaling.type' is 'bogus', which is not a rope type"),
    ({"rope_scaling": "linear"}, "config field 'rope_scaling' must be a mapping"),
    ({"hidden_act": "SILU"}, "config field 'hidden_act' is 'SILU', which transformers"),
    ({"hidden_act": "bogus"}, "ACT2FN does not have (KeyError)"),
    ({"attn_implementation": "bogus"}, "config field 'attn_implementation' is 'bogus', which transformers"),
    ({"hidden_size": "64"}, "config field 'hidden_size' must be an integer, got '64'"),
    ({"num_attention_heads": "4"}, "config field 'num_attention_heads' must be an integer, got '4'"),
    ({"hidden_size": 64.5}, "config field 'hidden_size' must be an integer, got 64.5"),
    ({"hidden_size": 1e30}, "config field 'hidden_size' is implausibly large: 1e+30"),
    ({"num_key_value_heads": 3}, "config field 'num_key_value_heads' is 3, which does not divide num_attention_heads = 4"),
    ({"sliding_window": -5}, "config field 'sliding_window' is -5"),
    ({"vocab_size": None}, "config field 'vocab_size' is null (given over the class default"),
    # w17-hostile: the oracle fails on each (AttributeError: 'str' / 'dict' / 'int' object has no attribute 'to_dict',
    # the generation config reading the field as the text config; a string's characters are no layer kinds)
    ({"text_config": "bogus"}, "config field 'text_config' is 'bogus', but qwen3 has no 'text_config' sub-config"),
    ({"text_config": {"num_hidden_layers": -1}}, "config field 'text_config' is {'num_hidden_layers': -1}, but qwen3 has no"),
    ({"decoder": 0}, "config field 'decoder' is 0, but qwen3 has no 'decoder' sub-config"),
    ({"layer_types": "full_attention"}, "config field 'layer_types' must be a list of one layer kind per layer, got 'full_attention'"),
    ({"mlp_only_layers": 0}, "config field 'mlp_only_layers' must be a list of layer indices, got 0"),
])
def test_a_hostile_value_is_one_c001_line(changes: dict, expected: str, pin: str) -> None:
    assert expected in refusal({**TINY, **changes}, pin)


def test_a_rope_type_per_layer_type_is_checked() -> None:
    # 5.x rope_parameters may hold one mapping per layer type
    raw = {**TINY, "rope_parameters": {"full_attention": {"rope_type": "bogus", "rope_theta": 1e4}}}
    assert "config field 'rope_parameters.full_attention.rope_type' is 'bogus'" in refusal(raw, "5.23.0")


def test_the_accepted_names_come_from_the_pinned_source() -> None:
    assert rope_types("4.56.0") == {"default", "linear", "dynamic", "yarn", "longrope", "llama3"}
    assert "proportional" in rope_types("5.23.0") and "default" in rope_types("5.23.0")  # 5.x has no "default" entry
    assert "xielu" in activations("4.56.0") and "sqrtsoftplus" not in activations("4.56.0") and "sqrtsoftplus" in activations("5.23.0")
    assert {"eager", "sdpa", "flash_attention_2"} <= attention_names("4.56.0")


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*/config.json")), ids=lambda p: p.parent.name)
def test_published_configs_pass(path: Path) -> None:
    raw = json.loads(path.read_text())
    from lm_predictor.data.transformers_table import resolve_config

    check_config(resolve_config(raw, "4.56.0"), "4.56.0")  # raises on a false refusal


def test_an_undeclared_rope_scaling_mapping_is_checked_and_a_string_is_left() -> None:
    # GlmConfig (4.56) declares no rope_scaling; GlmRotaryEmbedding still reads a mapping (KeyError on
    # "bogus"; it was C013 with 10 notes) and ignores a string (verify: 66 exact at rope_scaling "linear")
    glm = {**TINY, "model_type": "glm", "architectures": ["GlmForCausalLM"]}
    assert "config field 'rope_scaling.rope_type' is 'bogus'" in refusal({**glm, "rope_scaling": {"rope_type": "bogus"}})
    assert predict({**glm, "rope_scaling": "linear"}, seq_len=4, breakdown=False).totals["flops"] > 0


def test_a_null_under_an_aliased_name_is_named() -> None:
    # GPTJConfig maps num_hidden_layers to n_layer; a null n_layer was C013 with 2 notes: the trial
    # derivation must give the class default (28) under both names to derive clean
    assert refusal({"model_type": "gptj", "n_layer": None}).startswith("config field 'n_layer' is null, which the rules derived for GPTJForCausalLM")


# w17-hostile: a composite type's declared sub-config (gemma3's text_config / vision_config) given as
# something other than a mapping, or with a size that is no integer: both pins' oracles fail to build
# the config ('str' object has no attribute '_attn_implementation'; 5.23 StrictDataclassFieldValidationError)
GEMMA3_TEXT = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 16,
               "intermediate_size": 64, "vocab_size": 300}


@pytest.mark.parametrize("pin", ["4.56.0", "5.23.0"])
@pytest.mark.parametrize(("changes", "expected"), [
    ({"text_config": "bogus"}, "config field 'text_config' must be a mapping (a text config), got 'bogus'"),
    ({"vision_config": []}, "config field 'vision_config' must be a mapping (a vision config), got []"),
    ({"text_config": {**GEMMA3_TEXT, "hidden_size": "x"}}, "config field 'text_config.hidden_size' must be an integer, got 'x'"),
    ({"text_config": {**GEMMA3_TEXT, "layer_types": "sliding_attention"}}, "config field 'text_config.layer_types' must be a list of one layer kind"),
])
def test_a_broken_sub_config_is_one_c001_line(changes: dict, expected: str, pin: str) -> None:
    assert expected in refusal({"model_type": "gemma3", "text_config": GEMMA3_TEXT, **changes}, pin)


# w17-hostile: mixtral's class declares head_dim as null and reads `getattr(config, "head_dim", None) or ...`;
# a string there was C013 with twenty notes (the analysis multiplies by a str); other classes declare
# head_dim an integer, so a string or a bool is refused as at the top of a class that declares it
MIXTRAL = {"model_type": "mixtral", "num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "num_key_value_heads": 2,
           "intermediate_size": 64, "vocab_size": 64, "num_local_experts": 2, "num_experts_per_tok": 1}


@pytest.mark.parametrize("pin", ["4.56.0", "5.23.0"])
@pytest.mark.parametrize("value", ["64", True])
def test_a_size_the_class_leaves_null_is_still_an_integer(value: object, pin: str) -> None:
    assert f"config field 'head_dim' must be an integer, got {value!r}" in refusal({**MIXTRAL, "head_dim": value}, pin)


def test_a_null_size_the_class_does_not_declare_is_named() -> None:
    """qwen3_moe 4.56 reads `getattr(config, "head_dim", hidden_size // num_attention_heads)`, which keeps a
    given null (the oracle: TypeError, None ** float in the rotary embedding); eval named no field (C013 with seven notes)."""
    raw = {**MIXTRAL, "model_type": "qwen3_moe", "num_experts": 2, "moe_intermediate_size": 32, "head_dim": None}
    assert "config field 'head_dim' is null, which the rules derived for Qwen3MoeForCausalLM" in refusal(raw)
