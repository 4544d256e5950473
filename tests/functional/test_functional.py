"""Golden functional tests, one case per diagnostic code (pylint / ruff style).

A case is `cases/<CODE>_<symbol>[_<variant>].yaml` (or a directory of that name holding several
rule files linted together) and its expected output `cases/<same>.expected`. The runner lints the
case exactly as `lmpredict lint PATH` does (in-process, from the repository root, so paths in the
output are relative and stable) and records stdout, the stderr summary and the exit status.

Leading comment lines may hold directives:

    # evaluate: RULE METRIC key=value ...
        after linting, evaluate RULE's METRIC over the case file alone with those bindings
        (values: true/false, ints, floats) and record the rendered diagnostic or the value;
        for codes that only evaluation can raise.
    # repeat: N "TEXT"
        before linting, replace the marker @REPEAT@ with N copies of the JSON string TEXT, in a
        copy of the case under a temporary directory (for inputs too big to commit).

`pytest --update-goldens` rewrites the .expected files from the current output; review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError, all_codes

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
REPO = HERE.parent.parent
CASE_NAME = re.compile(r"(?P<code>[A-Z]\d{3})_(?P<symbol>[a-z0-9-]+)(?:_(?P<variant>[a-z0-9-]+))?\Z")

# Codes without a case here, each with the reason. A new code must get a case or an entry.
SKIPPED = {
    "L014": "stale-generated belongs to the compile issue (lint --check-generated)",
}
# Whole families owned elsewhere, by their first letter.
OTHER_OWNERS = {
    "C": "config and workload codes have eval goldens in test_config_goldens.py",
}
ANALYSIS_CASES = HERE / "analysis_cases"  # A codes: Python snippets, run by test_analysis_goldens.py


@dataclass(frozen=True)
class Case:
    name: str
    path: Path  # a .yaml file or a directory of rule files

    @property
    def expected_path(self) -> Path:
        return CASES / f"{self.name}.expected"

    @property
    def code(self) -> str:
        match = CASE_NAME.match(self.name)
        assert match, f"case name {self.name!r} must be CODE_symbol[_variant]"
        return match["code"]

    @property
    def symbol(self) -> str:
        match = CASE_NAME.match(self.name)
        assert match
        return match["symbol"]

    def files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(self.path.glob("*.yaml"))
        return [self.path]

    def directives(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for file in self.files():
            with open(file, "rb") as fh:
                for raw in fh:
                    line = raw.decode("utf-8", "replace")
                    if not line.startswith("#"):
                        break
                    match = re.match(r"#\s*(evaluate|repeat):\s*(.*?)\s*$", line)
                    if match:
                        found[match[1]] = match[2]
        return found


def shows_code(output: str, code: str, symbol: str) -> bool:
    """Whether a diagnostic headline `[path:line:col: ]CODE symbol: ...` occurs in the output."""
    return re.search(rf"(^|: ){code} {re.escape(symbol)}: ", output, re.M) is not None


def discover() -> list[Case]:
    cases = []
    for entry in sorted(CASES.iterdir()):
        if entry.suffix == ".expected":
            continue
        name = entry.stem if entry.is_file() else entry.name
        cases.append(Case(name, entry))
    return cases


ALL_CASES = discover()


def _value(text: str) -> object:
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        return float(text)


def _materialise(case: Case, directive: str, root: Path) -> None:
    """Copy the case under `root` (same relative path) with @REPEAT@ expanded."""
    count_text, text_json = directive.split(None, 1)
    filler = json.loads(text_json) * int(count_text)
    for file in case.files():
        target = root / file.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.read_text(encoding="utf-8").replace("@REPEAT@", filler), encoding="utf-8")


def _lint(rel: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, int]:
    from lm_predictor.cli.main import main

    capsys.readouterr()
    status = main(["lint", rel])
    out, err = capsys.readouterr()
    return out + err + f"[exit {status}]\n", status


def _evaluate(rel: str, directive: str, runners: dict) -> str:
    from lm_predictor.engine import evaluate
    from lm_predictor.rules.library import RuleLibrary

    rule, metric, *pairs = shlex.split(directive)
    bindings = {k: _value(v) for k, v in (p.split("=", 1) for p in pairs)}
    library = RuleLibrary()
    library.load_file(rel)
    results = {}
    for name, runner in runners.items():
        try:
            value = evaluate(library, rule, metric, bindings, runner=runner).value
            results[name] = f"value: {value!r}\n"
        except LmPredictorError as err:
            results[name] = "".join(x.render() + "\n" for x in err.diagnostics)
    first = next(iter(results.values()))
    assert all(r == first for r in results.values()), f"backends disagree: {results}"
    return f"$ evaluate {directive}\n{first}"


def run_case(case: Case, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, runners: dict) -> tuple[str, int]:
    directives = case.directives()
    root = REPO
    if "repeat" in directives:
        root = tmp_path
        _materialise(case, directives["repeat"], root)
    monkeypatch.chdir(root)
    rel = case.path.relative_to(REPO).as_posix()
    output, status = _lint(rel, capsys)
    if "evaluate" in directives:
        output += _evaluate(rel, directives["evaluate"], runners)
    return output, status


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_golden(case: Case, capsys, monkeypatch, tmp_path, runners, update_goldens: bool) -> None:
    output, status = run_case(case, capsys, monkeypatch, tmp_path, runners)
    assert "Traceback" not in output
    if update_goldens:
        case.expected_path.write_text(output, encoding="utf-8")
    else:
        assert case.expected_path.exists(), f"no golden for {case.name}: run pytest --update-goldens and review it"
        expected = case.expected_path.read_text(encoding="utf-8")
        assert output == expected, f"{case.name}: output differs from {case.expected_path.name} (pytest --update-goldens rewrites it)"
    # Independent of the golden text: the case shows its own code, and lint's exit status
    # follows the severity (evaluation-time cases lint clean and fail only when evaluated).
    assert shows_code(output, case.code, case.symbol)
    code = next(c for c in all_codes() if c.code == case.code)
    if "evaluate" in case.directives():
        assert status == 0, f"{case.name}: an evaluation case should lint clean"
    else:
        assert status == (1 if code.severity.value == "error" else 0)


def test_every_code_has_a_golden_case() -> None:
    covered: dict[str, list[str]] = {}
    for case in ALL_CASES:
        if case.expected_path.exists() and shows_code(case.expected_path.read_text(encoding="utf-8"), case.code, case.symbol):
            covered.setdefault(case.code, []).append(case.name)
    for snippet in sorted(ANALYSIS_CASES.glob("*.py")):
        match = CASE_NAME.match(snippet.stem)
        expected = snippet.with_suffix(".expected")
        if match and expected.exists() and shows_code(expected.read_text(encoding="utf-8"), match["code"], match["symbol"]):
            covered.setdefault(match["code"], []).append(snippet.stem)
    registered = {c.code: c for c in all_codes()}
    missing = []
    for code, entry in registered.items():
        if code in SKIPPED or code[0] in OTHER_OWNERS:
            continue
        assert code[0] in "FSLEA", f"{code}: unknown code family; add a case or an owner"
        if code not in covered:
            missing.append(f"{code} {entry.symbol}")
    assert not missing, f"diagnostic codes without a golden case: {missing}"
    assert set(SKIPPED) <= set(registered), "SKIPPED lists a code that no longer exists"


def test_case_names_match_the_registry() -> None:
    registered = {c.code: c.symbol for c in all_codes()}
    for case in ALL_CASES:
        assert case.code in registered, f"{case.name}: no such code"
        assert registered[case.code] == case.symbol, f"{case.name}: the symbol of {case.code} is {registered[case.code]}"


HEADLINE = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+): [A-Z]\d{3} [^\n]*\n    (?P<src>[^\n]*)\n    (?P<pad> *)\^$", re.M)


@pytest.mark.parametrize("case", [c for c in ALL_CASES if "repeat" not in c.directives()], ids=lambda c: c.name)
def test_carets_point_at_the_reported_column(case: Case) -> None:
    """In every golden, the quoted line is the file's line and the caret sits under line:col."""
    text = case.expected_path.read_text(encoding="utf-8")
    for match in HEADLINE.finditer(text):
        file_line = (REPO / match["path"]).read_text(encoding="utf-8").split("\n")[int(match["line"]) - 1]
        column, caret = int(match["col"]), len(match["pad"]) + 1
        start = column - caret  # long lines are shown as a window around the column
        assert match["src"] == file_line[start:start + 200], match.group(0)
        assert match["src"][caret - 1] == file_line[column - 1]


def test_in_process_runner_matches_the_real_cli() -> None:
    """The goldens are produced in-process; the installed `lmpredict` prints the same text."""
    case = next(c for c in ALL_CASES if c.name == "L005_missing-argument")
    exe = Path(sys.executable).with_name("lmpredict")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "lm_predictor.cli.main"]
    proc = subprocess.run(
        [*cmd, "lint", case.path.relative_to(REPO).as_posix()],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.stdout + proc.stderr + f"[exit {proc.returncode}]\n" == case.expected_path.read_text(encoding="utf-8")
