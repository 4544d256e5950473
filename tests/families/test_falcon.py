"""Falcon rules are exact against the real model (FlopCounterMode, parameters, KV cache).

The configs cover every structural branch of FalconConfig that the 4.56 source can run:
- falcon-7b: multi_query (one cached K/V head), parallel_attn with one input_layernorm, rotary,
  no biases, tied lm_head;
- new_decoder_architecture (Falcon-40B/180B layout): grouped qkv, ln_attn + ln_mlp, and a cache
  that holds all num_attention_heads (K/V are broadcast before the cache update);
- new_decoder_architecture with num_ln_in_parallel_attn=1 and a single K/V group, with biases;
- alibi (Falcon-RW layout): sequential block, full MHA, biases, explicit ffn_hidden_size;
- alibi with multi_query and the legacy `n_embed` key (ffn_hidden_size then defaults to
  4 * 4544, FalconConfig's hidden_size argument, not 4 * n_embed);
- full MHA with parallel_attn, rotary, biases.
new_decoder_architecture without parallel_attn, and parallel_attn with num_ln_in_parallel_attn=2
without new_decoder_architecture, fail in FalconDecoderLayer.forward, so they are not tested.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from lm_predictor.workload import Workload

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "falcon", "architectures": ["FalconForCausalLM"], "vocab_size": 1000, "num_hidden_layers": 2}

VARIED = {
    "new-arch-gqa-untied": {
        **SMALL, "hidden_size": 256, "num_attention_heads": 8, "num_kv_heads": 2,
        "new_decoder_architecture": True, "parallel_attn": True, "tie_word_embeddings": False,
    },
    "new-arch-one-ln-mqa-bias": {
        **SMALL, "hidden_size": 128, "num_attention_heads": 4, "num_kv_heads": 1,
        "new_decoder_architecture": True, "num_ln_in_parallel_attn": 1, "bias": True, "tie_word_embeddings": False,
    },
    "alibi-sequential-mha-bias": {
        **SMALL, "hidden_size": 192, "num_attention_heads": 6, "alibi": True, "multi_query": False,
        "parallel_attn": False, "bias": True, "ffn_hidden_size": 500,
    },
    "alibi-mqa-legacy-n-embed": {**SMALL, "n_embed": 128, "num_attention_heads": 4, "alibi": True, "multi_query": True},
    "rotary-mha-parallel-bias": {
        **SMALL, "hidden_size": 160, "num_attention_heads": 5, "multi_query": False, "parallel_attn": True, "bias": True,
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_falcon_7b(workload: Workload) -> None:
    config = json.loads((CONFIGS / "falcon-7b" / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_falcon_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_falcon_bfloat16_cache() -> None:
    assert_exact(VARIED["alibi-sequential-mha-bias"], Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16"))
