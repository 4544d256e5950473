"""`--mode train` through suggest: rules derived from the pinned source for types without hand rules.

Three survey-exact types (olmo, stablelm, starcoder2), three configs each, written by
`CONFIG_MAPPING[t](**overrides).to_json_file()` and read back with eval's reader, against
train_oracle. Exact: train flops (suggest marks tensors computed from buffers, integer tensors
and constants as needing no grad, so the rotary `inv_freq @ position_ids` matmul gets
`grad_operands=0`; GradientCheckpointingLayer classes get `checkpoint_layers: 1`),
grad_bytes, optimizer_bytes, and weight_bytes (suggest emits `buffer_bytes` for the rotary
inv_freq buffer: ceil(rotary dim / 2) float32 values whatever the model dtype, which the
bfloat16 case checks), activation_bytes (brains/saved.py). Not emitted yet, so unavailable
(never guessed): optimizer_peak_bytes (the parameters' order).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.config_source import read_config  # noqa: E402
from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402

TYPES = ("olmo", "stablelm", "starcoder2")
VARIED = {
    "gqa": dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=500),
    "mha-tied": dict(hidden_size=96, intermediate_size=200, num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=6, vocab_size=300, tie_word_embeddings=True),
    "mqa": dict(hidden_size=64, intermediate_size=160, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, vocab_size=256),
}
EXACT = ("flops", "weight_bytes", "grad_bytes", "optimizer_bytes")
CASES = [(t, v) for t in TYPES for v in VARIED]


def _written(model_type: str, overrides: dict, tmp_path: Path) -> dict:
    from transformers import CONFIG_MAPPING

    path = tmp_path / "config.json"
    CONFIG_MAPPING[model_type](**overrides).to_json_file(path)
    return read_config(path)


@pytest.mark.parametrize(("model_type", "variant"), CASES, ids=[f"{t}-{v}" for t, v in CASES])
def test_derived_train_step(model_type: str, variant: str, tmp_path: Path) -> None:
    config = _written(model_type, VARIED[variant], tmp_path)
    steps = [(Workload(2, 6), TrainOptions())]
    if variant == "gqa":  # checkpointing recomputes each decoder layer's forward
        steps.append((Workload(2, 6, 0, "bfloat16"), TrainOptions(optimizer="adafactor", grad_checkpointing=True)))
    for workload, options in steps:
        measured = measure_train(config, workload, optimizer=options.optimizer, grad_checkpointing=options.grad_checkpointing, peak=False).totals
        predicted = predict_train(config, batch=workload.batch, seq_len=workload.seq_len, dtype=workload.dtype, options=options)
        keys = EXACT + ("activation_bytes",)
        assert {k: predicted.totals.get(k) for k in keys} == {k: measured[k] for k in keys}
        assert {"optimizer_peak_bytes"} <= set(predicted.unavailable)


# activation_bytes of derived rules (brains/saved.py): what each op saves, by storage; exact against
# the oracle's saved_tensors_hooks, with and without checkpointing, float32 and bfloat16 (the
# RMSNorm / LayerNorm float32 upcast is the input's own storage only in a float32 model).
ACTIVATIONS = ("olmo", "qwen3", "granite", "starcoder2")
ACT_CASES = [(t, v, d, gc) for t in ACTIVATIONS for v in ("gqa", "mqa") for d, gc in (("float32", False), ("bfloat16", True))]


@pytest.mark.parametrize(("model_type", "variant", "dtype", "gc"), ACT_CASES, ids=[f"{t}-{v}-{d}-{'gc' if g else 'nogc'}" for t, v, d, g in ACT_CASES])
def test_derived_activation_bytes(model_type: str, variant: str, dtype: str, gc: bool, tmp_path: Path) -> None:
    config = _written(model_type, VARIED[variant], tmp_path)
    workload = Workload(2, 5, 0, dtype)
    measured = measure_train(config, workload, grad_checkpointing=gc, peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=5, dtype=dtype, options=TrainOptions(grad_checkpointing=gc))
    assert predicted.totals.get("activation_bytes") == measured["activation_bytes"]


def test_dropout_of_an_expanded_view_is_a_new_dense_tensor(tmp_path: Path) -> None:
    """XLNet's `self.dropout(pos_emb)` takes a stride-0 expanded tensor: in training (p != 0) the
    dropout's output is a new dense tensor (brains/layout.py `trained_dropout`), so its einsum
    operand is a view of it, not a copy per layer (was unavailable: the layout was not followed)."""
    config = _written("xlnet", dict(d_model=64, d_inner=96, n_head=4, d_head=16, n_layer=2, vocab_size=128), tmp_path)
    measured = measure_train(config, Workload(2, 6), peak=False).totals["activation_bytes"]
    assert predict_train(config, batch=2, seq_len=6).totals.get("activation_bytes") == measured


def test_unknown_operand_leaves_activations_unavailable(tmp_path: Path) -> None:
    """4.56 Apertus: XIELUActivation multiplies its bfloat16 [1] parameter's softplus by the float32
    input; the product's dtype depends on the model dtype (float32 here, float32 again for a float16
    model, bfloat16 for a bfloat16 one), which no dtype tag says, so the saved product is not sized:
    the total is unavailable, never a wrong sum. (XLNet, the earlier example, is exact now: above.)"""
    import transformers

    if not transformers.__version__.startswith("4."):
        pytest.skip("5.x builds XIELU at the model dtype (exact there)")
    config = _written("apertus", MIXED_APERTUS, tmp_path)
    predicted = predict_train(config, batch=2, seq_len=6)
    assert "activation_bytes" in predicted.unavailable


MIXED_APERTUS = dict(hidden_size=64, intermediate_size=160, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, vocab_size=256)


# apertus: its MLP's XIELUActivation is built by ACT2FN with no arguments, so dtype=torch.bfloat16:
# two [1] parameters (alpha_p, alpha_n) and two 0-dim buffers (beta, eps) at 2 bytes each in a
# float32 model. Pricing them at 4 bytes put grad_bytes 3 layers * 2 params * 2 bytes = 12 B over.
MIXED = {"apertus": MIXED_APERTUS}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_parameters_not_at_the_model_dtype(dtype: str, tmp_path: Path) -> None:
    config = _written("apertus", MIXED["apertus"], tmp_path)
    workload = Workload(2, 5, 0, dtype)
    measured = measure_train(config, workload, peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=5, dtype=dtype)
    assert {k: predicted.totals.get(k) for k in EXACT} == {k: measured[k] for k in EXACT}


# Modules that own parameters next to their children (diffllama's lambda_q1..k2 beside
# q/k/v/o_proj; doge's A and dt_proj; gpt_neox_japanese's dense_bias beside its Linear layers),
# and a child no forward runs (fuyu's
# vision_embed_tokens without pixel_values: no gradient, no AdamW state; suggest emits it under
# `idle_params`). Before, grad and optimizer bytes were unavailable for the first three and
# fuyu's were 4 * (30 * 30 * 3 * hidden + hidden) bytes too many.
OWNERS = {
    "diffllama": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=256),
    "doge": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=256),
    "gpt_neox_japanese": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=256),
    "fuyu": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, vocab_size=256, patch_size=4),
}


@pytest.mark.parametrize("model_type", sorted(OWNERS))
def test_own_parameters_and_idle_children(model_type: str, tmp_path: Path) -> None:
    config = _written(model_type, OWNERS[model_type], tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=5)
    assert {k: predicted.totals.get(k) for k in EXACT} == {k: measured[k] for k in EXACT}


def test_a_rule_derived_at_one_dropout_rate_is_not_reused_at_another(tmp_path, monkeypatch) -> None:
    """The derive cache keys on float config values: OPT derived with dropout 0.1 folds `p != 0` to
    true, so pricing dropout 0 with that rule counted 2 layers x 2 noise tensors [14, 64] float32
    (14,336 B) too many. Expected values: train_oracle at batch 2, 7 tokens, float32."""
    from lm_predictor.evaluate.train import predict_train

    monkeypatch.setenv("LMPREDICT_CACHE", str(tmp_path))  # a cold cache: derive at 0.1 first, then ask for 0
    base = {"model_type": "opt", "num_hidden_layers": 2, "hidden_size": 64, "ffn_dim": 128, "num_attention_heads": 4,
            "vocab_size": 256, "max_position_embeddings": 64, "word_embed_proj_dim": 64}
    for p, measured in ((0.1, 117_828), (0.0, 97_220)):
        config = {**base, "dropout": p, "attention_dropout": p}
        assert predict_train(config, batch=2, seq_len=7, survey_checked=False).totals["activation_bytes"] == measured


def test_a_module_without_bytes_is_not_taken_for_idle(tmp_path) -> None:
    """Whisper's decoder prices its bytes without calling WhisperPositionalEmbedding's rule (a slice
    of its weight), so that module is absent from the bytes tree; it still runs and its 448 x 384
    weight gets a gradient. Expected: train_oracle at batch 2, 7 tokens, float32."""
    from transformers import WhisperConfig

    from lm_predictor.evaluate.config_source import read_config
    from lm_predictor.evaluate.train import predict_train

    path = tmp_path / "config.json"
    WhisperConfig(decoder_layers=3, encoder_layers=3, tie_word_embeddings=False).to_json_file(path)
    assert predict_train(read_config(path), batch=2, seq_len=7, survey_checked=False).totals["grad_bytes"] == 181_309_440
