"""The symbolic number core: normal form, simplification, rendering, per-layer counting."""

from __future__ import annotations

import pytest

from lm_predictor.formula.parser import parse_formula
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.layers import index_cells, solve_index
from lm_predictor.suggest.ruletext import merge_terms, simplify_or
from lm_predictor.suggest.scope import Term
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


def test_or_merges_two_disjuncts_that_differ_in_one_literal() -> None:
    # 5.23 gemma4_text: the rotary pair a layer saves, on both arms of `i == t` (t the first KV-shared
    # layer, where the model slices it to a view of itself), each arm also split on a flag `q`
    i, t = Num.sym("#i1"), Num.sym("t")
    q, ckpt = X.bor(X.bsym("s"), X.bsym("r")), X.bnot(X.bsym("ckpt"))
    listed = X.bor(X.cmp("==", i, 0), X.cmp("==", i, 1))
    tautology = X.bor(q, X.bnot(q))
    assert tautology == X.TRUE and X.band(X.bsym("s"), X.bsym("r"), X.bnot(X.band(X.bsym("s"), X.bsym("r")))) == X.FALSE
    arms = [X.band(ckpt, X.cmp("==", i, t), q, listed), X.band(ckpt, X.cmp("==", i, t), X.bnot(q), listed),
            X.band(ckpt, X.cmp("!=", i, t), listed)]
    assert X.bor(*arms) == X.band(ckpt, listed)  # no index test left but the listed layers
    two_apart = X.bor(arms[0], arms[2])  # q, and the index test: two literals apart, kept as it was
    assert two_apart.kind == "or" and two_apart.args == (arms[0], arms[2])


def _cost_under(terms: list, truth: dict) -> int:
    """The merged metric where the bool symbols have the values `truth` (cost `a`, a = 5)."""
    flags = {k: X.bconst(v) for k, v in truth.items()}
    return sum(X.substitute(t.mult * t.expr, {"a": Num.const(5)}).const_value() for t in terms if X.substitute(t.guard, flags) == X.TRUE)


def test_equal_terms_add_up_unless_their_guards_exclude_each_other() -> None:
    u, v = X.bsym("u"), X.bsym("v")
    one = Num.const(1)
    # `if u: x = f(x)` then `if v: x = f(x)`: two calls, both run where u and v hold (cost 5 + 5)
    seq = merge_terms([Term(u, one, a), Term(v, one, a)])
    assert _cost_under(seq, {"u": True, "v": True}) == 10
    assert _cost_under(seq, {"u": True, "v": False}) == 5
    # `f(x) if u else f(x)`: one call either way, the branch drops out
    alt = merge_terms([Term(u, one, a), Term(X.bnot(u), one, a)])
    assert [X.render_bool(t.guard) for t in alt] == [X.render_bool(X.TRUE)]
    # the same guard twice is two calls
    twice = merge_terms([Term(u, one, a), Term(u, one, a)])
    assert _cost_under(twice, {"u": True}) == 10 and _cost_under(twice, {"u": False}) == 0
    # a call on both arms of `if u`, then one more under v: 5 everywhere, 10 where v holds
    mixed = merge_terms([Term(u, one, a), Term(X.bnot(u), one, a), Term(v, one, a)])
    assert [_cost_under(mixed, {"u": x, "v": y}) for x in (True, False) for y in (True, False)] == [10, 5, 10, 5]
    # guards that exclude each other only once `not (not u and v)` is read: still one OR
    split = X.band(X.bnot(u), v)
    assert len(merge_terms([Term(split, one, a), Term(X.bnot(split), one, a)])) == 1


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
