"""Qwen2 bytes beyond tests/families/test_qwen2.py (which compares bytes_read / bytes_written at
every config it runs, since Qwen2ForCausalLM defines them).

Extra cases: float16 and bfloat16 prefill and decode on the hybrid stack (the full-attention mask is
built from the first full layer's sizes, the sliding mask from the first sliding layer's), every
layer sliding (create_causal_mask still runs, with layer 0's sliding sizes: 0-dim kv_offset ops and a
W - 1 + seq_len kv_length), MQA with sliding layers, and bytes per module path.
"""

from __future__ import annotations


import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_qwen2 import VARIED

EXTRA = {
    "every-layer-slides": {**VARIED["hybrid-sliding-gqa"], "max_window_layers": 0},
    "mqa-sliding": {**VARIED["mqa-tied-window-off"], "use_sliding_window": True, "max_window_layers": 1},
}

CASES = [
    ("hybrid-sliding-gqa", Workload(batch=2, seq_len=5, dtype="float16")),
    ("hybrid-sliding-gqa", Workload(batch=2, seq_len=1, past_len=3, dtype="bfloat16")),
    ("hybrid-sliding-gqa", Workload(batch=2, seq_len=2, past_len=6, dtype="float16")),
    ("every-layer-slides", Workload(batch=1, seq_len=3, past_len=9)),
    ("every-layer-slides", Workload(batch=2, seq_len=1, past_len=3, dtype="bfloat16")),
    ("mqa-sliding", Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16")),
    ("mqa-tied-window-off", Workload(batch=3, seq_len=4, past_len=2, dtype="float16")),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_qwen2_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


def test_qwen2_root_defines_bytes() -> None:
    prediction = predict(VARIED["hybrid-sliding-gqa"], batch=1, seq_len=4)
    assert {"bytes_read", "bytes_written"} <= set(prediction.totals)


def test_qwen2_bytes_per_module() -> None:
    config = VARIED["hybrid-sliding-gqa"]
    workload = Workload(batch=2, seq_len=3, past_len=6, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=20)
