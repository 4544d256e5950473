"""What autograd saves for backward: the `activation_bytes` of derived rules (docs/training.md).

Each op the analysis runs says which of its tensors autograd keeps (SAVES, after torch's
tools/autograd/derivatives.yaml): `mul` keeps the operand the other's gradient needs, `linear`
its input, `softmax` its output, a cast or a view nothing. The kept tensors are counted by
storage: every tensor value maps to an identity, a list of (condition, storage) arms, so a view
(`q_proj(x).view(...).transpose(1, 2)`) and its base are one storage, and a cast that is a
no-op for some dtypes (`x.to(torch.float32)` of a float32 model) is the input's storage where
`dtype_bytes == 4`. A storage saved several times (the hidden states that q, k and v project)
counts once. Parameters are never counted (they are in weight_bytes).

A rule's own term sums the storages created in its forward; a saved forward input is passed to
the caller (`exports`), which counts it as its own value, once, whoever else saves it. Any op not
in the table with an input that requires grad is a gap: the rule then gets no activation_bytes,
never a partial sum.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import ckpt_tail as tail, saved_loops
from lm_predictor.suggest.brains.layout import arms, elem_bytes, is_contiguous, is_copy_into_grad, is_device_move, layout_of, numel, per_arm, tensor_bytes, view_of
from lm_predictor.suggest.brains.layout_arms import layout_arms
from lm_predictor.suggest.brains.saved_ops import (
    CASTS, CONVOLUTIONS, INDEXED_WRITES, KEEPS_INPUT, NO_GRAD_HELPERS, NOTHING, PRODUCTS, RESHAPES, TRAIN_ONLY, VIEWS, needs_grad, saves_of,
)
from lm_predictor.suggest.brains.saved_paths import lookup, pairs
from lm_predictor.suggest.dtype_arms import CondDtype, same_dtype
from lm_predictor.suggest.expr import ONE, Bool, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.scope import Term
from lm_predictor.suggest.valueops import under
from lm_predictor.suggest.values import ATTN_SDPA, Phi, Repeated, Tensor, Unknown


@dataclass(eq=False)
class Storage:
    """One allocation: its bytes, the symbolic loops around its creation, or a forward input of the rule."""

    nbytes: Num | None
    loops: tuple = ()
    arg: tuple | None = None  # ("pos", i, *path) | ("kw", name, *path)
    counted: bool = False  # a callee saved it and returned it: counted there


@dataclass
class SavedLog:
    """The storages one rule's forward saves, the inputs it passes up, and its gaps."""

    idents: dict = field(default_factory=dict)  # id(tensor) -> (tensor, ((cond, Storage), ...))
    saved: dict = field(default_factory=dict)  # id(Storage) -> [Storage, cond, count]
    calls: list = field(default_factory=list)  # Terms: callees' activation_bytes
    gaps: list = field(default_factory=list)  # (guard, why): an op under `guard` saves what the table cannot size
    past_cache: list = field(default_factory=list)  # guards of a cache update past the cache's layers (brains/cache.py)
    loop_saves: list = field(default_factory=list)  # (loop, Storage, guard, cond): saved while that symbolic loop ran, under the path guard and the save condition
    root: bool = False
    loop_base: int = 0  # symbolic loops of the callers around this forward (not its own)
    state: dict = field(default_factory=dict)  # (template id, attribute) -> Storage of a plain tensor attribute
    inputs: dict = field(default_factory=dict)  # the root's own forward inputs: ("kw", name) -> Storage


def log_of(interp: Host) -> SavedLog | None:
    """The saved-tensor log of the rule under analysis (None outside a forward)."""
    rec = interp.recorder
    draft = rec.draft if rec is not None else None
    if draft is None:
        return None
    if draft.saved is None:
        draft.saved = SavedLog()
    return draft.saved


def gap(interp: Host, why: str) -> None:
    """Something is saved that the table cannot size: the rule gets no activation_bytes."""
    log = log_of(interp)
    if log is not None and not _sdpa_only(interp):
        log.gaps.append((interp.guard(), f"{why} ({interp.current_loc})"))
        tail.unsure(interp)


def _sdpa_only(interp: Host) -> bool:
    """The op runs only on the SDPA path (train steps are measured with eager attention)."""
    return any(_implies_sdpa(g) for g in interp.assume)


def _loops(interp: Host) -> tuple:
    """The symbolic loops of the forward under analysis around the current op."""
    log = log_of(interp)
    return tuple(interp.sym_loops[log.loop_base:]) if log is not None else ()


def fresh(interp: Host, t: Any) -> None:
    """`t` (or each tensor in a tuple) is a new allocation."""
    log = log_of(interp)
    if log is None:
        return
    for v in _flat(t):
        if isinstance(v, Tensor) and not v.param:
            log.idents[id(v)] = (v, ((X.TRUE, Storage(tensor_bytes(v), _loops(interp))),))


