"""`checkpoint_tail_flops` of derived rules: the forward FLOPs after the last tensor autograd saves.

torch's non-reentrant checkpoint (transformers 5.23's default) recomputes a layer's forward in
backward only until every saved tensor is back (torch/utils/checkpoint.py
`_StopRecomputationError`), so the FLOPs after the last save are not run again. The rule under
analysis keeps the flops Terms added since its last save (`RuleDraft.ckpt_tail`, appended by
scope.Recorder); each save (brains/saved.py) cuts them, under the save's guard. A product saves its
operands before it runs (tools/autograd's VariableType), so its own FLOPs stay in the tail. A
callee that saves hands the caller its own tail (a call of its `checkpoint_tail_flops`). An op the
saved-tensor table does not know, run while the tail holds FLOPs, leaves the tail unknown
(`ckpt_unsure`) until a save that surely happens cuts it.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.scope import Term

TAIL = "checkpoint_tail_flops"
"""The metric (emit.py renders it from `ckpt_tail`)."""


def _draft(interp: Host) -> Any:
    """The rule under analysis (None outside a forward)."""
    return interp.recorder.draft if interp.recorder is not None else None


def cut(interp: Host, when: Bool) -> None:
    """A save under `when`: the FLOPs before it are recomputed, so they leave the tail where it holds."""
    draft = _draft(interp)
    if draft is None:
        return
    draft.ckpt_saves = True
    if when == X.TRUE:
        draft.ckpt_unsure = False
    keep = []
    for t in draft.ckpt_tail:
        guard = X.band(t.guard, X.bnot(when))
        if guard != X.FALSE:
            keep.append(Term(guard, t.mult, t.expr, t.note))
    draft.ckpt_tail = keep


def unsure(interp: Host) -> None:
    """An op the table does not know ran: if it saves, the tail's FLOPs before it are recomputed."""
    draft = _draft(interp)
    if draft is not None and draft.ckpt_tail:
        draft.ckpt_unsure = True


def own_flops(interp: Host) -> Any:
    """Take the tail's last term, the FLOPs of the product now saving its operands (before it runs)."""
    draft = _draft(interp)
    return draft.ckpt_tail.pop() if draft is not None and draft.ckpt_tail else None


def restore(interp: Host, own: Any) -> None:
    """Put back the term `own_flops` took, after the product's saves cut what ran before it."""
    if own is not None:
        _draft(interp).ckpt_tail.append(own)


def after_call(interp: Host, callee: Any, term: Num, count: Num) -> None:
    """A call of a derived module: one that saves leaves the caller its own tail, a call of its
    `checkpoint_tail_flops` (its flops term, already in the caller's tail, is cut); one that does
    not stays whole in the caller's tail."""
    draft = _draft(interp)
    if draft is None:
        return
    if not callee.ckpt_saves:
        if callee.ckpt_unsure:  # an op of the callee may save after FLOPs the caller's tail holds
            draft.ckpt_unsure = True
        return
    cut(interp, interp.guard())
    draft.ckpt_unsure = callee.ckpt_unsure
    call = term.single_atom()
    if isinstance(call, X.Op) and call.kind == "call":
        draft.ckpt_tail.append(Term(interp.guard(), interp.mult() * count, Num.atom(X.Op("call", call.args[:4] + (TAIL,)))))
    else:
        draft.ckpt_unsure = True
