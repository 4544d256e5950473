"""Run the CLI in-process and capture what a user would see."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from lm_predictor.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    status: int
    out: str
    err: str


def _run(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit_:  # argparse usage errors
            status = int(exit_.code or 0)
    return Run(status, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(monkeypatch):
    """`cli("eval", "gpt2", ...)` -> Run(status, out, err), from the repository root."""
    monkeypatch.chdir(REPO)
    return _run

