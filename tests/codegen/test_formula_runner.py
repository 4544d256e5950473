"""runtime.formula_runner: generated frame code per formula, for any library (a third Runner)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lm_predictor.codegen.runtime import formula_runner
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.evaluate import evaluate
from tests.codegen.util import library_from_yaml

RULES = """\
rules:
  t.Leaf:
    params: {n: int, k: {type: int, default: "${n} // 2"}, flag: {type: bool, default: false}}
    flops: "if $flag then $n * $k else -$n / 3"
    extra_metric_source: 0
"""


@pytest.mark.parametrize(
    "formula, bindings, expected",
    [
        ("2 * {leaf: t.Leaf}(n=$n, flag=true)", {"n": 6}, 36),  # 2 * (6 * 3)
        ("{t.Leaf}(n=$n)", {"n": 6}, -2),  # -6 / 3
        ("{t.Leaf}(n=$n) + 1 / 3", {"n": 7}, Fraction(-2, 1)),  # -7/3 + 1/3
        ("ceil_div($n, 0)", {"n": 1}, "E002"),
        ("$n ** 5000", {"n": 3}, "E003"),
        ("not $n", {"n": 3}, "E005"),
    ],
)
def test_formula_runner_matches_the_compiled_closures(tmp_path, formula, bindings, expected):
    library = library_from_yaml(tmp_path, RULES.replace("    extra_metric_source: 0\n", "") + f"  t.Root:\n    params: {{n: int}}\n    flops: {formula!r}\n".replace("'", '"'))
    runner = formula_runner()
    for trace in (False, True):
        try:
            got = evaluate(library, "t.Root", "flops", bindings, trace=trace, runner=runner)
            want = evaluate(library, "t.Root", "flops", bindings, trace=trace)
            assert (got.value, type(got.value), got.tree) == (want.value, type(want.value), want.tree) and got.value == expected
        except LmPredictorError as err:
            with pytest.raises(LmPredictorError) as ref:
                evaluate(library, "t.Root", "flops", bindings, trace=trace)
            assert err.diagnostic == ref.value.diagnostic and err.diagnostic.code.code == expected
