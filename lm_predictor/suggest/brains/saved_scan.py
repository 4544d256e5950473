"""Loop-carried tensors saved in a symbolic loop (brains/saved.py's storages), after the loop has run.

A loop-carried tensor saved in a symbolic loop is a new storage each iteration: the first is the
value before the loop, the others are the body's output. Where the body makes that output itself
(a scan's state: Mamba's `ssm_state`, RWKV's `num_state`), each iteration's storage is counted
once, by the body's own save or by the next iteration's.
"""

from __future__ import annotations

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.layout import elem_bytes, tensor_bytes
from lm_predictor.suggest.brains.saved import SavedLog, Storage, gap, ident_of, log_of
from lm_predictor.suggest.expr import ONE
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import Tensor


def after_loop(interp: Host, loop: dict, before: dict, after: dict) -> None:
    """A loop-carried tensor saved in a symbolic loop is a new storage each iteration: the first is
    the value before the loop, the others are the body's output."""
    log = log_of(interp)
    if log is None:
        return
    in_loop: dict = {}  # id(Storage) -> the condition under which this loop saves it
    for lp, s, _, c in log.loop_saves:
        if lp is loop:
            in_loop[id(s)] = X.bor(in_loop.get(id(s), X.FALSE), c)
    for name, old in before.items():
        new = after.get(name)
        if not isinstance(old, Tensor) or not isinstance(new, Tensor) or new is old:
            continue
        ident_old = _known_arms(interp, log, old, name)
        if ident_old is None or not any(id(s) in in_loop for _, s in ident_old):
            continue
        saved_here = [s for _, s in ident_old if id(s) in in_loop]
        ident_new = ident_of(log, new)
        if ident_new is not None and {id(s) for _, s in ident_new} <= {id(s) for _, s in ident_old}:
            continue  # the same storages each iteration (a view of it: 5.x gemma4's per_layer_inputs, sliced or not)
        if ident_new is not None and any(id(s) in log.saved for _, s in ident_new) and _made_in_body(log, loop, ident_new):
            # a scan's state (Mamba's ssm_state): each iteration makes one, which the body may save
            # itself (counted once per iteration there); the next iteration saves it where it saves the
            # loop-carried value, so only what the body left unsaved is added, n - 1 times
            guards = [g for lp, s, g, _ in log.loop_saves if lp is loop and any(s is x for x in saved_here)]
            again = X.bor(*guards) if guards else X.FALSE
            count = log.saved[id(saved_here[0])][2]
            for c, s in ident_new:
                entry = log.saved.get(id(s))
                rest = X.band(again, c, X.bnot(entry[1])) if entry is not None else X.band(again, c)
                if rest != X.FALSE:
                    later = Storage(s.nbytes, ())
                    log.saved[id(later)] = [later, rest, count * (loop["count"] - ONE)]
            continue
        if ident_new is None or any(id(s) in log.saved for _, s in ident_new) or tensor_bytes(new) is None:
            gap(interp, f"loop-carried {name!r} saved in a loop")
            continue
        # an output of another element size than the entry (mamba's residual, float32 after the first layer where
        # residual_in_fp32 holds) is a storage of its own size after the first iteration, never n times the entry
        resized = elem_bytes(new) != elem_bytes(old)
        for s in saved_here:
            _, cond, count = log.saved[id(s)]
            if s.arg is None and cond == in_loop[id(s)] and not resized:
                log.saved[id(s)][2] = count * loop["count"]
                continue
            # the further iterations save the body's outputs, a storage of their own: for a forward input (BERT's
            # encoder loop) the caller counts the first, under the input's condition; for one saved outside the loop
            # too (open-llama's embedding output, which its LayerNorm saves where `use_stable_embedding`, and the
            # first layer where not), only where the loop saves it
            later = Storage(tensor_bytes(new), ())
            log.saved[id(later)] = [later, cond if s.arg is not None else in_loop[id(s)], count * (loop["count"] - ONE)]

def _made_in_body(log: SavedLog, loop: dict, ident: tuple) -> bool:
    """Whether every storage of a loop-carried value's new value was made in the body of `loop` (one
    per iteration, of a known size), none a forward input (the caller takes this path only where the
    body saves some of it; otherwise each iteration's value counts at the first one's size)."""
    return all(any(lp is loop for lp in s.loops) and s.arg is None and s.nbytes is not None and not s.counted for _, s in ident)


def _known_arms(interp: Host, log: SavedLog, t: Tensor, name: str) -> tuple | None:
    """`t`'s (condition, storage) arms; a join with an arm of unknown storage (RWKV's states: zeros in
    a train step, the cache's where not training) gives its known arms, and a gap under the other's
    condition (the saved-tensor table already saved such a join per arm)."""
    ident = ident_of(log, t)
    if ident is not None or not t.merged:
        return ident
    cond, a, b = t.merged
    out: list = []
    for c, x in ((cond, a), (X.bnot(cond), b)):
        arms = _known_arms(interp, log, x, name) if isinstance(x, Tensor) else None
        if arms is None:
            interp.assume.append(c)
            try:
                gap(interp, f"loop-carried {name!r}: a branch of unknown storage")
            finally:
                interp.assume.pop()
            continue
        out += [(X.band(c, g), s) for g, s in arms]
    return tuple(out)
