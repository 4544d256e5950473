"""Constructs the 4.56 activation gap groups needed (docs/training.md): checked against torch, or by the arithmetic shown."""

from __future__ import annotations

import itertools

import pytest

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.einsum_saved import parse
from lm_predictor.suggest.brains.layout import Layout, view_of, with_layout
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.expr_facts import renamed_facts
from lm_predictor.suggest.values import Tensor

torch = pytest.importorskip("torch")

B, H, S, D, E = (Num.sym(n) for n in ("b", "h", "s", "d", "e"))


def _value(cond: X.Bool, **sizes: int) -> bool:
    got = X.bool_value(X.substitute(cond, {k: Num.const(v) for k, v in sizes.items()}))
    assert got is not None, X.render_bool(cond)
    return got


@pytest.mark.parametrize("b,h,s,d", list(itertools.product((1, 2), (1, 3), (1, 4), (1, 5))))
def test_reshape_to_a_size_read_off_the_input(b: int, h: int, s: int, d: int) -> None:
    """TrOCR: `attn.view(b, h, s, d).transpose(1, 2).reshape(b, s, e)`, e read off the input (e = h * d at run
    time, not in the symbols): the last new dim takes the dims left over, so whether it views is known."""
    t = with_layout(Tensor((B, S, H, D)), Layout((0, 2, 1, 3)))
    seen = view_of(t, (B, S, E))
    assert seen is not None  # before: no pairing of (h, d) with e, so the layout was unknown
    real = torch.empty(b, h, s, d).transpose(1, 2)
    try:
        real.view(b, s, h * d)
        viewable = True
    except RuntimeError:
        viewable = False
    assert _value(seen[0], b=b, h=h, s=s, d=d, e=h * d) == viewable


@pytest.mark.parametrize("b,h,i,j", list(itertools.product((1, 2), (1, 3), (1, 4), (1, 5))))
def test_reshape_pairs_equal_products_left_over(b: int, h: int, i: int, j: int) -> None:
    """XLNet's rel_shift: a contiguous [b, n, i, j] reshaped to [b, n, j, i] views (i * j = j * i)."""
    seen = view_of(Tensor((B, H, S, D)), (B, H, D, S))
    assert seen is not None  # before: (i, j) and (j, i) did not pair, so the layout was unknown
    assert _value(seen[0], b=b, h=h, s=i, d=j) == torch.empty(b, h, i, j).view(b, h, j, i).is_contiguous()


@pytest.mark.parametrize(("equation", "modelled"), [
    ("blh,vh->blv", True),  # open-llama's tied head
    ("ibnd,hnd->ibh", True),  # XLNet's output projection (d sorts before n: a copy)
    ("ibnd,jbnd->bnij", True),
    ("ijbn->bnij", True),  # one operand, every label kept: a permute
    ("bi,bj->b", False),  # i and j each in one operand only, dropped: summed first
    ("b...d,d->b...", False),
    ("ii->i", False),
])
def test_einsum_equations_the_table_models(equation: str, modelled: bool) -> None:
    terms = equation.split("->")[0].split(",")
    ops = [Tensor(tuple(Num.const(2) for _ in t.replace("...", "x"))) for t in terms]
    assert (parse(equation, ops) is not None) == modelled


def test_einsum_contracted_labels_go_in_label_order() -> None:
    """What einsum_saved assumes of torch: `ibnd,hnd->ibh` keeps a [1, i * b, d * n] copy of its left operand
    (d before n), not a view of it: 7 * 2 * 4 * 3 floats in a storage of its own."""
    a, w = torch.randn(7, 2, 4, 3, requires_grad=True), torch.randn(8, 4, 3, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        torch.einsum("ibnd,hnd->ibh", a, w)
    left = [t for t in saved if tuple(t.shape) == (1, 14, 12)]
    assert len(left) == 1 and left[0].untyped_storage().data_ptr() != a.untyped_storage().data_ptr()
    assert left[0].untyped_storage().nbytes() == 7 * 2 * 4 * 3 * 4


def test_a_renamed_argument_takes_its_own_facts() -> None:
    """MVP: the attention's constructor argument `@dropout` (may be 0) is written `$dropout` in its rule; the
    config's `dropout` (0.1) is known positive. Under the renamed facts `$dropout != 0` stays a condition."""
    facts = X.SymbolFacts(positive={"dropout"})
    with X.using(facts):
        cond = X.cmp("!=", Num.sym("@dropout"), X.ZERO)
        assert X.substitute(cond, {"@dropout": Num.sym("dropout")}) == X.TRUE  # the fold the rename caused
        with X.using(renamed_facts({"@dropout": Num.sym("dropout")})):
            kept = X.substitute(cond, {"@dropout": Num.sym("dropout")})
    assert X.render_bool(kept) == "$dropout != 0"
    assert "dropout" in facts.positive  # the analysis's own facts are left as they were
