"""`lmpredict fit CONFIG (--memory 80GiB | --gpu NAME)`: the largest batch or context that fits."""

from __future__ import annotations

import argparse
import json
import sys

from lm_predictor import diagnostics as d
from lm_predictor.cli.train_options import add_train_options, train_options
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.workload import DTYPE_BYTES


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="config.json, a directory holding one, a bundled name, or a cached hub id")
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--memory", help="memory budget per GPU, e.g. 80GiB, 80GB, 81920MiB (GB = 10^9 bytes, GiB = 2^30)")
    budget.add_argument("--gpu", help="a hardware preset or hardware .yaml file: its memory is the budget (h100-sxm, a100-sxm-80gb, h200, ...)")
    parser.add_argument("--search", choices=("batch", "seq-len"), default="batch", help="what to maximise: the batch at --seq-len (default), or the context at --batch")
    parser.add_argument("--batch", type=int, default=1, help="batch size when searching the context length")
    parser.add_argument("--seq-len", type=int, default=2048, help="tokens per sequence when searching the batch")
    parser.add_argument("--dtype", choices=tuple(DTYPE_BYTES), default="float32")
    parser.add_argument("--without-temporaries", action="store_true", help="inference: count weights and the KV cache only (as llm-analysis and accelerate do), not the forward's peak temporaries")
    parser.add_argument("--json", action="store_true", help="print exact JSON")
    add_train_options(parser)


def run(args: argparse.Namespace) -> int:
    from lm_predictor.evaluate.fit import fit, gpu_memory, parse_memory

    try:
        budget = parse_memory(args.memory) if args.memory is not None else gpu_memory(args.gpu)
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_MEMORY_BUDGET, None, detail=str(err))) from None
    result = fit(
        args.config, budget, mode=args.mode, batch=args.batch, seq_len=args.seq_len,
        search="batch" if args.search == "batch" else "seq_len", dtype=args.dtype, options=train_options(args),
        temporaries=not args.without_temporaries,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result.as_json(), indent=1))
        return 0 if result.largest else 1
    from lm_predictor.evaluate.report import humanise

    what = "batch" if result.dimension == "batch" else "seq_len"
    fixed = ", ".join(f"{k}={v}" for k, v in result.fixed.items())
    print(f"{result.model}  mode={result.mode}  {fixed}  budget {humanise('bytes', budget)} ({budget:,} B)")
    if not result.largest:
        print(f"nothing fits: {what}=1 needs {humanise('bytes', sum(result.terms.values()))} ({sum(result.terms.values()):,} B)", file=sys.stdout)
        return 1
    total = sum(result.terms.values())
    print(f"largest {what}: {result.largest:,}  uses {humanise('bytes', total)} ({total:,} B)")
    for name, value in result.terms.items():
        print(f"  {name:<17} {humanise('bytes', value):>12}  {value / total:6.1%}{'  <- dominant' if name == result.dominant else ''}")
    if result.next_terms is not None:
        after = sum(result.next_terms.values())
        print(f"{what}={result.largest + 1:,} would need {humanise('bytes', after)} ({after:,} B)")
    for note in result.notes:
        print(f"note: {note}")
    return 0
