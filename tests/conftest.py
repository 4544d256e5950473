"""Shared fixtures: rule libraries built from YAML text, both evaluation backends, goldens."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# A suggest brain that raises is a bug: under test it propagates (also into CLI subprocesses)
# instead of becoming an A170 diagnostic and an unknown result.
os.environ.setdefault("LMPREDICT_BRAIN_ERRORS", "raise")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/functional/cases/*.expected from the current output instead of comparing",
    )


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _runners() -> dict[str, Callable]:
    from lm_predictor.engine.frame import compiled_runner
    from lm_predictor.formula.interpreter import interpreted_runner

    return {"compiled": compiled_runner, "interpreted": interpreted_runner}


@pytest.fixture(scope="session")
def runners() -> dict[str, Callable]:
    """Every evaluation backend, by name: results must agree between all of them."""
    return _runners()


_counter = itertools.count()


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML text to a fresh rule file under tmp_path and return its path."""

    def write(text: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"rules_{next(_counter)}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_library(write_rules: Callable[..., Path]):
    """A RuleLibrary loaded from YAML text; fails the test if loading reported anything."""
    from lm_predictor.rules.library import RuleLibrary

    def make(text: str, *, allow_diagnostics: bool = False) -> RuleLibrary:
        library = RuleLibrary()
        library.load_file(write_rules(text))
        if not allow_diagnostics:
            assert not library.diagnostics, "\n".join(x.render() for x in library.diagnostics)
        return library

    return make
