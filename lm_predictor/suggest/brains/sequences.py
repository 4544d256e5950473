"""Tensor sequences: split and chunk into pieces, cat and stack pieces back (routed pieces of a
loop over experts join at their routing total)."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import as_int, norm_dim, shape_of, unknown_tensor
from lm_predictor.suggest.expr import ZERO, Num
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.layers import index_cells, num_conditions
from lm_predictor.suggest.values import ListV, Repeated, Tensor, Unknown


def split(t: Tensor, size: Any, dim: Any) -> Any:
    if t.shape is None:
        return Unknown("split of a tensor of unknown shape")
    rank = len(t.shape)
    d = norm_dim(dim, rank)
    if d is None:
        return Unknown("split along a symbolic dim")
    n = t.shape[d]
    if isinstance(size, ListV) and isinstance(size.rep, Repeated) and isinstance(size.rep.elem, Unknown):
        # sizes read from a tensor's data (tokens per expert): the pieces partition the dim, so
        # each holds a routed share of it and together they hold all of it
        return Repeated(Tensor(t.shape[:d] + (X.routed(n),) + t.shape[d + 1:], t.dtype), size.rep.count)
    if isinstance(size, (tuple, list, ListV)):
        sizes = list(size.items if isinstance(size, ListV) else size)
        return tuple(Tensor(t.shape[:d] + (s,) + t.shape[d + 1:], t.dtype) for s in sizes)
    if not isinstance(size, Num):
        return Unknown("split size")
    count = X.exact_div(n, size)
    c = count.const_value() if count is not None else None
    if c is None:  # sizes the model requires to divide (h // 4 chunks of 3 * h / 4)
        count = X.exact_div(X.as_exact(n), X.as_exact(size))
        c = count.const_value() if count is not None else None
    piece = Tensor(t.shape[:d] + (size,) + t.shape[d + 1:], t.dtype)
    if isinstance(c, int) and 0 < c <= 64:
        return tuple(piece for _ in range(c))
    return Repeated(piece, X.fn("ceil_div", n, size))


def chunk(t: Tensor, chunks: Any, dim: Any) -> Any:
    if t.shape is None:
        return Unknown("chunk of a tensor of unknown shape")
    c = as_int(chunks)
    d = norm_dim(dim, len(t.shape))
    if d is not None and c is None and isinstance(chunks, Num):
        # a count read from the config (prophetnet's 1 + ngram streams): that many pieces of
        # ceil(n / count), as torch gives where the count divides the dim (the model's own `n // count` assumes it);
        # torch.chunk raises unless the count is positive
        return Repeated(Tensor(t.shape[:d] + (X.fn("ceil_div", t.shape[d], chunks),) + t.shape[d + 1:], t.dtype), chunks)
    if c is None or d is None:
        return Unknown("chunk count")
    size = X.fn("ceil_div", t.shape[d], Num.const(c))
    return tuple(Tensor(t.shape[:d] + (size,) + t.shape[d + 1:], t.dtype) for _ in range(c))


def summed_over_index(rep: Repeated, d: int) -> Tensor | None:
    """cat of a Repeated whose items' shapes depend on their index (prophetnet's `[main] + [ngram streams]`,
    one Repeated over a fresh index): dim d summed over the groups of indices the conditions inside it split,
    the other dims read at any index. None when the conditions cannot be counted."""
    elem = rep.elem
    conds: set = set()
    for size in elem.shape:
        got = num_conditions(size, rep.index)
        if got is None:
            return None
        conds |= got
    cells = index_cells(sorted({min(a, X.bnot(a), key=X.render_bool) for a in conds}, key=X.render_bool), rep.index, rep.count)
    if not cells:
        return None
    total = ZERO
    for count, at, _ in cells:
        total = total + count * X.substitute(elem.shape[d], {rep.index: at})
    shape = [X.substitute(size, {rep.index: cells[0][1]}) for size in elem.shape]
    shape[d] = total
    return Tensor(tuple(shape), elem.dtype)


def cat(tensors: Any, dim: Any) -> Tensor:
    if isinstance(tensors, ListV) and tensors.rep is not None:
        tensors = tensors.rep
    if isinstance(tensors, Repeated) and tensors.index and isinstance(tensors.elem, Tensor) and tensors.elem.shape is not None \
            and any(tensors.index in X.free_params(size) for size in tensors.elem.shape):
        d = norm_dim(dim, len(tensors.elem.shape))
        summed = summed_over_index(tensors, d) if d is not None else None
        return summed if summed is not None else unknown_tensor("cat of pieces whose sizes depend on their position")
    if isinstance(tensors, Repeated) and isinstance(tensors.elem, Tensor) and tensors.elem.shape is not None:
        shape = list(tensors.elem.shape)
        d = norm_dim(dim, len(shape))
        if d is None:
            return unknown_tensor("cat along a symbolic dim")
        routed = X.find_routed(shape[d])
        if routed:  # the experts' outputs together: the routing total
            shape[d] = X.replace_atoms(shape[d], routed[0], routed[0].args[0])
        else:
            shape[d] = shape[d] * tensors.count
        return Tensor(tuple(shape), tensors.elem.dtype)
    items = list(tensors.items if isinstance(tensors, ListV) else tensors) if isinstance(tensors, (tuple, list, ListV)) else None
    if not items:
        return unknown_tensor("cat of an unknown sequence")
    if any(x is None for x in items):
        raise DeadPath()  # torch.cat((None, x)): TypeError (a state a first call has not set yet)
    shapes = [shape_of(x) for x in items]
    known = [s for s in shapes if s is not None and len(s) > 0 and not (len(s) == 1 and s[0].const_value() == 0)]
    if not known:
        return unknown_tensor("cat of tensors of unknown shape")
    d = norm_dim(dim, len(known[0]))
    if d is not None and len(known[0]) == 4:  # cat([past_key_values[i][0], key_states], dim=2): the cache layer's past tokens
        shapes = [known[0][:d] + (x.route[1],) + known[0][d + 1:] if isinstance(x, Tensor) and past_shape(x) is not None and d == 2 else s
                  for x, s in zip(items, shapes)]
    if any(s is None for s in shapes):
        return unknown_tensor("cat with a tensor of unknown shape")
    rank = len(known[0])
    d = norm_dim(dim, rank)
    if d is None:
        return unknown_tensor("cat along a symbolic dim")
    total = ZERO
    for s in known:
        total = total + s[d]
    out = list(known[0])
    out[d] = total
    offsets = rank == 1 and any(isinstance(x, Tensor) and x.route == ("offsets",) for x in items)  # (0, *cumsum)
    routes = {x.route if isinstance(x, Tensor) else () for x in items}
    ids = routes.pop() if len(routes) == 1 and next(iter(routes))[:1] == ("ids",) else ()  # top-1 picks joined (phimoe's sparsemixer)
    return Tensor(tuple(out), items[0].dtype if isinstance(items[0], Tensor) else "model", route=("offsets",) if offsets else ids)


def stack(tensors: Any, dim: Any) -> Tensor:
    if isinstance(tensors, ListV) and tensors.rep is not None:
        tensors = tensors.rep
    if isinstance(tensors, Repeated) and isinstance(tensors.elem, Tensor) and tensors.elem.shape is not None:
        shape = list(tensors.elem.shape)
        d = as_int(dim) or 0
        if d < 0:
            d += len(shape) + 1
        shape.insert(d, tensors.count)
        return Tensor(tuple(shape), tensors.elem.dtype)
    items = list(tensors.items if isinstance(tensors, ListV) else tensors) if isinstance(tensors, (tuple, list, ListV)) else None
    if not items or not isinstance(items[0], Tensor) or items[0].shape is None:
        return unknown_tensor("stack")
    d = as_int(dim) or 0
    shape = list(items[0].shape)
    if d < 0:
        d += len(shape) + 1
    shape.insert(d, Num.const(len(items)))
    return Tensor(tuple(shape), items[0].dtype)


def past_layer(past: Num) -> Tensor:
    """keys or values of one cache layer (`past_key_values[i][0]`): [batch, heads, past, head_dim], of which the
    analysis knows the past length; cat() along that dim and `.shape[-2]` read it."""
    return Tensor(None, "model", "a layer of the cache (past_key_values[i])", route=("past", past))


def past_shape(t: Tensor) -> tuple | None:
    """The [batch, heads, past, head_dim] shape of a cache layer, unknown but for the past length."""
    if t.shape is None and t.route[:1] == ("past",):
        return (Unknown("batch of a cache layer"), Unknown("heads of a cache layer"), t.route[1], Unknown("head_dim of a cache layer"))
    return None
