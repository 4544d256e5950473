"""`lmpredict suggest QUALNAME [--recursive] [-o FILE] [--force] [--source pinned|installed]`"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("qualname", metavar="QUALNAME", help="a class by public or defining path, e.g. transformers.models.llama.LlamaAttention")
    parser.add_argument("--recursive", "-r", action="store_true", help="also emit rules for every reachable module the library lacks")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the rules to FILE (atomically) instead of stdout")
    parser.add_argument("--force", action="store_true", help="allow -o to overwrite a hand-written rule file")
    parser.add_argument("--source", choices=("pinned", "installed"), default="pinned", help="analyse third_party/transformers (default) or the installed package")
    parser.add_argument("--config", metavar="CONFIG", help="specialise on this config's string/list values (config.json, directory, bundled name)")
    parser.add_argument("--rules", action="append", metavar="PATH", help="rule library to check calls against (default: the shipped rules/)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the on-disk result cache")
    parser.add_argument("--timings", action="store_true", help="print analysis and parse times to stderr")


def _library_paths(args: argparse.Namespace) -> list[Path]:
    if args.rules:
        return [Path(p) for p in args.rules]
    from lm_predictor.resources import rules_dir

    return [rules_dir()]


def _rule_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file()))
        elif p.is_file():
            out.append(p)
    return out


def _refuse(output: Path, force: bool) -> str | None:
    """Why -o must not write `output` (a hand-written rule file), or None."""
    from lm_predictor.suggest.diskcache import GENERATED_MARKER

    if not output.exists() or force:
        return None
    if output.is_dir():
        return f"{output} is a directory"
    try:
        head = output.read_text(encoding="utf-8", errors="replace")[:200]
    except OSError as err:
        return f"cannot read {output}: {err.strerror}"
    if head.startswith(GENERATED_MARKER):
        return None
    return f"refusing to overwrite {output}: it is not a file lmpredict suggest wrote (a hand-written rule file?); use --force"


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    output = Path(args.output) if args.output else None
    if output is not None:
        reason = _refuse(output, args.force)
        if reason:
            print(f"lmpredict suggest: error: {reason}", file=sys.stderr)
            return 2
    from lm_predictor.suggest import diskcache

    lib_paths = _library_paths(args)
    config = None
    if args.config:
        from lm_predictor.evaluate.config_source import load_config

        config, _ = load_config(args.config)
    request = {
        "qualname": args.qualname,
        "recursive": bool(args.recursive),
        "source": args.source,
        "library": [str(p) for p in lib_paths],
        "library_files": [[str(p), p.stat().st_mtime_ns, p.stat().st_size] for p in _rule_files(lib_paths)],
        "config": config,
        "cwd_root": str(Path(__file__).resolve().parents[2]),
    }
    entry = None if args.no_cache else diskcache.load("suggest", request)
    if entry is not None:
        return _finish(args, output, entry["text"], entry.get("stderr", []), entry.get("unresolved", []), t0, cached=True)
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import SuggestError, suggest
    from lm_predictor.suggest.findings import SHOWN
    from lm_predictor.suggest.sources import SourceError

    library = load_library(lib_paths)
    try:
        result = suggest(args.qualname, recursive=args.recursive, source=args.source, library=library, config=config)
    except (SuggestError, SourceError) as err:
        print(f"lmpredict suggest: error: {err}", file=sys.stderr)
        return 2
    stderr = [f.render() for f in result.findings if f.slug in result.unresolved or f.code in SHOWN]
    stderr += [f"note: {n}" for n in result.notes]
    summary = f"suggest: read {result.source}; {len(result.rules)} rule(s), {len(result.unresolved)} unresolved term(s)"
    stderr.append(summary)
    if args.timings:
        stderr.append(f"timings: analysis {result.seconds:.2f} s, astroid tree rebuild {result.parse_seconds:.2f} s for {result.parsed_files} file(s) (no inference)")
    if not args.no_cache:
        from lm_predictor.suggest.sources import open_tree

        tree = open_tree(args.source)
        files = [m.path for m in tree.modules.values()] + _rule_files(lib_paths)
        try:
            diskcache.store("suggest", request, result.text, files, {"stderr": stderr, "unresolved": result.unresolved})
        except OSError:
            pass
    return _finish(args, output, result.text, stderr, result.unresolved, t0, cached=False)


def _finish(args: argparse.Namespace, output: Path | None, text: str, stderr: list, unresolved: list, t0: float, cached: bool) -> int:
    from lm_predictor.suggest.diskcache import write_atomic

    if output is not None:
        write_atomic(output, text)
        stderr = list(stderr) + [f"wrote {output}"]
    else:
        sys.stdout.write(text)
    for line in stderr:
        if args.timings or not line.startswith("timings:"):
            print(line, file=sys.stderr)
    if args.timings:
        print(f"timings: total {time.perf_counter() - t0:.2f} s ({'cached result' if cached else 'cold analysis'})", file=sys.stderr)
    return 1 if unresolved else 0
