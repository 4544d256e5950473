"""`lmpredict lint PATH...`"""

from __future__ import annotations

import argparse
import os
import sys

from lm_predictor.diagnostics import render_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="rule files or directories")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument("--no-library", action="store_true", help="do not resolve calls against the shipped rules")
    parser.add_argument("--check-generated", action="store_true", help="also fail on stale or edited generated modules")


def run(args: argparse.Namespace) -> int:
    from lm_predictor.lint import lint_paths

    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        print(f"lmpredict lint: error: no such file or directory: {missing[0]}", file=sys.stderr)
        return 2
    result = lint_paths(args.paths, with_library=not args.no_library)
    diagnostics = list(result.diagnostics)
    if args.check_generated:
        from lm_predictor.codegen.freshness import check_generated

        diagnostics.extend(check_generated())
    if args.format == "json":
        print(render_json(diagnostics))
    else:
        for diag in diagnostics:
            print(diag.render())
        errors = sum(1 for x in diagnostics if x.severity.value == "error")
        warnings = len(diagnostics) - errors
        print(f"{result.files} file(s) checked: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    errors = sum(1 for x in diagnostics if x.severity.value == "error")
    if errors or (args.strict and diagnostics):
        return 1
    return 0
