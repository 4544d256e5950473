"""The symbolic number core: normal form, simplification, rendering, per-layer counting."""

from __future__ import annotations

import pytest

from lm_predictor.formula.parser import parse_formula
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.layers import index_cells, solve_index
from lm_predictor.suggest.ruletext import simplify_or
from lm_predictor.suggest.expr import Num

a, b, c = Num.sym("a"), Num.sym("b"), Num.sym("c")


@pytest.fixture(autouse=True)
def _analysis_scope():
    """Each test runs as its own analysis: the symbol facts it records do not outlive it."""
    with X.using(X.SymbolFacts()):
        yield


def test_normal_form_makes_equal_shapes_equal() -> None:
    assert a * b * c == c * (b * a)
    assert (a + b) * (a + b) == a * a + 2 * a * b + b * b
    assert a - a == X.ZERO


def test_view_inference_divides_monomials() -> None:
    numel = a * b * (4 * c)
    assert X.exact_div(numel, a * b * c) == Num.const(4)
    assert X.floordiv(a * b, b) == a  # exact, integral
    assert X.floordiv(a, b).single_atom().kind == "floordiv"


def test_divisibility_facts_make_floor_division_exact() -> None:
    head = X.floordiv(a, b)
    assert X.exact_div(head * b * 3, a).const_value() is None
    X.note_fact(X.cmp("==", b * head, a))  # the source raises unless b * (a // b) == a
    assert X.exact_div(3 * head * b, a) == Num.const(3)


def test_optional_parameter_renders_as_inline_default() -> None:
    v = X.ifnum(X.defined("head_dim"), Num.sym("head_dim"), X.floordiv(Num.sym("hidden"), Num.sym("heads")))
    assert X.render(v) == "${head_dim:-$hidden // $heads}"


def test_if_on_a_nonnegative_parameter_collapses() -> None:
    X.symbol_facts().nonneg.add("past")  # the per-test analysis scope (fixture below)
    past = Num.sym("past")
    assert X.ifnum(X.cmp(">", past, 0), past, Num.const(0)) == past
    assert X.ifnum(X.cmp("<=", past, 0), Num.const(0), past) == past


def test_signs_decide_comparisons() -> None:
    X.symbol_facts().positive.update({"p", "q"})
    p, q = Num.sym("p"), Num.sym("q")
    assert X.cmp(">", p * q, 0) == X.TRUE
    assert X.cmp("==", p + 1, 0) == X.FALSE
    assert X.fn("max", p - 1, Num.const(0)) == p - 1


@pytest.mark.parametrize("value", [
    2 * a * b + c * c - 3,
    X.floordiv(a * c, b) * c,
    X.truediv(a * c, 2 * b),
    X.ifnum(X.cmp(">", a, 1), a * b, Num.const(0)) + 1,
    X.call("q_proj", "torch.nn.Linear", {"in_features": a, "tokens": b * c}) * a,
    X.fn("ceil_div", a, Num.const(2)) - X.fn("min", a, b),
    X.power(a, Num.const(-1)) * b,
])
def test_rendered_text_parses(value: Num) -> None:
    text = X.render(value)
    parse_formula(text)  # the formula language accepts every rendering


def test_or_of_guards_simplifies() -> None:
    u = X.bsym("u")
    g = X.cmp(">", a, 1)
    assert simplify_or([X.band(g, u), X.band(g, X.bnot(u))]) == g
    assert simplify_or([g, X.band(g, u)]) == g


def test_layer_counts() -> None:
    n, m = Num.sym("n"), Num.sym("m")
    X.symbol_facts().positive.update({"n", "m"})
    count, rep_true, rep_false = solve_index(X.cmp(">=", Num.sym("#i"), m), "#i", n)
    assert X.render(count) == "$n - min($m, $n)"
    assert rep_true == m and rep_false == X.ZERO
    # (i + 1) % p == 0: every p-th layer
    p = Num.sym("p")
    X.symbol_facts().positive.add("p")
    cells = index_cells([X.cmp("==", X.mod(Num.sym("#i") + 1, p), 0)], "#i", n)
    values = {"n": 12, "p": 4, "m": 0}
    counts = [X.substitute(cnt, {k: Num.const(v) for k, v in values.items()}).const_value() for cnt, _, _ in cells]
    assert counts == [3, 9]
