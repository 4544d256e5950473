"""Deeply nested formulas: blocks past OUTLINE_DEPTH move to separate functions; results unchanged."""

from __future__ import annotations

import pytest

from lm_predictor.engine.evaluate import evaluate
from lm_predictor.formula.interpreter import interpreted_runner
from tests.codegen.util import backend, compile_rules


def nested_if(depth: int) -> str:
    text = "$n * 3"
    for i in range(depth):
        text = f"if $n > {i} then ({text}) + {i} else $n - {i}"
    return text


def nested_default(depth: int) -> str:
    text = "$n"
    for i in range(depth):
        text = f"${{m:-({text}) * 2 - {i}}}"
    return text


def nested_and(depth: int) -> str:
    text = "$n > 0"
    for i in range(depth):
        text = f"(({text}) and $n != {i + 100}) or $n == {i}"
    return f"if {text} then 1 else 2"


@pytest.mark.parametrize("formula", [nested_if(60), nested_default(40), nested_and(45), "-" * 150 + "$n", "(" * 190 + "$n" + ")" * 190])
def test_deep_formulas_compile_and_agree(tmp_path, formula):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "deep.yaml").write_text(f'rules:\n  d.Deep:\n    params: {{n: int, m: {{type: int, optional: true}}}}\n    flops: "{formula}"\n')
    library = compile_rules([rules], tmp_path / "out")
    generated = backend(library, tmp_path / "out")
    assert ("d.Deep", "flops") in generated.fast
    for n in (-1, 0, 7, 70):
        want = evaluate(library, "d.Deep", "flops", {"n": n}, trace=True)
        assert evaluate(library, "d.Deep", "flops", {"n": n}, runner=interpreted_runner).value == want.value
        assert generated.evaluate("d.Deep", "flops", {"n": n}).value == want.value
        traced = evaluate(library, "d.Deep", "flops", {"n": n}, trace=True, runner=generated.runner)
        assert (traced.value, traced.tree) == (want.value, want.tree)
