"""lmpredict: closed-form cost prediction for PyTorch / Hugging Face language models.

    import lm_predictor
    p = lm_predictor.predict("llama-2-7b", batch=1, seq_len=128)
    p.totals["flops"], p.trust
    rows = lm_predictor.sweep("llama-2-7b", seq_len=range(128, 1025, 128), batch=[1, 8])
    rows.to_pandas()

`predict` and `sweep` are imported on first use, so `import lm_predictor` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lm_predictor.version import __version__

if TYPE_CHECKING:
    from lm_predictor.evaluate.predict import Prediction, predict
    from lm_predictor.evaluate.sweep import SweepResult, sweep

_LAZY = {
    "predict": "lm_predictor.evaluate.predict",
    "Prediction": "lm_predictor.evaluate.predict",
    "sweep": "lm_predictor.evaluate.sweep",
    "SweepResult": "lm_predictor.evaluate.sweep",
    "LmPredictorError": "lm_predictor.diagnostics",
}


def __getattr__(name: str) -> Any:
    """The public API, imported on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["predict", "sweep", "Prediction", "SweepResult", "LmPredictorError", "__version__"]