def fresh_leaves(interp: Host, value: Any) -> None:
    """Each tensor of a value of branches (a brain's `Phi(cond, None, mask)`) is a new allocation."""
    if isinstance(value, Phi):
        fresh_leaves(interp, value.a)
        fresh_leaves(interp, value.b)
    else:
        fresh(interp, value)


def same(interp: Host, result: Any, base: Tensor) -> None:
    """`result` (or each piece of it) shares `base`'s storage (a view, a no-op)."""
    log = log_of(interp)
    if log is None:
        return
    ident = ident_of(log, base)
    for v in _flat(result):
        if isinstance(v, Tensor) and v is not base:
            if ident is None:
                log.idents.pop(id(v), None)
            else:
                log.idents[id(v)] = (v, ident)


def maybe_same(interp: Host, result: Tensor, base: Tensor, cond: Bool) -> None:
    """`result` is `base`'s storage where `cond` holds, else a new allocation."""
    log = log_of(interp)
    if log is None or not isinstance(result, Tensor):
        return
    if cond == X.TRUE:
        return same(interp, result, base)
    ident = ident_of(log, base)
    own = Storage(tensor_bytes(result), _loops(interp))
    if cond == X.FALSE or ident is None:
        if ident is None and cond != X.FALSE:
            log.idents.pop(id(result), None)
            return
        log.idents[id(result)] = (result, ((X.TRUE, own),))
        return
    arms = tuple((X.band(cond, c), s) for c, s in ident) + ((X.bnot(cond), own),)
    log.idents[id(result)] = (result, arms)


PARAMETER = Storage(None, counted=True)
"""The storage of every parameter and buffer: never counted (weight_bytes has it)."""


def ident_of(log: SavedLog, t: Tensor) -> tuple | None:
    """The (condition, storage) arms of `t`; None: not known."""
    if t.param or t.buffer and id(t) not in log.idents:
        return ((X.TRUE, PARAMETER),)  # a module's buffer: in weight_bytes, as a parameter
    got = log.idents.get(id(t))
    if got is not None and got[0] is t:
        return got[1]
    merged = getattr(t, "merged", None)
    if merged:
        cond, a, b = merged
        ia = ident_of(log, a) if isinstance(a, Tensor) else None
        ib = ident_of(log, b) if isinstance(b, Tensor) else None
        if ia is None or ib is None:
            return ia if a == b else None  # alike arms (valueops.make_phi): the first's, as before they were told apart
        arms = tuple((X.band(cond, c), s) for c, s in ia) + tuple((X.band(X.bnot(cond), c), s) for c, s in ib)
        log.idents[id(t)] = (t, arms)
        return arms
    return None


def storage_is_all_of(log: SavedLog, t: Any) -> bool:
    """Whether `t` is all of each storage it may be (False: a view of part of one, or a storage not known)."""
    ident = ident_of(log, t) if isinstance(t, Tensor) else None
    return ident is not None and all(s.nbytes is not None and X.as_exact(s.nbytes) == X.as_exact(tensor_bytes(t)) for _, s in ident)


def module_tensor(interp: Host, key: tuple, value: Any, buffer: bool = False) -> Any:
    """A tensor an `__init__` stored on the module: a registered buffer (gemma3's `embed_scale`) is never
    counted, as a parameter is not; a plain attribute (codegen's `scale_attn`, which the oracle counts
    where it is saved) is one storage per module instance, the same at every read of the forward."""
    log = log_of(interp)
    if log is None or not isinstance(value, Tensor) or value.param or value.buffer:
        return value
    if buffer:
        log.idents[id(value)] = (value, ((X.TRUE, PARAMETER),))
        return value
    storage = log.state.get(key)
    if storage is None:
        storage = log.state[key] = Storage(tensor_bytes(value), ())
    log.idents[id(value)] = (value, ((X.TRUE, storage),))
    return value


def register_args(interp: Host, log: SavedLog, args: list, kwargs: dict) -> None:
    """A forward's inputs: the caller's storages (the root's own: the workload's input_ids)."""
    def walk(value: Any, key: tuple) -> None:
        if isinstance(value, Tensor) and not value.param:
            storage = Storage(tensor_bytes(value), (), None if log.root else key)
            if log.root:
                log.inputs[key] = storage
            log.idents[id(value)] = (value, ((X.TRUE, storage),))
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(v, key + (i,))
        elif isinstance(value, Phi):  # an input of two branches (beam's per-layer-type rotary pair or None): each arm at the key
            walk(value.a, key)
            walk(value.b, key)

    for i, v in enumerate(args):
        walk(v, ("pos", i))
    for k, v in kwargs.items():
        walk(v, ("kw", k))


