"""Property: every formula either evaluates or raises lmpredict's own LmPredictorError.

No other exception may escape the parser, the linter or either evaluation backend: not
RecursionError, not ZeroDivisionError, OverflowError, MemoryError, TypeError, AttributeError.
Both backends (compiled closures and the reference interpreter) must also agree: the same value
of the same type, or the same diagnostic code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lm_predictor.diagnostics import LmPredictorError, Location
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.engine.frame import compiled_runner
from lm_predictor.formula.interpreter import interpreted_runner
from lm_predictor.formula.parser import _lark, parse_formula
from lm_predictor.formula.source import FORMULA_ORIGIN
from lm_predictor.formula.values import type_name
from lm_predictor.lint.checks import check_library
from lm_predictor.resources import grammar_path
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, ParamSpec, Rule

from strategies import formulas, near_formula_text  # noqa: E402  (tests/fuzz is on sys.path)

# the engine raises the recursion limit for deep formulas (ensure_recursion_headroom); hypothesis notes it
pytestmark = pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")


EXAMPLES = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUNNERS = {"compiled": compiled_runner, "interpreted": interpreted_runner}
HERE = Location("<fuzz>", 1, 1)


def _formula(text: str) -> Formula:
    return Formula(text, parse_formula(text), FORMULA_ORIGIN)


def _param(name: str, type_: str, default: str | None = None, optional: bool = False) -> ParamSpec:
    return ParamSpec(name, type_, _formula(default) if default is not None else None, optional, "", HERE)


def _rule(name: str, params: list[ParamSpec], metrics: dict[str, str], aliases: tuple[str, ...] = (), requires: tuple[str, ...] = ()) -> Rule:
    return Rule(
        name, aliases, "", {p.name: p for p in params}, {m: _formula(t) for m, t in metrics.items()}, HERE,
        alias_locations={a: HERE for a in aliases}, requires=tuple(_formula(t) for t in requires),
    )


def fuzz_library(text: str) -> RuleLibrary:
    """fz.R computes `text` for flops and param_count; fz.Leaf and fz.Pair are there to be called."""
    library = RuleLibrary()
    library.add(_rule("fz.R", [
        _param("x", "int"), _param("y", "int", "2"), _param("n", "int", "${x} + 1"), _param("f", "float", "0.5"),
        _param("b", "bool", "true"), _param("q", "int", optional=True),
    ], {"flops": text, "param_count": text}, requires=("$y != 13",)))
    library.add(_rule("fz.Leaf", [_param("x", "int", "1"), _param("b", "bool", "false")], {"flops": "$x", "param_count": "2 * $x"}, aliases=("fz.LeafAlias",)))
    library.add(_rule("fz.Pair", [_param("x", "int"), _param("y", "int", "2")], {"flops": "{fz.Leaf}(x=$x) + $y", "param_count": "$y"}))
    return library


INTS = st.one_of(st.integers(-3, 8), st.sampled_from([0, 1, 13, 4096, 2**62, 2**4000, -(2**4000)]))


@st.composite
def bindings(draw: st.DrawFn) -> dict:
    values = {"x": draw(INTS)}
    for name, strategy in {"y": INTS, "n": INTS, "f": st.floats(-1e6, 1e6, allow_nan=False), "b": st.booleans(), "q": INTS}.items():
        if draw(st.booleans()):
            values[name] = draw(strategy)
    if draw(st.integers(0, 19)) == 0:  # now and then a binding of the wrong type
        values[draw(st.sampled_from(["x", "b", "f"]))] = draw(st.one_of(st.booleans(), st.floats(allow_nan=False, allow_infinity=False), INTS))
    return values


def outcome(library: RuleLibrary, bindings: dict, runner_name: str, metric: str = "flops", trace: bool = False) -> tuple:
    try:
        value = evaluate(library, "fz.R", metric, bindings, runner=RUNNERS[runner_name], trace=trace).value
    except LmPredictorError as err:
        return ("error", err.diagnostic.code.code)
    return ("value", type_name(value), value)


@EXAMPLES
@given(formulas(), bindings())
def test_grammar_formulas_evaluate_or_raise_lmpredictor_errors(text: str, values: dict) -> None:
    try:
        parse_formula(text)
    except LmPredictorError:
        return
    library = fuzz_library(text)
    check_library(library)  # lint: diagnostics only, never an exception
    compiled = outcome(library, values, "compiled")
    interpreted = outcome(library, values, "interpreted")
    assert compiled == interpreted, f"backends disagree on {text!r} with {values}"
    traced = outcome(library, values, "compiled", metric="param_count", trace=True)
    assert traced[0] in ("value", "error")


@settings(max_examples=1000, deadline=None)
@given(st.one_of(near_formula_text(), st.text(max_size=80)))
def test_arbitrary_text_parses_or_raises_lmpredictor_errors(text: str) -> None:
    try:
        parse_formula(text)
    except LmPredictorError:
        return
    library = fuzz_library(text)
    check_library(library)
    outcome(library, {"x": 3}, "compiled")


def test_the_strategy_reaches_every_production_of_the_grammar() -> None:
    """Each `-> alias` of grammar/formula.lark (and the `call` rule) shows up in generated formulas."""
    grammar = re.sub(r"//[^\n]*", "", Path(grammar_path()).read_text(encoding="utf-8"))  # without comments
    aliases = set(re.findall(r"->\s*(\w+)", grammar)) | {"call"}
    seen: set[str] = set()

    @settings(max_examples=600, deadline=None, derandomize=True, database=None)
    @given(formulas(mutate=False))
    def collect(text: str) -> None:
        try:
            tree = _lark().parse(text)
        except Exception:  # noqa: BLE001 - only parse trees are of interest here
            return
        seen.update(str(t.data) for t in tree.iter_subtrees())

    collect()
    assert aliases <= seen, f"never generated: {sorted(aliases - seen)}"
