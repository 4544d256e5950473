"""peak_bytes by phase: predicted minus measured for each phase, and the excess over W + A and W + G.

    .venv/bin/python bench/peak_gap.py [--batch 2 --seq-len 7]

For the first varied config of each family (tests/families), float32, AdamW:
- train: MemTracker's peak of each phase (forward with the loss, backward, optimizer step;
  train_oracle's phase tracker) and of the whole step, and which phase holds it; each predicted
  phase peak minus the measured one ("-" where the root rule does not compose the phase:
  none of the eight families now); the forward peak's excess over weights + saved
  activations and the backward peak's over weights + gradients;
- infer: MemTracker's peak over one forward (use_cache=True) minus weights + KV cache (the
  temporaries alive at the peak), the predicted inference peak_bytes (composed from the rules'
  infer_peak_bytes; "-" where not composed) minus the measured one, and the op and module where
  the peak is reached.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_infer_peak, measure_train
    from lm_predictor.workload import Workload
    from tests.families.test_train import FAMILIES

    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=7)
    parser.add_argument("--only", help="comma-separated families")
    args = parser.parse_args()
    b, s = args.batch, args.seq_len
    head = ("family", "fwd peak", "-(W+A)", "pred-meas", "bwd peak", "-(W+G)", "pred-meas", "opt peak", "pred-meas", "step at", "infer peak", "-(W+KV)", "pred-meas")
    print("".join(f"{h:>12}" for h in head) + "  infer peak at")
    for family, configs in FAMILIES.items():
        if args.only and family not in args.only.split(","):
            continue
        config = next(iter(configs.values()))
        measured = measure_train(config, Workload(b, s)).totals
        t = predict_train(config, batch=b, seq_len=s, options=TrainOptions()).totals
        phases = {p: measured[f"{p}_peak_bytes"] for p in ("forward", "backward", "optimizer")}
        infer = measure_infer_peak(config, Workload(b, s))
        infer_pred = predict(config, batch=b, seq_len=s, breakdown=False).totals
        kv = infer_pred["kv_cache_bytes"]
        def gap(phase: str) -> str:
            """Predicted minus measured peak of a phase, '-' where not predicted."""
            key = f"{phase}_peak_bytes"
            return f"{t[key] - phases[phase]:>12,}" if key in t else f"{'-':>12}"

        row = (
            f"{phases['forward']:>12,}", f"{phases['forward'] - t['weight_bytes'] - t['activation_bytes']:>12,}", gap("forward"),
            f"{phases['backward']:>12,}", f"{phases['backward'] - t['weight_bytes'] - t['grad_bytes']:>12,}", gap("backward"),
            f"{phases['optimizer']:>12,}", gap("optimizer"),
        )
        at = max(phases, key=phases.__getitem__)[:3]
        infer_peak = infer.totals["peak_bytes"]
        gap = f"{infer_pred['peak_bytes'] - infer_peak:>12,}" if "peak_bytes" in infer_pred else f"{'-':>12}"
        print(f"{family:>12}" + "".join(row) + f"{at:>12}{infer_peak:>12,}{infer_peak - t['weight_bytes'] - kv:>12,}{gap}  "
              + infer.notes[0].removeprefix("peak at ").replace("aten.", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