def save(interp: Host, t: Any, why: str) -> None:
    """Autograd keeps `t` for backward (a value of two branches: each under its condition)."""
    log = log_of(interp)
    if interp.grad_off:
        return  # under torch.no_grad() autograd records no node, so keeps nothing
    if isinstance(t, Phi) and log is not None:
        for cond, v in ((t.cond, t.a), (X.bnot(t.cond), t.b)):
            interp.assume.append(cond)
            try:
                save(interp, v, why)
            finally:
                interp.assume.pop()
        return
    if log is None or not isinstance(t, Tensor) or t.param:
        if log is not None and not isinstance(t, Tensor) and not isinstance(t, (Num, Bool, int, float)):
            gap(interp, f"{why}: saves a value that is not a tensor, or one the analysis cannot shape")
        return
    tail.cut(interp, interp.guard())
    ident = ident_of(log, t)
    if ident is None and t.merged:  # a join with an arm of unknown storage: each arm under its branch
        cond, a, b = t.merged
        for c, x in ((cond, a), (X.bnot(cond), b)):
            interp.assume.append(c)
            try:
                save(interp, x, why)
            finally:
                interp.assume.pop()
        return None
    if ident is None:
        return gap(interp, f"{why}: saves a tensor whose storage is not known")
    if len(interp.mults) != len(_loops(interp)):
        return gap(interp, f"{why}: saved in a loop of unknown trip count")
    guard = interp.guard()
    now = _loops(interp)
    for cond, storage in ident:
        if storage.counted:
            continue
        if storage.arg is None and storage.nbytes is None:
            return gap(interp, f"{why}: saves a tensor of unknown size or dtype")
        common = 0
        while common < min(len(now), len(storage.loops)) and now[common] is storage.loops[common]:
            common += 1
        count = ONE
        for loop in now[:common]:
            count = count * loop["count"]
        entry = log.saved.get(id(storage))
        c = saved_loops.some_iteration(X.band(guard, cond), now[common:])  # saved once, by any iteration
        if os.environ.get("LMPREDICT_SAVED_DEBUG"):
            print("save:", interp.recorder.draft.qualname.split(".")[-1], why, interp.current_loc, "arg" if storage.arg else X.render(storage.nbytes), "new" if entry is None else "dup", X.render_bool(c)[:80])
        if entry is None:
            log.saved[id(storage)] = [storage, c, count]
        elif entry[2] != count:
            return gap(interp, f"{why}: one storage saved at two loop depths")
        else:  # the two saves' conditions may close over the loop together (two arms of a branch on the index)
            entry[1] = saved_loops.some_iteration(X.bor(entry[1], c), now[common:])
        for loop in now[common:]:
            log.loop_saves.append((loop, storage, guard, c))


def op(interp: Host, name: str, inputs: list, result: Any, records: bool = True) -> None:
    """One op run: register its result's storage and save what its backward needs (nothing where
    it `records` no autograd node)."""
    log = log_of(interp)
    if log is None:
        return
    short = name.split(".")[-1] if not name.startswith("Cache.") else name
    if short.endswith("_") and not short.endswith("__") and short[:-1] in NOTHING | INDEXED_WRITES:
        return _in_place(interp, name, short[:-1], inputs, result, records)
    if short.endswith("_") and not short.endswith("__") and short[:-1] not in NOTHING | CASTS:
        if not interp.grad_off and any(isinstance(v, Tensor) and v.requires_grad for v in inputs) and not is_copy_into_grad(short, inputs):
            # (under torch.no_grad() an in-place op records nothing: RWKV's rescaling of its weights)
            gap(interp, f"in-place {short}")
        return
    tensors = [v for v in inputs if isinstance(v, Tensor)]
    if isinstance(result, Tensor) and any(result is v for v in tensors):
        if short not in VIEWS | RESHAPES | CASTS | TRAIN_ONLY | KEEPS_INPUT and result.requires_grad:
            gap(interp, f"{name}: the analysis returned its input as its result")
        return  # the op returned its input (a no-op cast, contiguous())
    t = inputs[0] if inputs and isinstance(inputs[0], Tensor) else None
    if short in VIEWS and t is not None:
        return same(interp, result, t)
    if short in RESHAPES and t is not None and isinstance(result, Tensor) and result.shape is not None:
        shape = tuple(result.shape)
        return _copy_unless(interp, log, short, t, result, lambda x: (view_of(x, shape) or (None,))[0])
    if short in CASTS and t is not None and isinstance(result, Tensor):
        if short == "contiguous":
            return _copy_unless(interp, log, short, t, result, is_contiguous)
        if is_device_move(short, inputs):
            return same(interp, result, t)  # `x.to(y.device)` hands back x (trocr's positions of two dtypes)
        a, b = elem_bytes(t), elem_bytes(result)
        if a is None or b is None:
            log.idents.pop(id(result), None)
            return None if not t.requires_grad else gap(interp, f"{short}: a cast between dtypes the table does not size")
        noop = same_dtype(t.dtype, result.dtype) if isinstance(t.dtype, CondDtype) or isinstance(result.dtype, CondDtype) else None
        if noop is not None:  # a dtype of two arms: the input's storage in the arms whose dtype is the target's
            return maybe_same(interp, result, t, noop)
        return maybe_same(interp, result, t, X.cmp("==", a, b) if t.dtype != result.dtype else X.TRUE)
    if short in TRAIN_ONLY and t is not None:
        return _dropout(interp, short, inputs, result, t)
    fresh(interp, result)
    saves = saves_of(short, inputs, result) if records and not interp.grad_off else []
    if os.environ.get("LMPREDICT_SAVED_DEBUG"):
        print("op:", short, interp.current_loc, "saves", None if saves is None else len(saves), [type(v).__name__ for v in inputs], records)
    if saves is None:
        if any(needs_grad(v) or isinstance(v, (Unknown, Phi)) for v in inputs):
            gap(interp, f"{name}: not in the saved-tensor table")
        return
    if short in ("matmul", "@") and len(tensors) == 2:
        saves = [_folded(interp, log, v, tensors) for v in saves]
    own = tail.own_flops(interp) if saves and short in PRODUCTS else None
    for v in saves:
        if v == "buffer":  # a scratch tensor of the input's size and dtype (log_sigmoid_forward)
            _save_new(interp, t)
        else:
            save(interp, v, name)
    tail.restore(interp, own)


