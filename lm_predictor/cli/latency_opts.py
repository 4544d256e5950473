"""eval's latency options: --hw, --efficiency, --weight-dtype, --kv-dtype, --group-size, --prompt, --generate."""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from typing import Any

from lm_predictor.latency.storage import DEFAULT_GROUP_SIZE, STORAGE_DTYPES


def _storage_dtype(text: str) -> str:
    if text not in STORAGE_DTYPES:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(STORAGE_DTYPES)}, got {text!r}")
    return text


def _fraction(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _count(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def add_latency_options(parser: argparse.ArgumentParser) -> None:
    """The options eval adds for latency, storage dtypes and whole generations (docs/latency.md)."""
    group = parser  # not an argument group: the CLI parser records its flags for did-you-mean
    group.add_argument("--hw", metavar="NAME|FILE.yaml", help="hardware preset (a100-sxm-80gb, h100-sxm, h200, b200, mi300x, l40s, rtx-4090) or a hardware file: adds roofline time")
    group.add_argument("--compute-efficiency", type=_fraction, default=Fraction(1), metavar="F", help="fraction of peak FLOP/s a matmul reaches (default 1)")
    group.add_argument("--memory-efficiency", type=_fraction, default=Fraction(1), metavar="F", help="fraction of peak bandwidth a kernel reaches (default 1)")
    group.add_argument("--weight-dtype", type=_storage_dtype, metavar="D", help=f"storage of matmul weights: {', '.join(STORAGE_DTYPES)}")
    group.add_argument("--kv-dtype", type=_storage_dtype, metavar="D", help="storage of the KV cache (same choices)")
    group.add_argument("--group-size", type=_count(1), default=None, metavar="G", help=f"int4 / int8-KV scale group (default {DEFAULT_GROUP_SIZE}, or the config's quantization_config)")
    group.add_argument("--prompt", type=_count(1), metavar="P", help="whole generation: prefill P tokens ...")
    group.add_argument("--generate", type=_count(0), metavar="N", help="... then N decode steps (closed form)")


def wanted(args: argparse.Namespace) -> bool:
    """Whether eval should take the latency path."""
    return any(getattr(args, name, None) is not None for name in ("hw", "weight_dtype", "kv_dtype", "prompt", "generate"))


def run(args: argparse.Namespace, library: Any) -> int:
    """eval with latency: one prediction per workload (or one generation), printed or as JSON."""
    from lm_predictor import diagnostics as d
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.latency.api import LatencyRequest, price_generation, price_step

    if (args.prompt is None) != (args.generate is None):
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail="--prompt and --generate go together"))
    if args.format not in ("table", "json"):
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=f"--format {args.format} does not carry latency yet; use --format json or table"))
    raw, _ = load_config(args.config)
    request = LatencyRequest.from_options(raw, hw=args.hw, weight_dtype=args.weight_dtype, kv_dtype=args.kv_dtype,
                                          group_size=args.group_size, compute=args.compute_efficiency, memory=args.memory_efficiency)
    payloads, texts = [], []
    if args.prompt is not None:
        for batch, dtype, attn in dict.fromkeys((w["batch"], w["dtype"], w["attn"]) for w in _workloads(args)):
            result = price_generation(args.config, request, prompt=args.prompt, new_tokens=args.generate, batch=batch, dtype=dtype, attn=attn, library=library)
            payloads.append(result.as_json())
            texts.append(result.render_text())
    else:
        for workload in _workloads(args):
            result = price_step(args.config, request, workload, library=library)
            payloads.append(result.as_json())
            texts.append(result)
    if args.format == "json":
        print(json.dumps(payloads[0] if len(payloads) == 1 else payloads, indent=1))
        return 0
    from lm_predictor.cli.options import DEFAULT_DEPTH
    from lm_predictor.report.console import make_console

    console = make_console(sys.stdout)
    for item in texts:
        if isinstance(item, str):
            console.print(item, markup=False)
        else:
            item.render(console, DEFAULT_DEPTH if args.depth is None else args.depth, tuple(args.metrics))
    return 0


def _workloads(args: argparse.Namespace) -> list[dict]:
    from lm_predictor.cli.options import workloads

    return workloads(args)
