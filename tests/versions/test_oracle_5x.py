"""The transformers 5.23.0 oracle: measured in .venv-tf5, experts counted through their eager loop."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lm_predictor.verify.pinned_env import PinEnvError, env_python, measure_for_pin
from lm_predictor.workload import Workload

ROOT = Path(__file__).resolve().parents[2]


def test_eager_experts_are_counted_in_the_5x_env():
    # qwen3_moe in 5.23 fuses its experts (Qwen3MoeExperts, default implementation grouped_mm);
    # fake tensors stop at the eager loop's nonzero, so auto measures real tensors on the shrunk config
    m, config, why = measure_for_pin("5.23.0", {"model_type": "qwen3_moe"}, Workload(1, 8, 0, "float32"))
    assert m.mode == "real" and "fake tensors cannot run qwen3_moe" in why
    assert (config["hidden_size"], config["moe_intermediate_size"], config["num_local_experts"], config["num_experts_per_tok"]) == (64, 32, 4, 4)
    # per token and chosen expert: gate_up 64 -> 2*32 and down 32 -> 64, 2 FLOPs per MAC:
    # 2*64*64 + 2*32*64 = 12,288; 8 tokens x 4 experts each = 32 -> 393,216 per layer
    assert m.module_flops["model.layers.0.mlp.experts"] == 393_216
    assert m.module_flops["model.layers.1.mlp.experts"] == 393_216


def test_fused_grouped_mm_experts_are_refused_not_counted_as_zero():
    script = (
        "import lm_predictor.verify.oracle as o\n"
        "from lm_predictor.workload import Workload\n"
        "o.build_model = lambda cls, c, dtype, attn='eager': cls._from_config(c, attn_implementation=attn, dtype=dtype, experts_implementation='grouped_mm').eval()\n"
        "try:\n"
        "    o.measure(o.shrink_config({'model_type': 'qwen3_moe'}), Workload(1, 8, 0, 'bfloat16'), mode='real')\n"
        "    print('measured')\n"
        "except o.OracleUnsupported as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run([str(env_python("5.23.0")), "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "experts implementation 'grouped_mm') ran but FlopCounterMode counted 0 FLOPs" in done.stdout, done.stderr[-400:]


def test_missing_env_is_a_one_line_error(tmp_path, monkeypatch):
    from lm_predictor.verify import pinned_env

    monkeypatch.setattr(pinned_env, "repo_root", lambda: tmp_path)
    with pytest.raises(PinEnvError, match=r"needs .*\.venv-tf5 \(run `make setup`\)") as err:
        measure_for_pin("5.23.0", {"model_type": "qwen3_5_text"}, Workload(1, 8, 0, "float32"))
    assert "\n" not in str(err.value)


TINY_BAMBA = {  # mamba heads * head dim = expand * hidden = 128; no attn_layer_indices: every layer is mamba
    "model_type": "bamba", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 128, "vocab_size": 256, "mamba_n_heads": 4, "mamba_d_head": 32, "mamba_expand": 2,
    "mamba_d_state": 16, "mamba_chunk_size": 8, "time_step_limit": [0.0, {"__float__": "Infinity"}],
}


def test_a_model_that_raises_in_its_own_cache_is_measured_at_prefill_without_it():
    # 5.23 BambaModel builds DynamicCache(config) and its mask asks the cache for a sequence length, which a
    # cache of linear-attention layers only refuses: the prefill forward runs with use_cache=False (kv bytes not
    # measured), decode is DecodeUnsupported (never shrunk). time_step_limit is written the way 5.x's
    # to_json_file() writes Infinity, which the oracle decodes as transformers' reader does.
    from lm_predictor.verify.errors import DecodeUnsupported

    m, _, why = measure_for_pin("5.23.0", TINY_BAMBA, Workload(1, 4, 0, "float32"))
    assert m.mode == "fake" and why == "" and m.totals["flops"] > 0
    assert "kv_cache_bytes" not in m.totals and any("use_cache=False" in n for n in m.notes)
    with pytest.raises(DecodeUnsupported, match="raises in its own cache .*decode unsupported"):
        measure_for_pin("5.23.0", TINY_BAMBA, Workload(1, 1, 3, "float32"))


def test_a_tied_weight_belongs_to_its_source_module():
    # 5.23 CamembertForCausalLM registers lm_head before roberta; all_tied_weights_keys maps
    # lm_head.decoder.weight -> roberta.embeddings.word_embeddings.weight, so the embedding's module owns it
    config = json.loads((ROOT / "tests/versions/data/camembert-tiny-5x/config.json").read_text())
    m, _, _ = measure_for_pin("5.23.0", config, Workload(1, 4, 0, "float32"))
    # word 256*64 = 16,384 + position 130*64 = 8,320 + token type 2*64 = 128 + LayerNorm 2*64 = 128
    assert m.module_params["roberta.embeddings"] == 24_960
    # dense 64*64 + 64 = 4,160 + layer_norm 128 + bias 256 (decoder.bias is tied to it); decoder.weight is tied
    assert m.module_params["lm_head"] == 4_544 and m.module_params["lm_head.decoder"] == 0
