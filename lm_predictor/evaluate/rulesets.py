"""The rule library a command uses: the shipped one, plus `--rules` files, or `--rules-only`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError, Severity
from lm_predictor.rules.library import RuleLibrary, UserRules, load_library


def _load(paths: Sequence[str]) -> RuleLibrary:
    """User rule files, parsed now so that every fault keeps its file position."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise LmPredictorError([d.make(d.C_RULES_PATH, None, path=p) for p in missing])
    library = load_library(paths)
    errors = [x for x in library.diagnostics if x.severity is Severity.ERROR]
    if errors:
        raise LmPredictorError(errors)
    return library


def library_for(add: Sequence[str] = (), only: Sequence[str] = ()) -> tuple[RuleLibrary | UserRules | None, list[str]]:
    """(library, notes): None for the shipped library; `add` is layered over the shipped library
    of the pin that reads the config, once predict knows it (a user rule wins a name clash, and
    predict notes it)."""
    if only:
        return _load([*only, *add]), []
    if not add:
        return None, []
    return UserRules(_load(add)), []
