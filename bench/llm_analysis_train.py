"""lmpredict against llm-analysis on LLaMA-7B: training and inference memory and FLOPs, side by side.

    .venv/bin/pip install llm-analysis          (not a project dependency; see the note below)
    .venv/bin/python bench/llm_analysis_train.py [--oracle] [--json OUT]

(bench/llm_analysis_compare.py compares inference latency and FLOPs with --attn sdpa; this one
the training step and memory with eager attention.)

Workload: Llama-2-7B (configs/llama-2-7b), batch 1, seq_len 2048, bfloat16 weights.
- training: AdamW with float32 master weights and state (lmpredict --mixed-precision; llm-analysis
  w16a16e16 with master_weights_dtype_bytes 4), no ZeRO, no activation recomputation, eager
  attention (llm-analysis flash_attn=False);
- inference: one prefill of 2048 tokens (llm-analysis num_tokens_to_generate=1).
Two llm-analysis columns: its bundled "NousResearch_Llama-2-7b-hf" config (ffn_embed_dim
16384, not Llama's 11008: it derives the MLP width as 4 x hidden), and the same model with the
real width (ffn_embed_dim 11008, expansion_ratio 11008/4096, gated MLP). `--oracle` adds the
measured column (lm_predictor.verify.train_oracle under FakeTensorMode; about a minute).
docs/training.md ("Against llm-analysis") explains every difference.

Note: `pip install llm-analysis` 0.2.2 pins transformers 4.31 and huggingface-hub < 0.15; it
downgrades them in the venv. Reinstall `transformers==4.56.0` afterwards (llm-analysis runs
with it: it only reads its bundled config files).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BATCH, SEQ = 1, 2048


def lmpredict_columns() -> dict[str, dict[str, int]]:
    """lmpredict's numbers for the training step and the prefill."""
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.evaluate.train import TrainOptions, predict_train

    train = predict_train("llama-2-7b", batch=BATCH, seq_len=SEQ, dtype="bfloat16", options=TrainOptions(mixed_precision=True)).totals
    infer = predict("llama-2-7b", batch=BATCH, seq_len=SEQ, dtype="bfloat16", breakdown=False).totals
    weights = train["weight_bytes"]
    return {
        "train": {k: int(train[k]) for k in ("flops", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")},
        "infer": {"flops": int(infer["flops"]), "weight_bytes": int(weights), "kv_cache_bytes": int(infer["kv_cache_bytes"])},
    }


def oracle_columns() -> dict[str, dict[str, int]]:
    """The measured step (fake tensors): FlopCounterMode, saved_tensors_hooks, optimizer state."""
    import json as _json

    from lm_predictor.verify.oracle import measure
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload

    config = _json.loads((REPO / "configs" / "llama-2-7b" / "config.json").read_text())
    train = measure_train(config, Workload(BATCH, SEQ, 0, "bfloat16"), mixed_precision=True, peak=False).totals
    infer = measure(config, Workload(BATCH, SEQ, 0, "bfloat16")).totals
    return {
        "train": {k: train[k] for k in ("flops", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")},
        "infer": {"flops": infer["flops"], "weight_bytes": train["weight_bytes"], "kv_cache_bytes": infer["kv_cache_bytes"]},
    }


def llm_analysis_columns(real_width: bool) -> dict[str, dict[str, int]]:
    """llm-analysis 0.2.2 for the same workload (its bundled config, or with the real MLP width)."""
    import logging

    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import GPUConfig, ParallelismConfig, get_dtype_config_by_name, get_model_config_by_name

    logging.disable(logging.WARNING)
    model = get_model_config_by_name("NousResearch_Llama-2-7b-hf")
    if real_width:
        model.ffn_embed_dim, model.expansion_ratio = 11008, 11008 / 4096
    # a GPU large enough that llm-analysis does not refuse the batch (its refusal is about fitting, not counting)
    gpu = GPUConfig("unbounded", mem_per_GPU_in_GB=10**6, hbm_bandwidth_in_GB_per_sec=2039, intra_node_bandwidth_in_GB_per_sec=300, intra_node_min_message_latency=8e-6, peak_fp16_TFLOPS=312)
    analysis = LLMAnalysis(model, gpu, get_dtype_config_by_name("w16a16e16"), ParallelismConfig(), flops_efficiency=1, hbm_memory_efficiency=1)
    t = analysis.training(batch_size_per_gpu=BATCH, seq_len=SEQ, gradient_accumulation_steps=1, flash_attn=False, mlp_gated_linear_units=True, master_weights_dtype_bytes=4)
    i = analysis.inference(batch_size_per_gpu=BATCH, seq_len=SEQ, num_tokens_to_generate=1)
    return {
        "train": {
            "flops": int(t["num_flops_total_per_micro_batch"]),
            "weight_bytes": int(t["weight_memory_per_gpu"]),
            "grad_bytes": int(t["gradient_memory_per_gpu"]),
            "optimizer_bytes": int(t["optimizer_state_memory_per_gpu"]),
            "activation_bytes": int(t["activation_memory_per_gpu"]),
        },
        "infer": {
            "flops": int(i["prefill_num_flops_fwd_total"]),
            "weight_bytes": int(i["weight_memory_per_gpu"]),
            "kv_cache_bytes": int(i["kv_cache_memory_per_gpu"]),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracle", action="store_true", help="add the measured column (fake tensors, about a minute)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    args = parser.parse_args()
    try:
        import llm_analysis  # noqa: F401
    except ImportError:
        print("SKIP: llm-analysis is not installed (.venv/bin/pip install llm-analysis, then reinstall transformers==4.56.0)")
        return 0
    columns = {"lmpredict": lmpredict_columns()}
    if args.oracle:
        columns["oracle"] = oracle_columns()
    columns["llm-analysis (bundled config)"] = llm_analysis_columns(real_width=False)
    columns["llm-analysis (ffn 11008)"] = llm_analysis_columns(real_width=True)
    names = list(columns)
    print(f"Llama-2-7B, batch {BATCH}, seq_len {SEQ}, bfloat16; training: AdamW, float32 masters, eager attention")
    for mode in ("train", "infer"):
        print(f"\n{mode:<18}" + "".join(f"{n:>32}" for n in names))
        for metric in columns["lmpredict"][mode]:
            print(f"{metric:<18}" + "".join(f"{columns[n][mode].get(metric, 0):>32,}" for n in names))
    if args.json:
        args.json.write_text(json.dumps(columns, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