def _in_place(interp: Host, name: str, base: str, inputs: list, result: Any, records: bool) -> None:
    """An in-place op (`out.add_(y)`, `x.scatter_(1, idx, src)`, `x.index_add_(0, idx, src)`): its result is the
    receiver's storage, and its backward keeps what the out-of-place op's does (add nothing, the indexed
    writes their index where the written values require grad)."""
    receiver = inputs[0] if inputs and isinstance(inputs[0], Tensor) else None
    if receiver is None:
        return gap(interp, f"in-place {base}_ of a value that is not a tensor") if any(needs_grad(v) for v in inputs) else None
    if isinstance(result, Tensor) and result is not receiver:
        same(interp, result, receiver)
    saves = saves_of(base, inputs, result) if records and not interp.grad_off else []
    if saves is None:
        return gap(interp, f"{name}: not in the saved-tensor table")
    for v in saves:
        save(interp, v, name)
    return None


def _save_new(interp: Host, like: Tensor | None) -> None:
    """A storage the op allocates only for backward, of `like`'s size and dtype."""
    storage = Storage(tensor_bytes(like) if isinstance(like, Tensor) else None, _loops(interp))
    if storage.nbytes is None:
        return gap(interp, "a scratch tensor of unknown size")
    tail.cut(interp, interp.guard())
    log_of(interp).saved[id(storage)] = [storage, interp.guard(), _loop_count(interp)]
    return None


def _one_on_a_branch(n: Num) -> bool:
    """Whether a batch dim of a matmul operand is 1 on a config branch (Falcon's `num_kv_heads ... else 1`, or 1
    itself): the broadcast the fold models. Other differing dims are taken as equal (GQA's repeated heads,
    `kv * (h // kv)` against `h`, whose broadcast arms would only lengthen the formula past its limit)."""
    if n == ONE:
        return True
    return any(isinstance(atom, X.Op) and atom.kind == "if" and (_one_on_a_branch(atom.args[1]) or _one_on_a_branch(atom.args[2]))
               for atom in n.atoms())


def _folded(interp: Host, log: SavedLog, v: Any, operands: list) -> Any:
    """What torch.matmul keeps of operand `v`: N-d operands are folded to 3-d (a view where the
    batch dims merge, else a copy: MQA's stride-0 repeated keys), an N-d left operand of a 2-d
    right one to 2-d; None where the analysis cannot tell. One batch dim that differs (Falcon's
    multi-query key, `num_kv_heads` against the query's heads) is equal or, where v's is 1, broadcast:
    torch.matmul expands v there before the fold (a stride-0 dim: a copy unless the dims outside are 1)."""
    a, b = operands
    if not isinstance(v, Tensor) or v.shape is None or any(not isinstance(x, Tensor) or x.shape is None for x in operands):
        return None
    if len(a.shape) <= 2 and len(b.shape) <= 2 or len(v.shape) <= 2 and (v is b or len(b.shape) > 2):
        return v
    apart: list = []
    if len(a.shape) >= 3 and len(b.shape) >= 3:
        if len(a.shape) != len(b.shape):
            return None  # broadcast batch dims of different ranks: expand, then reshape
        apart = [i for i, (x, y) in enumerate(zip(a.shape[:-2], b.shape[:-2])) if x != y and _one_on_a_branch(v.shape[i])]
        if len(apart) > 1:
            return None
        keep = 2
    elif v is a and len(b.shape) == 2:
        keep = 1
    else:
        return None

    def fold(x: Tensor) -> tuple | None:
        if x.shape is None:
            return None
        lead = ONE
        for d in x.shape[:-keep]:
            lead = lead * d
        return (lead, *x.shape[-keep:])

    if fold(v) == tuple(v.shape) and not apart:
        return v  # nothing merges (3-d operands): reshape to the same shape is a view, whatever the layout

    def arms_of(x: Tensor) -> tuple | None:
        return _view_arms(log, x, Tensor(fold(x), x.dtype), lambda y: (view_of(y, fold(y)) or (None,))[0] if fold(y) else None, _loops(interp))

    folded = Tensor(fold(v), v.dtype, no_grad=v.no_grad)
    arms = arms_of(v)
    if apart and arms is not None:
        i = apart[0]
        other = (b if v is a else a).shape[i]
        wide = _broadcast_view(log, v, i, other)
        wide_arms = arms_of(wide) if wide is not None else None
        bcast = X.band(X.cmp("==", v.shape[i], ONE), X.bnot(X.cmp("==", other, ONE)))
        arms = None if wide_arms is None else tuple((X.band(X.bnot(bcast), g), s) for g, s in arms) + tuple((X.band(bcast, g), s) for g, s in wide_arms)
    if arms is not None:
        log.idents[id(folded)] = (folded, arms)
    return folded


