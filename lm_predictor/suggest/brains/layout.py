"""Memory layout and the bytes of tensor ops, as lm_predictor/verify/bytes_counter.py counts them.

A `Tensor` carries a `layout`: None for a row-major contiguous tensor, a `Layout` (the order of
its dims in memory, the dims expanded with stride 0, whether it may have gaps), or
`UNKNOWN_LAYOUT`. Whether `contiguous()` copies, whether a `reshape` is a view, and which
operands `torch.matmul` copies follow from it, as symbolic conditions on the sizes (a dim of
size 1 has no stride that matters). Each op that dispatches a kernel records one `bytes` term:
a call of a generic op rule of rules/torch (`torch.elementwise`, `torch.copy`, `torch.cast`,
`torch.reduction`, `torch.factory`, `torch.matmul`, ...), whose `bytes_read` and
`bytes_written` are the op's. An op the table cannot price records a gap instead, and a rule
with a gap gets no bytes metric at all (a partial total would be wrong).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num
from lm_predictor.suggest.dtype_arms import ELEMENT_BYTES, CondDtype, cond_dtype, tag_bytes
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import MIXED_DTYPE_LAYOUT, TRAINING, CondLayout, External, Phi, Tensor


@dataclass(frozen=True)
class Layout:
    """Where a tensor's elements sit: `order` lists its dims from outermost to innermost in memory."""

    order: tuple
    bcast: frozenset = frozenset()  # dims expanded with stride 0
    dense: bool = True  # False: a slice or select of a bigger tensor (may have gaps, where is not known)
    gaps: frozenset = frozenset()  # dims with a gap just outside them in memory (a cut of a bigger tensor's inner dim)


UNKNOWN_LAYOUT = "unknown"



def elem_bytes(t: Any) -> Num | None:
    """Bytes per element of a tensor (None: a dtype the table does not size)."""
    if not isinstance(t, Tensor) or t.layout == MIXED_DTYPE_LAYOUT:
        return None
    return tag_bytes(t.dtype)


def arms(t: Tensor) -> list:
    """(guard, tensor) pairs of a tensor whose layout depends on a branch; one pair otherwise."""
    if not isinstance(t.layout, CondLayout):
        return [(X.TRUE, t)]
    c = t.layout
    return [(X.band(c.cond, g), x) for g, x in arms(replace(t, layout=c.a))] + \
        [(X.band(X.bnot(c.cond), g), x) for g, x in arms(replace(t, layout=c.b))]


def join_bools(pairs: list) -> Bool | None:
    """One condition from per-arm conditions (None if any arm does not know)."""
    if any(b is None for _, b in pairs):
        return None
    if len(pairs) == 1:
        return pairs[0][1]
    if all(b == pairs[0][1] for _, b in pairs):
        return pairs[0][1]
    return X.bor(*[X.band(g, b) for g, b in pairs])


def norm(lay: Any) -> Any:
    """A layout in normal form: row-major as None, a conditional layout with equal arms as that arm."""
    if isinstance(lay, Layout) and lay.dense and not lay.bcast and not lay.gaps and lay.order == tuple(range(len(lay.order))):
        return None
    if isinstance(lay, CondLayout):
        a, b = norm(lay.a), norm(lay.b)
        cond = X.bool_value(lay.cond)
        if a == b or cond is not None:
            return a if a == b or cond else b
        return CondLayout(lay.cond, a, b)
    return lay


def join_layouts(pairs: list) -> Any:
    """One (conditional) layout from per-arm layouts."""
    pairs = [(g, norm(lay)) for g, lay in pairs]
    if all(lay == pairs[0][1] for _, lay in pairs):
        return pairs[0][1]
    (g, first), rest = pairs[0], pairs[1:]
    return CondLayout(g, first, join_layouts(rest))


def per_arm(t: Tensor, fn: Any) -> Any:
    """fn(tensor) -> layout over each arm of t, joined."""
    return join_layouts([(g, fn(x)) for g, x in arms(t)])


def numel(t: Tensor) -> Num | None:
    if t.shape is None:
        return None
    out = ONE
    for d in t.shape:
        out = out * d
    return out


