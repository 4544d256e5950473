"""Phi-3 bytes beyond tests/families/test_phi3.py (which compares bytes_read / bytes_written at
every config it runs, since Phi3ForCausalLM defines them).

Extra cases: half precision with partial rotary and GQA, MQA (one key/value head: repeat_kv is a
stride-0 view, torch.matmul copies it when batch > 1), a sliding window that decode has not yet
filled, longrope in bfloat16, longrope bound from rope_scaling (not from the position limits),
and bytes per module path.
"""

from __future__ import annotations


import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.workload import Workload
from tests.families.harness import assert_bytes_per_module, assert_exact
from tests.families.test_phi3 import SMALL, VARIED

EXTRA = {
    "mqa-partial": {
        **SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 1,
        "partial_rotary_factor": 0.5,
    },
    "window-not-full": {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "sliding_window": 8},
}

CASES = [
    ("gqa-partial-rotary-tied", Workload(batch=2, seq_len=5, dtype="float16")),
    ("gqa-partial-rotary-tied", Workload(batch=3, seq_len=1, past_len=4, dtype="bfloat16")),
    ("head-dim-sliding-window", Workload(batch=1, seq_len=4, past_len=7, dtype="float16")),
    ("mqa-partial", Workload(batch=2, seq_len=6)),
    ("mqa-partial", Workload(batch=1, seq_len=2, past_len=3, dtype="bfloat16")),
    ("window-not-full", Workload(batch=2, seq_len=2, past_len=3)),
    ("window-not-full", Workload(batch=2, seq_len=1, past_len=7, dtype="bfloat16")),
    ("longrope-gqa-tied", Workload(batch=2, seq_len=10, dtype="bfloat16")),
]


@pytest.mark.parametrize(("name", "workload"), CASES, ids=[f"{n}-{w.batch}x{w.seq_len}+{w.past_len}-{w.dtype}" for n, w in CASES])
def test_phi3_bytes_extra(name: str, workload: Workload) -> None:
    assert_exact({**VARIED, **EXTRA}[name], workload)


@pytest.mark.parametrize("rope_scaling", [
    {"type": "longrope"}, {"type": "LongRoPE"}, {"type": "su"}, {"type": "yarn"}, {"rope_type": "longrope"},
], ids=["type", "type-mixed-case", "legacy-su", "legacy-yarn", "rope-type"])
def test_phi3_longrope_is_bound_from_rope_scaling(rope_scaling: dict) -> None:
    """longrope comes from rope_scaling's (rope_)type, whatever the position limits say: the
    unscaled config here has max_position_embeddings 64 > original 8, which the rules used to
    read as longrope. (Phi3Config 4.56 rejects a rope_type-only mapping, but Phi3RotaryEmbedding
    reads rope_type first, so the rules accept it too.)"""
    base = {**VARIED["longrope-gqa-tied"], "rope_scaling": None}
    factors = {"short_factor": [1.0] * 6, "long_factor": [2.0] * 6}
    without = predict(base, batch=1, seq_len=4).totals["bytes_read"]
    with_longrope = predict({**base, "rope_scaling": {**rope_scaling, **factors}}, batch=1, seq_len=4).totals["bytes_read"]
    # max(position_ids) [1, 4] int64, + 1, > original, .item(): 8 * 4 + 8 + 8 + 1 read
    assert with_longrope - without == 8 * 4 + 17


def test_phi3_other_rope_types_are_not_longrope() -> None:
    base = VARIED["longrope-gqa-tied"]
    default = predict({**base, "rope_scaling": None}, batch=1, seq_len=4).totals
    assert predict({**base, "rope_scaling": {"type": "linear", "factor": 2.0}}, batch=1, seq_len=4).totals == default


def test_phi3_bytes_per_module() -> None:
    config = VARIED["head-dim-sliding-window"]
    workload = Workload(batch=2, seq_len=3, past_len=6, dtype="bfloat16")
    assert_bytes_per_module(config, workload, min_compared=20)
