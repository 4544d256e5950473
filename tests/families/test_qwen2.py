"""Qwen2 rules are exact against the real model (FlopCounterMode, parameters, KV cache).

Covered: the bundled qwen2.5-7b (GQA 28/4, q/k/v biases, sliding_window written but
use_sliding_window false, so every layer is full); MQA with tied embeddings and a stale
sliding_window that use_sliding_window=false switches off; a hybrid stack (use_sliding_window,
max_window_layers 1 of 3: one full DynamicLayer, then two DynamicSlidingWindowLayers with a
4-token window); an explicit head_dim with max_window_layers beyond the layer count (sliding
enabled but no layer slides); max_window_layers 0 (every layer slides); and an explicit
layer_types list in config.json, which Qwen2Config uses as given (max_window_layers then says
nothing), in an irregular order the derivation cannot produce.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import predict
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


S, F = "sliding_attention", "full_attention"
# max_window_layers 2 would derive [F, F, S]; the list wins
EXPLICIT = {**VARIED["hybrid-sliding-gqa"], "max_window_layers": 2, "layer_types": [S, F, S]}
EXPLICIT_WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "decode-window-full": Workload(batch=2, seq_len=1, past_len=8, dtype="bfloat16"),
    "chunked-window-filling": Workload(batch=1, seq_len=3, past_len=2, dtype="float16"),
}


@pytest.mark.parametrize("workload", list(EXPLICIT_WORKLOADS.values()), ids=list(EXPLICIT_WORKLOADS))
def test_qwen2_explicit_layer_types(workload: Workload) -> None:
    assert_exact(EXPLICIT, workload)


@pytest.mark.parametrize("layer_types", [[S, S, F], [F, F, F], [S, S, S]], ids=["s-s-f", "all-full", "all-sliding"])
def test_qwen2_explicit_layer_types_override_the_derivation(layer_types: list) -> None:
    """max_window_layers 0 with use_sliding_window would derive [S, S, S]; the list wins."""
    config = {**VARIED["hybrid-sliding-gqa"], "max_window_layers": 0, "layer_types": layer_types}
    assert_exact(config, Workload(batch=2, seq_len=2, past_len=5))


def test_qwen2_layer_order_does_not_change_the_prediction() -> None:
    totals = {
        tuple(order): predict({**EXPLICIT, "layer_types": order}, batch=3, seq_len=1, past_len=5).totals
        for order in ([S, F, S], [F, S, S], [S, S, F])
    }
    assert len({tuple(sorted(t.items())) for t in totals.values()}) == 1


@pytest.mark.parametrize("layer_types", [
    [S, F],                             # shorter than num_hidden_layers: IndexError in transformers
    [F, S, S, S],                       # longer: the extra entry still gets a cache layer
    [F, "chunked_attention", S],        # Qwen2Model builds no chunked mask: KeyError in transformers
], ids=["short", "long", "chunked"])
def test_qwen2_layer_types_the_rules_refuse(layer_types: list) -> None:
    with pytest.raises(LmPredictorError):
        predict({**EXPLICIT, "layer_types": layer_types}, batch=1, seq_len=2)


def test_qwen2_sliding_layer_types_need_a_window() -> None:
    """use_sliding_window false sets config.sliding_window to None; a sliding cache layer then fails."""
    with pytest.raises(LmPredictorError):
        predict({**EXPLICIT, "use_sliding_window": False}, batch=1, seq_len=2)
    predict({**EXPLICIT, "use_sliding_window": False, "layer_types": [F, F, F]}, batch=1, seq_len=2)
