"""Build a rule library without the hand-written family rules: torch + activations + pytorch_utils + suggested."""

from __future__ import annotations

import tempfile
from functools import lru_cache
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


@lru_cache(maxsize=None)
def base_library():
    """The base library, loaded once per test session (eval derives what it lacks)."""
    return load_library(base_paths())


def assert_exact_real(config: dict, workload, metrics: frozenset = frozenset({"flops", "param_count"})) -> None:
    """Every total and module row equals the oracle on real tensors, for a config small enough as it
    is (shrink_config would cut it to 2 layers); `metrics` must be among the totals compared."""
    from dataclasses import asdict

    from lm_predictor.evaluate.predict import predict
    from lm_predictor.verify.compare import compare
    from lm_predictor.verify.oracle import measure

    m = measure(config, workload, mode="real")
    rows = compare(predict(config, library=base_library(), **asdict(workload)), m.totals, m.module_flops, m.module_params, m.module_bytes)
    assert metrics <= {r.metric for r in rows if r.path == ""}
    bad = [f"{r.path or '(total)'} {r.metric}: predicted {r.predicted} measured {r.measured}" for r in rows if not r.exact]
    assert not bad, "\n".join(bad)


@lru_cache(maxsize=None)
def derived_library(qualname: str):
    """(base library plus the rules `suggest --recursive` derives for `qualname`, root rule name), once per session."""
    from lm_predictor.suggest import suggest

    result = suggest(qualname, recursive=True, library=load_library(base_paths()))
    library, _ = library_with(result.text)
    return library, result.rules[0]
