"""peak_bytes is measured (MemTracker) but not predicted: how far the closed-form sum is from it.

    .venv/bin/python bench/peak_gap.py

For the first varied config of each family (tests/families), batch 2, seq_len 7, float32:
- train (AdamW): MemTracker's peak over forward, backward and the optimizer step, against the
  sum lmpredict fit uses (weight + grad + optimizer + activation bytes);
- infer: MemTracker's peak over one forward (use_cache=True), against weight + KV cache bytes.
The gap is what the temporaries alive at the peak add (docs/training.md, "Not done").
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_infer_peak, measure_train
    from lm_predictor.workload import Workload
    from tests.families.test_train import FAMILIES

    workload = Workload(2, 7)
    print(f"{'family':<10}{'train peak':>14}{'W+G+O+A':>14}{'gap':>10}{'at peak':>44}{'infer peak':>14}{'W+KV':>12}{'gap':>10}")
    for family, configs in FAMILIES.items():
        config = next(iter(configs.values()))
        measured = measure_train(config, workload)
        terms = predict_train(config, batch=2, seq_len=7, options=TrainOptions()).totals
        fit_sum = sum(terms[k] for k in ("weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes"))
        peak = measured.totals["peak_bytes"]
        kinds = ", ".join(f"{k[:4]} {v}" for k, v in measured.peak_by_kind.items() if v and k not in ("Parameter", "Buffer"))
        infer = measure_infer_peak(config, workload).totals["peak_bytes"]
        infer_sum = terms["weight_bytes"] + predict(config, batch=2, seq_len=7, breakdown=False).totals["kv_cache_bytes"]
        print(f"{family:<10}{peak:>14,}{fit_sum:>14,}{peak - fit_sum:>10,}{kinds:>44}{infer:>14,}{infer_sum:>12,}{infer - infer_sum:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
