"""`lmpredict` entry point: one subcommand module per stage, no tracebacks for users."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NamedTuple, NoReturn, Sequence

from lm_predictor.diagnostics import LmPredictorError, printable
from lm_predictor.version import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module under lm_predictor.cli, help)
    "lint": ("lint_cmd", "validate rule files"),
    "eval": ("eval_cmd", "predict the cost of a model config"),
    "verify": ("verify_cmd", "measure the real model and compare with the prediction"),
    "suggest": ("suggest_cmd", "draft rules for a module from its source"),
    "compile": ("compile_cmd", "generate Python modules from rules"),
    "vendor": ("vendor_cmd", "fetch the pinned torch / transformers sources"),
    "fit": ("fit_cmd", "the largest batch or context that fits a memory budget"),
    "plot": ("plot_cmd", "draw roofline, context-length and breakdown charts (matplotlib)"),
}


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (exit 2); remembers its option strings for did-you-mean."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: list[str] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        self.flags.extend(n for n in names if isinstance(n, str) and n.startswith("-"))
        return super().add_argument(*names, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")

    def refuse_unknown(self, extra: list[str]) -> NoReturn:
        """An error for arguments the command does not take, naming the closest options."""
        from lm_predictor.cli.options import did_you_mean

        shown = []
        for arg in extra:
            flag = arg.split("=", 1)[0]
            shown.append(f"{arg}{did_you_mean(flag, self.flags, cutoff=0.7)}" if flag.startswith("-") else arg)
        self.error(f"unrecognized arguments: {', '.join(shown)}; options are {', '.join(sorted(set(self.flags)))}")


class Command(NamedTuple):
    """A subcommand: its runner and its own parser."""

    run: Callable[[argparse.Namespace], int]
    parser: _Parser


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The argument parser, with each available subcommand registered by its module."""
    import importlib

    parser = _Parser(prog="lmpredict", description="Closed-form cost prediction for language models.")
    parser.add_argument("--version", action="version", version=f"lmpredict {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    runners: dict[str, Command] = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(f"lm_predictor.cli.{module_name}")
        except ModuleNotFoundError as err:
            if err.name == f"lm_predictor.cli.{module_name}":
                continue  # subcommand not built yet
            raise
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        runners[name] = Command(module.run, command)
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 findings, 2 usage or input errors)."""
    parser, runners = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if extra:
        runners[args.command].parser.refuse_unknown(extra)
    try:
        return runners[args.command].run(args)
    except LmPredictorError as err:
        for diag in err.diagnostics:  # one line each; notes (e.g. unresolved terms) one per line below
            print(f"lmpredict {args.command}: {diag.headline()}", file=sys.stderr)
            for note in diag.notes:
                print(f"  note: {printable(note)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lmpredict: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # noqa: BLE001 - last line of defence: one line, never a traceback
        print(f"lmpredict {args.command}: internal error: {type(err).__name__}: {err} (please report)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
