"""peak_bytes by phase: what is predicted exactly (the optimizer step) and how far the rest is.

    .venv/bin/python bench/peak_gap.py

For the first varied config of each family (tests/families), batch 2, seq_len 7, float32:
- train (AdamW): MemTracker's peak of each phase (forward with the loss, backward, optimizer
  step; train_oracle's phase tracker) and of the whole step; the predicted optimizer-step peak
  (`optimizer_peak_bytes`, exact) and its difference from the measured one; the sum `fit` uses
  (weight + grad + optimizer + activation bytes);
- infer: MemTracker's peak over one forward (use_cache=True) against weight + KV cache bytes,
  the gap being the temporaries alive at the peak (not predicted).
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
    head = ("family", "fwd peak", "bwd peak", "opt peak", "opt pred", "diff", "step peak", "W+G+O+A", "infer peak", "W+KV", "gap")
    print("".join(f"{h:>12}" for h in head))
    for family, configs in FAMILIES.items():
        config = next(iter(configs.values()))
        measured = measure_train(config, workload).totals
        terms = predict_train(config, batch=2, seq_len=7, options=TrainOptions()).totals
        fit_sum = sum(terms[k] for k in ("weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes"))
        opt = measured["optimizer_peak_bytes"]
        infer = measure_infer_peak(config, workload).totals["peak_bytes"]
        infer_sum = terms["weight_bytes"] + predict(config, batch=2, seq_len=7, breakdown=False).totals["kv_cache_bytes"]
        row = (
            measured["forward_peak_bytes"], measured["backward_peak_bytes"], opt, terms["optimizer_peak_bytes"],
            terms["optimizer_peak_bytes"] - opt, measured["peak_bytes"], fit_sum, infer, infer_sum, infer - infer_sum,
        )
        print(f"{family:>12}" + "".join(f"{v:>12,}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
