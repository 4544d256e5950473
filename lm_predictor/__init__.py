"""lmpredict: closed-form cost prediction for PyTorch / Hugging Face language models."""

from __future__ import annotations

from typing import Any

from lm_predictor.version import __version__


def predict(config: Any, **workload: Any) -> Any:
    """Predict the cost of one forward step; see lm_predictor.evaluate.predict."""
    from lm_predictor.evaluate.predict import predict as _predict

    return _predict(config, **workload)


__all__ = ["predict", "__version__"]