def tensor_bytes(t: Tensor) -> Num | None:
    """numel * element size (None where either is unknown)."""
    n, b = numel(t), elem_bytes(t)
    return None if n is None or b is None else n * b


def layout_of(t: Tensor) -> Layout | None:
    """The tensor's layout (row-major when none is recorded); None where it is not known."""
    if t.shape is None or t.layout in (UNKNOWN_LAYOUT, MIXED_DTYPE_LAYOUT) or isinstance(t.layout, CondLayout):
        return None
    if t.layout is None:
        return Layout(tuple(range(len(t.shape))))
    return t.layout


def with_layout(t: Tensor, lay: Layout | None | str) -> Tensor:
    """t with a layout (None: row-major, UNKNOWN_LAYOUT: not known); row-major is stored as None."""
    lay = norm(lay)
    if isinstance(lay, CondLayout):
        return replace(t, layout=lay)
    if lay is None:
        return replace(t, layout=None) if t.layout is not None else t
    if lay == UNKNOWN_LAYOUT:
        return replace(t, layout=UNKNOWN_LAYOUT)
    if lay.dense and not lay.bcast and not lay.gaps and lay.order == tuple(range(len(lay.order))):
        return replace(t, layout=None) if t.layout is not None else t
    return replace(t, layout=lay)


def is_one(d: Num) -> Bool:
    return X.cmp("==", d, ONE)


def not_one(d: Num) -> Bool:
    return X.cmp("!=", d, ONE)


def is_contiguous(t: Tensor) -> Bool | None:
    """torch's is_contiguous() as a condition on the sizes (None: layout unknown)."""
    if isinstance(t.layout, CondLayout):
        return join_bools([(g, is_contiguous(x)) for g, x in arms(t)])
    lay = layout_of(t)
    if lay is None:
        return None
    if not lay.dense:
        return None
    shape = t.shape
    conds = [is_one(shape[d]) for d in lay.bcast]
    pos = {d: i for i, d in enumerate(lay.order)}
    for i in range(len(shape)):
        for j in range(i + 1, len(shape)):
            if i in lay.bcast or j in lay.bcast:
                continue
            if pos[i] > pos[j]:
                conds.append(X.bor(is_one(shape[i]), is_one(shape[j])))
    for g in lay.gaps:  # a stride jump outside g: contiguous only where every dim outside it has size 1
        conds += [is_one(shape[m]) for m in lay.order[:pos[g]]]
    return X.band(*conds)


def _groups(old: tuple, new: tuple) -> list | None:
    """Pairs (old dims, new dims) of equal products, in order; size-1 dims on their own. Where the sizes do not
    show it: if the ranks agree and all dims but one are the same, that one pairs with its counterpart (a view
    keeps the element count, so they are equal wherever it runs: falcon's [b, h, q, d] keys viewed as
    [b, num_kv_heads, q, d] where the config leaves them one count); otherwise (TrOCR's
    `reshape(bsz, tgt_len, embed_dim)` of [b, t, h, H // h], embed_dim read off the input) the last dim of
    either side takes all that is left of the other, as do the rest of each side where their products are
    equal (XLNet's rel_shift: [b, n, i, j] as [b, n, j, i]): a reshape keeps numel, and the pairs before it
    have equal products."""
    found = _pairs(old, new, False)
    if found is None and len(old) == len(new) and sum(not _same(a, b) for a, b in zip(old, new)) == 1:
        return [([i], [i]) for i in range(len(old))]
    return found or _pairs(old, new, True)


