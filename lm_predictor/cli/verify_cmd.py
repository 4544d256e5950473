"""`lmpredict verify CONFIG [workload options]`: measure the real model, compare per module."""

from __future__ import annotations

import argparse
import sys

from lm_predictor import diagnostics as d
from lm_predictor.cli.eval_cmd import predict_one
from lm_predictor.cli.options import add_rules_options, add_workload_options, workloads
from lm_predictor.diagnostics import LmPredictorError


def configure(parser: argparse.ArgumentParser) -> None:
    add_workload_options(parser)
    parser.add_argument("--mode", choices=("auto", "fake", "real"), default="auto", help="fake tensors, real tensors, or fake with a shrunken real fallback")
    parser.add_argument("--all", action="store_true", help="show exact rows too, not only mismatches")
    parser.add_argument("--progress", action="store_true", help="progress lines on stderr even when it is not a terminal")
    add_rules_options(parser)


def refuse_unbuildable(prediction: object, source: str) -> None:
    """Refuse, before torch runs, a model whose predicted tree has more rows than the oracle can build."""
    from lm_predictor.limits import MAX_ORACLE_MODULES

    rows = sum(row.count for row in prediction.modules if isinstance(row.count, int))
    if rows > MAX_ORACLE_MODULES:
        model = prediction.model.rsplit(".", 1)[-1]
        raise LmPredictorError(d.make(d.C_TOO_LARGE, None, detail=(
            f"{model} ({source}) has {rows:,} module and op calls, more than the {MAX_ORACLE_MODULES:,} "
            "the oracle builds (MAX_ORACLE_MODULES in limits.py); `lmpredict eval` prices it")))


def _oracle_error(err: BaseException, model: str, source: str) -> LmPredictorError:
    from lm_predictor.verify.errors import failing_op, one_line

    origin = err.__cause__ or err  # OracleUnsupported wraps what torch raised
    return LmPredictorError(d.make(d.C_ORACLE, None, model=model.rsplit(".", 1)[-1], config=source, op=failing_op(origin), detail=one_line(err)))


def run(args: argparse.Namespace) -> int:
    from lm_predictor.cli.progress import Progress
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.evaluate.report import humanise
    from lm_predictor.evaluate.rulesets import library_for
    from lm_predictor.evaluate.trust import shrunk
    from lm_predictor.report.console import make_console
    from lm_predictor.verify.compare import compare

    from lm_predictor.data.versions import choose_pin
    from lm_predictor.verify.pinned_env import PinEnvError, measure_for_pin

    try:
        import lm_predictor.verify.oracle  # noqa: F401 - torch and transformers are importable here
        from lm_predictor.workload import Workload
    except ImportError as err:
        print(f"lmpredict verify: error: needs torch and transformers (pip install 'lm-predictor[verify]'): {err}", file=sys.stderr)
        return 2
    if "flash_attention_2" in args.attn:
        print("lmpredict verify: error: flash_attention_2 runs only on CUDA with the flash_attn package; the oracle measures eager and sdpa", file=sys.stderr)
        return 2
    console = make_console(sys.stdout)
    progress = Progress("lmpredict verify", True if args.progress else None)
    raw, source = load_config(args.config)
    library, rule_notes = library_for(args.rules, args.rules_only)
    grid = workloads(args)
    predictions = [predict_one(raw, library, w) for w in grid]  # refuses bad workloads before torch runs
    refuse_unbuildable(predictions[0], source)
    failures = 0
    for index, (workload_args, prediction) in enumerate(zip(grid, predictions), 1):
        pin = choose_pin(raw, workload_args["transformers"]).version  # measured with the pin eval read
        workload = Workload(**{k: v for k, v in workload_args.items() if k != "transformers"})
        shown = f"batch={workload.batch} seq_len={workload.seq_len} past_len={workload.past_len} dtype={workload.dtype}"
        step = f"[{index}/{len(grid)}] {shown}"
        note = ""
        try:
            with progress.step(f"{step}: measuring {prediction.model.rsplit('.', 1)[-1]} ({args.mode})"):
                measurement, config, why = measure_for_pin(pin, raw, workload, args.mode)
            if why:
                note = f"{why}; measured with real tensors on a shrunken config instead"
                prediction = predict_one(config, library, workload_args)
                prediction.trust = shrunk(why)
        except PinEnvError as err:
            print(f"lmpredict verify: error: {err}", file=sys.stderr)
            return 2
        except LmPredictorError:
            raise
        except Exception as err:  # noqa: BLE001 - whatever torch raises becomes one line naming the op
            raise _oracle_error(err, prediction.model, source) from None
        rows = compare(prediction, measurement.totals, measurement.module_flops, measurement.module_params, measurement.module_bytes)
        bad = [r for r in rows if not r.exact]
        failures += len(bad)
        console.print(f"[bold]{prediction.model}[/bold]  {shown}  transformers={pin}  oracle={measurement.mode}{' (shrunk stand-in)' if note else ''}")
        if prediction.trust is not None:
            console.print(f"trust: {prediction.trust}")
        _print_rows(console, rows, args.all, "exact (stand-in)" if note else "exact")
        if note:
            console.print(f"[yellow]note:[/yellow] {note}")
        for metric in ("bytes_read", "bytes_written"):
            if metric not in prediction.totals and metric in measurement.totals:
                console.print(f"[dim]{metric}: measured {humanise(metric, measurement.totals[metric])}; the rule does not model it[/dim]")
        what = "the shrunk stand-in" if note else "this config"
        console.print(f"{len(rows) - len(bad)} exact, {len(bad)} mismatched on {what}  (config: {source})")
    for line in rule_notes:
        console.print(f"[yellow]note:[/yellow] {line}")
    return 1 if failures else 0


def _print_rows(console: object, rows: list, show_all: bool, exact: str) -> None:
    """The comparison table: totals always, exact module rows only with --all."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for column in ("module", "metric", "predicted", "measured", ""):
        numeric = column in ("predicted", "measured")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        if row.exact and not show_all and row.path:
            continue
        status = f"[green]{exact}[/green]" if row.exact else "[bold red]MISMATCH[/bold red]"
        predicted = "not predicted" if row.predicted is None else f"{row.predicted:,}" if isinstance(row.predicted, int) else str(row.predicted)
        table.add_row(row.path or "(total)", row.metric, predicted, f"{row.measured:,}", status)
    console.print(table)
