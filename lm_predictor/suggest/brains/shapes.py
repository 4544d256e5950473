"""Tensor shapes through views, reshapes, permutes, squeezes, expands, reductions and indexing.

Pure shape transforms that tensors.py's method and function brains call (and torch_modules.py):
each takes a Tensor (and sizes or dims as the analysis's numbers) and returns the tensor the op
gives, or an unknown tensor that says why. None of them is counted by FlopCounterMode.
"""

from __future__ import annotations

import os
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import as_int, broadcast, norm_dim, numel, slice_length, unknown_tensor
from lm_predictor.suggest.brains.routing import mask_dim
from lm_predictor.suggest.brains.viewsize import inferred_size, settled
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.implied import fact_literals
from lm_predictor.suggest.valueops import decide_in
from lm_predictor.suggest.values import ListV, Phi, Tensor


# ---------------------------------------------------------------------------- reshaping


def view(t: Tensor, sizes: list | None, interp: Host, node: Any) -> Tensor:
    if t.shape is None and sizes is not None and all(isinstance(s, Num) and s.const_value() != -1 for s in sizes):
        return Tensor(tuple(sizes), t.dtype)  # every size given: view() only runs when they match the tensor
    if sizes is None or t.shape is None:
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("view:", interp.current_loc, sizes, t)
        return unknown_tensor("view with sizes the analysis cannot read" if t.shape is not None else f"view of an unknown tensor ({t.why})")
    sizes = [settled(interp, s) for s in sizes]  # read under the branch that runs the view
    infer = next((i for i, s in enumerate(sizes) if s.const_value() == -1), None)
    out = list(sizes)
    if infer is not None:  # view() only runs when the sizes divide: an exact quotient is the size
        out[infer] = inferred_size(list(t.shape), [x for i, x in enumerate(sizes) if i != infer])
    return Tensor(tuple(out), t.dtype)


def pad(t: Any, sizes: Any) -> Tensor:
    """F.pad(t, (left, right, top, bottom, ...)): the last dims grow by each pair (negative pads crop)."""
    if not isinstance(t, Tensor) or t.shape is None or not isinstance(sizes, tuple) or not all(isinstance(p, Num) for p in sizes):
        return unknown_tensor("pad")
    shape = list(t.shape)
    for i in range(0, len(sizes) - 1, 2):
        d = len(shape) - 1 - i // 2
        shape[d] = shape[d] + sizes[i] + sizes[i + 1]
    return Tensor(tuple(shape), t.dtype)


def permute(t: Tensor, dims: list) -> Tensor:
    if t.shape is None:
        return t
    rank = len(t.shape)
    order = [norm_dim(d, rank) for d in dims]
    if any(o is None for o in order) or len(order) != rank:
        return unknown_tensor("permute with symbolic dims")
    route = t.route
    if route and route[0] == "mask":
        route = mask_dim(route, order.index(route[2]))
    return Tensor(tuple(t.shape[o] for o in order), t.dtype, route=route)


def transpose(t: Tensor, d0: Any, d1: Any) -> Tensor:
    if t.shape is None:
        return t
    rank = len(t.shape)
    a, b = norm_dim(d0, rank), norm_dim(d1, rank)
    if a is None or b is None:
        return unknown_tensor("transpose with symbolic dims")
    shape = list(t.shape)
    shape[a], shape[b] = shape[b], shape[a]
    route = t.route
    if route and route[0] == "mask" and route[2] in (a, b):
        route = mask_dim(route, b if route[2] == a else a)
    return Tensor(tuple(shape), t.dtype, route=route)


def unsqueeze(t: Tensor, dim: Any) -> Tensor:
    if t.shape is None:
        return t
    d = as_int(dim)
    if d is None:
        return unknown_tensor("unsqueeze at a symbolic dim")
    rank = len(t.shape) + 1
    if d < 0:
        d += rank
    shape = list(t.shape)
    shape.insert(d, ONE)
    return Tensor(tuple(shape), t.dtype)


