"""Gemma rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Covered: the bundled gemma-7b (MHA 16 heads x head_dim 256 = 4096 > hidden 3072, tied
embeddings by default); MQA with attention biases and untied embeddings; GQA with a small
explicit head_dim; and a config that omits head_dim, so GemmaConfig's default 256 applies even
though hidden_size // heads is 32 (a textbook formula would size q/k/v/o from hidden_size).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.workload import Workload
from tests.families.harness import DECODE, PREFILL, assert_exact

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "gemma", "architectures": ["GemmaForCausalLM"], "vocab_size": 1000, "num_hidden_layers": 2}

VARIED = {
    "mqa-bias-untied": {
        **SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 1,
        "head_dim": 64, "attention_bias": True, "tie_word_embeddings": False,
    },
    "gqa-small-head-dim-tied": {
        **SMALL, "hidden_size": 96, "intermediate_size": 224, "num_attention_heads": 6, "num_key_value_heads": 2,
        "head_dim": 16,
    },
    "default-head-dim-256": {
        **SMALL, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "num_key_value_heads": 2,
        "vocab_size": 256, "pad_token_id": 0,
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_gemma_7b(workload: Workload) -> None:
    config = json.loads((CONFIGS / "gemma-7b" / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_gemma_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_gemma_bfloat16_decode() -> None:
    assert_exact(VARIED["mqa-bias-untied"], Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16"))
