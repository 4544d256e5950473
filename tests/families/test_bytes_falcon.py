"""Falcon bytes beyond tests/families/test_falcon.py (which compares bytes_read / bytes_written at
every config it runs, since FalconForCausalLM defines them).

Extra cases: half precision on every layout, new_decoder_architecture with alibi (one and several
kv groups), bytes per module path, and alibi under float16 (a bfloat16 -> float16 cast the rules see through dtype__float16).
"""

from __future__ import annotations

from dataclasses import asdict

import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.verify.oracle import measure
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_falcon import SMALL, VARIED

EXTRA = {
    "new-arch-alibi-one-group": {
        **SMALL, "hidden_size": 64, "num_attention_heads": 4, "num_kv_heads": 1, "new_decoder_architecture": True, "alibi": True,
    },
    "new-arch-alibi-groups": {
        **SMALL, "hidden_size": 96, "num_attention_heads": 6, "num_kv_heads": 2, "new_decoder_architecture": True, "alibi": True,
    },
}

CASES = [
    ("new-arch-gqa-untied", Workload(batch=2, seq_len=5, dtype="float16")),
    ("new-arch-one-ln-mqa-bias", Workload(batch=3, seq_len=1, past_len=4, dtype="bfloat16")),
    ("rotary-mha-parallel-bias", Workload(batch=1, seq_len=3, past_len=6, dtype="float16")),
    ("alibi-mqa-legacy-n-embed", Workload(batch=3, seq_len=1, past_len=5, dtype="bfloat16")),
    ("new-arch-alibi-one-group", Workload(batch=2, seq_len=1, past_len=3)),
    ("new-arch-alibi-groups", Workload(batch=2, seq_len=4, past_len=2, dtype="bfloat16")),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_falcon_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


FLOAT16_ALIBI = [
    ("alibi-sequential-mha-bias", Workload(batch=3, seq_len=1, past_len=5, dtype="float16")),
    ("alibi-sequential-mha-bias", Workload(batch=2, seq_len=4, dtype="float16")),
    ("alibi-mqa-legacy-n-embed", Workload(batch=2, seq_len=3, past_len=2, dtype="float16")),
    ("new-arch-alibi-groups", Workload(batch=1, seq_len=1, past_len=4, dtype="float16")),
]


@pytest.mark.parametrize(("name", "workload"), FLOAT16_ALIBI, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}" for n, w in FLOAT16_ALIBI])
def test_falcon_alibi_float16_exact(name: str, workload: Workload) -> None:
    """build_alibi_tensor computes in bfloat16 and casts to the model dtype: under float16 that
    cast runs at the same element size. The rules see it through dtype__float16."""
    assert_exact({**VARIED, **EXTRA}[name], workload)


def test_falcon_alibi_float16_cast_is_the_only_dtype_difference() -> None:
    """float16 and bfloat16 differ by exactly the bfloat16 -> float16 cast of [batch * heads, 1, kv]."""
    config = VARIED["alibi-sequential-mha-bias"]
    half, brain = (Workload(batch=3, seq_len=1, past_len=5, dtype=dtype) for dtype in ("float16", "bfloat16"))
    cast = half.batch * 6 * (half.past_len + half.seq_len) * 2
    predicted = {w.dtype: predict(config, **asdict(w)).totals for w in (half, brain)}
    for metric in ("bytes_read", "bytes_written"):
        assert predicted["float16"][metric] - predicted["bfloat16"][metric] == cast
    assert measure(config, half, mode="fake").totals["bytes_read"] == predicted["float16"]["bytes_read"]


@pytest.mark.parametrize("name", ["alibi-sequential-mha-bias", "new-arch-gqa-untied"])
def test_falcon_bytes_per_module(name: str) -> None:
    config, workload = VARIED[name], Workload(batch=2, seq_len=3, past_len=2, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=15)
