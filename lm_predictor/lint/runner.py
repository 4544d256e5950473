"""Lint a set of rule paths in the context of the shipped library."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lm_predictor.diagnostics import Diagnostic, Severity
from lm_predictor.formula import nodes as n
from lm_predictor.lint.checks import check_library, sites
from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import RuleLibrary, rule_files
from lm_predictor.rules.model import Rule


@dataclass(frozen=True)
class LintResult:
    diagnostics: tuple[Diagnostic, ...]
    files: int

    @property
    def errors(self) -> int:
        return sum(1 for x in self.diagnostics if x.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for x in self.diagnostics if x.severity is Severity.WARNING)


def _sort_key(diag: Diagnostic) -> tuple:
    loc = diag.location
    return (loc.path if loc else "", loc.line if loc else 0, loc.column if loc else 0, diag.code.code)


def _calls_outside(library: RuleLibrary) -> bool:
    """Whether any formula calls a rule the library does not define (by name or alias).

    Loading the shipped library costs most of a lint run; files that call nothing outside
    themselves (including every file that fails to load) give the same result without it.
    """
    return any(
        isinstance(node, n.Call) and library.get(node.callee) is None
        for rule in library
        for site in sites(rule)
        for node in n.walk(site.formula.node)
    )


def _reached(targets: RuleLibrary, context: RuleLibrary) -> list[Rule]:
    """The shipped rules the targets' formulas reach through calls: only they can change what lint
    reports in the target files (a call's parameters and types, a cycle through a target). Parsing
    the whole library instead cost about 0.9 s per lint of a file that calls one shipped rule."""
    found: dict[str, Rule] = {}
    todo = list(targets)
    while todo:
        for site in sites(todo.pop()):
            for node in n.walk(site.formula.node):
                if isinstance(node, n.Call) and targets.get(node.callee) is None:
                    callee = context.get(node.callee)
                    if callee is not None and callee.name not in found:
                        found[callee.name] = callee
                        todo.append(callee)
    return list(found.values())


def lint_paths(paths: Sequence[str | Path], *, with_library: bool = True) -> LintResult:
    """Diagnostics for the rule files under `paths`; the shipped library resolves calls."""
    targets = rule_files(paths)
    target_set = {p.resolve() for p in targets}
    library = RuleLibrary()
    for path in targets:
        library.load_file(path)
    if with_library and _calls_outside(library):  # only then can the shipped rules matter
        context = RuleLibrary()
        for path in rule_files([rules_dir()]):
            if path.resolve() not in target_set:
                context.load_file(path, lazy=True)  # formulas parse when a reached rule is checked
        context.diagnostics.clear()  # the shipped library is linted on its own
        for rule in _reached(library, context):
            if library.get(rule.name) is None and not any(library.get(a) for a in rule.aliases):
                library.add(rule)
        library.files.update(context.files)
    shown = {str(p) for p in targets}
    found = [x for x in check_library(library) if x.location is None or x.location.path in shown]
    unique = list(dict.fromkeys(found))
    return LintResult(tuple(sorted(unique, key=_sort_key)), len(targets))
