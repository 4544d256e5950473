"""`lmpredict compile [RULES...] [-o DIR] [--force] [--check]`: rule files -> generated modules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RULES", help="rule files or directories (default: the shipped library)")
    parser.add_argument("-o", "--output", metavar="DIR", help="output directory (default: the generated_modules package)")
    parser.add_argument("--force", action="store_true", help="overwrite generated files that were edited by hand")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any generated file is not up to date")


def run(args: argparse.Namespace) -> int:
    from lm_predictor.codegen.build import generated_root, load_for_compile, plan, sources_for
    from lm_predictor.codegen.emitter import CodegenError, emit_package_marker
    from lm_predictor.codegen.freshness import check_generated, generated_files
    from lm_predictor.codegen.writer import WriteRefused, remove_generated, write_generated
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.resources import rules_dir

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"lmpredict compile: error: no such file or directory: {missing[0]}", file=sys.stderr)
        return 2
    whole_library = not args.paths
    paths = args.paths or [str(rules_dir())]
    out = Path(args.output) if args.output else generated_root()
    if args.check:
        diagnostics = check_generated(out, None if whole_library else paths)
        for diag in diagnostics:
            print(diag.render())
        print(f"{len(diagnostics)} generated file(s) not up to date", file=sys.stderr)
        return 1 if diagnostics else 0
    try:
        library = load_for_compile(paths, with_library=True)
        outputs = plan(library, sources_for(paths))
    except LmPredictorError as err:
        for diag in err.diagnostics:
            print(diag.render())
        print("lmpredict compile: the rules have errors; nothing was generated (see `lmpredict lint`)", file=sys.stderr)
        return 1
    except CodegenError as err:
        print(f"lmpredict compile: error: {err}", file=sys.stderr)
        return 1
    written = unchanged = removed = 0
    refused: list[str] = []
    if not (out / "__init__.py").exists():
        outputs = {"__init__.py": emit_package_marker(), **outputs}
    for rel, text in outputs.items():
        try:
            if write_generated(out / rel, text, force=args.force):
                written += 1
            else:
                unchanged += 1
        except WriteRefused as err:
            refused.append(str(err))
    if whole_library:
        for rel in generated_files(out):
            if rel not in outputs and rel != "__init__.py":
                try:
                    remove_generated(out / rel, force=args.force)
                    removed += 1
                except WriteRefused as err:
                    refused.append(str(err))
    for line in refused:
        print(f"lmpredict compile: refused: {line}", file=sys.stderr)
    print(f"{out}: {written} written, {unchanged} unchanged, {removed} removed, {len(refused)} refused", file=sys.stderr)
    return 1 if refused else 0
