"""Build a rule library without the hand-written family rules: torch + activations + pytorch_utils + suggested."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import load_library

BASE_PATHS = ("torch", "transformers/activations.yaml", "transformers/pytorch_utils.yaml")


def base_paths() -> list[Path]:
    root = rules_dir()
    return [root / p for p in BASE_PATHS if (root / p).exists()]


def library_with(text: str, directory: Path | None = None):
    """The base library plus one suggested rule file (written to a temporary directory)."""
    directory = directory or Path(tempfile.mkdtemp(prefix="lmpredict-suggest-"))
    path = directory / "suggested.yaml"
    path.write_text(text, encoding="utf-8")
    library = load_library([*base_paths(), path])
    return library, path


def overlay_library(text: str, directory: Path | None = None):
    """Like library_with, but a suggested rule replaces a base rule of the same name (as eval does)."""
    from lm_predictor.rules.library import RuleLibrary
    from lm_predictor.suggest.derive import overlay

    directory = directory or Path(tempfile.mkdtemp(prefix="lmpredict-suggest-"))
    path = directory / "suggested.yaml"
    path.write_text(text, encoding="utf-8")
    derived = RuleLibrary()
    derived.load_file(path)
    return overlay(load_library(base_paths()), derived), path
