"""Measured vs predicted latency on a real GPU, per module and in total (docs/latency.md, "GPU check").

    .venv/bin/python bench/gpu/run.py [--models llama-2-7b,mistral-7b,qwen2.5-7b] [--hw auto|NAME]
                                      [--json out.json] [--dry-run]

For each bundled config: build the model from config with random bf16 weights on the GPU
(attn_implementation="sdpa", the transformers default), then time with CUDA events
- prefill: batch 1, --prefill-tokens tokens (2048);
- decode: batch 1 and batch 16, one token after --decode-past cached tokens (1024) (the cache is cropped
  back to DECODE_PAST before every timed step, so every step sees the same length).
Totals are the median of REPEATS timed calls after WARMUP untimed ones. Per module, forward
pre/post hooks record CUDA events around every call of every module (not only leaves, so
self_attn includes its SDPA kernel) and add them up per breakdown path, layer indices folded
(model.layers.3.mlp.up_proj -> model.layers.mlp.up_proj); the hooked run is separate from the
timed totals. The script prints measured / predicted for each module row and the totals. It
should take about 2 minutes on an H100 for the three 7B models (not run on a GPU yet).

--dry-run needs no GPU: it builds every model under fake tensors on the CPU, runs the hooked
pass with a stand-in clock, and prints the same table with the predictions only. The tests run
it (tests/latency/test_gpu_bench.py), so the script is known to work up to the CUDA calls.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_MODELS = "llama-2-7b,mistral-7b,qwen2.5-7b"
PREFILL_TOKENS = 2048
DECODE_PAST = 1024
DECODE_BATCHES = (1, 16)
WARMUP, REPEATS = 3, 10
GPU_NAMES = {"H100": "h100-sxm", "H200": "h200", "A100": "a100-sxm-80gb", "B200": "b200", "MI300X": "mi300x", "L40S": "l40s", "4090": "rtx-4090"}


def hardware_key(requested: str, device_name: str) -> str:
    """The preset for --hw auto: the first GPU_NAMES key found in torch.cuda.get_device_name()."""
    if requested != "auto":
        return requested
    for marker, key in GPU_NAMES.items():
        if marker in device_name:
            return key
    raise SystemExit(f"bench/gpu: no preset matches GPU {device_name!r}; pass --hw NAME or --hw file.yaml")


def fold(path: str) -> str:
    """A module path as a breakdown path: numeric components (layer indices) dropped."""
    return re.sub(r"\.\d+(?=\.|$)", "", path)


class ModuleClock:
    """Forward hooks that time every module call (inclusive, like the breakdown rows); `stamp()` makes a CUDA event or a CPU stand-in."""

    def __init__(self, model: Any, stamp: Any, elapsed: Any):
        self.stamp, self.elapsed = stamp, elapsed
        self.pending: list[tuple[str, Any, Any]] = []
        self.handles = []
        for name, module in model.named_modules():
            if name:
                self.handles.append(module.register_forward_pre_hook(self._pre(name)))
                self.handles.append(module.register_forward_hook(self._post(name)))
        self.open: dict[str, Any] = {}

    def _pre(self, name: str):
        def hook(module: Any, args: Any) -> None:
            self.open[name] = self.stamp()

        return hook

    def _post(self, name: str):
        def hook(module: Any, args: Any, out: Any) -> None:
            self.pending.append((name, self.open.pop(name), self.stamp()))

        return hook

    def totals(self) -> dict[str, float]:
        """Seconds per folded path (call after synchronising)."""
        out: dict[str, float] = {}
        for name, start, end in self.pending:
            key = fold(name)
            out[key] = out.get(key, 0.0) + self.elapsed(start, end)
        return out

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def build(config: dict, dry_run: bool) -> tuple[Any, Any]:
    """(model, tensor context): random bf16 weights on the GPU, or fake tensors on the CPU."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from lm_predictor.verify.hf import hf_config, model_class

    context = FakeTensorMode(allow_non_fake_inputs=True) if dry_run else nullcontext()
    with context:
        model = model_class(config)._from_config(hf_config(config), attn_implementation="sdpa", dtype=torch.bfloat16)
        model = model.eval() if dry_run else model.to("cuda").eval()
    return model, context


