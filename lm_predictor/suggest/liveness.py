"""Which child module calls of a forward reach what the forward hands on (docs/training.md, "Liveness").

autograd gives a parameter a gradient only where some result of it reaches the loss. A child
module called with gradients on whose output never reaches what its caller's forward returns (or
writes somewhere a later read might find) gets no gradient, no optimizer state and no backward:
recurrent_gemma 4.56's attention feeds `k_proj(x)` and `v_proj(x)` only to `@torch.no_grad()`
`_update_cache`, and attends to the cache's copies, so k_proj and v_proj stay without `.grad`.

The pass is a forward provenance over one forward (one `Recorder`): every tensor the forward makes
carries the set of child calls it was computed from, with gradients on (an op's result: the union of
its inputs'; a child's result: the child itself and its inputs'; nothing under torch.no_grad()).
What leaves the forward (its return value, an attribute or item write, an in-place op, a container
method, a call the analysis does not model) is live; a child call is live where its mark reaches
anything live. Where a tensor the pass did not see made reaches a use (a path it does not follow),
it is unsure and every child call is live, as before the pass: an unsure answer costs a missed idle
module, never a wrong one.

Marks carry the condition under which they flow: a value merged from two branches comes from the
first arm's marks where the branch condition holds and the second's where it fails, so a child whose
result reaches the return on one arm only is live under that arm's condition (recurrent_gemma's keys
reach the attention only where `seq_len == 1`, where no cache was set up); `live_when` on the child's
instance keeps it, and emit_idle.py prices the child idle where it fails.

Entry points (the interpreter's hooks): `begin` at the start of a forward, `op` after a tensor op,
`child` after a child module call, `escape` where a value leaves the forward, `finish` at its end,
which sets `grad_used` on the children that reach the return. Each forward is its own scope: a
forward's whole return is live to it (a caller that drops a field of it, as big_bird's causal-LM
head drops its pooler output, is not followed yet).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.valueops import JOIN_HOOKS
from lm_predictor.suggest.values import DictV, ListV, Phi, Record, Repeated, Tensor

MAX_COND_CHARS = 800
"""A mark's condition longer than this (rendered) is dropped for true, the conservative answer: a
condition that grows with every branch (zamba2's hybrid layers) would cost more than it tells."""

UNSEEN = "?"
"""The mark of a tensor the pass did not see made: a use of one makes the forward's answer unsure."""


@dataclass
class Frame:
    """The provenance of one forward's tensors and the child calls it made with gradients on."""

    marks: dict = field(default_factory=dict)  # id(tensor) -> (tensor, {child token: condition it flows under})
    pending: dict = field(default_factory=dict)  # id(instance) -> instance called with gradients on
    fields: dict = field(default_factory=dict)  # ("field", id(draft), key) -> (draft, key): a child's returned field
    live: dict = field(default_factory=dict)  # token -> condition under which its results leave the forward
    unsure: bool = False
    why: list = field(default_factory=list)  # (shape, dtype) of the unseen tensors that made it unsure (LMPREDICT_SUGGEST_DEBUG)
    unseen: tuple = ()  # the last unseen tensor's (shape, dtype)
    done: bool = False  # finish() ran


_ACTIVE: list = []
"""The frames of the forwards being run, innermost last (make_phi's join hook has no interpreter to ask)."""


def _joined(cond: Any, a: Any, b: Any, joined: Any) -> None:
    """A value merged from two branches comes from the first arm's marks where `cond` holds, the
    second's where it fails (added to what the joined object had: make_phi may keep an arm's object)."""
    if not _ACTIVE:
        return
    frame = _ACTIVE[-1]
    ma, mb = _marks_of(frame, [a]), _marks_of(frame, [b])
    if not ma and not mb:
        return
    if not isinstance(cond, X.Bool):
        _mark(frame, joined, _union(ma, mb))
        return
    both = {}
    for token in set(ma) | set(mb):
        both[token] = _or(_and(cond, ma.get(token, X.FALSE)), _and(X.bnot(cond), mb.get(token, X.FALSE)))
    _mark(frame, joined, both)


JOIN_HOOKS.append(_joined)


def frame_of(interp: Any) -> Frame | None:
    """The liveness frame of the forward under analysis (None outside one)."""
    rec = interp.recorder
    return getattr(rec, "liveness", None) if rec is not None else None


def begin(interp: Any, args: list, kwargs: dict) -> None:
    """A forward starts: its inputs are seen, from no child call of its own."""
    rec = interp.recorder
    if rec is None:
        return
    rec.liveness = frame = Frame()
    _ACTIVE.append(frame)
    for t in _tensors([args, kwargs]):
        frame.marks[id(t)] = (t, {})


def seen(interp: Any, value: Any) -> None:
    """Tensors read from module attributes or state (buffers, parameters, plain tensors): from no child call here."""
    frame = frame_of(interp)
    if frame is None:
        return
    for t in _tensors(value):
        if id(t) not in frame.marks:
            frame.marks[id(t)] = (t, {})


def op(interp: Any, inputs: list, result: Any, in_place: bool = False) -> None:
    """A tensor op ran: its result comes from its inputs (none under torch.no_grad()); an in-place op's
    inputs leave the forward (a view of its target may be read elsewhere)."""
    frame = frame_of(interp)
    if frame is None:
        return
    marks = {} if interp.grad_off else _marks_of(frame, inputs)
    if in_place and not interp.grad_off:
        _leave(frame, marks, interp.guard())
    _mark(frame, result, marks)


def unpacked(interp: Any, value: Any, items: list) -> None:
    """`a, b = value`: items the unpacking made (pieces of a tensor, a chunk's Repeated) come from the value."""
    frame = frame_of(interp)
    if frame is not None:
        marks = _marks_of(frame, [value])
        for t in _tensors(items):
            if id(t) not in frame.marks:
                frame.marks[id(t)] = (t, dict(marks) if t.requires_grad else {})


def child(interp: Any, inst: Any, args: list, kwargs: dict, result: Any) -> bool:
    """A child module call returned: its result comes from the child and from its inputs. Returns
    whether the call is left for `finish` to decide (called with gradients on inside a forward)."""
    frame = frame_of(interp)
    if frame is None or interp.grad_off:
        if frame is not None:
            _mark(frame, result, {})
        return False
    frame.pending[id(inst)] = inst
    inst.live_seen = True
    _mark(frame, result, _union(_marks_of(frame, [args, kwargs]), {id(inst): X.TRUE}))
    return True


def escape(interp: Any, value: Any) -> None:
    """A value leaves the forward with gradients on (written to an attribute, an item, a container,
    handed to a call the analysis does not follow): whatever it came from is live, on this path."""
    frame = frame_of(interp)
    if frame is None or interp.grad_off:
        return
    _leave(frame, _marks_of(frame, [value]), interp.guard())


def end(interp: Any) -> None:
    """The forward's run is over (returned or raised): its frame is no longer the innermost, and a
    forward that raised before `finish` leaves every child it called used."""
    frame = frame_of(interp)
    if frame is None:
        return
    if not frame.done:
        finish(interp, None, unsure=True)
    if _ACTIVE and _ACTIVE[-1] is frame:
        _ACTIVE.pop()


def returned(interp: Any, draft: Any, out: Any) -> None:
    """A child's forward (rule `draft`) handed `out` to the forward being run: each field of it comes
    from what reaches that field in the child's forward (resolved when this forward finishes)."""
    deps = draft.liveness
    if deps is None:
        return
    frame = frame_of(interp)
    if frame is None or interp.grad_off:
        if frame is None:  # not inside a forward: whatever the child returns is used
            for key in deps:
                _resolve(draft, key, set())
        return
    for key, value in _fields(out).items():
        token = ("field", id(draft), key)
        frame.fields[token] = (draft, key)
        _mark(frame, value, {token: X.TRUE})


def finish(interp: Any, ret: Any, unsure: bool = False) -> None:
    """The forward returned `ret`. A child whose marks reach something that left is used with
    gradients (under the condition of that path: `live_when`); one whose marks reach only `ret` is
    decided where the caller uses the fields they reach (`returned`), and the model's own forward
    uses all of its return; where the pass is unsure, every child is used."""
    frame = frame_of(interp)
    if frame is None or frame.done:
        return
    frame.done = True
    frame.unsure = frame.unsure or unsure
    draft = interp.recorder.draft
    root = draft is None or draft.caller is None
    deps = {} if root else {key: _marks_of(frame, [value]) for key, value in _fields(ret).items()}
    if root or any(UNSEEN in m for m in deps.values()):
        _leave(frame, _marks_of(frame, [ret]), X.TRUE)
        deps = {}
    if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
        print("liveness:", draft.qualname if draft else "?", "unsure" if frame.unsure else "",
              [(getattr(i, "attr", None), X.render_bool(frame.live.get(t, X.FALSE))) for t, i in frame.pending.items()],
              {k: sorted(str(getattr(frame.pending.get(t), "attr", t)) for t in m) for k, m in deps.items()}, frame.why[:3])
    targets = {**frame.pending, **frame.fields}
    if frame.unsure:
        for token in targets:
            _use(targets[token], X.TRUE, None, set())
        return
    for token, target in targets.items():
        cond = frame.live.get(token, X.FALSE)
        if X.bool_value(cond) is not False:
            _use(target, cond, draft.template if draft is not None else None, set())
    if deps:
        draft.liveness = {key: {t: c for t, c in m.items()} for key, m in deps.items()}
        draft.liveness_targets = {t: targets[t] for m in deps.values() for t in m if t in targets}


def _use(target: Any, cond: Any, owner: Any, seen: set) -> None:
    """A child instance used where `cond` holds (a Bool of `owner`'s forward), or a field of a child's
    return that is used (then whatever reaches it in that child's forward is, whatever `cond`)."""
    if isinstance(target, tuple):
        _resolve(target[0], target[1], seen)
        return
    if X.bool_value(cond) is True or owner is None:
        target.grad_used = True
        return
    if target.live_owner not in (None, owner):  # found by two templates' forwards: names of both
        target.grad_used = True
    target.live_owner = owner
    target.live_when = cond if target.live_when is None else _or(target.live_when, cond)


def _resolve(draft: Any, key: Any, seen: set) -> None:
    """Field `key` of what `draft`'s forward returns is used: so is every child call whose marks reach it."""
    if (id(draft), key) in seen:
        return
    seen.add((id(draft), key))
    deps = draft.liveness or {}
    targets = draft.liveness_targets
    for token, cond in deps.get(key, {}).items():
        if token in targets:
            _use(targets[token], cond, draft.template, seen)


def _fields(value: Any) -> dict:
    """A returned value by field: a record's fields, else the whole value under None."""
    if isinstance(value, Record):
        return dict(value.fields)
    return {None: value}


def _small(cond: Any) -> bool:
    """Whether a condition is short enough to keep."""
    return X.bool_value(cond) is not None or len(X.render_bool(cond)) <= MAX_COND_CHARS


def _or(a: Any, b: Any) -> Any:
    """a or b, true where it would grow too long (a mark then flows unconditionally)."""
    if X.bool_value(a) is True or X.bool_value(b) is True:
        return X.TRUE
    if X.bool_value(a) is False or a == b:
        return b
    if X.bool_value(b) is False:
        return a
    if not (_small(a) and _small(b)):
        return X.TRUE
    out = X.bor(a, b)
    return out if _small(out) else X.TRUE


def _and(a: Any, b: Any) -> Any:
    """a and b, or b alone where that would grow too long (b is the mark's own condition: weaker, so more live)."""
    if X.bool_value(a) is True:
        return b
    if X.bool_value(b) is True:
        return a if _small(a) else X.TRUE
    if not (_small(a) and _small(b)):
        return b if _small(b) else X.TRUE
    out = X.band(a, b)
    return out if _small(out) else b


def _leave(frame: Frame, marks: dict, guard: Any) -> None:
    """Marks that reach something live (on the path `guard`)."""
    if UNSEEN in marks:
        frame.unsure = True
        frame.why.append(frame.unseen)
    for token, cond in marks.items():
        cond = _and(guard, cond)
        frame.live[token] = cond if token not in frame.live else _or(frame.live[token], cond)


def _union(a: dict, b: dict) -> dict:
    out = dict(a)
    for token, cond in b.items():
        out[token] = cond if token not in out else _or(out[token], cond)
    return out


def _mark(frame: Frame, result: Any, marks: dict) -> None:
    for t in _tensors(result):
        old = frame.marks.get(id(t))
        if not t.requires_grad:  # no gradient flows back through it: it comes from nothing
            frame.marks[id(t)] = (t, old[1] if old is not None else {})
            continue
        frame.marks[id(t)] = (t, _union(old[1], marks) if old is not None else marks)


def _marks_of(frame: Frame, values: list) -> dict:
    """The child calls the tensors in `values` come from, each with its condition (UNSEEN for one the pass did not see made)."""
    out: dict = {}
    for t in _tensors(values):
        out = _union(out, _tensor_marks(frame, t))
    return out


def _tensor_marks(frame: Frame, t: Tensor) -> dict:
    if not t.requires_grad:  # integer tensors, masks, no-grad results: no gradient flows through them
        return {}
    got = frame.marks.get(id(t))
    if got is not None:
        return got[1]
    if t.merged is not None:  # joined from two branches: both arms' marks
        return _marks_of(frame, list(t.merged[1:]))
    if t.param:
        return {}
    frame.unseen = (t.shape, t.dtype)
    return {UNSEEN: X.TRUE}


def _tensors(value: Any, depth: int = 0) -> list:
    """The tensors inside a value (tuples, lists, dicts, records, branch values)."""
    if depth > 8:
        return []
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, Phi):
        return _tensors([value.a, value.b], depth + 1)
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v, depth + 1)]
    if isinstance(value, ListV):
        return _tensors([*value.items, *([value.rep] if value.rep is not None else [])], depth + 1)
    if isinstance(value, dict):
        return _tensors(list(value.values()), depth + 1)
    if isinstance(value, DictV):
        return _tensors(list(value.items.values()), depth + 1)
    if isinstance(value, Record):
        return _tensors(list(value.fields.values()), depth + 1)
    if isinstance(value, Repeated):
        return _tensors(value.elem, depth + 1)
    return []
