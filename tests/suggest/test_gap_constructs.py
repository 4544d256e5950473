"""Constructs `suggest` learned for the survey's analysis gaps (issue 10), against the oracle.

Each case is a config whose cost depends on one construct, priced with the derived rules only (no
hand-written model rules) and compared with the oracle (fake tensors; real tensors on
`shrink_config` where fake tensors cannot run the model), total and per module, prefill and decode:

- llama4_text, its per-layer lists left to the config class: `moe_layers = list(range(s - 1, n, s))`
  read as `i in moe_layers` (an arithmetic progression: a threshold and a modulo pattern), and
  `layer_types` built by a comprehension over the comprehension `no_rope_layers` (its items keep
  the layer index, so the cache's chunked layers are counted per layer).
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact

pytest.importorskip("transformers")

SMALL_LLAMA4 = {
    "model_type": "llama4_text", "hidden_size": 64, "intermediate_size": 32, "intermediate_size_mlp": 96,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 256, "num_local_experts": 4,
    "num_hidden_layers": 6,
    "interleave_moe_layer_step": 2,  # MoE at layers 1, 3, 5
    "no_rope_layer_interval": 3,  # NoPE (full attention) at layers 2, 5; chunked attention elsewhere
    "attention_chunk_size": 4,  # shorter than the decode's 5 + 1 tokens: chunked layers keep fewer
}

CASES = {
    "llama4_text derived layer lists": SMALL_LLAMA4,
}


@lru_cache(maxsize=None)
def _library():
    from lm_predictor.rules.library import load_library
    from tests.suggest.families import base_paths

    return load_library(base_paths())


@pytest.mark.parametrize("case", sorted(CASES))
def test_gap_construct_is_exact(case: str) -> None:
    for workload in (PREFILL, DECODE):
        assert_exact(dict(CASES[case]), workload, library=_library())
