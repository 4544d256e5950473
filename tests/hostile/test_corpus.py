"""Every hostile input gets exactly one clear diagnostic, a non-zero exit, no traceback, < 1 s, < 100 MB.

The corpus (tests/hostile/corpus/**, listed with its expected codes in expected.tsv) is made by
make_corpus.py; inputs too big to commit are written at test time by huge.py. Each case runs
through the CLI entry point in its own process (driver.py forks one child per case after a single
import), and a sample also runs as a real `lmpredict` subprocess, start-up included.
Set LMPREDICT_HOSTILE_ALL_SUBPROCESSES=1 to run every case as a real subprocess (a few minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import make_corpus  # noqa: E402  (tests/hostile is on sys.path, see conftest.py)
import corpus_runner as runner  # noqa: E402
from lm_predictor.diagnostics import all_codes

CASES = runner.load_manifest()
LMPREDICT = Path(sys.executable).with_name("lmpredict")

CATEGORIES = {
    "yaml_tags", "yaml_alias", "yaml_dupkeys", "encoding", "yaml_syntax", "schema", "formula_syntax",
    "formula_limits", "arithmetic", "runtime", "calls", "names", "configs", "generated",
}


def test_the_corpus_is_big_and_complete() -> None:
    committed = [c for c in CASES if not c.generated]
    assert len(committed) >= 300
    assert {c.category for c in CASES} == CATEGORIES
    known = {code.code for code in all_codes()}
    assert {c.code for c in CASES} <= known, "every expected code is a registered diagnostic code"
    assert {c.command for c in CASES} <= set(runner.COMMANDS)
    listed = {runner.HERE / c.path for c in committed}
    on_disk = {p for p in (runner.HERE / "corpus").glob("*/*")}
    assert on_disk == listed, "every corpus file is in expected.tsv, and every listed file exists"
    from huge import GENERATORS

    assert {c.path.split("/", 1)[1] for c in CASES if c.generated} == set(GENERATORS)


def test_the_committed_corpus_is_what_the_generator_makes() -> None:
    problems = make_corpus.check(make_corpus.build())
    assert not problems, "run tests/hostile/make_corpus.py and commit the result:\n" + "\n".join(problems[:20])


def test_the_corpus_covers_the_issue() -> None:
    """The inputs issue 6 names, each present at least once (by the note or the file name)."""
    text = "\n".join(f"{c.path} {c.note}" for c in CASES).lower()
    for needle in [
        "object/apply", "python/name", "billion", "merge key", "duplicate", "junk", "utf-8", "byte-order mark",
        "50 mb", "__import__", "dunder", "attribute", "string", "lambda", "comprehension", "100,000-deep",
        "1 mb formula", "9**9**9", "((9**64)**64)**64", "float_mul_overflow", "div_zero", "0**-1", "nan_name", "inf_name",
        "self-recursion", "cycle_02", "cycle_50", "only through parameter defaults", "30-level diamond",
        "unknown_callee", "unknown_keyword", "missing_metric", "quote", "newline", "slash", "cyrillic",
        "generated identifier", "missing_model_type", "wrong_type", "negative", "zero", "huge", "33 heads",
        "model_type 'nonexistent'", "empty", "comment", "100 mb",
    ]:
        assert needle in text, f"no corpus case for {needle!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_case(case: runner.Case, corpus_run: dict[str, dict]) -> None:
    result = corpus_run[case.path]
    assert not runner.problems(case, result), runner.describe(case, result)


def test_a_category_summary(corpus_run: dict[str, dict]) -> None:
    """Totals per category (printed with -s); also fails if any case failed, in one place."""
    failed = Counter(c.category for c in CASES if runner.problems(c, corpus_run[c.path]))
    slowest = max((corpus_run[c.path]["cpu"], c.path) for c in CASES)
    print(f"\n{len(CASES)} cases, slowest {slowest[0]:.2f} s CPU ({slowest[1]}); failures by category: {dict(failed) or 'none'}")
    assert not failed


def _sample() -> list[runner.Case]:
    """Two cases of each category and each command, plus every generated one (deterministic)."""
    if os.environ.get("LMPREDICT_HOSTILE_ALL_SUBPROCESSES"):
        return list(CASES)
    chosen: dict[str, runner.Case] = {}
    per_category: Counter[str] = Counter()
    for case in CASES:
        if case.generated or per_category[case.category] < 2:
            chosen[case.path] = case
            per_category[case.category] += 1
    for command in runner.COMMANDS:
        for case in [c for c in CASES if c.command == command][:2]:
            chosen[case.path] = case
    return list(chosen.values())


def _real_subprocess(argv: list[str]) -> dict:
    """A real `lmpredict` process: output, status, and its own rusage (os.wait4 instead of Popen.wait)."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(LMPREDICT), *argv], cwd=runner.REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with ThreadPoolExecutor(2) as pool:  # drain both pipes while the child runs
        out_f = pool.submit(proc.stdout.read)
        err_f = pool.submit(proc.stderr.read)
        _, status, usage = os.wait4(proc.pid, 0)
        out, err = out_f.result(), err_f.result()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode if proc.returncode >= 0 else None,
        "signal": -proc.returncode if proc.returncode < 0 else None,
        "stdout": out.decode("utf-8", "backslashreplace"),
        "stderr": err.decode("utf-8", "backslashreplace"),
        "wall": time.perf_counter() - start,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
    }


@pytest.mark.skipif(not LMPREDICT.exists(), reason=f"no console script at {LMPREDICT}")
def test_real_lmpredict_subprocesses(corpus_cases: list[runner.Case], generated_dir: Path) -> None:
    """The same properties for real `lmpredict` processes. CPU time and memory are measured
    against a clean run of the same command kind (start-up, imports and loading the shipped
    library are not the input's doing; they take 0.2-0.5 s here); wall time, start-up included,
    must stay under 2 x WALL_SLACK x MAX_SECONDS."""
    ok_rules = runner.rel(runner.SUPPORT / "ok.yaml")
    baselines = {
        "lint": _real_subprocess(["lint", "--no-library", ok_rules]),
        "lint-lib": _real_subprocess(["lint", ok_rules]),
        "eval-rules": _real_subprocess(["eval", runner.rel(runner.TINY_CONFIG), "--rules", ok_rules]),
        "eval": _real_subprocess(["eval", "llama-2-7b"]),
    }
    for name, base in baselines.items():
        assert base["rc"] == 0, f"baseline {name} failed: {base['stderr']}"
    sample = _sample()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: _real_subprocess(runner.argv_for(c, generated_dir)), sample))
    failures = []
    wall_limit = 2 * runner.WALL_SLACK * runner.MAX_SECONDS  # start-up included, two at a time
    for case, result in zip(sample, results):
        result["base_rss_kb"] = baselines[case.command]["maxrss_kb"]
        result["base_cpu"] = baselines[case.command]["cpu"]
        if runner.problems(case, result, wall_limit=wall_limit):
            failures.append(runner.describe(case, result, wall_limit=wall_limit))
    assert not failures, f"{len(failures)} of {len(sample)} real subprocesses failed:\n\n" + "\n\n".join(failures[:10])
