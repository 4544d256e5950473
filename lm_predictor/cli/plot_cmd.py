"""`lmpredict plot {roofline,context,breakdown} CONFIG --hw NAME[,NAME...] -o FILE.png|FILE.svg`"""

from __future__ import annotations

import argparse
from pathlib import Path

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.workload import ATTN_IMPLEMENTATIONS, DTYPE_BYTES

KINDS = ("roofline", "context", "breakdown")
DEFAULT_CONTEXTS = "128,512,2048,8192,32768"


def configure(parser: argparse.ArgumentParser) -> None:
    from lm_predictor.cli.options import int_list

    parser.add_argument("kind", choices=KINDS, help="roofline: modules as points; context: latency and memory vs context length; breakdown: time per module")
    parser.add_argument("config", metavar="CONFIG", help="config.json, a directory holding one, or a bundled name")
    parser.add_argument("-o", "--output", required=True, help="FILE.png or FILE.svg")
    parser.add_argument("--hw", default="h100-sxm", help="hardware preset(s) or file(s), comma-separated (context plots draw one line each)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=1, help="new tokens (roofline, breakdown)")
    parser.add_argument("--past-len", type=int, default=1024, help="cached tokens (roofline, breakdown)")
    parser.add_argument("--contexts", type=int_list, default=int_list(DEFAULT_CONTEXTS), help=f"context lengths of the context plot (default {DEFAULT_CONTEXTS})")
    parser.add_argument("--dtype", choices=list(DTYPE_BYTES), default="bfloat16")
    parser.add_argument("--attn", choices=ATTN_IMPLEMENTATIONS, default="sdpa")
    parser.add_argument("--depth", type=int, default=3, help="breakdown depth")


def run(args: argparse.Namespace) -> int:
    from lm_predictor.latency import plots

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail="plot needs matplotlib: pip install 'lm-predictor[plot]'")) from None
    output = Path(args.output)
    if output.suffix.lower() not in plots.FORMATS:
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=f"--output must end in .png or .svg, got {output.name!r}"))
    if not output.parent.is_dir():
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=f"--output directory {str(output.parent)!r} does not exist"))
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.hardware import load_hardware
    from lm_predictor.latency.roofline import roofline

    hardware = [load_hardware(name.strip()) for name in args.hw.split(",") if name.strip()]
    common = {"batch": args.batch, "dtype": args.dtype, "attn": args.attn}
    if args.kind == "context":
        series, limits = {}, {}
        for hw in hardware:
            times, memory = [], []
            for context in args.contexts:
                p = predict(args.config, seq_len=1, past_len=context, **common)
                times.append(float(roofline(p, hw).time_s))
                memory.append(p.totals["param_count"] * DTYPE_BYTES[args.dtype] + p.totals["kv_cache_bytes"])
            series[hw.name] = {"time_s": times, "memory_bytes": memory}
            limits[hw.name] = hw.memory_bytes
        title = f"{p.model.rsplit('.', 1)[-1]} decode, batch {args.batch}, {args.dtype}, attn={args.attn}"
        fig = plots.context_chart(args.contexts, series, limits, title)
    else:
        p = predict(args.config, seq_len=args.seq_len, past_len=args.past_len, **common)
        lat = roofline(p, hardware[0])
        title = (f"{p.model.rsplit('.', 1)[-1]} batch {args.batch} seq {args.seq_len} past {args.past_len} {args.dtype} "
                 f"attn={args.attn} on {hardware[0].name}: {float(lat.time_s) * 1e3:.3g} ms")
        fig = plots.roofline_chart(p, lat, title) if args.kind == "roofline" else plots.breakdown_chart(p, lat, args.depth, title)
    print(plots.save(fig, output))
    return 0
