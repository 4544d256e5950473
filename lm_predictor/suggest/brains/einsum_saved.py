"""What autograd saves for `torch.einsum` (brains/saved.py's table has no row for it), and its result's layout.

aten's einsum is a composite: it lines the operands' labels up (the output's labels in output
order, then the contracted ones in label order: `A`..`Z`, `a`..`z`), and `sumproduct_pair` turns
two operands into one bmm: left permuted to (both and kept, left only, contracted) and reshaped
to 3-d, right to (both and kept, contracted, right only); bmm keeps each operand where the other
requires grad. A reshape that cannot view copies, so what is saved is the operand's storage or a
new one of its size (XLNet's `ibnd,hnd->ibh` copies: `d` sorts before `n`). The result is a view
of the bmm output, [both, left only, right only] in memory, permuted to the output's order.
Without contracted labels the pair is a broadcast `mul` (each operand kept where the other
requires grad); one operand with every label kept is a permute (a view).

Modelled: one or two operands, each label once per operand, no `...`, and no label that one
operand has alone and the output drops (sumproduct_pair sums it first); anything else is a gap.
Checked against saved_tensors_hooks on torch 2.13 (tests/suggest/test_gap_group_constructs.py, and open-llama's
tied head in tests/families/test_train_gap_groups.py).
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import ckpt_tail as tail
from lm_predictor.suggest.brains import saved
from lm_predictor.suggest.brains.layout import UNKNOWN_LAYOUT, Layout, layout_of, per_arm, view_of, with_layout
from lm_predictor.suggest.expr import ONE
from lm_predictor.suggest.values import Tensor


def parse(equation: Any, ops: list) -> tuple[list, str] | None:
    """(operand label strings, output labels) of an equation the table models; None otherwise."""
    if not isinstance(equation, str) or "..." in equation or "->" not in equation:
        return None
    lhs, rhs = equation.replace(" ", "").split("->")
    terms = lhs.split(",")
    if len(terms) != len(ops) or len(ops) not in (1, 2) or len(set(rhs)) != len(rhs):
        return None
    for term, t in zip(terms, ops):
        if not isinstance(t, Tensor) or t.shape is None or len(term) != len(t.shape) or len(set(term)) != len(term):
            return None
    if any(ch not in rhs and sum(ch in t for t in terms) < 2 for t in terms for ch in t) or any(ch not in "".join(terms) for ch in rhs):
        return None
    return terms, rhs


def permuted_layout(lay: Layout, perm: list) -> Layout:
    """The layout of `t.permute(perm)` (new dim i is old dim perm[i])."""
    inv = {old: new for new, old in enumerate(perm)}
    return Layout(tuple(inv[o] for o in lay.order), frozenset(inv[b] for b in lay.bcast), lay.dense, frozenset(inv[g] for g in lay.gaps))


def _product(sizes: list) -> Any:
    out = ONE
    for d in sizes:
        out = out * d
    return out


def _operand3(interp: Any, t: Tensor, term: str, groups: tuple) -> Tensor | None:
    """`t.permute(...).reshape(g0, g1, g2)` for label groups `groups`: a tensor whose storage is t's where the
    reshape views, else a new one; None where the layout is not known."""
    perm = [term.index(ch) for g in groups for ch in g]
    moved = with_layout(Tensor(tuple(t.shape[p] for p in perm), t.dtype),
                        per_arm(t, lambda x: permuted_layout(layout_of(x), perm) if layout_of(x) is not None else UNKNOWN_LAYOUT))
    size = dict(zip(term, t.shape))
    shape = tuple(_product([size[ch] for ch in g]) for g in groups)
    seen = view_of(moved, shape)
    if seen is None:
        return None
    out = Tensor(shape, t.dtype, no_grad=t.no_grad)
    saved.maybe_same(interp, out, t, seen[0])
    return out


def call(site: Any, result: Any) -> Any:
    """The saved-tensor hook of the einsum brain: saves what bmm (or mul) keeps; the result with its layout."""
    interp = site.interp
    if saved.log_of(interp) is None:
        return result
    ops = list(site.args[1:])
    if len(ops) == 1 and isinstance(ops[0], (tuple, list)):
        ops = list(ops[0])
    parsed = parse(site.arg(0, "equation"), ops)
    grad = any(isinstance(t, Tensor) and t.requires_grad for t in ops)
    if parsed is None or not isinstance(result, Tensor) or result.shape is None:
        saved.fresh(interp, result)
        if grad:
            saved.gap(interp, "torch.einsum: an equation the saved-tensor table does not model")
        return result
    terms, rhs = parsed
    if len(ops) == 1:
        if sorted(terms[0]) != sorted(rhs):
            saved.fresh(interp, result)  # a sum over a label: keeps nothing
            return result
        out = with_layout(result, per_arm(ops[0], lambda x: permuted_layout(layout_of(x), [terms[0].index(ch) for ch in rhs])
                                          if layout_of(x) is not None else UNKNOWN_LAYOUT))
        saved.same(interp, out, ops[0])
        return out
    (a, b), (ta, tb) = ops, terms
    both = [ch for ch in rhs if ch in ta and ch in tb]
    left, right = [ch for ch in rhs if ch in ta and ch not in tb], [ch for ch in rhs if ch in tb and ch not in ta]
    summed = sorted(ch for ch in ta if ch in tb and ch not in rhs)
    out = with_layout(result, Layout(tuple(rhs.index(ch) for ch in both + left + right)))
    saved.fresh(interp, out)
    if interp.grad_off or not grad:
        return out
    if not summed:  # a broadcast mul of views of the operands
        own = None
        keep = [(a, b.requires_grad), (b, a.requires_grad)]
    else:
        own = tail.own_flops(interp)
        keep = [(_operand3(interp, a, ta, (both, left, summed)), b.requires_grad),
                (_operand3(interp, b, tb, (both, summed, right)), a.requires_grad)]
    for operand, needed in keep:
        if not needed:
            continue
        if operand is None:
            saved.gap(interp, "torch.einsum: an operand of unknown layout")
            continue
        saved.save(interp, operand, "torch.einsum")
    tail.restore(interp, own)
    return out
