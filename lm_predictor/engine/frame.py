"""Evaluation frames: one rule invocation's bindings, lazily computed defaults, and calls."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.records import CallRecord
from lm_predictor.formula import nodes as n
from lm_predictor.formula.compiler import compile_text
from lm_predictor.formula.faults import EvalFault
from lm_predictor.formula.values import Value, is_number, type_name
from lm_predictor.limits import MAX_CALL_DEPTH, MAX_CALLS, MAX_NESTING_DEPTH
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, ParamSpec, Rule

Runner = Callable[[Formula, "Frame"], Value]


def compiled_runner(formula: Formula, frame: "Frame") -> Value:
    """Run a formula through the compiled-closure backend (template cache by text)."""
    return compile_text(formula.text)(frame)


def type_matches(expected: str, value: Value) -> bool:
    """Whether a value fits a declared parameter type."""
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return is_number(value)  # float and number accept any number


def _memo_key(rule: str, metric: str, bindings: dict[str, Value]) -> tuple:
    # type_name in the key: True == 1 == 1.0 in Python, but not in the formula language
    return (rule, metric, tuple(sorted((k, type_name(v), v) for k, v in bindings.items())))


@dataclass
class EvaluationState:
    """Per-evaluation state: memo table, call budget, active call chain. Never shared."""

    library: RuleLibrary
    runner: Runner
    trace: bool
    memo: dict[tuple, tuple[Value, list[CallRecord] | None]] = field(default_factory=dict)
    calls: int = 0
    active: list[tuple] = field(default_factory=list)
    max_calls: int = MAX_CALLS
    """Calls this evaluation may make (less than MAX_CALLS when a caller shares one budget)."""

    def run(self, formula: Formula, frame: "Frame") -> Value:
        """Run one formula in a frame, locating its faults in the rule file."""
        try:
            return self.runner(formula, frame)
        except EvalFault as fault:
            location, line = formula.origin.locate(formula.text, fault.span.start)
            fields = {"rule": frame.rule.name, **fault.fields}
            raise LmPredictorError(d.make(fault.code, location, line, **fields)) from None

    def evaluate_rule(self, rule: Rule, metric: str, bindings: dict[str, Value], depth: int, where: object) -> tuple[Value, list[CallRecord] | None]:
        """A rule's metric for checked bindings, memoised within this evaluation."""
        formula = rule.metrics.get(metric)
        if formula is None:
            raise where_fault(where, d.E_MISSING_METRIC, rule=rule.name, metric=metric)
        key = _memo_key(rule.name, metric, bindings)
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        if key in self.active:
            chain = [k[0] for k in self.active[self.active.index(key):]] + [rule.name]
            raise where_fault(where, d.L_CALL_CYCLE, path=" -> ".join(chain))
        if depth > MAX_CALL_DEPTH:
            chain = " -> ".join(k[0] for k in self.active[-3:])
            raise where_fault(where, d.E_CALL_DEPTH, limit=MAX_CALL_DEPTH, path=f"... -> {chain} -> {rule.name}")
        self.calls += 1
        if self.calls > self.max_calls:
            raise where_fault(where, d.E_CALL_BUDGET, limit=MAX_CALLS)
        frame = Frame(rule, bindings, metric, self, depth, [] if self.trace else None)
        self.active.append(key)
        try:
            if rule.requires:
                self.check_requirements(rule, frame)
            value = self.run(formula, frame)
        finally:
            self.active.pop()
        result = (value, frame.records)
        self.memo[key] = result
        return result

    def check_requirements(self, rule: Rule, frame: "Frame") -> None:
        """Each `requires:` condition must be true, before any metric formula runs."""
        records, frame.records = frame.records, None  # calls in requirements are not metric terms
        try:
            for requirement in rule.requires:
                holds = self.run(requirement, frame)
                if holds is True:
                    continue
                location, line = requirement.origin.locate(requirement.text, 0)
                if not isinstance(holds, bool):
                    detail = f"a requirement of {rule.name} must be a condition, got {type_name(holds)}"
                    raise LmPredictorError(d.make(d.E_TYPE, location, line, detail=detail))
                text = " ".join(requirement.text.split())
                text = text if len(text) <= 120 else text[:117] + "..."
                raise LmPredictorError(d.make(d.E_REQUIREMENT, location, line, rule=rule.name, requirement=f"`{text}`", values=_requirement_values(requirement, frame)))
        finally:
            frame.records = records


def _requirement_values(requirement: Formula, frame: "Frame") -> str:
    """` (name=value, ...)` for the parameters a requirement mentions, as far as they have values."""
    names = list(dict.fromkeys(x.name for x in n.walk(requirement.node) if isinstance(x, (n.Param, n.Defined))))
    tested = {x.name for x in n.walk(requirement.node) if isinstance(x, n.Defined)}
    shown = []
    for name in names[:8]:
        if frame.is_given(name):
            shown.append(f"{name}={_show(frame.given[name])}")
        elif frame.has_value(name) and name not in tested:
            try:
                shown.append(f"{name}={_show(frame.lookup(name, requirement.node.span))} (default)")
            except (EvalFault, LmPredictorError):
                pass
        else:
            shown.append(f"{name} not given")
    return f" ({', '.join(shown)})" if shown else ""


