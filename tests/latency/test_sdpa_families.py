"""attn_implementation="sdpa" against the oracle, which counts the CPU flash kernel with torch's sdpa_flop.

Exact (flops, params, bytes, KV cache; totals and every module path): llama, gemma, gpt2,
gpt_neox, mistral, phi3 and qwen2, at their published configs (prefill and decode) and at the
varied small configs of their family tests (prefill, decode, a chunked decode that builds the
bool mask, batch 4; sliding windows that are full, so decode builds the mask too; Qwen2's
hybrid stacks). falcon: flops are exact (the kernel formula equals the eager matmuls), bytes
are not modelled for sdpa yet (Falcon calls SDPA itself, and on CPU it takes the math path).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.predict import predict  # noqa: E402
from lm_predictor.verify.compare import compare  # noqa: E402
from lm_predictor.verify.oracle import measure  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families import test_gemma, test_gpt2, test_gpt_neox, test_llama, test_mistral, test_phi3, test_qwen2  # noqa: E402
from tests.families.harness import DECODE, PREFILL, assert_exact  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SDPA_PREFILL, SDPA_DECODE = replace(PREFILL, attn="sdpa"), replace(DECODE, attn="sdpa")
BYTES_EXACT = ["llama-2-7b", "llama-3-8b", "gemma-7b", "gpt2", "pythia-160m", "gpt-neox-20b", "mistral-7b", "phi-3-mini", "qwen2.5-7b"]
FLOPS_ONLY = ["falcon-7b"]
FAMILIES = (test_llama, test_gemma, test_gpt2, test_gpt_neox, test_mistral, test_phi3, test_qwen2)
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


@pytest.mark.parametrize("workload", [SDPA_PREFILL, SDPA_DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("name", FLOPS_ONLY)
def test_sdpa_flops_exact(name: str, workload: Workload) -> None:
    config = _published(name)
    measured = measure(config, workload)
    # Falcon calls SDPA itself with a float mask; on CPU that takes the math fallback, two counted
    # aten.bmm per layer: at least 4 * b * 71 heads * q * kv * 64 * 32 layers (4544 / 71 = 64)
    kv = workload.past_len + workload.seq_len
    assert measured.op_flops.get("aten.bmm", 0) >= 4 * workload.batch * 71 * workload.seq_len * kv * 64 * 32
    rows = compare(predict(config, **asdict(workload)), measured.totals, measured.module_flops, measured.module_params)
    bad = [f"{r.path} {r.metric}: {r.predicted} vs {r.measured}" for r in rows if r.metric == "flops" and not r.exact]
    assert not bad, "\n".join(bad)


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


def test_rules_without_the_sdpa_path_say_so() -> None:
    """Falcon's rules declare no attn_implementation__sdpa: the prediction notes that bytes stay eager."""
    note = [n for n in predict("falcon-7b", seq_len=4, attn="sdpa").notes if "does not model attn=sdpa" in n]
    assert note and not [n for n in predict("llama-2-7b", seq_len=4, attn="sdpa").notes if "does not model" in n]
