"""`lmpredict eval CONFIG [--batch B] [--seq-len S] [--past-len P] [--dtype D] [--json]`"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

from lm_predictor import diagnostics as d
from lm_predictor.data.versions import PINS
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.workload import DTYPE_BYTES


def int_list(text: str) -> list[int]:
    """'128,1024' -> [128, 1024] (argparse type)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def dtype_list(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    bad = [v for v in values if v not in DTYPE_BYTES]
    if bad or not values:
        raise argparse.ArgumentTypeError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {text!r}")
    return values


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    """Workload options shared by eval and verify; each accepts a comma-separated sweep."""
    parser.add_argument("config", metavar="CONFIG", help="config.json, a directory holding one, a bundled name, or a cached hub id")
    parser.add_argument("--batch", type=int_list, default=[1], help="batch size(s), e.g. 1,8")
    parser.add_argument("--seq-len", type=int_list, default=[128], help="new tokens per sequence, e.g. 128,1024")
    parser.add_argument("--past-len", type=int_list, default=[0], help="tokens already in the KV cache (decode: --seq-len 1 --past-len N)")
    parser.add_argument("--dtype", type=dtype_list, default=["float32"], help="float32 | bfloat16 | float16")
    parser.add_argument("--transformers", choices=PINS, default=None, help="transformers pin to read (default: the config's transformers_version picks; docs/transformers-versions.md)")


def workloads(args: argparse.Namespace) -> list[dict]:
    """Every workload of the sweep, as keyword arguments of predict()."""
    return [
        {"batch": b, "seq_len": s, "past_len": p, "dtype": t}
        for b, s, p, t in itertools.product(args.batch, args.seq_len, args.past_len, args.dtype)
    ]


def configure(parser: argparse.ArgumentParser) -> None:
    add_workload_options(parser)
    parser.add_argument("--json", action="store_true", help="print exact JSON (a list for a sweep)")
    parser.add_argument("--depth", type=int, default=3, help="module tree depth to print")
    parser.add_argument("--metrics", default="flops,param_count,kv_cache_bytes", help="metrics shown in the module tree, e.g. flops,bytes_read")
    parser.add_argument("--rules", action="append", metavar="PATH", help="rule files or directories to use instead of the shipped library")


def run(args: argparse.Namespace) -> int:
    from lm_predictor.evaluate.predict import default_library, predict

    library = None
    if args.rules:
        from pathlib import Path

        library = default_library(tuple(Path(p) for p in args.rules))
    results = []
    for workload in workloads(args):
        try:
            results.append(predict(args.config, library=library, breakdown=True, transformers=args.transformers, **workload))
        except LmPredictorError as err:
            if err.diagnostic.code.code.startswith("E"):
                raise LmPredictorError(d.make(d.C_CONFIG, None, detail=f"{err.diagnostic.headline()}")) from None
            raise
    if args.json:
        payload = [r.as_json() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=1))
        return 0
    from rich.console import Console

    from lm_predictor.evaluate.report import render

    console = Console(file=sys.stdout, highlight=False)
    for result in results:
        render(result, args.depth, console, tuple(m.strip() for m in args.metrics.split(",") if m.strip()))
    return 0
