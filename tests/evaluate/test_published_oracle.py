"""Real config.json files priced exactly: eval equals the oracle (FakeTensorMode + FlopCounterMode).

Rules are derived from the pinned sources (no hand-written rule covers these types) and compared
in total and at every module path, prefill and decode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.evaluate.config_source import read_config
from lm_predictor.evaluate.predict import predict
from lm_predictor.resources import configs_dir

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import DECODE, PREFILL, assert_exact  # noqa: E402


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_gemma_2_2b_as_published_sliding_full_alternation(workload) -> None:
    # 26 layers, sliding window 4096 on even layers (transformers derives layer_types with i % 2)
    assert_exact(read_config(configs_dir() / "gemma-2-2b" / "config.json"), workload)


def test_a_config_with_infinity_is_read_and_priced(tmp_path: Path) -> None:
    # the special float sits in a field the model ignores, as mamba2's time_step_limit does
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, '
                    '"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256, "time_step_limit": [0.0, Infinity]}')
    assert_exact(read_config(path), PREFILL)


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_a_composite_configs_text_model_is_priced(tmp_path: Path, workload) -> None:
    # the file transformers writes for a composite Emu3Config (text_config + vq_config blocks);
    # AutoModelForCausalLM.from_pretrained builds Emu3ForCausalLM on the text config
    from transformers import CONFIG_MAPPING

    text = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 256,
            "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    CONFIG_MAPPING["emu3"](text_config=text).to_json_file(tmp_path / "config.json")
    raw = read_config(tmp_path / "config.json")
    assert set(raw) >= {"text_config", "vq_config"}
    assert_exact(raw, workload)


ROPE_VARIANTS = [
    None,
    {"type": "linear", "factor": 2.0},  # the legacy key
    {"rope_type": "dynamic", "factor": 2.0},
    {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
    {"rope_type": "longrope", "short_factor": [1.0] * 8, "long_factor": [2.0] * 8, "factor": 8.0, "original_max_position_embeddings": 4},
]


@pytest.mark.parametrize("rope", ROPE_VARIANTS, ids=lambda r: "none" if r is None else r.get("rope_type", r.get("type")))
def test_rope_scaling_variants_are_read_and_priced(rope) -> None:
    # head_dim 16 -> 8 frequencies; longrope's original 4 positions < 7 tokens selects the long factors.
    # qwen3 has no hand-written rule, so its rules are derived from the source with the rope_scaling given
    config = {"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 256, "rope_scaling": rope}
    assert_exact(config, PREFILL)
    # @dynamic_rope_update's frequency update (torch.max(position_ids), a buffer swap) is not priced
    # in bytes: for the two types that run it the rules give no bytes rather than a short total
    updates = rope is not None and rope.get("rope_type") in ("dynamic", "longrope")
    assert ("bytes_read" in predict(config, batch=PREFILL.batch, seq_len=PREFILL.seq_len).totals) != updates


@pytest.mark.parametrize("workload", [PREFILL, DECODE, Workload(batch=1, seq_len=2, past_len=600)], ids=["prefill", "decode", "decode-past-window"])
def test_gemma_3_270m_as_published_layer_types(workload) -> None:
    # 18 layers listed in layer_types: 15 sliding (window 512), 3 full; priced as 15 x sliding + 3 x full.
    # past 600 > window: the sliding layers' cache keeps 511 tokens, the full ones all 600
    assert_exact(read_config(configs_dir() / "gemma-3-270m" / "config.json"), workload)