def _pairs(old: tuple, new: tuple, tail: bool) -> list | None:
    """_groups from the sizes alone; `tail`: the last dim of either side takes what is left of the other."""
    i = j = 0
    out: list = []
    while i < len(old) or j < len(new):
        if i < len(old) and old[i].const_value() == 1:
            out.append(([i], []))
            i += 1
            continue
        if j < len(new) and new[j].const_value() == 1:
            out.append(([], [j]))
            j += 1
            continue
        if i >= len(old) or j >= len(new):
            return None
        lead = tail and _same(old[i], new[j]) and i < len(old) - 1 and j < len(new) - 1  # an equal leading dim stays its own
        if tail and not lead and (j == len(new) - 1 or i == len(old) - 1 or _same(_product(old[i:]), _product(new[j:]))):
            out.append((list(range(i, len(old))), list(range(j, len(new)))))
            break
        merged = _run(old, i, new[j])
        if merged is not None:  # new[j] is old[i] * ... * old[k - 1]
            out.append((list(range(i, merged)), [j]))
            i, j = merged, j + 1
            continue
        split = _run(new, j, old[i])
        if split is not None:  # old[i] is new[j] * ... * new[l - 1]
            out.append(([i], list(range(j, split))))
            i, j = i + 1, split
            continue
        oi, nj = [i], [j]
        po, pn = old[i], new[j]
        i, j = i + 1, j + 1
        while not _same(po, pn):
            if _divides(pn, po) and j < len(new):
                pn = pn * new[j]
                nj.append(j)
                j += 1
                continue
            if _divides(po, pn) and i < len(old):
                po = po * old[i]
                oi.append(i)
                i += 1
                continue
            return None
        out.append((oi, nj))
    return out


def _product(sizes: tuple) -> Num:
    out = ONE
    for d in sizes:
        out = out * d
    return out


def _run(sizes: tuple, start: int, target: Num) -> int | None:
    """The end k of the shortest run sizes[start:k] whose product is `target` (None: no such run)."""
    prod = ONE
    for k in range(start, len(sizes)):
        prod = prod * sizes[k]
        if _same(prod, target):
            return k + 1
    return None


def _same(a: Num, b: Num) -> bool:
    """Equal sizes, reading x // y as exact (a view to h * (H // h) from H runs only where h divides H),
    and ceil_div(x, y) as x // y (prophetnet's `chunk(1 + ngram)` pieces of ceil(n / c) rows, reshaped
    to the model's own `n // c`: the two agree only where c divides n, as the reshape requires)."""
    return a == b or X.as_exact(a) == X.as_exact(b) or X.as_exact(_ceil_as_floor(a)) == X.as_exact(_ceil_as_floor(b))


def _ceil_as_floor(num: Num) -> Num:
    """num with each ceil_div(x, y) atom written x // y."""
    out = ZERO
    for mono, coeff in num.terms:
        term = Num.const(coeff)
        for atom, e in mono:
            piece = Num.atom(atom)
            if isinstance(atom, X.Op) and atom.kind == "fn" and atom.args[0] == "ceil_div" and len(atom.args) == 3:
                piece = X.floordiv(atom.args[1], atom.args[2])
            term = term * (X.power(piece, Num.const(e)) if e != 1 else piece)
        out = out + term
    return out


def _divides(a: Num, b: Num) -> bool:
    """Whether b / a is a polynomial with integer coefficients (a is a proper factor of b)."""
    q = X.exact_div(b, a)
    if q is None or q == ONE:
        return False
    for mono, coeff in q.terms:
        if getattr(coeff, "denominator", 1) != 1 or any(e < 0 for _, e in mono):
            return False
    return True


def _mergeable(shape: tuple, lay: Layout, dims: list) -> Bool:
    """Whether old dims `dims` (logically adjacent) can be merged into one stride."""
    pos = {d: i for i, d in enumerate(lay.order)}
    violations = []
    for a in range(len(dims)):
        for b in range(a + 1, len(dims)):
            k, k2 = dims[a], dims[b]
            between = [is_one(shape[m]) for m in dims[a + 1:b]]
            kb, k2b = k in lay.bcast, k2 in lay.bcast
            if kb and k2b:
                continue
            if kb != k2b or pos[k] > pos[k2] or any(pos[k] < pos[m] <= pos[k2] for m in lay.gaps):
                bad: Bool = X.TRUE  # out of order, or a stride jump between them
            else:
                bad = X.bor(*[not_one(shape[m]) for m in lay.order[pos[k] + 1:pos[k2]] if m not in lay.bcast])
            violations.append(X.band(not_one(shape[k]), not_one(shape[k2]), *between, bad))
    return X.bnot(X.bor(*violations))


