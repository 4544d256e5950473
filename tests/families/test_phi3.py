"""Phi-3 rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Covered: the bundled phi-3-mini (MHA, sliding_window 2047, untied); GQA with partial rotary and
tied embeddings; an explicit head_dim that differs from hidden_size // heads with a small sliding
window that decode overflows (the cache keeps W - 1 tokens, attention sees those plus the new
ones); longrope scaling with partial rotary (Phi-4-mini layout) where fake tensors hit the
data-dependent short/long switch, so the harness measures a small real model; and sliding_window 1,
whose cache slice [-0:] keeps every token (decode of one token is the only step the model runs
with that window).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from lm_predictor.workload import Workload

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {
    "model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "vocab_size": 1000, "num_hidden_layers": 2,
    "pad_token_id": 999, "eos_token_id": 999,
}

VARIED = {
    "gqa-partial-rotary-tied": {
        **SMALL, "hidden_size": 256, "intermediate_size": 384, "num_attention_heads": 8, "num_key_value_heads": 2,
        "partial_rotary_factor": 0.5, "tie_word_embeddings": True,
    },
    "head-dim-sliding-window": {
        **SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4,
        "head_dim": 40, "partial_rotary_factor": 0.75, "sliding_window": 4,
    },
    # hidden 64 / 4 heads / ffn 128 / vocab 256: what shrink_config produces, so the real-tensor
    # fallback measures this very config
    "longrope-gqa-tied": {
        "model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "vocab_size": 256, "num_hidden_layers": 2,
        "pad_token_id": 255, "eos_token_id": 255, "bos_token_id": 1,
        "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
        "partial_rotary_factor": 0.75, "tie_word_embeddings": True,
        "original_max_position_embeddings": 8, "max_position_embeddings": 64,
        "rope_scaling": {"type": "longrope", "short_factor": [1.0] * 6, "long_factor": [2.0] * 6},
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_phi_3_mini(workload: Workload) -> None:
    config = json.loads((CONFIGS / "phi-3-mini" / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_phi3_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_phi3_sliding_window_one_keeps_everything() -> None:
    config = {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "sliding_window": 1}
    assert_exact(config, DECODE)


def test_phi3_bfloat16_sliding_cache() -> None:
    assert_exact(VARIED["head-dim-sliding-window"], Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16"))


# longrope is bound from config.rope_scaling, not inferred from the position limits. These configs
# break the old inference (original_max_position_embeddings < max_position_embeddings):
LONGROPE = VARIED["longrope-gqa-tied"]
ROPE_BINDING = {
    # longrope with max_position_embeddings == original: the switch still runs (and fires past 8)
    "longrope-unextended": {**LONGROPE, "max_position_embeddings": 8},
    # the legacy "su" type, which Phi3Config renames to longrope
    "su-legacy-type": {
        **LONGROPE, "max_position_embeddings": 8,
        "rope_scaling": {"type": "su", "short_factor": [1.0] * 6, "long_factor": [2.0] * 6},
    },
    # extended limits but no rope_scaling: the default rope, no switch ops
    "extended-default-rope": {**{k: v for k, v in LONGROPE.items() if k != "rope_scaling"}, "rope_scaling": None},
}
ROPE_WORKLOADS = {
    "below-original": Workload(batch=2, seq_len=5),
    "crossing-original": Workload(batch=1, seq_len=3, past_len=7, dtype="bfloat16"),
    "prefill-past-original": Workload(batch=2, seq_len=10, dtype="float16"),
    "decode-past-original": Workload(batch=3, seq_len=1, past_len=9),
}


ROPE_CASES = [("longrope-unextended", w) for w in ROPE_WORKLOADS] + [
    ("su-legacy-type", "crossing-original"), ("su-legacy-type", "prefill-past-original"),
    ("extended-default-rope", "below-original"), ("extended-default-rope", "decode-past-original"),
]


@pytest.mark.parametrize(("name", "workload"), ROPE_CASES, ids=[f"{n}-{w}" for n, w in ROPE_CASES])
def test_phi3_longrope_from_rope_scaling(name: str, workload: str) -> None:
    assert_exact(ROPE_BINDING[name], ROPE_WORKLOADS[workload])
