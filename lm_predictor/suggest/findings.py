"""What an analysis reports: findings (diagnostics with a code) and the exceptions that end a path."""

from __future__ import annotations

from dataclasses import dataclass

from lm_predictor.diagnostics import lookup
from lm_predictor.suggest.values import Loc


class AnalysisLimit(Exception):
    """Recursion or size limit of the analysis reached."""


class BrainError(Exception):
    """A brain raised while LMPREDICT_BRAIN_ERRORS=raise (tests): a bug to fix, not an unknown."""


class DeadPath(Exception):
    """This path would raise at run time (calling None, ...): the branch cannot be taken."""


@dataclass
class Finding:
    """A source-analysis diagnostic: where, code, message."""

    code: str
    loc: Loc | None
    message: str
    slug: str = ""

    def render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        try:
            symbol = lookup(self.code).symbol
        except KeyError:
            symbol = ""
        return f"{where}{self.code}{' ' + symbol if symbol else ''}: {self.message}"
