"""Compiled rules: a rule's parameters and its metric formulas, parsed and located."""

from __future__ import annotations

from dataclasses import dataclass, field

from lm_predictor.diagnostics import Location
from lm_predictor.formula.nodes import Node
from lm_predictor.formula.source import Origin

PARAM_TYPES = ("int", "float", "number", "bool")

STANDARD_METRICS = (
    "flops",
    "param_count",
    "bytes_read",
    "bytes_written",
    "kv_cache_bytes",
    "intermediate_bytes",
    "pointwise_ops",
)
"""Metrics a rule may define at its top level; others go under `metrics:`."""


@dataclass(frozen=True)
class Formula:
    """One formula: its text, its AST, and where its text sits in the rule file."""

    text: str
    node: Node
    origin: Origin


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Formula | None
    optional: bool
    doc: str
    location: Location

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional


@dataclass(frozen=True)
class Rule:
    """The cost model of one module or op, keyed by its defining path."""

    name: str
    aliases: tuple[str, ...]
    doc: str
    params: dict[str, ParamSpec]
    metrics: dict[str, Formula]
    location: Location
    source: str = ""
    alias_locations: dict[str, Location] = field(default_factory=dict)
    complete: bool = True
    """False when a parameter or formula of the rule was dropped for an error (lint then
    cannot tell which parameters the lost text used, so it does not report them as unused)."""
    requires: tuple[Formula, ...] = ()
    """Conditions (bool formulas) the parameters must meet; the engine checks them before any
    metric of the rule is evaluated and raises E014 requirement-failed when one is false."""

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]