def squeeze(t: Tensor, dim: Any = None, decide: Any = None) -> Tensor:
    """x.squeeze(dim): a size a fact says is 1 goes too (`decide`: xlstm's step kernel, after
    `if sequence_length != 1: raise`). A branch's assumption does not: the arms' tensors keep one rank."""
    if t.shape is None:
        return t
    route = t.route if t.route and t.route[0] != "mask" else ()

    def one(d: Num) -> bool:
        return d.const_value() == 1 or (decide is not None and d.const_value() is None and decide(X.cmp("==", d, 1)) is True)

    if dim is None:
        return Tensor(tuple(d for d in t.shape if not one(d)), t.dtype, route=route)
    dims = dim if isinstance(dim, tuple) else (dim,)
    rank = len(t.shape)
    drop = {norm_dim(d, rank) for d in dims}
    return Tensor(tuple(s for i, s in enumerate(t.shape) if not (i in drop and one(s))), t.dtype, route=route)


def by_facts(interp: Host) -> Any:
    """A decide() that reads only the facts (what must hold for the code not to raise)."""
    lits = fact_literals(interp.facts, interp.assume)  # a fact learned under a branch where that branch runs
    return lambda b: decide_in(b, lits)


def expand(t: Tensor, sizes: list | None) -> Tensor:
    if sizes is None or t.shape is None:
        return unknown_tensor("expand")
    pad = len(sizes) - len(t.shape)
    old = (None,) * pad + tuple(t.shape)
    out = []
    for s, o in zip(sizes, old):
        out.append(o if s.const_value() == -1 and o is not None else s)
    return Tensor(tuple(out), t.dtype)


def repeat(t: Tensor, reps: list | None) -> Tensor:
    if reps is None or t.shape is None:
        return unknown_tensor("repeat")
    pad = len(reps) - len(t.shape)
    old = (ONE,) * pad + tuple(t.shape)
    return Tensor(tuple(o * r for o, r in zip(old, reps)), t.dtype)


def flatten(t: Tensor, start: Any = 0, end: Any = -1) -> Tensor:
    if t.shape is None:
        return t
    rank = len(t.shape)
    if rank == 0:
        return Tensor((ONE,), t.dtype)
    s, e = norm_dim(start, rank), norm_dim(end, rank)
    if s is None or e is None:
        return unknown_tensor("flatten")
    merged = numel(t.shape[s:e + 1])
    return Tensor(t.shape[:s] + (merged,) + t.shape[e + 1:], t.dtype)


def reduce(t: Tensor, dim: Any, keepdim: Any) -> Tensor:
    if t.shape is None:
        return t
    keep = keepdim is not None and X.bool_value(keepdim) if isinstance(keepdim, X.Bool) else False
    if dim is None:
        return Tensor((ONE,) * len(t.shape) if keep else (), t.dtype)
    dims = dim if isinstance(dim, (tuple, list)) else (dim.items if isinstance(dim, ListV) else (dim,))
    rank = len(t.shape)
    idx = {norm_dim(d, rank) for d in dims}
    if None in idx:
        return unknown_tensor("reduction over a symbolic dim")
    route = ()
    if t.route and t.route[0] == "mask" and t.route[2] not in idx:
        kept = [i for i in range(len(t.shape)) if i not in idx]
        route = mask_dim(t.route, t.route[2] if keep else kept.index(t.route[2]))
    if keep:
        return Tensor(tuple(ONE if i in idx else s for i, s in enumerate(t.shape)), t.dtype, route=route)
    return Tensor(tuple(s for i, s in enumerate(t.shape) if i not in idx), t.dtype, route=route)


# ---------------------------------------------------------------------------- indexing


