"""Mistral bytes beyond tests/families/test_mistral.py (which compares bytes_read / bytes_written at
every config it runs, since MistralForCausalLM defines them).

Extra cases: float16 and bfloat16 prefill and decode (RMSNorm, rotary and softmax upcast to float32
and cast back), a sliding window decode has not yet filled and one it crosses (the mask's kv_length
switches to W - 1 + seq_len once the layer has seen W tokens, the cache keeps W - 1), window 2,
GQA with an explicit head_dim, and bytes per module path.
"""

from __future__ import annotations


import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_mistral import SMALL, VARIED

EXTRA = {
    "gqa-window8": {
        **SMALL, "hidden_size": 64, "intermediate_size": 160, "num_attention_heads": 4, "num_key_value_heads": 2,
        "sliding_window": 8,
    },
    "gqa-window2": {
        **SMALL, "hidden_size": 64, "intermediate_size": 160, "num_attention_heads": 4, "num_key_value_heads": 2,
        "sliding_window": 2,
    },
}

CASES = [
    ("mqa-window4-tied", Workload(batch=2, seq_len=5, dtype="float16")),
    ("gqa-head-dim-no-window", Workload(batch=2, seq_len=5, dtype="bfloat16")),
    ("gqa-head-dim-no-window", Workload(batch=3, seq_len=1, past_len=5, dtype="float16")),
    ("mha-window6", Workload(batch=2, seq_len=3, past_len=4, dtype="bfloat16")),
    ("gqa-window8", Workload(batch=2, seq_len=2, past_len=3)),
    ("gqa-window8", Workload(batch=2, seq_len=1, past_len=7, dtype="bfloat16")),
    ("gqa-window8", Workload(batch=2, seq_len=1, past_len=8, dtype="float16")),
    ("gqa-window2", Workload(batch=2, seq_len=1, past_len=4)),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_mistral_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


def test_mistral_root_defines_bytes() -> None:
    prediction = predict(VARIED["mqa-window4-tied"], batch=1, seq_len=4)
    assert {"bytes_read", "bytes_written"} <= set(prediction.totals)


def test_mistral_bytes_per_module() -> None:
    config = EXTRA["gqa-window8"]
    workload = Workload(batch=2, seq_len=3, past_len=6, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=20)
