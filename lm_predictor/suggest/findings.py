"""What an analysis reports: findings (diagnostics with a code) and the exceptions that end a path."""

from __future__ import annotations

from dataclasses import dataclass

from lm_predictor.diagnostics import A_BRAIN_ERROR, A_CONFIG_CLASS, Code, Diagnostic, Location, make
from lm_predictor.suggest.values import Loc


class AnalysisLimit(Exception):
    """Recursion or size limit of the analysis reached."""


class BrainError(Exception):
    """A brain raised while LMPREDICT_BRAIN_ERRORS=raise (tests): a bug to fix, not an unknown."""


class DeadPath(Exception):
    """This path would raise at run time (calling None, ...): the branch cannot be taken."""


@dataclass
class Finding:
    """A source-analysis diagnostic: a registered A code, where, message; `slug` names its unresolved term."""

    code: Code
    loc: Loc | None
    message: str
    slug: str = ""

    def diagnostic(self) -> Diagnostic:
        """The finding in the one diagnostic model (rendered like every other code)."""
        return make(self.code, Location(self.loc.path, self.loc.line) if self.loc else None, detail=self.message)

    def render(self) -> str:
        return self.diagnostic().headline()


def slug_for(code: Code, loc: Loc | None) -> str:
    """The name of the unresolved term a finding stands for: code, module, line (A110_modeling_aria_L42)."""
    return f"{code.code}_{(loc.module.rsplit('.', 1)[-1] if loc else 'unknown')}_L{loc.line if loc else 0}"


SHOWN = (A_CONFIG_CLASS, A_BRAIN_ERROR)
"""Codes shown with the rule file even when no unresolved term carries them."""