def getitem(interp: Host, t: Tensor, index: Any, node: Any) -> Any:
    if t.shape is None:
        return Tensor(None, t.dtype, t.why)
    if t.route == ("offsets",) and isinstance(index, Num) and len(t.shape) == 1:
        return Tensor((), t.dtype, route=("offset",))  # one running total
    if t.values[:1] == ("arange",) and isinstance(index, Num) and isinstance(index.const_value(), int):
        # an element from the end of torch.arange(start, end, step) (elements from the start: known_element):
        # its value (cache_position[-1] + 1 = past + new tokens)
        k = index.const_value()
        return t.values[1] + t.values[2] * (t.shape[0] + k)
    items = list(index) if isinstance(index, tuple) else [index]
    shape = list(t.shape)
    out: list = []
    pos = 0
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    advanced: list = []
    for item in items:
        if item is None:
            out.append(ONE)
        elif item is Ellipsis:
            skip = len(shape) - consumed
            out.extend(shape[pos:pos + skip])
            pos += skip
        elif isinstance(item, Num):
            pos += 1
        elif isinstance(item, X.Bool):
            return unknown_tensor("boolean index")
        elif type(item).__name__ == "Slice":
            if pos >= len(shape):
                return unknown_tensor("slice beyond the rank")
            # a bound from a nullable config value (prophetnet's `max_target_positions:`): None there is the default bound
            bounds = tuple(_bound_or_default(b, default) for b, default in zip((item.start, item.stop, item.step), (ZERO, shape[pos], ONE)))
            if all(isinstance(b, Tensor) and b.route == ("offset",) for b in bounds[:2]) and bounds[2] is None:
                # x[offsets[e]:offsets[e + 1]]: the rows of one expert, cut at running totals of
                # tokens per expert; the cuts partition the dim
                out.append(X.routed(shape[pos]))
                pos += 1
                continue
            if any(b is not None and not isinstance(b, Num) for b in bounds):
                # bounds read from a tensor's data (cumsum of tokens per expert, ...): never a silent 0
                return unknown_tensor("slice with bounds from a tensor's data")
            out.append(slice_length(shape[pos], *bounds))
            pos += 1
        elif isinstance(item, Tensor):
            if item.dtype == "bool":
                return unknown_tensor("boolean mask index (data-dependent size)")
            if item.shape is None:
                return unknown_tensor("index tensor of unknown shape")
            if advanced and advanced[-1][2] != pos - 1:
                return unknown_tensor("tensor indices apart (their dims go first)")
            if advanced:  # indices side by side broadcast together into one block of dims (`w[tokens, slots]`)
                at, shape_so_far, _ = advanced[-1]
                joined = broadcast(shape_so_far, tuple(item.shape))
                out[at:at + len(shape_so_far)] = list(joined)
                advanced[-1] = (at, joined, pos)
            else:
                advanced.append((len(out), tuple(item.shape), pos))
                out.extend(item.shape)
            pos += 1
        elif isinstance(item, (ListV, list)):
            n = len(item.items if isinstance(item, ListV) else item)
            out.append(Num.const(n))
            pos += 1
        else:
            return unknown_tensor(f"index of type {type(item).__name__}")
    out.extend(shape[pos:])
    route = ()
    if t.route and t.route[0] == "mask" and items and t.route[2] == 0 and isinstance(items[0], (Num, Tensor)):
        route = ("slice", t.route[1])
    elif t.route and t.route[0] == "expert":
        route = t.route  # one row of the hit experts: still an expert id
    return Tensor(tuple(out), t.dtype, route=route)


def _bound_or_default(bound: Any, default: Num) -> Any:
    """A slice bound `Phi(c, n, None)` as `if c then n else default` (a None bound is the default one); others as they are."""
    if isinstance(bound, Phi) and (bound.a is None) != (bound.b is None):
        a, b = (default if x is None else x for x in (bound.a, bound.b))
        if isinstance(a, Num) and isinstance(b, Num):
            return X.ifnum(bound.cond, a, b)
    return bound
