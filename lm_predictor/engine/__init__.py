"""Evaluation of compiled rules: frames, memoised calls, and the recorded call tree."""

from lm_predictor.engine.evaluate import Evaluation, evaluate
from lm_predictor.engine.records import CallRecord

__all__ = ["evaluate", "Evaluation", "CallRecord"]