def _show(value: Value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def where_fault(where: object, code: d.Code, **fields: object) -> Exception:
    """A fault at a call site span (EvalFault) or, at the root, a plain diagnostic error."""
    if isinstance(where, n.Span):
        return EvalFault(code, where, dict(fields))
    return LmPredictorError(d.make(code, None, **fields))


def check_bindings(rule: Rule, bindings: dict[str, Value], where: object) -> None:
    """Refuse unknown names, wrong types and missing required parameters."""
    for name, value in bindings.items():
        spec = rule.params.get(name)
        if spec is None:
            raise where_fault(where, d.E_UNKNOWN_KEYWORD, rule=rule.name, name=name)
        if spec.derived:
            raise where_fault(where, d.E_DERIVED_BOUND, rule=rule.name, name=name)
        if not type_matches(spec.type, value):
            raise where_fault(where, d.E_ARG_TYPE, rule=rule.name, name=name, expected=spec.type, got=type_name(value))
        if spec.type == "int" and isinstance(value, Fraction):
            raise where_fault(where, d.E_ARG_TYPE, rule=rule.name, name=name, expected="int", got="fraction")
    for name, spec in rule.params.items():
        if spec.required and name not in bindings:
            raise where_fault(where, d.E_MISSING_ARGUMENT, rule=rule.name, name=name)


class Frame:
    """One invocation of a rule's metric; what compiled formulas see as `frame`."""

    __slots__ = ("rule", "rule_name", "given", "metric", "state", "depth", "records", "_defaults", "_resolving")

    def __init__(self, rule: Rule, given: dict[str, Value], metric: str, state: EvaluationState, depth: int, records: list[CallRecord] | None):
        self.rule = rule
        self.rule_name = rule.name
        self.given = given
        self.metric = metric
        self.state = state
        self.depth = depth
        self.records = records
        self._defaults: dict[str, Value] = {}
        self._resolving: list[str] = []

    def is_given(self, name: str) -> bool:
        return name in self.given

    def has_value(self, name: str) -> bool:
        if name in self.given:
            return True
        spec = self.rule.params.get(name)
        return spec is not None and spec.default is not None

    def lookup(self, name: str, span: n.Span) -> Value:
        """A parameter's value: given, else its declared default, else a missing-param fault."""
        if name in self.given:
            return self.given[name]
        spec = self.rule.params.get(name)
        if spec is None or spec.default is None:
            raise EvalFault(d.E_MISSING_PARAM, span, {"name": name, "rule": self.rule_name})
        return self._default(spec, span)

    def _default(self, spec: ParamSpec, span: n.Span) -> Value:
        if spec.name in self._defaults:
            return self._defaults[spec.name]
        if spec.name in self._resolving:
            chain = self._resolving[self._resolving.index(spec.name):] + [spec.name]
            raise EvalFault(d.L_DEFAULT_CYCLE, span, {"path": " -> ".join(chain)})
        if self.depth + len(self._resolving) + 1 > MAX_CALL_DEPTH:
            # a default evaluated inside a default nests like a call: it shares the depth budget
            chain = " -> ".join([*self._resolving, spec.name][-4:])
            raise EvalFault(d.E_CALL_DEPTH, span, {"limit": MAX_CALL_DEPTH, "path": f"... -> {self.rule_name} (defaults {chain})"})
        self._resolving.append(spec.name)
        records, self.records = self.records, None  # calls inside defaults are not metric terms
        try:
            assert spec.default is not None
            value = self.state.run(spec.default, self)
        finally:
            self.records = records
            self._resolving.pop()
        if not type_matches(spec.type, value) or (spec.type == "int" and isinstance(value, Fraction)):
            raise EvalFault(d.E_ARG_TYPE, span, {"rule": self.rule_name, "name": spec.name, "expected": spec.type, "got": type_name(value)})
        self._defaults[spec.name] = value
        return value

    def call(self, node: n.Call, values: dict[str, Value]) -> Value:
        """Evaluate a nested rule call at `node` with already-evaluated keyword values."""
        state = self.state
        callee = state.library.get(node.callee)
        if callee is None:
            raise EvalFault(d.E_UNKNOWN_RULE, node.callee_span, {"name": node.callee})
        if node.forward_all:
            for name, spec in callee.params.items():
                if name not in values and not spec.derived and self.has_value(name):
                    values[name] = self.lookup(name, node.span)
        check_bindings(callee, values, node.span)
        metric = node.metric or self.metric
        depth = self.depth + len(self._resolving) + 1  # a call from a default nests below the default
        value, children = state.evaluate_rule(callee, metric, values, depth, node.callee_span)
        if self.records is not None:
            self.records.append(CallRecord(node.display_label, callee.name, metric, values, value, list(children or [])))
        return value


# Python frames one level of formula nesting may take (measured worst case: 4, for a built-in
# call in the compiled backend and a comparison in the interpreter), and per rule call or
# default (engine frames between two formulas).
FRAMES_PER_NESTING_LEVEL = 6
FRAMES_PER_CALL = 60
RECURSION_HEADROOM = (MAX_CALL_DEPTH + 2) * (FRAMES_PER_NESTING_LEVEL * MAX_NESTING_DEPTH + FRAMES_PER_CALL) + 5_000
"""Enough frames for a formula at MAX_NESTING_DEPTH at every one of MAX_CALL_DEPTH levels.

Formula evaluation recurses (closures call closures); calls and defaults nest evaluations, and
both count against MAX_CALL_DEPTH. The backends avoid C-level recursion (no generators driven by
built-ins), so on CPython >= 3.11 these frames cost heap memory, not C stack."""


def ensure_recursion_headroom(minimum: int = RECURSION_HEADROOM) -> None:
    """Deep formulas times deep call chains need more than Python's default 1000 frames."""
    if sys.getrecursionlimit() < minimum:
        sys.setrecursionlimit(minimum)


