"""`lmpredict lint`: schema, formula and cross-rule checks with compiler-style output."""

from lm_predictor.lint.runner import LintResult, lint_paths

__all__ = ["lint_paths", "LintResult"]
