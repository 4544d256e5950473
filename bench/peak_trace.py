"""What is live at a training-step phase peak: every tracked storage at the peak, with the op and module that made it.

    PYTHONPATH=. .venv/bin/python bench/peak_trace.py falcon 3 [--seed 0] [--phase backward] [--min-bytes 0]

Redraws point #i of `bench/peak_sweep.py` (same seed, same family) and reruns its training step
under MemTracker (fake tensors, eager, as train_oracle's phase tracker), remembering for every
storage the op, the module path and the shape that created it. At each new peak of a phase it
keeps the list of live storages; it prints, per phase, the peak, the predicted phase peak, and
the live storages grouped by kind (parameter, gradient, activation, temp, optimizer state),
largest first. The difference between the two is the candidate the prediction lacks.
In the backward the module path is the tracker's last module, not the op's owner (read the shape),
and a storage no dispatched op made (autograd's own buffers) shows as "?" with its size.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "lm_predictor").is_dir():
    sys.path.insert(0, str(ROOT))


def load_sweep() -> Any:
    """bench/peak_sweep.py as a module (its draw functions)."""
    spec = importlib.util.spec_from_file_location("peak_sweep", ROOT / "bench" / "peak_sweep.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def redraw(family: str, index: int, seed: int) -> tuple[str, dict, Any, str]:
    """Point #index of the sweep: (base name, config, workload, optimizer)."""
    from tests.families.test_train import FAMILIES

    sweep = load_sweep()
    rng = random.Random(f"{seed}-{family}")
    bases = list(FAMILIES[family].items())
    for i in range(index + 1):
        name, base = rng.choice(bases)
        cfg = sweep.draw_config(family, base, rng)
        workload, optimizer = sweep.draw_workload(family, cfg, rng)
    return name, cfg, workload, optimizer


def trace(cfg: dict, workload: Any, optimizer: str) -> dict[str, tuple[int, str, list[tuple[int, str, str, str, str]]]]:
    """Per phase: (peak live bytes, op at the peak, [(bytes, kind, op, module, shape)] live there)."""
    import torch
    from torch.distributed._tools.mem_tracker import MemTracker
    from torch.utils._pytree import tree_flatten
    from torch.utils.weak import WeakIdKeyDictionary

    from lm_predictor.verify.train_oracle import run_train_step

    class Tracer(MemTracker):
        def __init__(self) -> None:
            super().__init__()
            self.phase = ""
            self.made: WeakIdKeyDictionary = WeakIdKeyDictionary()
            self.peaks: dict[str, tuple[int, str, list]] = {}
            self._op = ""

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            self._op = str(func)
            module = max(self._mod_tracker.parents, key=len, default="")
            res = super().__torch_dispatch__(func, types, args, kwargs)
            for t in tree_flatten(res)[0]:
                if isinstance(t, torch.Tensor):
                    st = t.untyped_storage()
                    if st not in self.made:
                        self.made[st] = (self._op, module, f"{list(t.shape)} {str(t.dtype).replace('torch.', '')}")
            return res

        def _update_peak_stats(self, peak_state: Any) -> None:
            super()._update_peak_stats(peak_state)
            live = sum(int(snap["Total"]) for snap in self._curr_mem_snap.values())
            if live > self.peaks.get(self.phase, (0,))[0]:
                rows = []
                for st, (winfo, _) in list(self._WINFO.items()):
                    if winfo.mem_consumed > 0:
                        op, module, shape = self.made.get(st, ("?", "?", f"[{winfo.size} bytes]"))
                        rows.append((winfo.mem_consumed, str(winfo.reftype).split(".")[-1], op, module, shape))
                self.peaks[self.phase] = (live, f"{self._op} in {max(self._mod_tracker.parents, key=len, default='')}", rows)

    tracker = Tracer()
    run_train_step(cfg, workload, optimizer, tracker)
    return tracker.peaks


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("family")
    parser.add_argument("index", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--phase", help="forward, backward or optimizer (default: forward and backward)")
    parser.add_argument("--min-bytes", type=int, default=0, help="list only storages at least this big")
    args = parser.parse_args()
    from lm_predictor.evaluate.train import TrainOptions, predict_train

    name, cfg, workload, optimizer = redraw(args.family, args.index, args.seed)
    print(f"{args.family} #{args.index} base={name} b{workload.batch} s{workload.seq_len} {workload.dtype} {optimizer}")
    print("config:", {k: v for k, v in cfg.items() if not isinstance(v, (dict, list))})
    p = predict_train(cfg, batch=workload.batch, seq_len=workload.seq_len, dtype=workload.dtype, options=TrainOptions(optimizer=optimizer)).totals
    peaks = trace(cfg, workload, optimizer)
    key = {"forward": "forward_peak_bytes", "backward": "backward_peak_bytes", "optimizer": "optimizer_peak_bytes"}
    for phase in [args.phase] if args.phase else ["forward", "backward"]:
        live, where, rows = peaks[phase]
        pred = p.get(key[phase])
        print(f"== {phase}: measured {live:,} predicted {pred if pred is None else f'{pred:,}'}"
              f" ({'' if pred is None else f'{pred - live:+,}'}) at {where}")
        for kind in sorted({r[1] for r in rows}):
            part = sorted((r for r in rows if r[1] == kind), reverse=True)
            print(f"  {kind}: {sum(r[0] for r in part):,} in {len(part)}")
            if kind in ("PARAM", "OPT", "BUFFER"):
                continue
            for b, _, op, module, shape in part:
                if b >= args.min_bytes:
                    print(f"    {b:>12,}  {shape:<28} {op:<36} {module}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
