"""Fixtures for formula tests: run one formula through every backend in a small fixed library."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine import evaluate
from lm_predictor.engine.frame import compiled_runner
from lm_predictor.engine.records import CallRecord
from lm_predictor.formula.interpreter import interpreted_runner
from lm_predictor.rules.library import RuleLibrary

RUNNERS = {"compiled": compiled_runner, "interpreted": interpreted_runner}

# The rule under test is `t.F`; its `flops` is the formula of the row. Every parameter is
# optional so that each row binds only what it uses; d1, d2, d3 and dflag have declared
# defaults (a literal, a formula over other parameters, a formula calling a rule, a bool).
F_PARAMS = """\
      a: {type: int, optional: true}
      b: {type: int, optional: true}
      c: {type: int, optional: true}
      n: {type: int, optional: true}
      tokens: {type: int, optional: true}
      x: {type: float, optional: true}
      y: {type: number, optional: true}
      flag: {type: bool, optional: true}
      d1: {type: int, default: 7}
      d2: {type: int, default: "${a} * 2 + ${d1}"}
      d3: {type: int, default: "{t.Sq}(a=4)"}
      dflag: {type: bool, default: true}
"""

HELPERS = """\
  t.Sq:
    aliases: [t.Square]
    params:
      a: {type: int, default: 3}
    flops: ${a} * ${a}
    param_count: ${a}
  t.Lin:
    params:
      i: int
      o: int
      bias: {type: bool, default: true}
      tokens: {type: int, optional: true}
    flops: 2 * ${tokens} * ${i} * ${o}
    param_count: ${i} * ${o} + (if ${bias} then ${o} else 0)
  t.Tok:
    params:
      n: int
      a: {type: int, optional: true}
    flops: if defined(a) then ${n} * ${a} else ${n}
  t.Dflt:
    params:
      d1: {type: int, default: 100}
    flops: ${d1}
  t.Two:
    params:
      a: int
    flops: "{t.Sq}(a) + {t.Sq}(a=${a} + 1)"
"""


def rule_text(formula: str, metric: str = "flops") -> str:
    return f"rules:\n  t.F:\n    params:\n{F_PARAMS}    {metric}: {json.dumps(formula)}\n{HELPERS}"


@dataclass(frozen=True)
class Outcome:
    """A backend's result: a value (with its exact type) or an error code."""

    value: Any = None
    code: str | None = None
    tree: Any = None

    def key(self) -> tuple:
        return (self.code, type(self.value).__name__, self.value, self.tree)


def tree_shape(record: CallRecord | None) -> Any:
    if record is None:
        return None
    return (record.label, record.rule, record.metric, tuple(sorted(record.bindings.items())), record.value,
            record.count, tuple(tree_shape(c) for c in record.children))


class FormulaBench:
    """Libraries keyed by formula text, written once under a temporary directory."""

    def __init__(self, root: Path):
        self.root = root
        self.libraries: dict[tuple[str, str], RuleLibrary] = {}

    def library(self, formula: str, metric: str = "flops") -> RuleLibrary:
        key = (formula, metric)
        if key not in self.libraries:
            path = self.root / f"f{len(self.libraries)}.yaml"
            path.write_text(rule_text(formula, metric), encoding="utf-8")
            library = RuleLibrary()
            library.load_file(path)
            assert not library.diagnostics, "\n".join(x.render() for x in library.diagnostics)
            self.libraries[key] = library
        return self.libraries[key]

    def run(self, formula: str, bindings: dict, *, metric: str = "flops", rule: str = "t.F") -> dict[str, Outcome]:
        library = self.library(formula, metric)
        out = {}
        for name, runner in RUNNERS.items():
            try:
                result = evaluate(library, rule, metric, dict(bindings), trace=True, runner=runner)
                out[name] = Outcome(result.value, None, tree_shape(result.tree))
            except LmPredictorError as err:
                out[name] = Outcome(None, err.diagnostic.code.code)
        return out

    def agreed(self, formula: str, bindings: dict, **kw: Any) -> Outcome:
        """The outcome every backend agrees on (fails when they differ)."""
        outcomes = self.run(formula, bindings, **kw)
        # repr, not ==: 1, 1.0 and True are equal in Python but not in the formula language
        keys = {name: repr(o.key()) for name, o in outcomes.items()}
        assert len(set(keys.values())) == 1, f"backends disagree on {formula!r}: {keys}"
        return outcomes["compiled"]


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory) -> FormulaBench:
    return FormulaBench(tmp_path_factory.mktemp("formulas"))
