"""activation_bytes through suggest for types of the 4.56 gap groups (docs/training.md), against train_oracle.

- mvp, trocr: the legacy `_prepare_4d_causal_attention_mask` now has a shape ([batch, 1, q, past + q],
  brains/masks.py), and a Linear of the non-contiguous `attn_output.transpose(1, 2).reshape(...)`
  saves matmul's 2-d fold (a copy where the dims do not merge). MVP's attention takes its rate as a
  constructor argument `dropout`, renamed `$dropout` in its rule, which the config's own `dropout`
  (0.1 > 0) used to fold to "not 0": its attention-dropout terms lost their guard (expr_facts.py).
- open-llama: the tied head is `torch.einsum("blh,vh->blv", ...)` (brains/einsum_saved.py), and its
  rotary `cos_cached`, joined from two registered buffers, needs no grad.
- open-llama's embedding output is saved outside the decoder loop (by its LayerNorm, where
  `use_stable_embedding`) and, where not, by the first layer: the loop's further iterations save the
  body's outputs only under the loop's own condition (brains/saved.py after_loop), so the output is
  counted once, not once per layer (+3,072 B at 2 layers before, [2, 6, 64] float32).
- mpt: `_prepare_4d_causal_attention_mask` with a 2-d mask of ones, and masked_fill keeps its mask
  whatever its fill value (`torch.finfo(...).min`).
Expected values: the oracle (saved_tensors_hooks, each storage once) at batch 2, 6 tokens, float32.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.config_source import read_config  # noqa: E402
from lm_predictor.evaluate.train import predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402

SMALL = {
    "mvp": dict(d_model=64, decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=128, encoder_layers=1,
                encoder_attention_heads=4, encoder_ffn_dim=128, vocab_size=256, max_position_embeddings=64),
    "trocr": dict(d_model=64, decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=128, vocab_size=256, max_position_embeddings=64),
    "open-llama": dict(hidden_size=64, intermediate_size=96, num_attention_heads=4, num_hidden_layers=2, vocab_size=128),
    "mpt": dict(d_model=64, n_heads=4, n_layers=2, vocab_size=256, max_seq_len=32),
}


def _written(model_type: str, overrides: dict, tmp_path: Path) -> dict:
    from transformers import CONFIG_MAPPING

    path = tmp_path / "config.json"
    CONFIG_MAPPING[model_type](**overrides).to_json_file(path)
    return read_config(path)


@pytest.mark.parametrize("model_type", sorted(SMALL))
def test_gap_group_activation_bytes(model_type: str, tmp_path: Path) -> None:
    config = _written(model_type, SMALL[model_type], tmp_path)
    measured = measure_train(config, Workload(2, 6), peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=6, survey_checked=False)
    assert predicted.totals.get("activation_bytes") == measured["activation_bytes"]


@pytest.mark.parametrize("stable", [True, False])
def test_open_llama_embedding_arms(stable: bool, tmp_path: Path) -> None:
    """Both arms of `use_stable_embedding`, at 3 layers (a per-layer overcount would grow with them)."""
    config = _written("open-llama", dict(SMALL["open-llama"], num_hidden_layers=3, use_stable_embedding=stable), tmp_path)
    measured = measure_train(config, Workload(2, 6), peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=6, survey_checked=False)
    assert predicted.totals.get("activation_bytes") == measured["activation_bytes"]
