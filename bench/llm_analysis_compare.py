"""Side by side with llm-analysis (pip install llm-analysis): LLaMA-7B on A100-SXM-80GB, bf16.

    .venv/bin/python bench/llm_analysis_compare.py [--json bench/llm_analysis.json]

Prefill of 512 tokens, then decode (llm-analysis's default 32 generated tokens). lmpredict prices
Llama-2-7B (configs/llama-2-7b: the LLaMA-7B architecture; only max_position_embeddings differs,
which no cost depends on) with --attn sdpa on the a100-sxm-80gb preset. Every difference is
decomposed into named terms and the residual must be 0 (docs/latency.md explains each term).
Skips, with a message and exit 0, when llm-analysis is not installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PUBLISHED = {"prefill_flops": 6.87e12, "decode_flops": 13.15e9, "kv_cache_bytes_544": 285.21e6, "weight_bytes": 13.15e9}
"""llm-analysis's published figures for this case (its README), for the record."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write the comparison here")
    args = ap.parse_args()
    try:
        from llm_analysis.analysis import infer
    except ImportError:
        print("SKIPPED: llm-analysis is not installed (.venv/bin/pip install llm-analysis; it pins an old transformers, reinstall transformers==4.56.0 after)")
        return 0
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.hardware import load_hardware
    from lm_predictor.latency.roofline import roofline

    theirs = infer(model_name="decapoda-research_llama-7b-hf", gpu_name="a100-sxm-80gb", dtype_name="w16a16e16", seq_len=512,
                   num_tokens_to_generate=32, batch_size_per_gpu=1, log_level="ERROR")
    hw = load_hardware("a100-sxm-80gb")
    kw = {"batch": 1, "dtype": "bfloat16", "attn": "sdpa"}
    prefill = predict("llama-2-7b", seq_len=512, **kw)
    decode = predict("llama-2-7b", seq_len=1, past_len=512, **kw)
    kv544 = predict("llama-2-7b", seq_len=1, past_len=543, **kw)
    h, layers, inter, vocab, heads_dim = 4096, 32, 11008, 32000, 4096
    mlp_gap = layers * (3 * h * inter - 2 * h * 16384)  # SwiGLU 3 x 4096 x 11008 vs their 2 x 4096 x 16384 (ffn_embed_dim)
    rows = [
        ("prefill FLOPs (512 tokens)", prefill.totals["flops"], theirs["prefill_num_flops_fwd_total"],
         {"SwiGLU MLP (3 matrices of 11008) vs 2 x 16384": 2 * 512 * mlp_gap, "rotary inv_freq @ position_ids matmul": 2 * 64 * 512}),
        ("decode FLOPs (1 token after 512)", decode.totals["flops"], theirs["decode_num_flops_fwd_total"],
         {"SwiGLU MLP vs 2 x 16384": 2 * mlp_gap, "attention over the 512 cached keys (llm-analysis counts the new key only)": 4 * 512 * heads_dim * layers,
          "rotary matmul": 2 * 64}),
        ("KV cache bytes at 544 tokens", kv544.totals["kv_cache_bytes"], theirs["kv_cache_memory_per_gpu"], {}),
        ("weight bytes", prefill.totals["param_count"] * 2, theirs["weight_memory_per_gpu"],
         {"SwiGLU MLP vs 2 x 16384": 2 * mlp_gap, "untied lm_head (llm-analysis counts one embedding)": 2 * vocab * h}),
    ]
    report = {"case": "LLaMA-7B, A100-SXM-80GB, bf16, batch 1, prefill 512, decode", "rows": [], "latency": {}}
    print(f"{'quantity':40s} {'lmpredict':>22s} {'llm-analysis':>22s} {'explained':>18s} residual")
    for name, ours, other, terms in rows:
        explained = sum(terms.values())
        residual = ours - int(other) - explained
        print(f"{name:40s} {ours:>22,d} {int(other):>22,d} {explained:>18,d} {residual}")
        report["rows"].append({"quantity": name, "lmpredict": ours, "llm_analysis": int(other), "terms": terms, "residual": residual})
    for phase, ours, other in (("prefill latency (s)", roofline(prefill, hw).time_s, theirs["prefill_latency"]),
                               ("decode latency per token (s)", roofline(decode, hw).time_s, theirs["decode_latency"])):
        print(f"{phase:40s} {float(ours):>22.6g} {other:>22.6g}")
        report["latency"][phase] = {"lmpredict": float(ours), "llm_analysis": other}
    report["published"] = PUBLISHED
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 1 if any(r["residual"] for r in report["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
