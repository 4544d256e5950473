"""The hostile corpus: its manifest, the command line of each case, and what its output must be."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MANIFEST = HERE / "expected.tsv"
SUPPORT = HERE / "support"
TINY_CONFIG = SUPPORT / "tiny-llama.json"
DRIVER = HERE / "driver.py"

COMMANDS = ("lint", "lint-lib", "eval-rules", "eval")

SELF_TEST = "self-test"
"""The job id of the audit hook's self-test (see driver.py)."""

MAX_SECONDS = float(os.environ.get("LMPREDICT_HOSTILE_MAX_SECONDS", "1.0"))
"""Per-case limit on CPU time (and, with slack for a busy machine, on wall time)."""

WALL_SLACK = float(os.environ.get("LMPREDICT_HOSTILE_WALL_SLACK", "2.0"))
"""Wall time may exceed MAX_SECONDS by this factor (CI machines are shared); CPU time may not."""

MAX_EXTRA_MB = 100
"""Per-case limit on memory above what the process held before the case ran."""

CODE = re.compile(r"\b([FSLECA]\d{3}) ([a-z][a-z0-9]*(?:-[a-z0-9]+)*):")


@dataclass(frozen=True)
class Case:
    path: str  # relative to tests/hostile ("corpus/..." or "generated/...")
    command: str
    code: str
    note: str

    @property
    def generated(self) -> bool:
        return self.path.startswith("generated/")

    @property
    def category(self) -> str:
        return self.path.split("/")[1] if not self.generated else "generated"


def load_manifest() -> list[Case]:
    cases = []
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        path, command, code, note = line.split("\t")
        cases.append(Case(path, command, code, note))
    return cases


def rel(path: Path) -> str:
    """A path as given on the command line: relative to the repository root when inside it."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def argv_for(case: Case, generated_dir: Path) -> list[str]:
    """The lmpredict arguments that exercise a case (without the program name)."""
    if case.generated:
        from huge import generate  # type: ignore[import-not-found]

        target = rel(generate(case.path.split("/", 1)[1], generated_dir))
    else:
        target = rel(HERE / case.path)
    if case.command == "lint":
        return ["lint", "--no-library", target]
    if case.command == "lint-lib":
        return ["lint", target]
    if case.command == "eval-rules":
        return ["eval", rel(TINY_CONFIG), "--rules", target]
    if case.command == "eval":
        return ["eval", target]
    raise ValueError(f"unknown command {case.command!r} in the manifest")


WARM_UP = [
    ["lint", rel(SUPPORT / "ok.yaml")],
    ["lint", "--no-library", rel(SUPPORT / "ok.yaml")],
    ["lint", rel(SUPPORT / "calls_library.yaml")],  # parses the shipped library (lint-lib cases reuse it)
    ["eval", rel(TINY_CONFIG), "--rules", rel(SUPPORT / "ok.yaml")],
    ["eval", "llama-2-7b"],
    ["eval", "llama-2-7b", "--json"],
]
"""Run in the driver before any case: imports, parser tables, the shipped library, rich."""


def diagnostic_lines(stdout: str, stderr: str) -> list[str]:
    """Headline lines: not indented (source lines, carets and notes are), holding a code."""
    lines = (stdout + "\n" + stderr).splitlines()
    return [line for line in lines if line and not line[0].isspace() and CODE.search(line)]


def problems(case: Case, result: dict, *, wall_limit: float | None = None) -> list[str]:
    """Why a case's run does not meet the corpus properties (empty when it does).

    CPU time must stay under MAX_SECONDS. Wall time only catches hangs and sleeps, so it gets
    WALL_SLACK on a shared machine (`wall_limit` overrides it, e.g. for real subprocesses whose
    interpreter start-up competes with parallel runs)."""
    found = []
    out, err = result["stdout"], result["stderr"]
    if result.get("signal"):
        found.append(f"killed by signal {result['signal']} (hang or memory bomb)")
    if "Traceback" in out or "Traceback" in err:
        found.append("a traceback was printed")
    if "internal error" in err:
        found.append("an internal error (an exception the CLI did not expect)")
    rc = result.get("rc")
    if rc in (0, None):
        found.append(f"exit status {rc}, expected non-zero")
    heads = diagnostic_lines(out, err)
    if len(heads) != 1:
        found.append(f"{len(heads)} diagnostics, expected exactly one")
    elif CODE.findall(heads[0])[-1][0] != case.code:
        found.append(f"diagnostic {CODE.findall(heads[0])[-1][0]}, expected {case.code}")
    if case.command.startswith("eval"):
        lines = [line for line in err.splitlines() if line.strip()]
        if len(lines) != 1 or out.strip():
            found.append("eval must print exactly one line (on stderr)")
    cpu, wall = result.get("cpu", 0.0) - result.get("base_cpu", 0.0), result.get("wall", 0.0)
    if cpu > MAX_SECONDS:
        found.append(f"{cpu:.2f} s of CPU time (limit {MAX_SECONDS} s)")
    wall_limit = MAX_SECONDS * WALL_SLACK if wall_limit is None else wall_limit
    if wall > wall_limit:
        found.append(f"{wall:.2f} s of wall time (limit {wall_limit:.1f} s)")
    extra_mb = (result.get("maxrss_kb", 0) - result.get("base_rss_kb", 0)) / 1024
    if extra_mb > MAX_EXTRA_MB:
        found.append(f"{extra_mb:.0f} MB of extra memory (limit {MAX_EXTRA_MB} MB)")
    return found


def describe(case: Case, result: dict, *, wall_limit: float | None = None) -> str:
    text = (result["stdout"] + result["stderr"]).strip()
    if len(text) > 1500:
        text = text[:1500] + " ..."
    return f"{case.path} [{case.command}, expected {case.code}]: {'; '.join(problems(case, result, wall_limit=wall_limit))}\n{text}"


def run_driver(jobs: list[dict], workdir: Path, *, audit: bool) -> dict[str, dict]:
    """Run jobs through driver.py in one subprocess; results by job id."""
    jobs_path = workdir / ("jobs-audit.json" if audit else "jobs.json")
    results_path = workdir / ("results-audit.json" if audit else "results.json")
    warm = [{"id": f"warm-up-{i}", "argv": argv, "warm_up": True} for i, argv in enumerate(WARM_UP)]
    jobs_path.write_text(json.dumps(warm + jobs), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    env["LMPREDICT_CACHE"] = str(workdir / "lmpredict-cache")  # hermetic: no derived rules from earlier runs
    cmd = [sys.executable, str(DRIVER), str(jobs_path), str(results_path)] + (["--audit"] if audit else [])
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"driver failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {r["id"]: r for r in json.loads(results_path.read_text(encoding="utf-8"))}