def view_of(t: Tensor, new_shape: tuple) -> tuple[Bool, Layout | None] | None:
    """(whether t can be viewed as new_shape, the view's layout where known); None: not known."""
    if isinstance(t.layout, CondLayout):
        seen = [(g, view_of(x, new_shape)) for g, x in arms(t)]
        if any(v is None for _, v in seen):
            return None
        lays = [(g, v[1] if v[1] is not None else UNKNOWN_LAYOUT) for g, v in seen]
        return join_bools([(g, v[0]) for g, v in seen]), join_layouts(lays)
    lay = layout_of(t)
    if lay is None or not lay.dense:
        return None
    groups = _groups(tuple(t.shape), tuple(new_shape))
    if groups is None:
        return None
    ok = X.band(*[_mergeable(t.shape, lay, oi) for oi, nj in groups if len(oi) > 1])
    pos = {d: i for i, d in enumerate(lay.order)}
    candidates = {}
    for pick in (min, max):
        slots: list = []
        bcast = set()
        for oi, nj in groups:
            if not nj:
                continue
            anchor = pick((pos[d] for d in oi), default=None) if oi else None
            slots.append((anchor, nj))
            if oi and all(d in lay.bcast for d in oi):
                bcast.update(nj)
        # new size-1 dims follow the dims before them
        keyed = []
        last = -1.0
        for n, (anchor, nj) in enumerate(slots):
            key = anchor if anchor is not None else last + 0.5
            last = key
            keyed.append((key, n, nj))
        order = tuple(d for _, _, nj in sorted(keyed) for d in nj)
        candidates[pick] = (order, frozenset(bcast))
    gaps = set()
    for oi, nj in groups:  # a gap outside an old dim stays outside the outermost new dim made of it
        if any(d in lay.gaps for d in oi):
            if not nj:
                return ok, None
            gaps.add(nj[0])
    outer, inner = (Layout(*candidates[pick], True, frozenset(gaps)) for pick in (min, max))
    if outer == inner:
        return ok, outer
    apart = [oi for oi, _ in groups if len(oi) > 1 and max(pos[d] for d in oi) - min(pos[d] for d in oi) >= len(oi)]
    if len(apart) == 1 and len(apart[0]) == 2:
        # two dims merged across others (which then have size 1): the merged dim sits where the inner
        # one does, or where the outer one does when the inner one has size 1
        return ok, CondLayout(is_one(t.shape[max(apart[0], key=lambda d: pos[d])]), outer, inner)
    return ok, None


def mixed_merges(t: Tensor, result: Tensor) -> tuple[Bool, frozenset] | None:
    """For a view merging stride-0 dims with others: (the others all have size 1, the merged new dims)."""
    lay = layout_of(t)
    groups = _groups(tuple(t.shape), tuple(result.shape)) if lay is not None and t.shape is not None and result.shape is not None else None
    if groups is None:
        return None
    conds, dims = [], set()
    for oi, nj in groups:
        if len(oi) > 1 and any(d in lay.bcast for d in oi) and not all(d in lay.bcast for d in oi):
            conds += [is_one(t.shape[d]) for d in oi if d not in lay.bcast]
            dims |= set(nj)
    return (X.band(*conds), frozenset(dims)) if dims else None


def copy_term(label: str, t: Tensor, copies: Bool = X.TRUE) -> Num | None:
    """A materialising copy of t (clone, contiguous, a reshape that cannot view): torch.copy."""
    n, b = numel(t), elem_bytes(t)
    if n is None or b is None:
        return None
    kw: dict = {"numel": n, "dtype_bytes": b}
    if copies != X.TRUE:
        kw["copies"] = copies
    return X.call(label, "torch.copy", kw)


