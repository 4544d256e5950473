"""Static checks over a loaded library: parameters, calls, types, constants and cycles."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Iterator

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Diagnostic, LmPredictorError
from lm_predictor.formula import nodes as n
from lm_predictor.formula.faults import EvalFault
from lm_predictor.formula.interpreter import fold_constant
from lm_predictor.lint.typecheck import NUMBER, BOOL, infer
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, Rule


@dataclass(frozen=True)
class Site:
    """A formula of a rule: a `requires:` condition, a metric (`metric` set) or a parameter default (`param` set)."""

    rule: Rule
    formula: Formula
    requirement: bool = False
    metric: str | None = None
    param: str | None = None


def sites(rule: Rule) -> Iterator[Site]:
    """Every formula of a rule: its metrics, then its parameter defaults."""
    for metric, formula in rule.metrics.items():
        yield Site(rule, formula, metric=metric)
    for spec in rule.params.values():
        if spec.default is not None:
            yield Site(rule, spec.default, param=spec.name)
    for requirement in rule.requires:
        yield Site(rule, requirement, requirement=True)


def diagnostic_at(formula: Formula, span: n.Span, code: d.Code, **fields: object) -> Diagnostic:
    """A diagnostic located at a span of a formula, in file coordinates."""
    location, line = formula.origin.locate(formula.text, span.start)
    return d.make(code, location, line, **fields)


class RuleChecker:
    """Checks one rule against the library it lives in."""

    def __init__(self, library: RuleLibrary, rule: Rule):
        self.library = library
        self.rule = rule
        self.found: list[Diagnostic] = []
        self.used: set[str] = set()

    def report(self, formula: Formula, span: n.Span, code: d.Code, **fields: object) -> None:
        self.found.append(diagnostic_at(formula, span, code, **fields))

    def run(self) -> list[Diagnostic]:
        for site in sites(self.rule):
            self.check_site(site)
        self.check_unused()
        self.check_default_cycles()
        return self.found

    def check_site(self, site: Site) -> None:
        formula, rule = site.formula, self.rule
        start = len(self.found)
        # a forwarded name that the rule lacks is reported once, as forward-unknown (check_call)
        forwarded = {id(a.value) for c in n.walk(formula.node) if isinstance(c, n.Call) for a in c.args if a.forwarded}
        for node in n.walk(formula.node):
            if isinstance(node, n.Param) and id(node) in forwarded:
                self.used.add(node.name)
            elif isinstance(node, (n.Param, n.Defined)):
                self.check_name(formula, node)
            elif isinstance(node, n.Call):
                self.check_call(site, node)
        result = infer(formula.node, rule, lambda code, span, fields: self.report(formula, span, code, **fields))
        if site.metric is not None and result == BOOL:
            self.report(formula, formula.node.span, d.L_BOOL_ARITHMETIC, what=f"metric '{site.metric}'", op="metric")
        if site.requirement and result == NUMBER:
            self.report(formula, formula.node.span, d.L_NUMBER_CONDITION, what="a requirement", op="requires")
        if site.param is not None:
            expected = BOOL if rule.params[site.param].type == "bool" else NUMBER
            if result not in (expected, "unknown"):
                code = d.L_BOOL_ARITHMETIC if expected == NUMBER else d.L_NUMBER_CONDITION
                self.report(formula, formula.node.span, code, what=f"the default of '{site.param}'", op=rule.params[site.param].type)
        typed = any(x.code in (d.L_BOOL_ARITHMETIC, d.L_NUMBER_CONDITION) for x in self.found[start:])
        self.check_constants(formula, skip_type_faults=typed)

    def check_name(self, formula: Formula, node: n.Param | n.Defined) -> None:
        spec = self.rule.params.get(node.name)
        self.used.add(node.name)
        if spec is None:
            dropped = self.rule.dropped_params  # a name whose declaration had an error is not undefined
            if dropped is not None and node.name not in dropped:
                self.report(formula, node.span, d.L_UNDEFINED_PARAM, name=node.name, rule=self.rule.name)
        elif isinstance(node, n.Defined) and spec.required:
            self.report(formula, node.span, d.L_DEFINED_REQUIRED, name=node.name)
        elif isinstance(node, n.Param) and node.default is not None and spec.default is not None:
            self.report(formula, node.span, d.L_REDUNDANT_DEFAULT, name=node.name)

    def check_call(self, site: Site, node: n.Call) -> None:
        formula = site.formula
        callee = self.library.get(node.callee)
        if callee is None:
            self.report(formula, node.callee_span, d.L_UNKNOWN_RULE, name=node.callee)
            return
        metric = node.metric or site.metric
        if metric is not None and metric not in callee.metrics:
            self.report(formula, node.callee_span, d.L_MISSING_METRIC, callee=callee.name, metric=metric)
        given = set()
        missing = [p for p, spec in callee.params.items() if spec.required and p not in {a.name for a in node.args}]
        for arg in node.args:
            given.add(arg.name)
            if arg.name not in callee.params:
                diag = diagnostic_at(formula, arg.span, d.L_UNKNOWN_KEYWORD, callee=callee.name, name=arg.name)
                close = difflib.get_close_matches(arg.name, missing, n=1, cutoff=0.75)
                if close:  # a misspelt required parameter: one diagnostic, not also L005 for it
                    given.add(close[0])
                    diag = replace(diag, notes=(f"did you mean '{close[0]}'?",))
                self.found.append(diag)
            elif callee.params[arg.name].derived:
                self.report(formula, arg.span, d.L_BINDS_DERIVED, callee=callee.name, name=arg.name)
            elif arg.forwarded and arg.name not in self.rule.params:
                self.report(formula, arg.span, d.L_FORWARD_MISSING, name=arg.name, rule=self.rule.name)
            else:
                self.check_argument_type(formula, callee, arg)
        if node.forward_all:
            forwarded = {p for p, spec in callee.params.items() if p in self.rule.params and p not in given and not spec.derived}
            self.used.update(forwarded)
            given |= forwarded
        for name, spec in callee.params.items():
            if spec.required and name not in given:
                self.report(formula, node.callee_span, d.L_MISSING_ARGUMENT, callee=callee.name, name=name)

    def check_argument_type(self, formula: Formula, callee: Rule, arg: n.Argument) -> None:
        expected = BOOL if callee.params[arg.name].type == "bool" else NUMBER
        got = infer(arg.value, self.rule, lambda *_: None)
        if got == BOOL and expected == NUMBER:
            self.report(formula, arg.span, d.L_BOOL_ARITHMETIC, what=f"argument '{arg.name}'", op=callee.params[arg.name].type)
        elif got == NUMBER and expected == BOOL:
            self.report(formula, arg.span, d.L_NUMBER_CONDITION, what=f"argument '{arg.name}'", op="bool")

    def check_constants(self, formula: Formula, *, skip_type_faults: bool = False) -> None:
        """Evaluate call- and parameter-free subexpressions: their faults are visible now.

        A type fault the static type check already reported (L007/L008) is not reported again."""
        try:
            fold_constant(formula.node, self.rule.name)
        except EvalFault as fault:
            if not (skip_type_faults and fault.code is d.E_TYPE):
                self.report(formula, fault.span, fault.code, **fault.fields)

    def check_unused(self) -> None:
        if not self.rule.complete:
            return
        for name, spec in self.rule.params.items():
            if name not in self.used:
                self.found.append(d.make(d.L_UNUSED_PARAM, spec.location, self._line(spec.location), name=name, rule=self.rule.name))

    def _line(self, location: d.Location) -> str | None:
        lines = self.library.files.get(location.path, "").split("\n")
        return lines[location.line - 1] if 0 < location.line <= len(lines) else None

    def check_default_cycles(self) -> None:
        graph = {
            name: [p.name for p in n.walk(spec.default.node) if isinstance(p, n.Param) and p.name in self.rule.params]
            for name, spec in self.rule.params.items()
            if spec.default is not None
        }
        for cycle in find_cycles(graph):
            spec = self.rule.params[cycle[0]]
            self.found.append(d.make(d.L_DEFAULT_CYCLE, spec.location, self._line(spec.location), path=" -> ".join(cycle)))


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Elementary cycles found by iterative DFS, each reported once as a closed path."""
    state: dict[str, int] = {}  # 1: on stack, 2: done
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for root in sorted(graph):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(graph.get(nxt, ()))))
    return cycles


