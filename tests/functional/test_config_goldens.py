"""Golden tests for the C codes: a config file (plus optional CLI args and subcommand) and the exact output.

CASE.json is the config; CASE.args the extra arguments; CASE.command the subcommand (default eval).
An error code exits 2; a warning code exits 0 and still prints its line."""

from __future__ import annotations

import io
import shlex
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lm_predictor.cli.main import main
from lm_predictor.diagnostics import Severity, all_codes, lookup

CASES = Path(__file__).parent / "config_cases"
REPO = Path(__file__).resolve().parents[2]
NAMES = sorted(p.stem for p in CASES.glob("*.json"))


def run_case(name: str) -> str:
    """`lmpredict COMMAND CASE.json [args]`: stdout, stderr and the exit status, as one text."""
    args_file, command_file = CASES / f"{name}.args", CASES / f"{name}.command"
    extra = shlex.split(args_file.read_text()) if args_file.exists() else []
    command = command_file.read_text().strip() if command_file.exists() else "eval"
    config = (CASES / f"{name}.json").relative_to(REPO)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main([command, str(config), *extra])
    return f"{out.getvalue()}{err.getvalue()}[exit {status}]\n"


@pytest.mark.parametrize("name", NAMES)
def test_config_golden(name: str, update_goldens: bool, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    expected_path = CASES / f"{name}.expected"
    actual = run_case(name)
    if update_goldens or not expected_path.exists():
        expected_path.write_text(actual, encoding="utf-8")
    assert actual == expected_path.read_text(encoding="utf-8")
    code = name.split("_", 1)[0]
    exit_line = "[exit 0]" if lookup(code).severity is Severity.WARNING else "[exit 2]"
    assert f" {code} " in actual and exit_line in actual and "Traceback" not in actual


def test_every_c_code_has_a_config_golden() -> None:
    c_codes = {c.code for c in all_codes() if c.code.startswith("C")}
    assert c_codes <= {name.split("_", 1)[0] for name in NAMES}
