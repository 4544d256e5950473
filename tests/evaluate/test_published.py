"""config.json files as transformers writes and publishes them: special floats, dtype keys,
quantization blocks, composite configs and per-layer lists (lm_predictor.evaluate.published/layers)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.config_source import read_config
from lm_predictor.evaluate.layers import check_layer_lists
from lm_predictor.evaluate.predict import predict
from lm_predictor.evaluate.published import check_published, read_published
from lm_predictor.resources import configs_dir

TINY_LLAMA = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256}


def code_of(call) -> str:
    with pytest.raises(LmPredictorError) as info:
        call()
    assert "\n" not in info.value.diagnostic.headline()
    return info.value.diagnostic.code.code


# ---------------------------------------------------------------- JSON as transformers writes it

def test_infinity_and_nan_literals_are_read_as_python_json_reads_them(tmp_path: Path) -> None:
    # mamba2's to_json_file() writes `"time_step_limit": [0.0, Infinity]`
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "mamba2", "time_step_limit": [0.0, Infinity], "x": NaN, "y": -Infinity, "z": 1e400}')
    data = read_config(path)
    assert data["time_step_limit"][1] == math.inf and math.isnan(data["x"]) and data["y"] == -math.inf and data["z"] == math.inf


def test_infinity_in_a_field_the_rules_do_not_read_prices_the_model(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY_LLAMA)[:-1] + ', "rope_theta": Infinity, "time_step_limit": [0.0, Infinity]}')
    assert predict(path, batch=2, seq_len=7).totals == predict(TINY_LLAMA, batch=2, seq_len=7).totals


def test_infinity_in_a_field_the_rules_read_is_c035(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    rest = {k: v for k, v in TINY_LLAMA.items() if k != "intermediate_size"}
    path.write_text(json.dumps(rest)[:-1] + ', "intermediate_size": Infinity}')
    assert code_of(lambda: predict(path)) == "C035"


# ---------------------------------------------------------------- dtype and quantization

@pytest.mark.parametrize("key", ["torch_dtype", "dtype"])
def test_either_dtype_key_is_the_checkpoint_dtype(key: str) -> None:
    p = predict({**TINY_LLAMA, key: "bfloat16"}, batch=1, seq_len=4)
    assert p.config_facts["dtype"] == "bfloat16" and p.as_json()["config_facts"]["dtype"] == "bfloat16"
    assert p.workload.dtype == "float32"  # --dtype prices; the checkpoint dtype is reported


def test_both_dtype_keys_must_agree() -> None:
    assert predict({**TINY_LLAMA, "torch_dtype": "float16", "dtype": "float16"}).config_facts["dtype"] == "float16"
    assert code_of(lambda: predict({**TINY_LLAMA, "torch_dtype": "float16", "dtype": "bfloat16"})) == "C034"


def test_quantization_config_is_reported_not_dropped() -> None:
    raw = read_config(configs_dir() / "qwen3-30b-a3b-4bit" / "config.json")
    published = read_published(raw, "float32")
    assert published.quantization == {"group_size": 64, "bits": 4}
    assert any("quantized (bits=4, group_size=64)" in n for n in published.notes)
    p = predict({**TINY_LLAMA, "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True}})
    assert p.config_facts["quantization"]["quant_method"] == "bitsandbytes"
    assert p.as_json()["config_facts"]["quantization"]["load_in_4bit"] is True
    assert any("quant_method=bitsandbytes, load_in_4bit=True" in n for n in p.notes)


# ---------------------------------------------------------------- composite configs

def test_a_class_built_on_its_text_config_prices_the_text_config() -> None:
    text = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "vocab_size": 256}
    published = read_published({"model_type": "emu3", "torch_dtype": "bfloat16", "text_config": text, "vq_config": {}}, "float32")
    assert published.config == {**text, "model_type": "emu3_text_model", "torch_dtype": "bfloat16"}
    assert published.text_of == "emu3"
    # a class that takes the whole config (gemma3: Gemma3ForConditionalGeneration) is left alone
    assert read_published({"model_type": "gemma3", "text_config": text}, "float32").text_of is None


def test_a_text_config_of_another_type_is_refused() -> None:
    assert code_of(lambda: read_published({"model_type": "llama4", "text_config": {"model_type": "llama"}}, "float32")) == "C001"
    assert code_of(lambda: read_published({"model_type": "llama4", "text_config": [1]}, "float32")) == "C001"


# ---------------------------------------------------------------- per-layer lists

GEMMA2 = {"model_type": "gemma2", "num_hidden_layers": 4}


@pytest.mark.parametrize(("raw", "code"), [
    ({**GEMMA2, "layer_types": ["sliding_attention", "full_attention"] * 2 + ["full_attention"]}, "C030"),  # longer
    ({**GEMMA2, "layer_types": ["sliding_attention"]}, "C030"),  # shorter
    ({**GEMMA2, "layer_types": ["sliding_attention", "global", "sliding_attention", "full_attention"]}, "C031"),
    ({"model_type": "lfm2", "num_hidden_layers": 2, "layer_types": ["conv", "mamba"]}, "C031"),
    ({"model_type": "qwen3_moe", "num_hidden_layers": 4, "mlp_only_layers": [1, 4]}, "C032"),
    ({"model_type": "qwen3_moe", "num_hidden_layers": 4, "mlp_only_layers": [-1]}, "C032"),
    ({"model_type": "lfm2", "num_hidden_layers": 3, "layer_types": ["conv", "full_attention", "conv"], "full_attn_idxs": [2]}, "C033"),
    ({"model_type": "gemma3_text", "num_hidden_layers": 2, "sliding_window_pattern": 2, "layer_types": ["sliding_attention"] * 2}, "C033"),
    ({"model_type": "gemma3n_text", "num_hidden_layers": 3, "intermediate_size": [8, 8]}, "C030"),
])
def test_a_config_that_disagrees_with_itself_is_one_line(raw: dict, code: str) -> None:
    assert code_of(lambda: predict(raw)) == code


def test_lists_inside_a_sub_config_are_checked() -> None:
    raw = {"model_type": "gemma3", "text_config": {"model_type": "gemma3_text", "num_hidden_layers": 2, "layer_types": ["sliding_attention"]}}
    with pytest.raises(LmPredictorError) as info:
        check_published(raw, raw)
    assert "'text_config.layer_types' lists 1 layers" in info.value.diagnostic.message


def test_5x_layer_kinds_are_the_ones_the_validating_class_accepts() -> None:
    # 5.23 NemotronHConfig.validate_layer_type accepts full_attention, linear_attention, moe and mlp (its own list);
    # PreTrainedConfig's ALLOWED_ATTN_LAYER_TYPES, which the other types check against, has no "mlp"
    nemo = {"model_type": "nemotron_h", "transformers_version": "5.23.0", "num_hidden_layers": 4,
            "layers_block_type": ["linear_attention", "moe", "full_attention", "mlp"]}
    check_layer_lists(nemo, nemo)
    slid = {**nemo, "layers_block_type": ["linear_attention", "moe", "sliding_attention", "mlp"]}
    assert code_of(lambda: check_layer_lists(slid, slid)) == "C031"
    zamba2 = {**nemo, "model_type": "zamba2", "layers_block_type": ["mamba", "hybrid", "mamba", "mlp"]}
    assert code_of(lambda: check_layer_lists(zamba2, zamba2)) == "C031"


@pytest.mark.parametrize("name", ["gemma-3-270m", "gemma-2-2b", "lfm2-2.6b", "qwen3-30b-a3b-4bit"])
def test_published_files_agree_with_themselves(name: str) -> None:
    raw = read_config(configs_dir() / name / "config.json")
    check_layer_lists(raw, raw)


def test_every_per_layer_list_transformers_writes_is_known() -> None:
    """Each list of length num_hidden_layers in a to_json_file() config is a list the checks know."""
    pytest.importorskip("transformers")
    from transformers import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    from lm_predictor.evaluate.layers import INDEX_LISTS, KIND_LISTS, VALUE_LISTS, layer_count

    known = set(KIND_LISTS) | set(VALUE_LISTS) | set(INDEX_LISTS)
    unknown = []
    for model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        try:
            data = json.loads(CONFIG_MAPPING[model_type]().to_json_string())
        except Exception:  # noqa: BLE001 - musicgen & co need sub-configs to build
            continue
        n = layer_count(data)
        unknown += [f"{model_type}.{k}" for k, v in data.items() if isinstance(v, list) and n and len(v) == n and k not in known]
        check_layer_lists(data, data)  # what transformers writes passes
    assert not unknown, unknown