def _broadcast_view(log: SavedLog, v: Tensor, dim: int, size: Num) -> Tensor | None:
    """`v.expand(...)` to `size` along `dim` (where v's size there is 1): v's storage, stride 0 along `dim`."""
    ident = ident_of(log, v)
    if ident is None or any(layout_of(x) is None for _, x in arms(v)):
        return None
    lay = per_arm(v, lambda x: replace(layout_of(x), bcast=layout_of(x).bcast | {dim}))
    wide = Tensor(v.shape[:dim] + (size,) + v.shape[dim + 1:], v.dtype, layout=lay, no_grad=v.no_grad)
    log.idents[id(wide)] = (wide, ident)
    return wide


def _copy_unless(interp: Host, log: SavedLog, short: str, t: Tensor, result: Tensor, views: Any) -> None:
    """`result` is `t` viewed where `views(t)` holds, else a copy; a tensor joined from two branches
    is decided per branch (a branch only the SDPA path takes may stay unknown)."""
    arms = _view_arms(log, t, result, views)
    if arms is None:
        log.idents.pop(id(result), None)
        return None if not t.requires_grad else gap(interp, f"{short} of a tensor of unknown layout")
    log.idents[id(result)] = (result, arms)
    return None


def _view_arms(log: SavedLog, t: Tensor, result: Tensor, views: Any, loops: tuple = ()) -> tuple | None:
    if t.merged or layout_arms(t, log.idents):  # a joined tensor, or one whose layout differs by branch (brains/layout_arms.py)
        cond, a, b = t.merged or layout_arms(t, log.idents)
        out = []
        for c, x in ((cond, a), (X.bnot(cond), b)):
            arms = _view_arms(log, x, result, views, loops) if isinstance(x, Tensor) else None
            if arms is None and _implies_sdpa(c):
                arms = ((X.TRUE, Storage(tensor_bytes(result), loops)),)
            if arms is None:  # alike arms (valueops.make_phi): the first's, as before they were told apart
                return _view_arms(log, a, result, views, loops) if a == b and x is b else None
            out += [(X.band(c, g), s) for g, s in arms]
        return tuple(out)
    ok, ident = views(t), ident_of(log, t)
    if ok is None or ident is None:
        if os.environ.get("LMPREDICT_SAVED_DEBUG"):
            print("view_arms:", ok, ident, t.layout, t.shape)
        return None
    own = ((X.bnot(ok), Storage(tensor_bytes(result), loops)),) if ok != X.TRUE else ()
    return tuple((X.band(ok, g), s) for g, s in ident if ok != X.FALSE) + own


def _implies_sdpa(cond: Bool) -> bool:
    """Whether `cond` holds only on the SDPA path."""
    return any(a.kind == "sym" and a.args[0] == ATTN_SDPA for a in (cond.args if cond.kind == "and" else (cond,)))


def _dropout(interp: Host, short: str, inputs: list, result: Any, t: Tensor) -> None:
    """Dropout in training (the step runs in train mode, whatever `training=` the analysis read):
    p = 0 returns the input; otherwise CPU dropout multiplies by a noise tensor of the input's
    dtype and size, which the product keeps."""
    p = inputs[1] if len(inputs) > 1 else None
    if isinstance(p, (int, float)) and not isinstance(p, bool):
        p = Num.const(p)
    if not isinstance(p, Num) or short != "dropout" or not isinstance(result, Tensor):
        fresh(interp, result)
        return gap(interp, f"{short} with a rate the analysis cannot read") if t.requires_grad else None
    zero = X.cmp("==", p, X.ZERO)
    maybe_same(interp, result, t, zero)
    if result is t and zero != X.TRUE and any((lay := layout_of(x)) is not None and (lay.bcast or lay.gaps or not lay.dense) for _, x in arms(t)):
        return gap(interp, f"{short} of a strided view: in training its output is a new dense tensor the layout does not follow")  # XLNet's pos_emb
    if t.requires_grad and zero != X.TRUE:
        noise = Storage(tensor_bytes(t), _loops(interp))
        if noise.nbytes is None:
            return gap(interp, f"{short} of a tensor of unknown size")
        tail.cut(interp, X.band(interp.guard(), X.bnot(zero)))
        log_of(interp).saved[id(noise)] = [noise, X.band(interp.guard(), X.bnot(zero)), _loop_count(interp)]
    return None


