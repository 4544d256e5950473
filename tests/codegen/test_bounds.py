"""The fast path's bit bounds: size checks only where a value may pass MAX_INT_BITS, and exact."""

from __future__ import annotations

import re

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.evaluate import evaluate
from tests.codegen.util import backend, compile_rules

RULES = """\
rules:
  b.Root:
    params: {n: int, k: {type: int, default: 3}}
    flops: "{b.Leaf}(x=$n * $n * $n * $n * $n * $n * $n * $n, k)"
    param_count: "{b.Leaf}(x=$n ** 9, k) + {b.Leaf}(x=$n, k=$k * 1000000)"
    bytes_read: "{b.Small}(a=$n, b=$n) * {b.Small}(a=$n, b=$n) - $n"
  b.Leaf:
    params: {x: int, k: int}
    flops: "$x * $x * $x * $x * $x * $x * $x * $x * $x // $k"
    param_count: "$x * $k + $x"
  b.Small:
    params: {a: int, b: int}
    bytes_read: "$a * $b + 1"
"""

VALUES = [0, 1, -1, 3, 2**31, 2**62, 2**63 - 1, -(2**63) + 1, 2**63, 2**64, 2**200]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("bounds")
    (root / "rules").mkdir()
    (root / "rules" / "b.yaml").write_text(RULES)
    library = compile_rules([root / "rules"], root / "out")
    return library, backend(library, root / "out"), (root / "out" / "b.py").read_text()


def outcome(fn):
    try:
        value = fn()
        return (type(value).__name__, value)
    except LmPredictorError as err:
        return ("error", err.diagnostic.code.code)


@pytest.mark.parametrize("n", VALUES)
@pytest.mark.parametrize("metric", ["flops", "param_count", "bytes_read"])
def test_values_and_overflows_match_the_engine(compiled, n, metric):
    library, generated, _ = compiled
    want = outcome(lambda: evaluate(library, "b.Root", metric, {"n": n}).value)
    assert outcome(lambda: generated.evaluate("b.Root", metric, {"n": n}).value) == want


def test_checks_are_emitted_only_where_needed(compiled):
    library, generated, text = compiled
    small = text[text.index("def b__Small___m_bytes_read"):text.index("def b__Small___t_bytes_read")]
    assert "bit_length" not in small  # 64-bit args: a*b+1 cannot pass 4096 bits
    leaf = text[text.index("def b__Leaf___m_flops"):text.index("def b__Leaf___t_flops")]
    assert 0 < len(re.findall("bit_length", leaf)) < 8  # nine 512-bit factors: checks only past 4096 bits
    root = text[text.index("def b__Root___m_param_count"):text.index("def b__Root___t_param_count")]
    assert "bit_length() > 512" in root  # a ** result of unknown size is checked before it is passed
    assert generated.generated.param_bits[("b.Leaf", "flops")] == 512
    assert generated.generated.param_bits[("b.Small", "bytes_read")] == 64


def test_totals_share_one_call_budget_exactly(tmp_path):
    """backend.totals == the engine metric by metric with one shared budget (as predict() does)."""
    from lm_predictor.engine.evaluate import Evaluation

    if "calls" not in Evaluation.__dataclass_fields__:
        pytest.skip("this engine has no shared call budget")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "fan.yaml").write_text(
        "rules:\n"
        "  f.Root:\n    params: {n: int}\n"
        "    flops: \"{f.Mid}(n=$n) + {f.Mid}(n=$n + 1)\"\n"
        "    param_count: \"{f.Mid}(n=$n + 2) + {f.Mid}(n=$n + 3) + {f.Mid}(n=$n + 4)\"\n"
        "  f.Mid:\n    params: {n: int}\n"
        "    flops: \"{f.Leaf}(n=$n) + {f.Leaf}(n=$n * 2) + {f.Leaf}(n=$n * 3)\"\n"
        "    param_count: \"{f.Leaf}(n=$n) + {f.Leaf}(n=$n)\"\n"
        "  f.Leaf:\n    params: {n: int}\n    flops: $n\n    param_count: 1\n"
    )
    library = compile_rules([rules], tmp_path / "out")
    generated = backend(library, tmp_path / "out")
    metrics = ["flops", "param_count"]
    for budget in range(1, 20):
        want: dict = {}
        remaining = budget
        try:
            for metric in metrics:
                result = evaluate(library, "f.Root", metric, {"n": 5}, max_calls=remaining)
                remaining -= result.calls
                want[metric] = result.value
        except LmPredictorError as err:
            want = err.diagnostic.code.code
        try:
            got = generated.totals("f.Root", metrics, {"n": 5}, max_calls=budget)
        except LmPredictorError as err:
            got = err.diagnostic.code.code
        assert got == want, budget
