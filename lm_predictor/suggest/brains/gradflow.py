"""Where the analysis cannot tell which ops autograd records, so their backward FLOPs are not known.

A draft that meets one of these constructs gets a `backward_gaps` note, and its rule says
`backward_known: 0` (suggest/api.py); evaluate/train.py then reports `backward_flops` (and the
train `flops` with it) as unknown, never the forward's products counted twice:

- a `with` over a value that is `torch.no_grad()` on one arm of a condition and a context that
  keeps gradients on the other (hrm_text's `nullcontext() if i >= threshold else torch.no_grad()`
  inside a loop): which calls run without gradients depends on the iteration;
- a matrix product with an operand made by a factory (`torch.zeros`, `torch.empty`, ...) from no
  tensor that requires grad and not written since (qwen3_5's zero-initialised recurrent state in
  the chunk loop): autograd gives it no gradient until a loop writes it from one that does, so the
  first iteration has one backward product where the others have two.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import Lazy, force
from lm_predictor.suggest.values import ObjectV, Phi, Tensor

FRESH_FACTORIES = frozenset({
    "torch.zeros", "torch.empty", "torch.full", "torch.zeros_like", "torch.empty_like", "torch.full_like",
    "Tensor.new_zeros", "Tensor.new_empty", "Tensor.new_full",
})  # fmt: skip
"""Factories whose result requires no grad until written in place (the analysis keeps them requiring
grad, brains/__init__.py `_without_grad`, since a forward may fill them from activations)."""


def backward_gap(interp: Host, why: str) -> None:
    """The rule under analysis gets `backward_known: 0` (LMPREDICT_SUGGEST_DEBUG-free: the note says why)."""
    rec = interp.recorder
    if rec is not None and rec.draft is not None:
        rec.draft.backward_gaps.append(f"{why} ({interp.current_loc})")


ONES = "torch.ones"
"""A factory whose values the analysis may rely on: BART-style decoders pass `torch.ones(batch, past + q)`
as the 2-d attention mask (brains/masks.py)."""


def note_factory(interp: Host, name: str | None, inputs: list, result: Any) -> None:
    """Remember a tensor a FRESH_FACTORIES call (or torch.ones) made from no tensor that requires grad."""
    if not isinstance(result, Tensor) or result.param:
        return
    if name == ONES and not any(isinstance(v, Tensor) for v in inputs):
        interp.fresh_factories[id(result)] = (result, name)  # the value kept alive, so its id is never reused
    if name not in FRESH_FACTORIES or result.no_grad:
        return
    if any(isinstance(v, Tensor) and v.requires_grad for v in inputs) and not name.endswith("_like") and not name.startswith("Tensor."):
        return
    interp.fresh_factories[id(result)] = (result, name)


def _made_by(interp: Host, value: Any) -> str | None:
    """The factory that made `value` (this very object: nothing wrote it since), else None."""
    found = interp.fresh_factories.get(id(value))
    return found[1] if found is not None and found[0] is value else None


def is_fresh(interp: Host, value: Any) -> bool:
    """Whether `value` is (or, joined from branches, may be) a FRESH_FACTORIES tensor not written since."""
    if not isinstance(value, Tensor):
        return False
    if _made_by(interp, value) in FRESH_FACTORIES:
        return True
    merged = value.merged
    return merged is not None and any(is_fresh(interp, arm) for arm in merged[1:])


def known_ones(interp: Host, value: Any) -> bool:
    """Whether `value` is a tensor torch.ones made (from sizes alone) and nothing wrote since."""
    return isinstance(value, Tensor) and _made_by(interp, value) == ONES


def check_matmul_operands(interp: Host, a: Any, b: Any) -> None:
    """A product with a fresh factory operand: its backward products are not known (see the module doc)."""
    if is_fresh(interp, a) or is_fresh(interp, b):
        backward_gap(interp, "a matrix product with a tensor made by a factory (torch.zeros): whether it requires grad depends on later writes")


def context_arms(value: Any) -> list:
    """The values a `with` item may be: the arms of a conditional value, forced."""
    value = force(value) if isinstance(value, Lazy) else value
    if isinstance(value, Phi):
        return context_arms(value.a) + context_arms(value.b)
    return [value]


def mixed_grad_context(value: Any, grad_off: frozenset) -> bool | None:
    """For a `with` item: True if every arm turns gradients off, None if some arms do and some do
    not (the body's backward is not known), False if none does."""
    arms = context_arms(value)
    off = [isinstance(v, ObjectV) and v.kind == "context" and getattr(v.cls, "name", "") in grad_off for v in arms]
    if all(off):
        return True
    return None if any(off) else False

