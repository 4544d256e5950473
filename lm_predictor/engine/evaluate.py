"""Evaluate a rule's metric: the entry point every backend and every caller goes through."""

from __future__ import annotations

from dataclasses import dataclass

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.frame import EvaluationState, Runner, check_bindings, compiled_runner, ensure_recursion_headroom
from lm_predictor.engine.records import CallRecord
from lm_predictor.formula.values import Fraction, Value
from lm_predictor.limits import MAX_CALLS, MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary


@dataclass(frozen=True)
class Evaluation:
    value: Value
    tree: CallRecord | None
    calls: int = 0
    """Rule invocations made (after memoisation), counted against the call budget."""


def evaluate(
    library: RuleLibrary,
    rule_name: str,
    metric: str,
    bindings: dict[str, Value],
    *,
    trace: bool = False,
    runner: Runner = compiled_runner,
    max_calls: int = MAX_CALLS,
) -> Evaluation:
    """Evaluate `metric` of `rule_name` with `bindings`; with `trace`, also the call tree.

    `max_calls` (at most MAX_CALLS) lets a caller that evaluates several metrics share one budget."""
    rule = library.get(rule_name)
    if rule is None:
        raise LmPredictorError(d.make(d.E_UNKNOWN_RULE, None, name=rule_name))
    bindings = dict(bindings)
    check_bindings(rule, bindings, None)
    for name, value in bindings.items():  # values computed by formulas are bounded as they are made
        if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
            bits = max(value.numerator.bit_length(), value.denominator.bit_length())
            if bits > MAX_INT_BITS:
                raise LmPredictorError(d.make(d.E_INT_TOO_LARGE, None, what=f"parameter '{name}' of {rule.name}", limit=MAX_INT_BITS))
    ensure_recursion_headroom()
    state = EvaluationState(library, runner, trace, max_calls=min(max_calls, MAX_CALLS))
    value, children = state.evaluate_rule(rule, metric, bindings, 0, None)
    tree = CallRecord(rule.short_name, rule.name, metric, bindings, value, list(children or [])) if trace else None
    return Evaluation(value, tree, state.calls)
