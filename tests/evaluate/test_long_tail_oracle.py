"""The long tail of 4.56 causal LMs: constructs suggest follows, each checked against the oracle on a
small config written by the configuration class itself (`to_json_file()`), in total and per module.

- composite models that build their parts (`AutoModel.from_config(config.vision_config)`,
  `CONFIG_MAPPING[type](**text_config)`, a vision tower's nn.MultiheadAttention and nn.AvgPool2d,
  a ModuleList filled by append(), the output embedding tied by the text config);
- legacy constructs: `torch.FloatTensor(d, n, h)` parameters, `torch.arange(0, d, 2.0)`,
  `past_key_values[i]` on the cache, a view of a mask of unknown shape with every size given,
  an arm that raises TypeError (`F.dropout` of a tuple).
"""

from __future__ import annotations

from pathlib import Path

import pytest


pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.families.harness import DECODE, PREFILL, assert_exact, written_config  # noqa: E402

TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 256}


def written(tmp_path: Path, model_type: str, **overrides) -> dict:
    """The config.json `CONFIG_MAPPING[model_type](**overrides).to_json_file()` writes, read back by eval."""
    return written_config(model_type, overrides, tmp_path)


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_gemma3_composite_builds_its_vision_tower_and_text_model(tmp_path: Path, workload) -> None:
    # Gemma3ForConditionalGeneration: SiglipVisionModel (with its MultiheadAttention head) and the
    # projector's AvgPool2d are parameters only at text input; the text model runs; lm_head is tied
    # because text_config.tie_word_embeddings is (the top-level key is False here)
    config = written(tmp_path, "gemma3", tie_word_embeddings=False, mm_tokens_per_image=4,
                     text_config={**TEXT, "head_dim": 16, "sliding_window": 4},
                     vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                    "num_attention_heads": 2, "image_size": 32, "patch_size": 8})
    assert_exact(config, workload)


def test_fuyu_builds_its_text_config_by_model_type(tmp_path: Path) -> None:
    # FuyuConfig: self.text_config = CONFIG_MAPPING[text_config["model_type"]](**text_config) (persimmon)
    config = written(tmp_path, "fuyu", hidden_size=64, patch_size=4, num_channels=3,
                     text_config={**TEXT, "model_type": "persimmon", "num_key_value_heads": 4})
    assert_exact(config, PREFILL)


def test_got_ocr2_counts_a_module_list_filled_by_append(tmp_path: Path) -> None:
    # GotOcr2VisionEncoder appends its layers to nn.ModuleList() in __init__; they were dropped before
    config = written(tmp_path, "got_ocr2", text_config={**TEXT, "model_type": "qwen2"},
                     vision_config={"hidden_size": 32, "output_channels": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                                    "image_size": 64, "patch_size": 16, "window_size": 2, "global_attn_indexes": [1],
                                    "mlp_dim": 64})
    assert_exact(config, PREFILL)


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_xlnet_float_tensor_parameters_and_float_arange(tmp_path: Path, workload) -> None:
    # nn.Parameter(torch.FloatTensor(d_model, n_head, d_head)); torch.arange(0, d_model, 2.0) for positions
    config = written(tmp_path, "xlnet", vocab_size=256, d_model=64, n_layer=2, n_head=4, d_inner=128)
    if workload.past_len:
        pytest.skip("XLNetLMHeadModel returns no past_key_values: no decode")
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_doge_dense_layers_when_the_moe_arm_raises(tmp_path: Path, workload) -> None:
    # the MoE arm hands F.dropout a (hidden, router_logits) tuple, which raises: only the dense arm runs
    config = written(tmp_path, "doge", **TEXT, num_experts=16, num_experts_per_tok=2)
    assert_exact(config, workload)


def test_cpmant_views_its_mask_with_every_size_given(tmp_path: Path) -> None:
    # attention_mask.view(batch, 1, len_q, len_k) == False: the mask's shape is known from the sizes
    config = written(tmp_path, "cpmant", vocab_size=256, hidden_size=64, num_attention_heads=4, dim_head=16,
                     dim_ff=128, num_hidden_layers=2, prompt_length=4, prompt_types=2, segment_types=4)
    assert_exact(config, PREFILL)


def test_open_llama_reads_legacy_cache_layers(tmp_path: Path) -> None:
    # past_key_values[idx] per layer, `past_key_value[0].shape[-2]`, cat([past[0], k], dim=2); the model
    # raises when fed its own cache (a tuple has no get_seq_length), so prefill is what exists
    config = written(tmp_path, "open-llama", **{k: v for k, v in TEXT.items() if k != "num_key_value_heads"})
    assert_exact(config, PREFILL)
