"""Rule files: YAML -> located, compiled Rule objects in a RuleLibrary."""

from lm_predictor.rules.library import RuleLibrary, load_library
from lm_predictor.rules.model import STANDARD_METRICS, Formula, ParamSpec, Rule

__all__ = ["RuleLibrary", "load_library", "Rule", "ParamSpec", "Formula", "STANDARD_METRICS"]
