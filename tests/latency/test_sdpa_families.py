"""attn_implementation="sdpa" against the oracle, which counts the CPU flash kernel with torch's sdpa_flop.

Exact (flops, params, bytes, KV cache; totals and every module path): llama, gemma, gpt2,
gpt_neox, mistral, phi3, qwen2 and falcon, at their published configs (prefill and decode) and at
the varied small configs of their family tests (prefill, decode, a chunked decode that builds the
mask, batch 4; sliding windows that are full, so decode builds the mask too; Qwen2's hybrid
stacks). Falcon calls SDPA itself without enable_gqa: with one key/value head (multi_query) torch
runs the math fallback (score matrix materialised, float32 on CPU below float32), with equal heads
the fused kernel.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.predict import predict  # noqa: E402
from lm_predictor.verify.oracle import measure  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families import test_falcon, test_gemma, test_gpt2, test_gpt_neox, test_llama, test_mistral, test_phi3, test_qwen2  # noqa: E402
from tests.families.harness import DECODE, PREFILL, assert_exact  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SDPA_PREFILL, SDPA_DECODE = replace(PREFILL, attn="sdpa"), replace(DECODE, attn="sdpa")
BYTES_EXACT = ["llama-2-7b", "llama-3-8b", "gemma-7b", "gpt2", "pythia-160m", "gpt-neox-20b", "mistral-7b", "phi-3-mini", "qwen2.5-7b", "falcon-7b"]
FAMILIES = (test_llama, test_gemma, test_gpt2, test_gpt_neox, test_mistral, test_phi3, test_qwen2, test_falcon)
VARIED = {f"{m.__name__.split('.')[-1][5:]}-{k}": v for m in FAMILIES for k, v in m.VARIED.items()}
SHAPES = {
    "prefill": SDPA_PREFILL,
    "decode": SDPA_DECODE,
    "chunked-decode": Workload(batch=2, seq_len=3, past_len=9, dtype="bfloat16", attn="sdpa"),
    "prefill-b4-fp16": Workload(batch=4, seq_len=11, dtype="float16", attn="sdpa"),
}


def _published(name: str) -> dict:
    return json.loads((CONFIGS / name / "config.json").read_text())


@pytest.mark.parametrize("workload", [SDPA_PREFILL, SDPA_DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("name", BYTES_EXACT)
def test_sdpa_exact_published(name: str, workload: Workload) -> None:
    assert_exact(_published(name), workload)


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("name", list(VARIED))
def test_sdpa_exact_varied(name: str, shape: str) -> None:
    assert_exact(VARIED[name], SHAPES[shape])


@pytest.mark.parametrize("multi_query", [True, False], ids=["mqa-math", "mha-fused"])
def test_falcon_kernel_choice(multi_query: bool) -> None:
    """falcon-7b: one key/value head without enable_gqa takes the math fallback, equal heads the fused kernel."""
    config = {**_published("falcon-7b"), "multi_query": multi_query}
    measured = measure(config, SDPA_PREFILL)
    # the math fallback runs two counted aten.bmm per layer: 4 * b * 71 heads * q * kv * 64 * 32 layers
    # = 4 * 2 * 71 * 7 * 7 * 64 * 32 = 56,999,936 (4544 / 71 = 64); the fused kernel runs none. Both
    # run the rotary inv_freq [1, 32, 1] @ positions [1, 1, 7] bmm once: 2 * 32 * 1 * 7 = 448
    assert measured.op_flops.get("aten.bmm", 0) == (4 * 2 * 71 * 7 * 7 * 64 * 32 if multi_query else 0) + 448
    assert_exact(config, SDPA_PREFILL)


def test_cpu_kernel_counts_the_cuda_formula() -> None:
    """Without the oracle's registration FlopCounterMode counts the CPU kernel as 0 (torch 2.13)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from lm_predictor.verify.oracle import cpu_sdpa_formulas

    q, k = torch.zeros(2, 4, 5, 16), torch.zeros(2, 2, 7, 16)  # GQA: 4 query heads, 2 key heads
    with FlopCounterMode(display=False) as plain:
        torch.nn.functional.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    with FlopCounterMode(display=False, custom_mapping=cpu_sdpa_formulas()) as counted:
        torch.nn.functional.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    assert plain.get_total_flops() == 0
    # sdpa_flop_count: 2 * (b*h_q) * s_q * d * s_k  +  2 * (b*h_q) * s_q * s_k * d = 4 * 8 * 5 * 7 * 16 = 17,920
    assert counted.get_total_flops() == 17_920


def test_falcon_flash_is_priced_as_the_fused_kernel() -> None:
    """flash_attention_2 (FalconFlashAttention2, CUDA only: priced, not measured) runs flash_attn on
    [batch, seq, heads, head_dim] views with the cache's own key/value heads (flash takes MQA natively),
    no mask and no copy after it."""
    from lm_predictor.hardware import load_hardware
    from lm_predictor.latency.roofline import roofline

    p = predict("falcon-7b", batch=2, seq_len=7, dtype="bfloat16", attn="flash_attention_2")
    assert not [n for n in p.notes if "does not model" in n]
    row = roofline(p, load_hardware("h100-sxm")).rows["transformer.h.self_attention.attention"]
    # 32 layers * 4 * 2 * 71 heads * 7 * 7 * 64 = 56,999,936 FLOPs
    # read: q 2*71*7*64 + k and v at one head 2 * 2*1*7*64 = 65,408 elements * 2 bytes = 130,816 per layer;
    # written: out 2*71*7*64 * 2 bytes + float32 log-sum-exp 2*71*7 * 4 = 131,208 per layer
    assert row.own_flops == 56_999_936 and row.own_bytes == 32 * (130_816 + 131_208)
