"""GPT-NeoX rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Configs:
- pythia-160m and gpt-neox-20b as published (rotary_pct 0.25, parallel residual, biases,
  separate embed_out);
- sequential residual, no attention biases, tied embed_out, full rotary (rotary_pct 1.0);
- rotary_pct 0.29 with head_size 100: the rotary dim is int(100 * 0.29) = int(28.999999999999996)
  = 28, a float truncation an exact-arithmetic formula would get wrong (29);
- rotary_pct 0.3 with head_size 24 and a stray `head_dim` 30 key, which only the rotary
  embedding reads: rotary dim int(30 * 0.3) = 9 (not 7), odd, so inv_freq has ceil(9 / 2) = 5
  entries while attention and the cache still use head_size 24.
Each at prefill, single-token decode, chunked decode (seq_len > 1 with a cache) and batch 4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from lm_predictor.workload import Workload

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "vocab_size": 333, "num_hidden_layers": 2}

VARIED = {
    "sequential-nobias-tied-full-rotary": {
        **SMALL, "hidden_size": 128, "num_attention_heads": 4, "intermediate_size": 320,
        "use_parallel_residual": False, "attention_bias": False, "tie_word_embeddings": True, "rotary_pct": 1.0,
    },
    "float-truncated-rotary": {
        **SMALL, "hidden_size": 200, "num_attention_heads": 2, "intermediate_size": 512, "rotary_pct": 0.29,
        "hidden_act": "gelu_fast",
    },
    "odd-rotary-stray-head-dim": {
        **SMALL, "hidden_size": 120, "num_attention_heads": 5, "intermediate_size": 480, "rotary_pct": 0.3,
        "head_dim": 30, "num_hidden_layers": 3, "hidden_act": "gelu_new",
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("name", ["pythia-160m", "gpt-neox-20b"])
def test_gpt_neox_bundled(name: str, workload: Workload) -> None:
    config = json.loads((CONFIGS / name / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_gpt_neox_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_gpt_neox_bfloat16_cache() -> None:
    assert_exact(VARIED["float-truncated-rotary"], Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16"))


def test_gpt_neox_published_sizes() -> None:
    """Pythia-160M has 162,322,944 parameters and GPT-NeoX-20B 20,554,567,680 (untied embed_out)."""
    from lm_predictor.evaluate.predict import predict

    assert predict(CONFIGS / "pythia-160m" / "config.json", seq_len=1).totals["param_count"] == 162_322_944
    assert predict(CONFIGS / "gpt-neox-20b" / "config.json", seq_len=1).totals["param_count"] == 20_554_567_680