def _one_of(v: Phi) -> Any:
    """A branch-dependent operand: None where no arm is a tensor (Python scalars read nothing), one tensor where
    every arm is a tensor of one dtype and one numel, else NotImplemented (an operand the bytes cannot size:
    a gap, never a silent 0)."""
    arms_, todo = [], [v]
    while todo:
        x = todo.pop()
        if isinstance(x, Phi):
            todo += [x.a, x.b]
        else:
            arms_.append(x)
    if not any(isinstance(x, Tensor) for x in arms_) and all(isinstance(x, (Num, Bool, int, float, bool)) for x in arms_):
        return None
    if not all(isinstance(x, Tensor) and x.shape is not None for x in arms_):
        return NotImplemented
    first = arms_[0]
    if any(x.dtype != first.dtype or numel(x) != numel(first) for x in arms_[1:]):
        return NotImplemented
    return first


def elementwise_term(label: str, inputs: list, out: Tensor) -> Num | None:
    """One pointwise kernel: every distinct tensor input read at its own numel, the output written."""
    n, ob = numel(out), elem_bytes(out)
    if n is None or ob is None:
        return None
    tensors: list = []
    for v in inputs:
        if isinstance(v, Phi):
            v = _one_of(v)  # a tensor that depends on a branch (XLM's causal or padding mask) reads as one
            if v is NotImplemented:
                return None
        if isinstance(v, Tensor) and not any(v is u for u in tensors):
            tensors.append(v)
    first = tensors[0] if tensors else None
    b = elem_bytes(first) if first is not None else ob
    if b is None:
        return None
    full, small, extra = 0, ZERO, ZERO
    for v in tensors:
        vn, vb = numel(v), elem_bytes(v)
        if vn is None or vb is None:
            return None
        if v.dtype != first.dtype:
            extra = extra + vn * vb
        elif vn == n:
            full += 1
        else:
            small = small + vn
    kw: dict = {"numel": n}
    if full != 1:
        kw["n_inputs"] = Num.const(full)
    if small != ZERO:
        kw["broadcast_numel"] = small
    if extra != ZERO:
        kw["extra_read"] = extra
    kw["dtype_bytes"] = b
    if ob != b:
        kw["out_bytes"] = ob
    return X.call(label, "torch.elementwise", kw)


def price(interp: Host, term: Num | None, why: str) -> bool:
    """Record one op's bytes term, or a gap where it could not be priced."""
    if term is None:
        interp.add_cost("bytes_gap", ZERO, note=why)
        return False
    interp.add_cost("bytes", term)
    return True


def free(interp: Host) -> None:
    """An op that moves no bytes (a view, metadata, an op that returns its input)."""
    interp.add_cost("bytes", ZERO)


def gap(interp: Host, why: str) -> None:
    """An op without a bytes model: the rule gets no bytes (LMPREDICT_SUGGEST_DEBUG prints where)."""
    if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
        print("bytes gap:", why, interp.current_loc)
    interp.add_cost("bytes_gap", ZERO, note=why)


def promote(values: list) -> str | None:
    """The result dtype tag of a pointwise op (torch's type promotion over the tags); per arm of an
    operand of a conditional dtype (dtype_arms.py), joined."""
    first = next((v.dtype for v in values if isinstance(v, Tensor) and isinstance(v.dtype, CondDtype)), None)
    if first is None:
        return _promote_plain(values)
    a = promote([replace(v, dtype=first.a) if isinstance(v, Tensor) and v.dtype == first else v for v in values])
    b = promote([replace(v, dtype=first.b) if isinstance(v, Tensor) and v.dtype == first else v for v in values])
    return None if a is None or b is None else cond_dtype(first.cond, a, b)


