"""A set of rules loaded from files: lookup by defining name or alias, duplicates refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Diagnostic, LmPredictorError, Location
from lm_predictor.rules.model import Rule
from lm_predictor.rules.schema import read_rules
from lm_predictor.rules.yaml_loader import load_yaml, read_text

RULE_SUFFIXES = (".yaml", ".yml")


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files under the given files or directories, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


@dataclass
class RuleLibrary:
    """Rules by defining name; aliases resolve to the same rule."""

    rules: dict[str, Rule] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> text, for diagnostics
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def get(self, name: str) -> Rule | None:
        rule = self.rules.get(name)
        if rule is None and name in self.aliases:
            rule = self.rules[self.aliases[name]]
        return rule

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules.values())

    def __len__(self) -> int:
        return len(self.rules)

    def _where(self, name: str) -> Location | None:
        if name in self.rules:
            return self.rules[name].location
        if name in self.aliases:
            return self.rules[self.aliases[name]].alias_locations.get(name)
        return None

    def add(self, rule: Rule) -> None:
        """Add a rule; a name or alias already taken is a duplicate-rule diagnostic."""
        for name, location in [(rule.name, rule.location), *rule.alias_locations.items()]:
            other = self._where(name)
            if other is not None:
                line = self.files.get(location.path, "").split("\n")
                source_line = line[location.line - 1] if 0 < location.line <= len(line) else None
                self.diagnostics.append(d.make(d.S_DUPLICATE_RULE, location, source_line, name=name, other=other))
                return
        self.rules[rule.name] = rule
        for alias in rule.aliases:
            if alias != rule.name:
                self.aliases[alias] = rule.name

    def load_file(self, path: str | Path, *, lazy: bool = False) -> None:
        """Read one rule file into the library, collecting its diagnostics (lazy: parse formulas on use)."""
        try:
            source = read_text(str(path))
            self.files[source.path] = source.text
            rules, diags = read_rules(source, load_yaml(source), lazy=lazy)
        except LmPredictorError as err:
            self.diagnostics.extend(err.diagnostics)
            return
        self.diagnostics.extend(diags)
        for rule in rules:
            self.add(rule)

    def merged(self, other: "RuleLibrary") -> "RuleLibrary":
        """A new library with `other`'s rules added after this one's."""
        result = RuleLibrary(dict(self.rules), dict(self.aliases), dict(self.files), list(self.diagnostics))
        result.files.update(other.files)
        for rule in other:
            result.add(rule)
        return result


def overlay(base: RuleLibrary, top: RuleLibrary) -> tuple[RuleLibrary, list[Rule]]:
    """(base's rules except those `top` redefines by name or alias, then top's; the replaced rules)."""
    taken = set(top.rules) | set(top.aliases)
    out = RuleLibrary(files={**base.files, **top.files})
    replaced = []
    for rule in base:
        if rule.name in taken or any(a in taken for a in rule.aliases):
            replaced.append(rule)
            continue
        out.add(rule)
    for rule in top:
        out.add(rule)
    return out, replaced


@dataclass(frozen=True, eq=False)
class UserRules:
    """Rule files (`--rules`) layered over the shipped library of the pin that reads the config.

    The shipped hand rules hold only for the pin they were verified for, so the layering happens
    once the pin is known (`predict`), never over a fixed library."""

    top: RuleLibrary


def load_library(paths: Iterable[str | Path], *, lazy: bool = False) -> RuleLibrary:
    """Load every rule file under `paths` (files or directories); see RuleLibrary.load_file."""
    library = RuleLibrary()
    for path in rule_files(paths):
        library.load_file(path, lazy=lazy)
    return library
