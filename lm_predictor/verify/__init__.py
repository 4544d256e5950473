"""Runtime oracle: measure real Hugging Face models (torch is imported only when measuring)."""

from __future__ import annotations

from typing import Any

from lm_predictor.verify.errors import OracleUnsupported
from lm_predictor.verify.shrink import shrink_config
from lm_predictor.workload import Workload

__all__ = ["Measurement", "OracleUnsupported", "Workload", "measure", "shrink_config"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m lm_predictor.verify.oracle` does not import oracle twice.
    if name in ("Measurement", "measure"):
        from lm_predictor.verify import oracle

        return getattr(oracle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
