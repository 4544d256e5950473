"""How far a prediction can be trusted: one label, in the report header and in the JSON.

- `verified`: hand-written rules of the shipped library, checked against the oracle in the tests;
- `derived-exact`: rules derived from the pinned source, exact in the coverage survey for this
  model type at the pin that priced it (lm_predictor/data/survey_trust.json, from each pin's survey);
- `derived-unchecked`: derived rules the survey could not check, with its reason;
- `user-rules`: rules from `--rules` files, checked by nobody here;
- `verified-shrunk`: set by `verify` when it measured a shrunk stand-in, not this config.
"""

from __future__ import annotations

import functools
import json
import weakref
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lm_predictor.data.versions import DEFAULT_PIN
from lm_predictor.resources import rules_dir, user_cache_dir
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Rule

LEVELS = ("verified", "derived-exact", "derived-unchecked", "user-rules", "verified-shrunk")


@dataclass(frozen=True)
class Trust:
    """A trust level and the one line that explains it."""

    level: str
    detail: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"trust level must be one of {LEVELS}, got {self.level!r}")

    def __str__(self) -> str:
        return f"{self.level}: {self.detail}"

    def as_json(self) -> dict[str, str]:
        return {"level": self.level, "detail": self.detail}


@functools.lru_cache(maxsize=None)
def survey_table(pin: str = DEFAULT_PIN) -> dict[str, dict]:
    """model_type -> {"exact": bool, "checked": str} from the last coverage survey of `pin`."""
    text = resources.files("lm_predictor.data").joinpath("survey_trust.json").read_text(encoding="utf-8")
    return json.loads(text)["pins"].get(pin, {})


def train_mismatches(model_type: object, pin: str = DEFAULT_PIN) -> dict[str, str]:
    """Train metrics the survey measured wrong for derived rules of `model_type` at `pin` (metric -> what it saw)."""
    return dict(survey_table(pin).get(str(model_type), {}).get("train_mismatch", {}))


def bytes_mismatch(model_type: object, pin: str = DEFAULT_PIN) -> str | None:
    """What the bytes survey saw where it measured derived bytes of `model_type` wrong at `pin`, else None."""
    return survey_table(pin).get(str(model_type), {}).get("bytes_mismatch")


def _under(path: str, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _user_file(path: str) -> bool:
    """A rule file that is neither shipped nor derived into the cache."""
    return not _under(path, rules_dir()) and not _under(path, user_cache_dir())


_USER_FILES: dict[int, tuple[weakref.ref, list[str]]] = {}


def _user_files(library: RuleLibrary) -> list[str]:
    """The library's files that are neither shipped nor derived (cached per library object)."""
    cached = _USER_FILES.get(id(library))
    if cached is not None and cached[0]() is library:
        return cached[1]
    found = sorted(p for p in library.files if _user_file(p))
    for key in [k for k, (ref, _) in _USER_FILES.items() if ref() is None]:
        del _USER_FILES[key]
    _USER_FILES[id(library)] = (weakref.ref(library), found)
    return found


def trust_for(library: RuleLibrary, rule: Rule, model_type: object, *, derived: bool, pin: str = DEFAULT_PIN) -> Trust:
    """The trust label of a prediction made with `rule` from `library`, read from transformers `pin`."""
    user_files = _user_files(library)
    if user_files:
        shown = ", ".join(user_files[:3]) + (f" and {len(user_files) - 3} more" if len(user_files) > 3 else "")
        return Trust("user-rules", f"uses rules from {shown}; not verified here")
    return _hand_written(rule.location.path) if not derived else _derived(str(model_type), pin)


@functools.lru_cache(maxsize=256)
def _hand_written(path: str) -> Trust:
    """The label of shipped rules, naming their family directory."""
    return Trust("verified", f"hand-written rules ({Path(path).parent.name}), verified against the oracle in the tests")


@functools.lru_cache(maxsize=256)
def _derived(model_type: str, pin: str) -> Trust:
    """The label of derived rules, from the survey's record of the model type at that pin."""
    survey = survey_table(pin).get(model_type)
    if survey is None:
        return Trust("derived-unchecked", f"derived from the transformers {pin} source; model type {model_type!r} is not in its survey")
    level = "derived-exact" if survey["exact"] else "derived-unchecked"
    return Trust(level, f"derived from the transformers {pin} source; {survey['checked']}")


def shrunk(reason: str) -> Trust:
    """The label of a verify run that measured a shrunk stand-in of the config."""
    return Trust("verified-shrunk", f"measured a shrunk stand-in, not this config ({reason})")
