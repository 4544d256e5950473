"""Real config.json files priced exactly: eval equals the oracle (FakeTensorMode + FlopCounterMode).

Rules are derived from the pinned sources (no hand-written rule covers these types) and compared
in total and at every module path, prefill and decode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.evaluate.config_source import read_config
from lm_predictor.resources import configs_dir

pytest.importorskip("torch")
pytest.importorskip("transformers")

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
