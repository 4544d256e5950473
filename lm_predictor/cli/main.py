"""`lmpredict` entry point: one subcommand module per stage, no tracebacks for users."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.version import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module under lm_predictor.cli, help)
    "lint": ("lint_cmd", "validate rule files"),
    "eval": ("eval_cmd", "predict the cost of a model config"),
    "verify": ("verify_cmd", "measure the real model and compare with the prediction"),
    "suggest": ("suggest_cmd", "draft rules for a module from its source"),
    "compile": ("compile_cmd", "generate Python modules from rules"),
    "vendor": ("vendor_cmd", "fetch the pinned torch / transformers sources"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """The argument parser, with each available subcommand registered by its module."""
    import importlib

    parser = _Parser(prog="lmpredict", description="Closed-form cost prediction for language models.")
    parser.add_argument("--version", action="version", version=f"lmpredict {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    runners: dict[str, Callable[[argparse.Namespace], int]] = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(f"lm_predictor.cli.{module_name}")
        except ModuleNotFoundError as err:
            if err.name == f"lm_predictor.cli.{module_name}":
                continue  # subcommand not built yet
            raise
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        runners[name] = module.run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 findings, 2 usage or input errors)."""
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return runners[args.command](args)
    except LmPredictorError as err:
        for diag in err.diagnostics:
            print(f"lmpredict {args.command}: {diag.headline()}", file=sys.stderr)
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