def call_graph(library: RuleLibrary) -> tuple[dict[str, list[str]], dict[tuple[str, str], tuple[Formula, n.Call]]]:
    """Rule -> callee names (resolved through aliases), with one call site per edge."""
    graph: dict[str, list[str]] = {}
    sites_by_edge: dict[tuple[str, str], tuple[Formula, n.Call]] = {}
    for rule in library:
        edges: list[str] = []
        for site in sites(rule):
            for node in n.walk(site.formula.node):
                if isinstance(node, n.Call):
                    callee = library.get(node.callee)
                    if callee is not None:
                        if callee.name not in edges:
                            edges.append(callee.name)
                        sites_by_edge.setdefault((rule.name, callee.name), (site.formula, node))
        graph[rule.name] = edges
    return graph, sites_by_edge


def check_call_cycles(library: RuleLibrary) -> list[Diagnostic]:
    """One diagnostic per call cycle, at the call that closes it, with the whole path."""
    graph, edge_sites = call_graph(library)
    found = []
    for cycle in find_cycles(graph):
        formula, node = edge_sites[(cycle[-2], cycle[-1])]
        found.append(diagnostic_at(formula, node.callee_span, d.L_CALL_CYCLE, path=" -> ".join(cycle)))
    return found


def check_library(library: RuleLibrary) -> list[Diagnostic]:
    """Every static diagnostic for a library (schema diagnostics are already on it)."""
    from lm_predictor.engine.frame import ensure_recursion_headroom

    ensure_recursion_headroom()  # typing and constant folding recurse over deep formulas
    found = list(library.diagnostics)
    for rule in library:
        found.extend(RuleChecker(library, rule).run())
    found.extend(check_call_cycles(library))
    return found


__all__ = ["check_library", "LmPredictorError"]
