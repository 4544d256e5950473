"""activation_bytes of derived rules (brains/saved.py) on constructs beyond the llama-like layer
(issue 13), each exact against train_oracle's saved_tensors_hooks at a small config:

- gemma, gemma2: `hidden * torch.tensor(hidden_size**0.5, dtype=...)`. The normalizer is a constant
  that requires no grad, so `mul` keeps only the normalizer (4 bytes), not the embedding output:
  before, the prediction was one [batch, seq, hidden] tensor over (+172,032 bytes for gemma at the
  survey's varied A config: 2 * 7 * 3072 * 4);
- gemma3_text: `embed(ids) * self.embed_scale.to(dtype)`, a registered buffer (not counted, as a
  parameter is not; a float32 model's `.to(float32)` is the buffer itself);
- cohere, cohere2: the rotary `torch.repeat_interleave(freqs, 2, dim=-1)` now has a shape, so the
  `q * cos` products keep known storages (before: an unknown operand, so unavailable);
- gpt2: transformers' Conv1D (`addmm(bias, x.view(-1, nx), weight)` keeps x, as Linear does),
  the attention's `/ torch.full([], ...)` (a 0-dim constant: `div` keeps only the divisor), and
  training-mode dropout on the embeddings, attention probabilities and residuals;
- gpt_neox_japanese: `torch.baddbmm(scores, q, k^T)` keeps q and k^T as bmm does;
- codegen: `attn_weights / self.scale_attn`, a tensor its `__init__` stores as a plain attribute
  (neither parameter nor buffer): `div` keeps it, one 4-byte storage per layer;
- seed_oss: `dropout=0.0 if not self.training else self.attention_dropout` (0.1 here). The analysis
  reads that expression as `if $training then 0.1 else 0`, bound true for the train step, so the
  attention dropout keeps its noise tensor and the product its output (before: read as 0, the
  prediction was 188,160 bytes short at the survey's varied A config).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

LLAMA_LIKE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=256)
CONFIGS = {
    "gemma": {**LLAMA_LIKE, "head_dim": 16},
    "gemma2": {**LLAMA_LIKE, "head_dim": 16, "sliding_window": 4},
    "gemma3_text": {**LLAMA_LIKE, "head_dim": 16, "sliding_window": 4},
    "cohere": LLAMA_LIKE,
    "cohere2": {**LLAMA_LIKE, "sliding_window": 4},
    "gpt2": dict(n_embd=64, n_layer=2, n_head=4, n_positions=32, vocab_size=256),
    "codegen": dict(n_embd=64, n_layer=2, n_head=4, rotary_dim=8, n_positions=32, n_ctx=32, vocab_size=256),
    "seed_oss": {**LLAMA_LIKE, "head_dim": 16, "attention_dropout": 0.1},
    "gpt_neox_japanese": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_multiple_size=2, vocab_size=256),
}


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_activation_bytes_exact(model_type: str, tmp_path: Path) -> None:
    config = written_config(model_type, CONFIGS[model_type], tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=2, seq_len=5)
    assert predicted.totals.get("activation_bytes") == measured


@pytest.mark.parametrize("model_type", ["gemma", "gpt2"])
def test_activation_bytes_bfloat16_checkpointed(model_type: str, tmp_path: Path) -> None:
    """bfloat16: gemma's RMSNorm upcast and the normalizer cast are copies; checkpointing keeps each layer's inputs."""
    config = written_config(model_type, CONFIGS[model_type], tmp_path)
    workload = Workload(1, 6, 0, "bfloat16")
    measured = measure_train(config, workload, grad_checkpointing=True, peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=1, seq_len=6, dtype="bfloat16", options=TrainOptions(grad_checkpointing=True))
    assert predicted.totals.get("activation_bytes") == measured


def test_training_fact_is_false_in_inference(tmp_path: Path) -> None:
    """The derived rules take `training` with default false: inference keeps dropout off (seed_oss's
    attention dropout is no product in the forward flops either way: FlopCounterMode counts none)."""
    from lm_predictor.evaluate.predict import predict

    config = written_config("seed_oss", CONFIGS["seed_oss"], tmp_path)
    train = predict_train(config, batch=2, seq_len=5)
    assert "activation_bytes" in train.totals
    infer = predict(config, batch=2, seq_len=5)
    assert infer.totals["flops"] == train.totals["forward_flops"]
