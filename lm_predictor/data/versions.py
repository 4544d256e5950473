"""The pinned transformers versions, and which one reads a config (docs/transformers-versions.md).

Policy, first match wins:
1. an explicit choice (`--transformers`, `predict(transformers=...)`) must name a pin;
2. the config's `transformers_version`: 4.x -> 4.56.0, 5.x -> 5.23.0; older than 4 -> 4.56.0 (the
   oldest pin reads old configs, as any later transformers does); newer than 5 -> 5.23.0 (the
   newest pin), said in the output;
3. no `transformers_version` -> 4.56.0, the original pin.
A value that is not a version is a C050 error. The chosen pin never falls back to the other one:
a model_type only the other pin knows is a C051 error naming that pin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.resources import rules_dir


@dataclass(frozen=True)
class Pin:
    """One pinned transformers release and where its data and sources live."""

    version: str
    table_file: str  # under lm_predictor/data/
    source_name: str  # third_party/<source_name>/transformers (lmpredict vendor)
    venv: str  # the venv whose transformers is this release (the oracle of `verify`)
    checkpoint_reentrant: bool = True  # gradient_checkpointing_enable()'s default `use_reentrant` (modeling_utils.py)


PINS: dict[str, Pin] = {
    "4.56.0": Pin("4.56.0", "transformers_configs.json", "transformers", ".venv"),
    # 5.23 checkpoints with use_reentrant=False (_activation_checkpointing_enable); 4.56 with True
    "5.23.0": Pin("5.23.0", "transformers_configs-5.23.0.json", "transformers-5.23.0", ".venv-tf5", checkpoint_reentrant=False),
}
DEFAULT_PIN = "4.56.0"
_BY_MAJOR = {4: "4.56.0", 5: "5.23.0"}
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?(?:[.\-+]?[0-9A-Za-z.+\-]*)?")


@dataclass(frozen=True)
class PinChoice:
    """The pin that reads a config, and why (shown in eval's header and JSON)."""

    version: str
    reason: str


def choose_pin(raw: dict, override: str | None = None) -> PinChoice:
    """The pin for a raw config.json dict under the policy of this module's docstring."""
    if override is not None:
        if override not in PINS:
            raise _invalid(f"transformers {override!r} is not pinned; choose one of {', '.join(PINS)}")
        return PinChoice(override, "chosen explicitly")
    written = raw.get("transformers_version")
    if written is None:
        return PinChoice(DEFAULT_PIN, "config has no transformers_version")
    match = _VERSION.fullmatch(written) if isinstance(written, str) else None
    if match is None:
        raise _invalid(f"config field 'transformers_version' must be a version such as \"4.56.0\", got {written!r}; pass --transformers {'|'.join(PINS)}")
    major = int(match.group(1))
    if major in _BY_MAJOR:
        return PinChoice(_BY_MAJOR[major], f"config written by transformers {written}")
    if major < min(_BY_MAJOR):
        return PinChoice(_BY_MAJOR[min(_BY_MAJOR)], f"config written by transformers {written}, older than every pin")
    return PinChoice(_BY_MAJOR[max(_BY_MAJOR)], f"config written by transformers {written}, newer than every pin")


def _invalid(detail: str) -> LmPredictorError:
    return LmPredictorError(d.make(d.C_TRANSFORMERS_VERSION, None, detail=detail))


def other_pins(version: str) -> list[str]:
    """Every pin but `version`."""
    return [v for v in PINS if v != version]


_ACTIVE: ContextVar[str] = ContextVar("lmpredict_transformers_pin", default=DEFAULT_PIN)


def active_pin() -> str:
    """The pin table lookups use when not given one: DEFAULT_PIN outside `reading()`."""
    return _ACTIVE.get()


@contextmanager
def reading(version: str) -> Iterator[None]:
    """Within the block, table lookups without an explicit version read `version`'s table."""
    if version not in PINS:
        raise ValueError(f"not a pinned transformers version: {version!r}")
    token = _ACTIVE.set(version)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def rule_paths(version: str) -> tuple[Path, ...]:
    """The hand-written rules that hold for a pin: all of rules/ for 4.56.0 (they were written
    against it); for another pin, only the torch rules and the transformers helpers that pin
    shares with 4.56.0, so every model rule is derived from that pin's own source."""
    root = rules_dir()
    if version == DEFAULT_PIN:
        return (root,)
    return (root / "torch", root / "transformers" / "activations.yaml", root / "transformers" / "pytorch_utils.yaml")


def pin_of(config: dict) -> str:
    """The pin a resolved config was read with (resolve() records it as transformers_version)."""
    version = config.get("transformers_version")
    return version if version in PINS else active_pin()
