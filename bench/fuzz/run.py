"""Run the atheris targets of bench/fuzz/targets.py for a while and summarise what they found.

    .venv/bin/pip install atheris                      # not a test dependency: only this bench needs it
    .venv/bin/python bench/fuzz/run.py --minutes 10    # each target 10 minutes, two at a time
    .venv/bin/python bench/fuzz/run.py --minutes 1 --targets formula

Seeds: the shipped rule files and their formulas, the bundled configs, and the hostile corpus
(tests/hostile/corpus). Work files (the growing corpus, crash-*, timeout-*, the logs) go to
--workdir (default .cache/fuzz, git-ignored). A crash is any exception other than
LmPredictorError; a timeout is one input running longer than --timeout seconds (instrumented
code runs about ten times slower than normal, so this catches hangs, not the 1 s budget).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("formula", "rules", "config")


def seeds(name: str, directory: Path) -> int:
    """Write the seed inputs of one target into `directory`; returns how many."""
    directory.mkdir(parents=True, exist_ok=True)
    inputs: list[bytes] = []
    hostile = REPO / "tests" / "hostile" / "corpus"
    if name == "rules":
        inputs += [p.read_bytes() for p in sorted((REPO / "rules").rglob("*.yaml"))]
        inputs += [p.read_bytes() for p in sorted(hostile.rglob("*.yaml")) if p.stat().st_size < 64 * 1024]
    elif name == "config":
        inputs += [p.read_bytes() for p in sorted((REPO / "configs").glob("*/config.json"))]
        inputs += [p.read_bytes() for p in sorted((hostile / "configs").glob("*.json")) if p.stat().st_size < 64 * 1024]
    else:
        sys.path.insert(0, str(REPO))
        from lm_predictor.rules.library import load_library

        library = load_library([REPO / "rules"])
        for rule in library:
            inputs += [f.text.encode() for f in rule.metrics.values()]
            inputs += [p.default.text.encode() for p in rule.params.values() if p.default is not None]
        inputs += [b"9**9**9", b"((9**64)**64)**64", b"0**-1", b"1e308 * 10", b"{fz.Pair}(x=$x, y=2).param_count", b"if $b then $x else ${q:-3}"]
    for i, data in enumerate(dict.fromkeys(inputs)):
        (directory / f"seed-{i:04d}").write_bytes(data)
    return len(inputs)


def run_target(name: str, seconds: int, timeout: int, workdir: Path) -> dict:
    base = workdir / name
    corpus = base / "corpus"
    seeded = seeds(name, corpus)
    log = base / "fuzz.log"
    env = dict(os.environ, LMPREDICT_CACHE=str(base / "lmpredict-cache"))
    cmd = [
        sys.executable, str(Path(__file__).with_name("targets.py")), name, str(corpus),
        f"-max_total_time={seconds}", f"-timeout={timeout}", "-rss_limit_mb=2048", f"-artifact_prefix={base}/",
        "-print_final_stats=1",
    ]
    start = time.time()
    with open(log, "wb") as fh:
        done = subprocess.run(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    elapsed = time.time() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    artifacts = sorted(p.name for p in base.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-")))
    return {
        "target": name,
        "seconds": round(elapsed),
        "exit": done.returncode,
        "executions": int(runs[-1]) if runs else None,
        "coverage": int(cov[-1][0]) if cov else None,
        "features": int(cov[-1][1]) if cov else None,
        "corpus": int(cov[-1][2]) if cov else None,
        "seeds": seeded,
        "findings": artifacts,
        "log": str(log),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="per target")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--timeout", type=int, default=30, help="seconds per input before libFuzzer calls it a hang (instrumented)")
    parser.add_argument("--jobs", type=int, default=2, help="targets run at the same time")
    parser.add_argument("--workdir", type=Path, default=REPO / ".cache" / "fuzz")
    args = parser.parse_args()
    names = [t for t in args.targets.split(",") if t]
    unknown = set(names) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}")
    seconds = int(args.minutes * 60)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda n: run_target(n, seconds, args.timeout, args.workdir), names))
    (args.workdir / "summary.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("| target | seconds | executions | coverage (edges) | corpus | findings |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['target']} | {r['seconds']} | {r['executions']} | {r['coverage']} | {r['corpus']} | {', '.join(r['findings']) or 'none'} |")
    return 1 if any(r["findings"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