def module(interp: Host, kind: str, x: Any, result: Any, shape: tuple | None = None, p: Any = None) -> None:
    """A torch.nn module call: Linear keeps its input, Embedding its indices, LayerNorm its input
    and two statistics (mean and 1/std, one per normalised row, at the input's dtype)."""
    if log_of(interp) is None:
        return
    if kind in ("nn.Identity",):
        return same(interp, result, x) if isinstance(x, Tensor) else None
    if kind.startswith("nn.Dropout"):
        return _dropout(interp, "dropout" if kind == "nn.Dropout" else kind, [x, p], result, x) if isinstance(x, Tensor) else None
    fresh(interp, result)
    if interp.grad_off:
        return None  # under torch.no_grad(): nothing saved (4.56 Marian's sinusoidal positions)
    if not isinstance(x, Tensor):
        return gap(interp, f"{kind}: input not a tensor")
    if kind in ("linear", "embedding"):
        if kind == "linear" and not (is_contiguous(x) == X.TRUE or (x.shape is not None and len(x.shape) <= 2)):
            # matmul folds an N-d input to 2-d for its mm (its weight requires grad): a view where the dims merge, else a copy
            x = _folded(interp, log_of(interp), x, [x, Tensor((ONE, ONE))])
            if x is None:
                return gap(interp, "Linear of an input of unknown shape or layout")
        own = tail.own_flops(interp) if kind == "linear" else None
        save(interp, x, kind)
        return tail.restore(interp, own)
    if kind == "layernorm":
        return _layer_norm(interp, x, shape, [Tensor((), "model", param=True)])
    if kind in CONVOLUTIONS:  # convolution_backward needs the input for the weight's gradient (a parameter: always)
        return save(interp, x, kind)
    short = kind.split(".")[-1].lower()
    saves = saves_of(short, [x], result)
    if saves is None:
        return gap(interp, f"{kind}: not in the saved-tensor table")
    for v in saves:
        save(interp, v, kind)


def _loop_count(interp: Host) -> Num:
    """The product of the trip counts of the symbolic loops around the current op."""
    return math.prod((loop["count"] for loop in _loops(interp)), start=ONE)


def module_call(interp: Host, callee: Any, term: Num, count: Num, args: list, kwargs: dict, ret: Any, mapping: dict, checkpointed: bool) -> None:
    """A call of a derived module's forward: its own storages (a call of its activation_bytes), the
    inputs it saves (counted here, as this rule's values), what it returns. Under
    `gradient_checkpointing` a GradientCheckpointingLayer keeps only its positional tensor inputs."""
    log = log_of(interp)
    inner: SavedLog | None = callee.saved
    if log is None:
        return
    if inner is None:
        inner = callee.saved = SavedLog()
    for guard, why in inner.gaps:
        log.gaps.append((X.band(interp.guard(), X.substitute(guard, mapping)), f"{callee.qualname}: {why}"))
    log.past_cache += saved_loops.past_cache(inner.past_cache, interp.guard(), mapping, _loops(interp))
    library = getattr(interp, "library", None)
    inline = library is not None and library.get(callee.qualname) is not None  # a library rule prices it (transformers' activation classes)
    own = terms(inner, lambda guard: True) if inline else None
    if inline and (own is None or inner.calls):
        gap(interp, f"{callee.qualname}: a library rule prices this module, and its saved tensors cannot be inlined")
        return
    gc = X.bsym(GC) if checkpointed else X.FALSE
    saved_guard = interp.assume[:]
    interp.assume.append(X.bnot(gc))
    try:
        if inline:  # its own storages, in this rule's names (its rule is the library's, without activation_bytes)
            for t in own:
                sub = Term(X.band(interp.guard(), X.substitute(t.guard, mapping)), interp.mult() * count * X.substitute(t.mult, mapping), X.substitute(t.expr, mapping), t.note)
                log.calls.append(sub)
        else:
            summed = saved_loops.over_experts(term, interp.mult() * count, interp.mults[-1] if interp.mults else None)
            if summed is None:
                gap(interp, f"{callee.qualname}: called with one expert's tokens outside a loop over the experts")
            else:
                log.calls.append(Term(interp.guard(), summed[1], summed[0]))
        for key, cond in exports(inner):
            value = under(lookup(args, kwargs, key), X.substitute(cond, mapping))  # of branches: the arm the callee saved
            if not _tensor_arms(value):
                gap(interp, f"{callee.qualname}: saves an input the call cannot find")
                continue
            interp.assume.append(X.substitute(cond, mapping))
            try:
                save(interp, value, callee.qualname)
            finally:
                interp.assume.pop()
    finally:
        interp.assume[:] = saved_guard
    tail.after_call(interp, callee, term, count)
    if checkpointed:
        interp.assume.append(gc)
        try:
            for v in args:
                _save_tensor_leaves(interp, v, "checkpoint")
        finally:
            interp.assume.pop()


