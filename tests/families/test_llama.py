"""Llama rules are exact against the real model: FLOPs, parameters, KV cache and aten bytes.

Once LlamaForCausalLM defines bytes_read / bytes_written, assert_exact compares them with the
bytes counter (lm_predictor/verify/bytes_counter.py, convention in docs/bytes.md). Covered:
- the bundled Llama-2-7B (MHA) and Llama-3-8B (GQA 32/8, vocab 128256);
- small configs: GQA; MQA (one key/value head: repeat_kv is a stride-0 view, the copy happens
  inside torch.matmul only when batch > 1); attention and MLP biases with tied embeddings and an
  explicit head_dim that differs from hidden_size // heads;
- prefill, decode, chunked decode with batch 1 (the query reshape is then a view), batch 4;
- float32, bfloat16 and float16 (RMSNorm, rotary and softmax upcast to float32 and cast back).
The per-module check also compares bytes at every module path the prediction names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.verify.oracle import measure
from lm_predictor.workload import Workload
from tests.families.harness import DECODE, PREFILL, assert_bytes_per_module, assert_exact

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 1000, "num_hidden_layers": 2}

VARIED = {
    "gqa": {**SMALL, "hidden_size": 256, "intermediate_size": 688, "num_attention_heads": 8, "num_key_value_heads": 2},
    "mqa": {**SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 1},
    "bias-tied-head-dim": {
        **SMALL, "hidden_size": 192, "intermediate_size": 500, "num_attention_heads": 6, "num_key_value_heads": 3,
        "head_dim": 24, "attention_bias": True, "mlp_bias": True, "tie_word_embeddings": True,
    },
}

WORKLOADS = {
    "prefill": PREFILL,
    "decode": DECODE,
    "chunked-decode-b1": Workload(batch=1, seq_len=3, past_len=9),
    "prefill-b4": Workload(batch=4, seq_len=11),
}


def _bundled(name: str) -> dict:
    return json.loads((CONFIGS / name / "config.json").read_text())


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("name", ["llama-2-7b", "llama-3-8b"])
def test_llama_bundled(name: str, workload: Workload) -> None:
    assert_exact(_bundled(name), workload)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("name", list(VARIED))
def test_llama_varied(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


@pytest.mark.parametrize(
    ("name", "workload"),
    [
        ("gqa", Workload(batch=2, seq_len=1, past_len=6, dtype="bfloat16")),
        ("bias-tied-head-dim", Workload(batch=2, seq_len=5, dtype="bfloat16")),
        ("gqa", Workload(batch=3, seq_len=4, past_len=3, dtype="float16")),
        ("mqa", Workload(batch=2, seq_len=1, past_len=4, dtype="float16")),
    ],
    ids=["gqa-bf16-decode", "bias-bf16-prefill", "gqa-fp16-chunked", "mqa-fp16-decode"],
)
def test_llama_half_precision(name: str, workload: Workload) -> None:
    assert_exact(VARIED[name], workload)


def test_llama_root_defines_bytes() -> None:
    """The root rule defines both bytes metrics, so assert_exact compares them."""
    prediction = predict(VARIED["gqa"], batch=1, seq_len=4)
    assert {"bytes_read", "bytes_written"} <= set(prediction.totals)


@pytest.mark.parametrize("workload", [Workload(batch=2, seq_len=5, dtype="bfloat16"), Workload(batch=2, seq_len=1, past_len=3)], ids=["prefill-bf16", "decode"])
def test_llama_bytes_per_module(workload: Workload) -> None:
    """Bytes are attributed to the same modules as the counter's module stack (norms, attention, mlp, ...)."""
    config = VARIED["gqa"]
    assert_bytes_per_module(config, workload, min_compared=20)


def test_oplog_lists_every_counted_byte() -> None:
    """The developer op log (python -m lm_predictor.verify.oplog) sums to the oracle's totals."""
    from lm_predictor.verify.oplog import record_ops

    config, workload = VARIED["mqa"], Workload(batch=2, seq_len=3, past_len=2, dtype="bfloat16")
    records = record_ops(config, workload)
    totals = measure(config, workload, mode="fake").totals
    assert sum(r.read for r in records) == totals["bytes_read"]
    assert sum(r.written for r in records) == totals["bytes_written"]
    assert {"embedding", "mm", "bmm", "cat", "clone", "_softmax", "_to_copy"} <= {r.op for r in records}
    assert any(r.module == "model.layers.0.self_attn.q_proj" for r in records)
