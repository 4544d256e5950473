"""`lmpredict suggest`: derive rules from a module's source by symbolic execution.

See docs/suggest.md. Entry points: `suggest()` (one qualified name -> rule file text) and
`derive_rules()` (a model config -> cached rules for `eval`).
"""

from lm_predictor.suggest.api import GENERATED_MARKER, SuggestError, SuggestResult, suggest

__all__ = ["GENERATED_MARKER", "SuggestError", "SuggestResult", "suggest"]
