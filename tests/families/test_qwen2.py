"""Qwen2 rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Covered: the bundled qwen2.5-7b (GQA 28/4, q/k/v biases, sliding_window written but
use_sliding_window false, so every layer is full); MQA with tied embeddings and a stale
sliding_window that use_sliding_window=false switches off; a hybrid stack (use_sliding_window,
max_window_layers 1 of 3: one full DynamicLayer, then two DynamicSlidingWindowLayers with a
4-token window); an explicit head_dim with max_window_layers beyond the layer count (sliding
enabled but no layer slides); and max_window_layers 0 (every layer slides).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.workload import Workload
from tests.families.harness import DECODE, PREFILL, assert_exact

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 1000, "num_hidden_layers": 2}

VARIED = {
    "mqa-tied-window-off": {
        **SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 1,
        "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 4,
    },
    "hybrid-sliding-gqa": {
        **SMALL, "hidden_size": 96, "intermediate_size": 224, "num_attention_heads": 6, "num_key_value_heads": 2,
        "num_hidden_layers": 3, "use_sliding_window": True, "sliding_window": 4, "max_window_layers": 1,
    },
    "head-dim-no-sliding-layer": {
        **SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 4,
        "head_dim": 40, "use_sliding_window": True, "sliding_window": 3, "max_window_layers": 5,
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_qwen2_5_7b(workload: Workload) -> None:
    config = json.loads((CONFIGS / "qwen2.5-7b" / "config.json").read_text())
    assert_exact(config, workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_qwen2_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_qwen2_every_layer_slides(workload: Workload) -> None:
    config = {**VARIED["hybrid-sliding-gqa"], "max_window_layers": 0}
    assert_exact(config, workload)
