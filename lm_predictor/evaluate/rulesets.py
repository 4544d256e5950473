"""The rule library a command uses: the shipped one, plus `--rules` files, or `--rules-only`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError, Severity
from lm_predictor.evaluate.predict import default_library
from lm_predictor.rules.library import RuleLibrary, load_library, overlay
from lm_predictor.rules.model import Rule


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


def library_for(add: Sequence[str] = (), only: Sequence[str] = ()) -> tuple[RuleLibrary | None, list[str]]:
    """(library, notes): None for the shipped library; `add` wins over shipped rules on a name clash."""
    if only:
        return _load([*only, *add]), []
    if not add:
        return None, []
    top = _load(add)
    library, replaced = overlay(default_library(), top)
    notes = [f"{_winner(top, r).location}: rule {r.name} replaces the shipped one ({r.location})" for r in replaced]
    return library, notes


def _winner(top: RuleLibrary, shipped: Rule) -> Rule:
    """The rule of `top` that takes `shipped`'s name or one of its aliases."""
    return next(r for r in (top.get(n) for n in (shipped.name, *shipped.aliases)) if r is not None)
