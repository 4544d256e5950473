"""`lmpredict verify CONFIG [workload options]`: measure the real model, compare per module."""

from __future__ import annotations

import argparse
import sys

from lm_predictor.cli.eval_cmd import add_workload_options, workloads


def configure(parser: argparse.ArgumentParser) -> None:
    add_workload_options(parser)
    parser.add_argument("--mode", choices=("auto", "fake", "real"), default="auto", help="fake tensors, real tensors, or fake with a shrunken real fallback")
    parser.add_argument("--all", action="store_true", help="show exact rows too, not only mismatches")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.evaluate.report import humanise
    from lm_predictor.verify.compare import compare

    from lm_predictor.data.versions import choose_pin
    from lm_predictor.verify.errors import OracleUnsupported
    from lm_predictor.verify.pinned_env import PinEnvError, installed_transformers, measure_for_pin
    from lm_predictor.workload import Workload

    console = Console(file=sys.stdout, highlight=False)
    raw, source = load_config(args.config)
    pin = choose_pin(raw, args.transformers).version
    if pin == installed_transformers():
        try:
            import lm_predictor.verify.oracle  # noqa: F401 - torch and transformers are importable
        except ImportError as err:
            print(f"lmpredict verify: error: needs torch and transformers (pip install 'lm-predictor[verify]'): {err}", file=sys.stderr)
            return 2
    failures = 0
    for workload_args in workloads(args):
        workload = Workload(**workload_args)
        try:
            measurement, config, note = measure_for_pin(pin, raw, workload, args.mode)
        except (PinEnvError, OracleUnsupported) as err:
            print(f"lmpredict verify: error: {err}", file=sys.stderr)
            return 2
        prediction = predict(config, transformers=pin, **workload_args)
        rows = compare(prediction, measurement.totals, measurement.module_flops, measurement.module_params, measurement.module_bytes)
        bad = [r for r in rows if not r.exact]
        failures += len(bad)
        title = f"{prediction.model}  {workload_args}  oracle={measurement.mode} transformers={pin}"
        table = Table(title=title, show_header=True, header_style="bold")
        for column in ("module", "metric", "predicted", "measured", ""):
            table.add_column(column, justify="right" if column in ("predicted", "measured") else "left")
        for row in rows:
            if row.exact and not args.all and row.path:
                continue
            status = "[green]exact[/green]" if row.exact else "[bold red]MISMATCH[/bold red]"
            predicted = "not predicted" if row.predicted is None else f"{row.predicted:,}" if isinstance(row.predicted, int) else str(row.predicted)
            table.add_row(row.path or "(total)", row.metric, predicted, f"{row.measured:,}", status)
        console.print(table)
        if note:
            console.print(f"[yellow]note:[/yellow] {note}")
        for metric in ("bytes_read", "bytes_written"):
            if metric not in prediction.totals and metric in measurement.totals:
                console.print(f"[dim]{metric}: measured {humanise(metric, measurement.totals[metric])}; the rule does not model it[/dim]")
        console.print(f"{len(rows) - len(bad)} exact, {len(bad)} mismatched  (config: {source})")
    return 1 if failures else 0