def _tensor_arms(value: Any) -> bool:
    """Whether `value` is a tensor, or a value of branches whose every arm is (where `save` takes each under its condition)."""
    if isinstance(value, Phi):
        return _tensor_arms(value.a) and _tensor_arms(value.b)
    return isinstance(value, Tensor)


def _save_tensor_leaves(interp: Host, v: Any, why: str, branch: bool = False) -> None:
    """Save `v` where it is a tensor: a value of two branches (the eager causal mask, None on the
    SDPA path) each under its condition. A branch's tensor whose storage the analysis does not know,
    or a value it could not follow, is left out, as before this looked into branches: the gap would
    sit under `$gradient_checkpointing`, which the rule cannot rule out, and so would take the
    metric away without checkpointing too (gpt2's and BERT's masks; a known undercount with it)."""
    if isinstance(v, Phi):
        for cond, x in ((v.cond, v.a), (X.bnot(v.cond), v.b)):
            interp.assume.append(cond)
            try:
                _save_tensor_leaves(interp, x, why, True)
            finally:
                interp.assume.pop()
    elif isinstance(v, Tensor):
        log = log_of(interp)
        ident = ident_of(log, v) if log is not None else None
        if branch and (ident is None or any(s.arg is not None and s.nbytes is None for _, s in ident)):
            return  # not known, or a forward input of branches of unknown size (the caller could not size it either)
        save(interp, v, why)


GC = "gradient_checkpointing"
"""The workload fact of `--grad-checkpointing` (train.py binds it)."""


def returned(interp: Host, callee: Any, inner_ret: Any, ret: Any, args: list, kwargs: dict, mapping: dict | None = None) -> None:
    """The caller's view of a callee's return value: a forward input it returns is the caller's own
    storage; a storage it saved is counted there; anything else is new (per branch where the value
    joins branches that differ: OPT's decoder returns its final LayerNorm's output, which it does not
    save, or with `do_layer_norm_before` false the last layer's, which it does)."""
    log = log_of(interp)
    inner: SavedLog | None = callee.saved
    if log is None:
        return
    whole: dict = {}  # id(callee storage) -> the caller's one storage for every view of it this call returns
    for a, b in pairs(inner_ret, ret):
        if not isinstance(b, Tensor):
            continue
        ident = ident_of(inner, a) if inner is not None and isinstance(a, Tensor) else None
        if ident is None:
            fresh(interp, b)
            continue
        if len(ident) == 1 and ident[0][1].arg is not None:
            value = lookup(args, kwargs, ident[0][1].arg)
            if isinstance(value, Tensor):
                same(interp, b, value)
                continue
        if mapping is not None and _returned_per_branch(interp, log, inner, ident, b, mapping):
            continue
        counted = any(id(s) in inner.saved for _, s in ident)
        if not counted and mapping is not None and len(ident) == 1 and ident[0][0] == X.TRUE and ident[0][1].nbytes is not None:
            # a slice of a storage the callee made (ProphetNet's decoder returns `hidden_states[:, :seq]` and
            # `[:, seq:]` of one [batch, (1 + ngram) * seq, hidden]): the caller saving a view of it keeps all of it
            src = ident[0][1]
            whole.setdefault(id(src), Storage(X.substitute(src.nbytes, mapping), _loops(interp)))
            log.idents[id(b)] = (b, ((X.TRUE, whole[id(src)]),))
            continue
        fresh(interp, b)
        if counted:
            _, arms = log.idents[id(b)]
            arms[0][1].counted = True


def _returned_per_branch(interp: Host, log: SavedLog, inner: SavedLog, ident: tuple, b: Tensor, mapping: dict) -> bool:
    """A returned value whose branches the callee saved under different conditions: counted (there)
    where it saved the branch's storage, a new storage elsewhere. False: not that case (no forward
    inputs among the branches, not all saved or all unsaved unconditionally)."""
    entries = [inner.saved.get(id(s)) for _, s in ident]
    if any(s.arg is not None for _, s in ident) or all(e is None for e in entries) or all(e is not None and e[1] == X.TRUE for e in entries):
        return False
    arms: list = []
    for (cond, _), entry in zip(ident, entries):
        c = X.substitute(cond, mapping)
        kept = X.substitute(entry[1], mapping) if entry is not None else X.FALSE
        if kept != X.FALSE:
            arms.append((X.band(c, kept), Storage(None, counted=True)))
        if kept != X.TRUE:
            arms.append((X.band(c, X.bnot(kept)), Storage(tensor_bytes(b), _loops(interp))))
    log.idents[id(b)] = (b, tuple(arms))
    return True


def exports(log: SavedLog) -> list:
    """(input key, condition) of every forward input the rule's forward saves."""
    return [(s.arg, c) for s, c, _ in log.saved.values() if s.arg is not None]