def _promote_plain(values: list) -> str | None:
    """promote over tags of one dtype each."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        return None
    dims = [t for t in tensors if t.shape is None or len(t.shape) > 0] or tensors
    tags = {t.dtype for t in dims}
    zero = {t.dtype for t in tensors if t not in dims}
    if not (tags | zero) <= set(ELEMENT_BYTES):
        return None
    if "complex64" in tags | zero:
        return "complex64"  # with float32, float16, bfloat16 or integers: complex64
    has_float_scalar = any(isinstance(v, Num) and not X.is_integral(v) for v in values)
    for kind in ("float32", "model"):
        if kind in tags:
            return "float32" if "float32" in tags else "model"
    # integer / bool tensors: a float 0-dim tensor or a Python float makes a float result
    if "float32" in zero or "model" in zero:
        return "float32" if "float32" in zero else "model"
    if has_float_scalar:
        return "float32"
    for kind in ("long", "int32"):  # integer tensors with dims decide; a 0-dim one only lifts bool
        if kind in tags:
            return kind
    return "long" if "long" in zero else "int32" if "int32" in zero else "bool"


def _full_shape(shape: tuple, out: tuple) -> bool:
    """Whether an input has the output's shape: equal dims, or two sizes written differently (a
    callee's @d against the weight's d) that broadcasting makes equal, as neither is a literal 1."""
    return len(shape) == len(out) and all(a == b or a.const_value() is None and b.const_value() is None for a, b in zip(shape, out))


def elementwise_layout(inputs: list, out: Tensor) -> Any:
    """TensorIterator's output layout: that of the first input with the output's full shape."""
    for v in inputs:
        if isinstance(v, Tensor) and v.shape is not None and out.shape is not None and _full_shape(tuple(v.shape), tuple(out.shape)):
            if isinstance(v.layout, CondLayout):
                return per_arm(v, lambda x: elementwise_layout([x], out))
            lay = layout_of(v)
            if lay is None:
                return UNKNOWN_LAYOUT
            if lay.bcast:
                return UNKNOWN_LAYOUT
            return Layout(lay.order)  # dense, in the input's memory order (a slice's output has no gaps)
    return None


def scalar_tensor_dtype(data: Any) -> str:
    """The dtype tag of torch.tensor(data) for a Python scalar: bool for a bool, long for an int
    (minicpm3's `embed_scale` from an int `scale_emb`: 8 bytes), the default float dtype ("model")
    otherwise, a parameter annotated float included (gemma3's `embed_scale: float`)."""
    if isinstance(data, Bool):
        return "bool"
    return "long" if isinstance(data, Num) and X.is_integral(data) else "model"


def trained_dropout(t: Tensor, p: Any) -> Tensor:
    """What dropout returns of `t`, a new tensor object: in training at a rate p != 0 CPU dropout is
    `t * noise`, noise an `empty_like(t)`, dense and row-major where `t` is an expanded or sliced view
    kept in row-major order (XLNet's `pos_emb`, expanded over the batch unless `bi_data`), so the
    result is dense then; `t` itself at p = 0 or in inference (each arm under `training and p != 0`).
    `t` unchanged where some arm's layout is permuted or not known: the saved-tensor table decides."""
    if isinstance(p, (int, float)) and not isinstance(p, bool):
        p = Num.const(p)
    lays = [layout_of(x) for _, x in arms(t)] if t.shape is not None else [None]
    if not isinstance(p, Num) or any(lay is None or lay.order != tuple(range(len(lay.order))) for lay in lays):
        return t
    if all(lay.dense and not lay.bcast and not lay.gaps for lay in lays):
        return t  # row-major already: dropout's output has the input's layout
    fresh = X.band(X.bsym(TRAINING), X.bnot(X.cmp("==", p, ZERO)))
    return replace(t, layout=CondLayout(fresh, None, t.layout), merged=None) if fresh != X.FALSE else t


def is_device_move(name: str, inputs: list) -> bool:
    """`x.to(device)` (or `x.to(y.device)`): no dtype, so torch hands back x itself on its own device
    (the analysis runs on one device), whatever x's dtype."""
    rest = inputs[1:]
    return name == "to" and bool(rest) and all(isinstance(v, External) and v.name == "torch.device" for v in rest)


def is_copy_into_grad(name: str, inputs: list) -> bool:
    """`dst.copy_(src)` into a tensor (or a slice of one) that already requires grad: autograd's
    CopySlices saves no tensor (minicpm3's `key_states[..., :d].copy_(k_nope)` into a `new_empty`), and
    the destination's requires-grad mark stays right."""
    return name == "copy_" and bool(inputs) and isinstance(inputs[0], Tensor) and inputs[0].requires_grad
