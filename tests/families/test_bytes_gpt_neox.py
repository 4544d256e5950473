"""GPT-NeoX bytes beyond tests/families/test_gpt_neox.py (which compares bytes_read /
bytes_written at every config it runs, since GPTNeoXForCausalLM defines them).

GPT-NeoX moves bytes like this: LayerNorms (native_layer_norm writes mean and rstd too); a fused
query_key_value whose q / k / v are views, made contiguous by the partial-rotary cat
(cat([rotated, pass]) runs even when rotary_pct is 1) and by the cache cat, so torch.matmul copies
nothing; rotary tables of width 2 * ceil(int(head_dim * rotary_pct) / 2) (a stray head_dim key
counts here); the parallel and the sequential residual are both two adds; softmax in float32; and
multi-op activations bound from hidden_act (gelu_fast: nine aten ops, gelu_new: eight).
"""

from __future__ import annotations


import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_gpt_neox import SMALL, VARIED

BASE = {**SMALL, "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128}
EXTRA = {
    "one-head-quick-gelu": {**BASE, "num_attention_heads": 1, "hidden_act": "quick_gelu"},
    "sequential-nobias-relu": {**BASE, "use_parallel_residual": False, "attention_bias": False, "hidden_act": "relu"},
}

CASES = [
    ("float-truncated-rotary", Workload(batch=2, seq_len=5, dtype="float16")),
    ("odd-rotary-stray-head-dim", Workload(batch=2, seq_len=3, past_len=2, dtype="bfloat16")),
    ("sequential-nobias-tied-full-rotary", Workload(batch=3, seq_len=1, past_len=4, dtype="float16")),
    ("one-head-quick-gelu", Workload(batch=2, seq_len=3, past_len=2)),
    ("one-head-quick-gelu", Workload(batch=2, seq_len=1, past_len=4, dtype="bfloat16")),
    ("sequential-nobias-relu", Workload(batch=2, seq_len=3, past_len=2, dtype="float16")),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_gpt_neox_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


def test_gpt_neox_root_defines_bytes() -> None:
    prediction = predict(VARIED["float-truncated-rotary"], batch=1, seq_len=4)
    assert {"bytes_read", "bytes_written"} <= set(prediction.totals)


def test_gpt_neox_bytes_per_module() -> None:
    config = VARIED["odd-rotary-stray-head-dim"]
    workload = Workload(batch=2, seq_len=3, past_len=6, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=15)