def terms(log: SavedLog | None, reached: Any = None) -> list | None:
    """The rule's activation_bytes terms (None: a gap under a guard that `reached` does not rule out)."""
    if log is None:
        return []
    if any(reached is None or reached(guard) for guard, _ in log.gaps):
        return None
    out = list(log.calls)
    for storage, cond, count in _either(log):
        summed = saved_loops.over_experts(storage.nbytes, count, storage.loops[-1]["count"] if storage.loops else None)
        if summed is None:
            return None  # sized by one expert's tokens outside a loop over the experts
        nbytes, count = summed
        # the condition goes into the number (a term per storage, whatever merge_terms makes of guards)
        out.append(Term(X.TRUE, count, nbytes if cond == X.TRUE else X.ifnum(cond, nbytes, X.ZERO), "saved"))
    return out


def _either(log: SavedLog) -> list:
    """The rule's own saved entries, two of one size and count saved under complementary conditions on
    the layer index as one, unconditional (RWKV's `hidden_states / 2` every `rescale_every` layers, else the block's
    output: either way one storage, whatever the layer index)."""
    entries = [[s, c, n] for s, c, n in log.saved.values() if s.arg is None and not s.counted]
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            if _per_layer(a[1]) and b[1] == X.bnot(a[1]) and a[0].nbytes == b[0].nbytes and a[2] == b[2]:
                a[1], b[1] = X.TRUE, X.FALSE
    return [e for e in entries if e[1] != X.FALSE]


def _per_layer(cond: Bool) -> bool:
    """A condition on a layer loop's index (`$#i1`), which the emitter could not sum per layer."""
    return any(n.startswith("#") for n in X.free_params(cond))


def _flat(value: Any) -> list:
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    if isinstance(value, Repeated):  # prophetnet's `chunk(1 + ngram)`: every piece is the one element
        return _flat(value.elem)
    return [value]


def call(site: Any, pattern: str, result: Any) -> Any:
    """A call the op table (brains) ran: `Tensor.*`, `torch.*`, `F.*`, cache and mask helpers.
    Returns the result, a new object where a brain handed back its input for an op that allocates."""
    interp = site.interp
    if log_of(interp) is None:
        return result
    name = site.name or pattern
    short = name.split(".")[-1]
    inputs = ([site.receiver] if isinstance(site.receiver, Tensor) else []) + list(site.args) + list(site.kwargs.values())
    if isinstance(result, Tensor) and any(result is v for v in inputs) and short not in VIEWS | RESHAPES | CASTS | TRAIN_ONLY | KEEPS_INPUT:
        result = replace(result)  # same shape and dtype, a new tensor
    if isinstance(result, Tensor) and result.no_grad and short[:-1] in INDEXED_WRITES and any(needs_grad(v) for v in inputs[1:]):
        result = replace(result, no_grad=False)  # `zeros.index_add_(0, idx, src)`: the written values require grad
    _call(interp, site, name, short, inputs, result)
    return result


def _call(interp: Host, site: Any, name: str, short: str, inputs: list, result: Any) -> None:
    if short in TRAIN_ONLY and inputs and isinstance(inputs[0], Tensor):
        return _dropout(interp, short, [inputs[0], site.arg(1, "p", Num.const(0.5))], result, inputs[0])
    if short == "layer_norm" and inputs and isinstance(inputs[0], Tensor):
        shape = site.arg(1, "normalized_shape")
        weight, bias = site.arg(2, "weight"), site.arg(3, "bias")
        fresh(interp, result)
        return _layer_norm(interp, inputs[0], tuple(shape) if isinstance(shape, (tuple, list)) else None, [weight, bias])
    if short == "embedding" and name.startswith("F."):
        fresh(interp, result)
        weight = site.arg(1, "weight")
        if isinstance(weight, Tensor) and weight.requires_grad:
            save(interp, inputs[0], name)
        return None
    # nothing it returns requires grad: autograd records no node for it (its storage is still tracked);
    # transformers' mask builders compute from positions only
    records = any(isinstance(v, Tensor) and v.requires_grad for v in _flat(result)) and not name.startswith(NO_GRAD_HELPERS)
    op(interp, name, inputs, result, records=records)


def _layer_norm(interp: Host, x: Tensor, shape: tuple | None, params: list) -> None:
    """native_layer_norm keeps its input and two statistics per normalised row (at the input's
    dtype where the weight has it too; torch's CPU kernel)."""
    if not x.requires_grad and not any(isinstance(p, Tensor) and p.requires_grad for p in params):
        return None
    if shape is None or x.shape is None or len(shape) > len(x.shape) or elem_bytes(x) is None:
        return gap(interp, "layer_norm of an unknown input")
    save(interp, x, "layer_norm")
    rows = ONE
    for d in x.shape[: len(x.shape) - len(shape)]:
        rows = rows * d
    log = log_of(interp)
    for _ in range(2):  # mean and rstd
        s = Storage(rows * elem_bytes(x), _loops(interp))
        log.saved[id(s)] = [s, interp.guard(), _loop_count(interp)]
    return None
