"""Shared sub-expressions bound once as parameters (suggest/hoist.py)."""

from lm_predictor.suggest import expr as X
from lm_predictor.suggest import hoist
from lm_predictor.suggest.expr import Num, Sym


def _sym(name: str) -> Num:
    return Num.atom(Sym(name))


def _listed(index: str) -> X.Bool:
    """`index` is one of 12 listed layers (an or of equalities, as dots3's attention tests)."""
    return X.bor(*(X.cmp("==", _sym(index), k) for k in range(0, 36, 3)))


def test_repeated_condition_and_size_are_bound_once():
    cond = _listed("layer_idx")
    size = X.floordiv(_sym("hidden_size") * 3, _sym("heads") * 4)
    exprs = [X.ifnum(cond, _sym("a") * size, _sym("b") * size) + X.ifnum(cond, _sym("c"), _sym("d") * (size + 1)) * k for k in range(1, 6)]
    before = sum(len(X.render(e)) for e in exprs)
    lets = hoist.choose([exprs], "t.Rule", budget=before // 2)
    assert lets, "the formulas exceed the budget: something must be bound"
    after = [hoist.replace_all(e, lets) for e in exprs]
    assert sum(len(X.render(e)) for e in after) <= before // 2
    # substituting the parameters' defaults back (in order: a default may name a later one)
    # gives the formulas that were spelt out
    back = after
    for name, _, value, _ in lets:
        back = [X.substitute(e, {name: value}) for e in back]
    assert back == exprs


def test_nothing_bound_within_budget():
    exprs = [X.floordiv(_sym("hidden_size"), _sym("heads")) * 2]
    assert hoist.choose([exprs], "t.Rule", budget=1000) == []
