"""`lmpredict suggest`: derive rules from a module's source by symbolic execution.

See docs/suggest.md. Entry points: `suggest()` (one qualified name -> rule file text) and
`derive.derive_for()` (a model config -> cached rules for `eval`). Attributes are loaded lazily,
so `lm_predictor.suggest.diskcache` (the warm path) does not import astroid or the interpreter.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GENERATED_MARKER", "SuggestError", "SuggestResult", "suggest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lm_predictor.suggest import api

        return getattr(api, name)
    raise AttributeError(f"module 'lm_predictor.suggest' has no attribute {name!r}")
