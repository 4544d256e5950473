"""Gemma bytes beyond tests/families/test_gemma.py (which compares bytes_read / bytes_written at
every config it runs, since GemmaForCausalLM defines them).

Extra cases: float16 and bfloat16 prefill and decode. Gemma differs from Llama in the bytes it
moves in three places: the embeddings are multiplied by a 0-dim sqrt(hidden_size) tensor;
GemmaRMSNorm applies (1 + weight) in float32 (weight.float(), add, multiply) and casts back once at
the end; and the MLP's act_fn is one aten.gelu ("gelu" and "gelu_pytorch_tanh" alike).
"""

from __future__ import annotations


import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_gemma import VARIED

EXTRA = {"gqa-gelu-erf": {**VARIED["gqa-small-head-dim-tied"], "hidden_act": "gelu"}}

CASES = [
    ("mqa-bias-untied", Workload(batch=2, seq_len=5, dtype="float16")),
    ("gqa-small-head-dim-tied", Workload(batch=3, seq_len=1, past_len=4, dtype="float16")),
    ("gqa-small-head-dim-tied", Workload(batch=2, seq_len=3, past_len=2, dtype="bfloat16")),
    ("default-head-dim-256", Workload(batch=1, seq_len=4, past_len=3, dtype="bfloat16")),
    ("gqa-gelu-erf", Workload(batch=2, seq_len=3, past_len=2, dtype="bfloat16")),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_gemma_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


def test_gemma_root_defines_bytes() -> None:
    prediction = predict(VARIED["mqa-bias-untied"], batch=1, seq_len=4)
    assert {"bytes_read", "bytes_written"} <= set(prediction.totals)


def test_gemma_bytes_per_module() -> None:
    config = VARIED["gqa-small-head-dim-tied"]
    workload = Workload(batch=2, seq_len=3, past_len=6, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=20)
