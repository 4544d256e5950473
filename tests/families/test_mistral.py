"""Mistral rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Covered: the bundled mistral-7b (GQA 32/8, sliding_window 4096, untied); MQA with a tiny sliding
window that prefill and decode both overflow, with tied embeddings (every layer's
DynamicSlidingWindowLayer keeps W - 1 tokens, attention sees those plus the new ones); an explicit
head_dim different from hidden_size // heads with sliding_window null (full DynamicLayer); and MHA
(num_key_value_heads null falls back to the head count) with a window the chunked decode crosses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.workload import Workload
from tests.families.harness import DECODE, PREFILL, assert_exact

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "mistral", "architectures": ["MistralForCausalLM"], "vocab_size": 1000, "num_hidden_layers": 2}

VARIED = {
    "mqa-window4-tied": {
        **SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 1,
        "sliding_window": 4, "tie_word_embeddings": True,
    },
    "gqa-head-dim-no-window": {
        **SMALL, "hidden_size": 96, "intermediate_size": 224, "num_attention_heads": 6, "num_key_value_heads": 2,
        "head_dim": 24, "sliding_window": None,
    },
    "mha-window6": {
        **SMALL, "hidden_size": 64, "intermediate_size": 160, "num_attention_heads": 4, "num_key_value_heads": None,
        "sliding_window": 6, "num_hidden_layers": 3,
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_mistral_7b(workload: Workload) -> None:
    config = json.loads((CONFIGS / "mistral-7b" / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_mistral_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_mistral_bfloat16_sliding_cache() -> None:
    assert_exact(VARIED["mqa-window4-tied"], Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16"))
