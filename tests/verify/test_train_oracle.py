"""The training-step oracle against the numbers in oracle-notes.md and hand arithmetic."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.verify.train_oracle import measure_infer_peak, measure_train
from lm_predictor.workload import Workload

# The 2-layer Llama of oracle-notes.md: hidden 256, 4 heads of 64, 2 kv heads, intermediate 512, vocab 1000
NOTES_LLAMA = {
    "model_type": "llama",
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 1000,
}
# params: embed 1000*256 = 256,000, lm_head 256,000; per layer q 65,536 + k 32,768 + v 32,768
#   + o 65,536 + mlp 3 * 131,072 + 2 norms * 256 = 590,336, x2 = 1,180,672; final norm 256
#   -> 1,692,928 params in 21 tensors (embed, lm_head, norm, 2 x 9)
PARAMS, TENSORS = 1_692_928, 21


@pytest.fixture(scope="module")
def adamw() -> dict[str, int]:
    return measure_train(NOTES_LLAMA, Workload(1, 64)).totals


def test_train_flops_match_oracle_notes(adamw: dict[str, int]) -> None:
    assert adamw["flops"] == 576_458_752  # oracle-notes.md: 8,192 short of 3 x forward
    ckpt = measure_train(NOTES_LLAMA, Workload(1, 64), grad_checkpointing=True, peak=False).totals
    assert ckpt["flops"] == 735_842_304  # oracle-notes.md, gradient_checkpointing_enable()


def test_memory_terms_by_hand(adamw: dict[str, int]) -> None:
    assert adamw["weight_bytes"] == PARAMS * 4 + 32 * 4  # + rotary inv_freq, head_dim/2 float32
    assert adamw["grad_bytes"] == PARAMS * 4
    assert adamw["optimizer_bytes"] == 2 * PARAMS * 4 + TENSORS * 4  # exp_avg, exp_avg_sq, float32 step per tensor
    assert adamw["peak_bytes"] == 29_136_088  # oracle-notes.md, MemTracker, reached at the optimizer step


# The optimizer-step peak by hand: weights 6,771,840 (params + inv_freq 128) + grads 6,771,712
#   + AdamW state 2 * 6,771,712 + 21 * 4 = 13,543,508 + the kept loss 4 + the scratch at lm_head
#   (the last tensor, after the final norm): its sqrt and quotient 2 * 256,000 + the norm's quotient
#   256 = 512,256 floats = 2,049,024 -> 29,136,088 (embed alone: 512,000; up_proj: 2 * 131,072 + 131,072)
OPTIMIZER_PEAK = 6_771_840 + 6_771_712 + 13_543_508 + 4 + 2_049_024


def test_phase_peaks(adamw: dict[str, int]) -> None:
    assert adamw["optimizer_peak_bytes"] == OPTIMIZER_PEAK == 29_136_088
    assert adamw["peak_bytes"] == max(adamw["forward_peak_bytes"], adamw["backward_peak_bytes"], adamw["optimizer_peak_bytes"])
    # the forward keeps the saved activations, the backward holds every gradient: both below the step's
    assert adamw["forward_peak_bytes"] > adamw["weight_bytes"] + adamw["activation_bytes"]
    assert adamw["backward_peak_bytes"] > adamw["weight_bytes"] + adamw["grad_bytes"]


def test_sgd_adafactor_and_mixed_precision() -> None:
    assert measure_train(NOTES_LLAMA, Workload(1, 64), optimizer="sgd", peak=False).totals["optimizer_bytes"] == 0
    # Adafactor: a 2-D [m, n] weight keeps row_var [m, 1] and col_var [1, n]; a 1-D one a full variance
    # embed and lm_head (1000, 256): 1,256 each; per layer q 512 + k 384 + v 384 + o 512 + gate 768
    # + up 768 + down 768 + 2 norms 512 = 4,608, x2 = 9,216; final norm 256 -> 11,984 floats + 21 steps
    ada = measure_train(NOTES_LLAMA, Workload(1, 64), optimizer="adafactor").totals
    assert ada["optimizer_bytes"] == (11_984 + TENSORS) * 4
    mp = measure_train(NOTES_LLAMA, Workload(1, 64, 0, "bfloat16"), mixed_precision=True, peak=False).totals
    assert mp["grad_bytes"] == PARAMS * 2
    assert mp["optimizer_bytes"] == PARAMS * 4 + 2 * PARAMS * 4 + TENSORS * 4  # fp32 master + fp32 AdamW state


def test_infer_peak_holds_weights() -> None:
    peak = measure_infer_peak(NOTES_LLAMA, Workload(1, 64))
    assert peak.peak_by_kind["Parameter"] == PARAMS * 4
    assert peak.totals["peak_bytes"] > PARAMS * 4 + 2 * 2 * 2 * 64 * 64 * 4  # + KV cache of 2 layers
