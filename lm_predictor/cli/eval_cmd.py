"""`lmpredict eval CONFIG [workload options] [--format F] [--tree | --depth N] [--rules PATH]`"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lm_predictor import diagnostics as d
from lm_predictor.cli.options import DEFAULT_DEPTH, add_rules_options, add_workload_options, choice_list, workloads
from lm_predictor.cli.train_options import TREE_METRICS, add_train_options, predict_train_workload
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.rules.model import STANDARD_METRICS

FORMATS = ("table", "json", "csv", "markdown")


def configure(parser: argparse.ArgumentParser) -> None:
    add_workload_options(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format; a sweep gives one row per workload")
    parser.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json (exact integers)")
    parser.add_argument("--tree", action="store_true", help="print the module tree of each workload of a sweep too")
    parser.add_argument("--depth", type=int, default=None, help=f"module tree depth (default {DEFAULT_DEPTH}; implies --tree)")
    parser.add_argument("--metrics", type=choice_list(STANDARD_METRICS + TREE_METRICS), default=["flops", "param_count", "kv_cache_bytes"],
                        help="metrics shown in the module tree, e.g. flops,bytes_read")
    add_rules_options(parser)
    add_train_options(parser)

    from lm_predictor.cli.latency_opts import add_latency_options

    add_latency_options(parser)


def predict_one(config: Any, library: Any, workload: dict, breakdown: bool = True) -> Any:
    """predict() for the CLI: an evaluation error of the shipped rules is a config error."""
    from lm_predictor.evaluate.predict import predict

    try:
        return predict(config, library=library, breakdown=breakdown, **workload)
    except LmPredictorError as err:
        if err.diagnostic.code.code.startswith("E") and library is None:  # the shipped rules refuse the config
            raise LmPredictorError(d.make(d.C_CONFIG, None, detail=f"{err.diagnostic.headline()}")) from None
        raise


def run(args: argparse.Namespace) -> int:
    from lm_predictor.evaluate.rulesets import library_for
    from lm_predictor.evaluate.sweep import SweepResult
    from lm_predictor.report.formats import TEXT_FORMATS

    library, notes = library_for(args.rules, args.rules_only)
    from lm_predictor.cli import latency_opts

    if latency_opts.wanted(args):
        return latency_opts.run(args, library)
    grid = workloads(args)
    trees = args.format == "json" or (args.format == "table" and (len(grid) == 1 or args.tree or args.depth is not None))
    if args.mode == "train":
        results = [predict_train_workload(args, workload, library) for workload in grid]
    else:
        results = [predict_one(args.config, library, workload, breakdown=trees) for workload in grid]
    for result in results:
        for warning in result.warnings:
            print(f"lmpredict eval: warning: {warning.headline()}", file=sys.stderr)
    sweep = SweepResult(results)
    if args.format in TEXT_FORMATS:  # stdout stays machine-readable: notes go to stderr
        sys.stdout.write(TEXT_FORMATS[args.format](sweep))
        for note in dict.fromkeys([*(n for r in results for n in r.notes), *notes]) if args.format != "json" else notes:
            print(f"lmpredict eval: note: {note}", file=sys.stderr)
        return 0
    _print_table(args, sweep, notes)
    return 0


def _print_table(args: argparse.Namespace, sweep: Any, notes: list[str]) -> None:
    """One workload: totals and its tree; a sweep: one row per workload (trees on request)."""
    from lm_predictor.evaluate.report import render
    from lm_predictor.report.console import make_console
    from lm_predictor.report.formats import to_table

    console = make_console(sys.stdout)
    depth = DEFAULT_DEPTH if args.depth is None else args.depth
    metrics = tuple(args.metrics)
    results = sweep.predictions
    if len(results) == 1:
        render(results[0], depth, console, metrics)
    else:
        console.print(f"[bold]{results[0].model}[/bold]  {len(results)} workloads")
        console.print(f"config: {results[0].source}")
        for trust in dict.fromkeys(str(r.trust) for r in results if r.trust):
            console.print(f"trust: {trust}")
        to_table(sweep, console)
        if args.tree or args.depth is not None:
            for result in results:
                render(result, depth, console, metrics)
        else:
            for note in dict.fromkeys(n for r in results for n in r.notes):
                console.print(f"[yellow]note:[/yellow] {note}")
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}")
