"""GPT-2 bytes beyond tests/families/test_gpt2.py (which compares bytes_read / bytes_written at
every config it runs, since GPT2LMHeadModel defines them).

GPT-2 differs from the Llama-style families in: Conv1D (one addmm over the 2D view, reading the
bias); the learned position embedding (a [1, seq_len] lookup broadcast-added over the batch);
LayerNorm (native_layer_norm writes mean and rstd too); attention masked twice (torch.where
against the bool `bias` buffer, then the create_causal_mask float mask added), scaled by 0-dim
torch.full tensors, softmax in the model dtype; the query is a view of the fused c_attn output,
so torch.matmul copies it whenever batch > 1 and heads > 1, even for one token;
reorder_and_upcast_attn (torch.empty + float32 baddbmm, float32 where/mask/softmax, one cast
back); and multi-op activations bound from activation_function (gelu_new: eight aten ops).
"""

from __future__ import annotations


import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_gpt2 import SMALL, VARIED

BASE = {**SMALL, "n_embd": 64, "n_head": 4}
EXTRA = {
    "gelu-fast": {**BASE, "activation_function": "gelu_fast"},
    "quick-gelu-one-head": {**BASE, "activation_function": "quick_gelu", "n_head": 1},
    "gelu-python-unscaled": {**BASE, "activation_function": "gelu_python", "scale_attn_weights": False},
    "linear-layer-scaled": {**BASE, "activation_function": "linear", "scale_attn_by_inverse_layer_idx": True},
    "relu2-reorder": {**BASE, "activation_function": "relu2", "reorder_and_upcast_attn": True},
}

CASES = [
    ("n-inner-untied", Workload(batch=2, seq_len=5, dtype="float16")),
    ("layer-scaled-upcast-relu", Workload(batch=2, seq_len=5, dtype="bfloat16")),
    ("layer-scaled-upcast-relu", Workload(batch=3, seq_len=1, past_len=4, dtype="float16")),
    ("cross-attention-tanh-gelu", Workload(batch=2, seq_len=1, past_len=3, dtype="bfloat16")),
    ("gelu-fast", Workload(batch=2, seq_len=3, past_len=2, dtype="bfloat16")),
    ("quick-gelu-one-head", Workload(batch=2, seq_len=1, past_len=4, dtype="float16")),
    ("gelu-python-unscaled", Workload(batch=2, seq_len=3, past_len=2)),
    ("linear-layer-scaled", Workload(batch=1, seq_len=4, past_len=2, dtype="bfloat16")),
    ("relu2-reorder", Workload(batch=1, seq_len=1, past_len=3)),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_gpt2_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


def test_gpt2_root_defines_bytes() -> None:
    prediction = predict(VARIED["n-inner-untied"], batch=1, seq_len=4)
    assert {"bytes_read", "bytes_written"} <= set(prediction.totals)


def test_gpt2_gelu_new_is_eight_ops() -> None:
    """gelu_new vs a one-op activation: 7 more ops over [tokens, n_inner], 9 more elements read."""
    tokens, inner, layers = 2 * 3, 200, VARIED["n-inner-untied"]["n_layer"]
    gelu_new = predict({**VARIED["n-inner-untied"], "activation_function": "gelu_new"}, batch=2, seq_len=3)
    relu = predict({**VARIED["n-inner-untied"], "activation_function": "relu"}, batch=2, seq_len=3)
    assert gelu_new.totals["bytes_read"] - relu.totals["bytes_read"] == layers * 9 * tokens * inner * 4
    assert gelu_new.totals["bytes_written"] - relu.totals["bytes_written"] == layers * 7 * tokens * inner * 4


def test_gpt2_bytes_per_module() -> None:
    config = VARIED["n-inner-untied"]
    workload = Workload(batch=2, seq_len=3, past_len=6, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=15)