def measure(model: Any, context: Any, batch: int, seq_len: int, past_len: int, dry_run: bool) -> dict[str, Any]:
    """Median total seconds of the step and seconds per folded module path."""
    import torch

    device = "cpu" if dry_run else "cuda"
    if dry_run:
        stamp, elapsed, sync = time.perf_counter, (lambda a, b: b - a), (lambda: None)
    else:
        def stamp() -> Any:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event

        elapsed, sync = (lambda a, b: a.elapsed_time(b) / 1e3), torch.cuda.synchronize
    with context, torch.no_grad():
        ids = torch.zeros(batch, seq_len, dtype=torch.long, device=device)
        cache = None
        if past_len:
            cache = model(input_ids=torch.zeros(batch, past_len, dtype=torch.long, device=device), use_cache=True).past_key_values

        def step() -> None:
            if cache is not None:
                cache.crop(past_len)
            model(input_ids=ids, past_key_values=cache, use_cache=True)

        totals = []
        for i in range(1 if dry_run else WARMUP + REPEATS):
            start = stamp()
            step()
            end = stamp()
            sync()
            if dry_run or i >= WARMUP:
                totals.append(elapsed(start, end))
        clock = ModuleClock(model, stamp, elapsed)
        try:
            step()
            sync()
            modules = clock.totals()
        finally:
            clock.remove()
    return {"total_s": statistics.median(totals), "modules": modules}


def compare(name: str, config: dict, hw: Any, model: Any, context: Any, dry_run: bool,
            prefill_tokens: int = PREFILL_TOKENS, decode_past: int = DECODE_PAST) -> list[dict[str, Any]]:
    """Measure and predict every workload of one model; print the table; return the records."""
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.latency.roofline import roofline

    records = []
    for batch, seq_len, past_len in [(1, prefill_tokens, 0)] + [(b, 1, decode_past) for b in DECODE_BATCHES]:
        prediction = predict(config, batch=batch, seq_len=seq_len, past_len=past_len, dtype="bfloat16", attn="sdpa")
        latency = roofline(prediction, hw)
        measured = measure(model, context, batch, seq_len, past_len, dry_run)
        print(f"\n{name} batch={batch} seq_len={seq_len} past_len={past_len} on {hw.name}"
              f"{'  (dry run: CPU fake tensors, no timing)' if dry_run else ''}")
        print(f"  {'module':48s} {'predicted':>12s} {'measured':>12s} {'ratio':>7s}")
        rows = []
        for path, seconds in measured["modules"].items():
            predicted = latency.rows.get(path)
            p = float(predicted.time_s) if predicted is not None else None
            ratio = "" if dry_run or not p else f"{seconds / p:7.2f}"
            print(f"  {path:48s} {p * 1e3 if p else float('nan'):10.4f}ms {'-' if dry_run else f'{seconds * 1e3:10.4f}ms':>12s} {ratio:>7s}")
            rows.append({"path": path, "predicted_s": p, "measured_s": None if dry_run else seconds})
        total_p = float(latency.time_s)
        total_m = None if dry_run else measured["total_s"]
        print(f"  {'TOTAL':48s} {total_p * 1e3:10.4f}ms {'-' if dry_run else f'{total_m * 1e3:10.4f}ms':>12s} "
              f"{'' if dry_run else f'{total_m / total_p:7.2f}'}")
        records.append({"model": name, "batch": batch, "seq_len": seq_len, "past_len": past_len, "hardware": hw.key,
                        "predicted_s": total_p, "measured_s": total_m, "modules": rows})
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=DEFAULT_MODELS, help="bundled config names, comma-separated")
    ap.add_argument("--hw", default="auto", help="hardware preset or file (auto: from the GPU's name)")
    ap.add_argument("--json", help="write every record here")
    ap.add_argument("--dry-run", action="store_true", help="no GPU: fake tensors on the CPU, predictions only")
    ap.add_argument("--prefill-tokens", type=int, default=PREFILL_TOKENS, help=f"prefill length (default {PREFILL_TOKENS})")
    ap.add_argument("--decode-past", type=int, default=DECODE_PAST, help=f"cached tokens before each decode step (default {DECODE_PAST})")
    args = ap.parse_args(argv)
    import torch

    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.hardware import load_hardware

    if not args.dry_run and not torch.cuda.is_available():
        print("bench/gpu: no CUDA device; use --dry-run to check the script on a CPU", file=sys.stderr)
        return 2
    device_name = "dry run" if args.dry_run else torch.cuda.get_device_name()
    hw = load_hardware(hardware_key("h100-sxm" if args.dry_run and args.hw == "auto" else args.hw, device_name))
    started = time.perf_counter()
    records = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        config, _ = load_config(name)
        model, context = build(config, args.dry_run)
        records += compare(name, config, hw, model, context, args.dry_run, args.prefill_tokens, args.decode_past)
        del model
        if not args.dry_run:
            torch.cuda.empty_cache()
    print(f"\n{len(records)} workloads in {time.perf_counter() - started:.1f} s on {device_name}")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device_name, "torch": torch.__version__, "records": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
