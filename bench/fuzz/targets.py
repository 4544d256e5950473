"""libFuzzer targets (atheris) for the formula parser/evaluator, the rule-file loader and eval's
config reader. Each target accepts any bytes; the only exception allowed out is LmPredictorError
(anything else, a RecursionError included, is a crash that atheris reports and saves).

Run one directly (libFuzzer flags pass through):

    .venv/bin/python bench/fuzz/targets.py formula CORPUS_DIR -max_total_time=600 -timeout=10

or all of them with bench/fuzz/run.py (seeds, durations, summary). See bench/fuzz/README.md.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["lm_predictor", "lark", "yaml", "json"]):
    from lm_predictor.diagnostics import LmPredictorError, Location
    from lm_predictor.engine.evaluate import evaluate
    from lm_predictor.engine.frame import compiled_runner
    from lm_predictor.evaluate.config_source import read_config
    from lm_predictor.evaluate.predict import default_library, predict
    from lm_predictor.formula.interpreter import interpreted_runner
    from lm_predictor.formula.parser import parse_formula
    from lm_predictor.formula.source import FORMULA_ORIGIN
    from lm_predictor.formula.values import type_name
    from lm_predictor.lint.checks import check_library
    from lm_predictor.rules.library import RuleLibrary
    from lm_predictor.rules.model import Formula, ParamSpec, Rule

SCRATCH = Path(tempfile.mkdtemp(prefix="lmpredict-atheris-"))
_names = itertools.count()
HERE = Location("<fuzz>", 1, 1)


def _formula(text: str) -> Formula:
    return Formula(text, parse_formula(text), FORMULA_ORIGIN)


def _library(text: str) -> RuleLibrary:
    """fz.R computes `text`; fz.Leaf and fz.Pair can be called from it (as in tests/fuzz)."""
    def param(name: str, type_: str, default: str | None = None, optional: bool = False) -> ParamSpec:
        return ParamSpec(name, type_, _formula(default) if default else None, optional, "", HERE)

    def rule(name: str, params: list, metrics: dict) -> Rule:
        return Rule(name, (), "", {p.name: p for p in params}, {m: _formula(t) for m, t in metrics.items()}, HERE)

    library = RuleLibrary()
    library.add(rule("fz.R", [param("x", "int"), param("y", "int", "2"), param("n", "int", "${x} + 1"), param("f", "float", "0.5"),
                              param("b", "bool", "true"), param("q", "int", optional=True)], {"flops": text, "param_count": text}))
    library.add(rule("fz.Leaf", [param("x", "int", "1")], {"flops": "$x", "param_count": "2 * $x"}))
    library.add(rule("fz.Pair", [param("x", "int"), param("y", "int", "2")], {"flops": "{fz.Leaf}(x=$x) + $y", "param_count": "$y"}))
    return library


def _outcome(library: RuleLibrary, runner) -> tuple:
    try:
        value = evaluate(library, "fz.R", "flops", {"x": 7, "b": False}, runner=runner).value
    except LmPredictorError as err:
        return ("error", err.diagnostic.code.code)
    return ("value", type_name(value), value)


def formula_target(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        parse_formula(text)
    except LmPredictorError:
        return
    library = _library(text)
    check_library(library)
    compiled, interpreted = _outcome(library, compiled_runner), _outcome(library, interpreted_runner)
    if compiled != interpreted:
        raise AssertionError(f"backends disagree on {text!r}: {compiled} != {interpreted}")


def _write(data: bytes, suffix: str) -> Path:
    path = SCRATCH / f"in{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


def rules_target(data: bytes) -> None:
    path = _write(data, ".yaml")
    try:
        library = RuleLibrary()
        library.load_file(path)  # never raises: errors become diagnostics
        check_library(library)
        if any(x.severity.value == "error" for x in library.diagnostics):
            return
        for rule in list(library)[:2]:  # a call-budget bomb costs ~0.4 s per evaluation, 10x instrumented
            values = {n: (True if s.type == "bool" else 3) for n, s in rule.params.items() if s.required}
            for metric in list(rule.metrics)[:1]:
                try:
                    evaluate(library, rule.name, metric, values)
                except LmPredictorError:
                    pass
    finally:
        path.unlink()


def config_target(data: bytes) -> None:
    path = _write(data, ".json")
    try:
        config = read_config(path)
    except LmPredictorError:
        return
    finally:
        path.unlink()
    try:
        predict(config, breakdown=True)
    except LmPredictorError:
        pass


TARGETS = {"formula": formula_target, "rules": rules_target, "config": config_target}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer arguments]")
    name = sys.argv.pop(1)
    if name == "config":
        default_library()  # load the shipped rules once, outside the measured inputs
    os.environ.setdefault("LMPREDICT_CACHE", str(SCRATCH / "cache"))
    atheris.Setup(sys.argv, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
