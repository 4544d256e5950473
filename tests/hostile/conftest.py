"""One run of the whole hostile corpus per test session, shared by test_corpus.py and test_audit.py.

The run goes through driver.py in a subprocess: it imports the CLI once, forks one child per
case, and records exit status, output, CPU and wall time, memory, and audit-hook violations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import corpus_runner as runner  # noqa: E402

@pytest.fixture(scope="session")
def corpus_cases() -> list[runner.Case]:
    return runner.load_manifest()


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where huge.py writes the inputs too big to commit (50 MB YAML, 100 MB config, ...)."""
    return tmp_path_factory.mktemp("hostile-generated")


@pytest.fixture(scope="session")
def corpus_run(corpus_cases: list[runner.Case], generated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Results of every case (by manifest path) and of the audit hook's self-test."""
    work = tmp_path_factory.mktemp("hostile-run")
    scratch = work / "scratch"
    scratch.mkdir()
    jobs = [{"id": case.path, "argv": runner.argv_for(case, generated_dir)} for case in corpus_cases]
    jobs.append({"id": runner.SELF_TEST, "argv": ["--self-test", str(scratch)]})
    results = runner.run_driver(jobs, work, audit=True)
    results[runner.SELF_TEST]["scratch"] = str(scratch)
    return results
