"""The interpreter's control records: a call frame, a control-flow exit, a block's flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lm_predictor.suggest.expr import TRUE, Bool
from lm_predictor.suggest.sources import ParsedModule
from lm_predictor.suggest.values import ClassV


@dataclass
class Frame:
    locals: dict
    pm: ParsedModule
    func: str = ""
    self_value: Any = None
    cls: ClassV | None = None
    closure: dict | None = None
    entry: int = 0  # assumption-stack depth at entry


@dataclass
class Exit:
    kind: str  # return | break | continue
    cond: Bool  # relative to the function entry
    value: Any = None
    env: dict | None = None


@dataclass
class Flow:
    exits: list = field(default_factory=list)
    falls: bool = True
    cond: Bool = TRUE  # condition under which control falls through (relative)
