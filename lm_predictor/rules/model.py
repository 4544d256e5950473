"""Compiled rules: a rule's parameters and its metric formulas, parsed and located."""

from __future__ import annotations

from dataclasses import dataclass, field

from lm_predictor.diagnostics import Location
from lm_predictor.formula.nodes import Node
from lm_predictor.formula.parser import parse_formula
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

TRAINING_METRICS = (
    "activation_bytes", "backward_flops", "checkpoint_layers", "checkpoint_tail_flops", "param_tensors", "last_param_numel", "factored_state_numel", "buffer_bytes", "param_bytes",
    "param_dtypes_known", "own_param_tensors", "idle_params",
    "viewed_input_bytes", "backward_known", "train_forward_peak_bytes", "train_backward_peak_bytes", "step_buffer_bytes", "train_peak_known", "train_peak_lower_bound",
)  # fmt: skip
"""Custom metrics that price a training step (lm_predictor/evaluate/train.py), not the forward:
`eval --mode infer` does not report them."""
BYTES_METRICS = ("bytes_read", "bytes_written")
"""The two traffic metrics a rule prices together (or leaves out together)."""

PEAK_METRICS = ("infer_peak_bytes", "infer_leaves_bytes", "infer_peak_known", "past_cache_storage_bytes")
"""Custom metrics the inference peak composes (lm_predictor/evaluate/peak.py): `eval` reports the
composed `peak_bytes`, not these."""


class Formula:
    """One formula: its text, where the text sits in the rule file, and its AST.

    The AST is parsed on first use when the rule was loaded lazily (eval reads whole files but
    evaluates few of their formulas); lint loads eagerly so that every syntax error is reported.
    """

    __slots__ = ("text", "origin", "_node")

    def __init__(self, text: str, node: Node | None, origin: Origin):
        self.text = text
        self.origin = origin
        self._node = node

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = parse_formula(self.text, self.origin)
        return self._node

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Formula | None
    optional: bool
    doc: str
    location: Location
    derived: bool = False
    """A name the rule computes from its other parameters (its default) and no caller or config
    may set (suggest's shared sub-expressions, `let_...`)."""

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
    accepts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """String config fields a root rule reads through derived parameters (`hidden_act__gelu_new`),
    and the values it prices; eval refuses any other value (C001) rather than price it as the
    parameters' defaults."""
    dropped_params: frozenset[str] | None = frozenset()
    """Names of declared parameters dropped for an error; None when the `params:` block itself
    could not be read (then any name may have been declared, and lint reports none as undefined)."""

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]
