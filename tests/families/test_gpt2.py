"""GPT-2 rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Configs:
- gpt2 and gpt2-medium as published (tied lm_head, gelu_new, n_inner None -> 4 * n_embd);
- an explicit n_inner with an untied lm_head (a separate vocab x n_embd matrix);
- scale_attn_by_inverse_layer_idx with reorder_and_upcast_attn (scores by a float32 baddbmm)
  and scale_attn_weights off: only elementwise changes, same FLOPs;
- add_cross_attention: every block owns crossattention (c_attn 2n, q_attn, c_proj) and
  ln_cross_attn, which add parameters but never run in a causal-LM forward; the cache becomes an
  EncoderDecoderCache whose cross half stays empty.
Each at prefill, single-token decode, chunked decode (seq_len > 1 with a cache) and batch 4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from lm_predictor.workload import Workload

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 301, "n_layer": 2, "n_positions": 64}

VARIED = {
    "n-inner-untied": {**SMALL, "n_embd": 96, "n_head": 3, "n_inner": 200, "tie_word_embeddings": False},
    "layer-scaled-upcast-relu": {
        **SMALL, "n_embd": 64, "n_head": 4, "n_layer": 3, "scale_attn_by_inverse_layer_idx": True,
        "reorder_and_upcast_attn": True, "scale_attn_weights": False, "activation_function": "relu",
    },
    "cross-attention-tanh-gelu": {
        **SMALL, "n_embd": 80, "n_head": 10, "add_cross_attention": True, "n_inner": 96,
        "activation_function": "gelu_pytorch_tanh",
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("name", ["gpt2", "gpt2-medium"])
def test_gpt2_bundled(name: str, workload: Workload) -> None:
    config = json.loads((CONFIGS / name / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_gpt2_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_gpt2_bfloat16_cache() -> None:
    assert_exact(VARIED["n-inner-untied"], Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16"))


def test_gpt2_published_size() -> None:
    """GPT-2 small has 124,439,808 parameters (wte tied to lm_head)."""
    from lm_predictor.evaluate.predict import predict

    prediction = predict(CONFIGS / "gpt2" / "config.json", batch=1, seq_len=1)
    assert prediction.totals["param_count"] == 124_439_808
