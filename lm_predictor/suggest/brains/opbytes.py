"""The bytes of tensor methods, torch functions, operators and indexing (docs/bytes.md).

The shape brains (tensors.py) compute what an op returns; the functions here take that result,
give it its dtype and layout (brains/layout.py) and record the op's bytes term, or a gap where
the op is not in this table. Views and metadata record a zero term: they are priced, at 0.
"""

from __future__ import annotations

import os
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, norm_dim, size_list
from lm_predictor.suggest.brains.layout import (
    UNKNOWN_LAYOUT,
    CondLayout,
    Layout,
    copy_term,
    elem_bytes,
    elementwise_layout,
    elementwise_term,
    free,
    gap,
    arms,
    is_contiguous,
    join_layouts,
    layout_of,
    mixed_merges,
    per_arm,
    numel,
    price,
    promote,
    view_of,
    with_layout,
)
from lm_predictor.suggest.brains.castbytes import CASTS, cast, dtype_tag, preserve, preserved, unmodelled
from lm_predictor.suggest.brains.fnbytes import FACTORIES, LIKE_FACTORIES, price_factory, price_layer_norm
from lm_predictor.suggest.brains.gathers import price_more
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import CondLayout, External, ListV, Repeated, Tensor, Unknown

METADATA = {"size", "dim", "ndimension", "numel", "nelement", "element_size", "is_contiguous", "get_device", "data_ptr",
            "requires_grad_", "retain_grad", "detach", "detach_", "cpu", "cuda", "pin_memory", "share_memory_"}
VIEWS = {"transpose", "swapaxes", "swapdims", "t", "permute", "unsqueeze", "squeeze", "expand", "expand_as", "broadcast_to"}
UNARY = {"abs", "neg", "exp", "log", "sin", "cos", "sigmoid", "tanh", "relu", "rsqrt", "sqrt", "square", "reciprocal",
         "sign", "floor", "ceil", "round", "erf", "silu", "gelu", "log1p", "expm1", "trunc", "frac", "logical_not",
         "tril", "triu", "clamp", "clamp_min", "clamp_max", "pow", "nan_to_num", "softplus", "mish", "elu",
         "leaky_relu", "relu6", "hardtanh", "erfinv", "atan", "sinh", "cosh", "log2", "log10", "exp2"}
BINARY = {"add", "sub", "mul", "div", "maximum", "minimum", "fmod", "remainder", "eq", "ne", "lt", "le", "gt", "ge",
          "logical_and", "logical_or", "bitwise_and", "bitwise_or", "masked_fill", "where", "lerp", "atan2",
          "float_power", "addcmul", "addcdiv", "rsub", "true_divide"}
BOOL_OUT = {"eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "isnan", "isinf"}
REDUCTIONS = {"sum", "mean", "amax", "amin"}
PIECES = ("split", "chunk", "unbind", "split_with_sizes", "tensor_split", "narrow")
"""Views into pieces, as methods and as torch functions (`torch.split(x, [a, b], dim=-1)`)."""


def _tensors(values: list) -> list:
    return [v for v in values if isinstance(v, Tensor)]


def _label(site: CallSite, fallback: str) -> str:
    return site.label(fallback)


def price_method(site: CallSite, name: str, t: Tensor, result: Any) -> Any:
    """The bytes of `t.name(...)` whose shape result is `result`; returns the result with its dtype and layout."""
    interp = site.interp
    if name in METADATA or name in ("view", "view_as") and isinstance(result, Tensor):
        if name in ("view", "view_as") and isinstance(result, Tensor) and result.shape is not None:
            if len(site.args) == 1 and isinstance(site.args[0], External):
                return unmodelled(interp, "view(dtype)", result)
            free(interp)
            return with_layout(result, per_arm(t, lambda x: _reshape_layout(x, result)))
        free(interp)
        return result
    if name == "item" and t.shape is not None and all(d == ONE for d in t.shape) and elem_bytes(t) is not None:
        # aten._local_scalar_dense: reads the one element, writes nothing (XLM's `assert lengths.max().item() <= slen`)
        price(interp, X.call(_label(site, "item"), "torch.elementwise", {"numel": ZERO, "n_inputs": ZERO, "extra_read": elem_bytes(t)}), "item")
        return result
    if not isinstance(result, Tensor) and name not in ("split", "chunk", "unbind", "split_with_sizes", "tensor_split"):
        return unmodelled(interp, f"Tensor.{name}", result)
    if name in VIEWS:
        free(interp)
        return with_layout(result, per_arm(t, lambda x: _view_layout(x, name, site, result)))
    if name in PIECES:
        free(interp)
        return _pieces(t, result)
    if name in ("reshape", "reshape_as", "flatten"):
        return _reshape(site, t, result)
    if name == "contiguous":
        c = is_contiguous(t)
        if c is None:
            return unmodelled(interp, "contiguous() of a tensor of unknown layout", result)
        if c == X.TRUE:
            free(interp)
            return t
        price(interp, copy_term(_label(site, "contiguous"), t, X.bnot(c)), "contiguous")
        return with_layout(result, None)  # a copy, or t itself where t was contiguous
    if name == "clone":
        price(interp, copy_term(_label(site, "clone"), t), "clone")
        return preserve(t, result)
    if name in CASTS:
        return cast(site, name, t, result)
    if name in REDUCTIONS:
        if name == "sum" and site.kwargs.get("dtype") is not None and result.shape is not None:
            return _sum_to(site, t, result)
        if site.kwargs.get("dtype") is not None or result.shape is None:
            return unmodelled(interp, f"Tensor.{name} with a dtype", result)
        n, b = numel(t), elem_bytes(t)
        if n is None or b is None:
            return unmodelled(interp, f"Tensor.{name} of an unknown tensor", result)
        if name == "sum" and t.dtype in ("bool", "int32", "long"):
            # an integral or bool sum is int64 (XLM's `(input_ids != pad).sum(dim=1)`)
            out = Tensor(result.shape, "long", result.why, result.param, result.route, result.no_grad, result.values)
            price(interp, X.call(_label(site, name), "torch.elementwise", {"numel": numel(out), "n_inputs": ZERO, "extra_read": n * b, "dtype_bytes": Num.const(8)}), name)
            return with_layout(out, None)
        price(interp, X.call(_label(site, name), "torch.reduction", {"numel": n, "out_numel": numel(result), "dtype_bytes": b}), name)
        return with_layout(result, None)
    if name in ("softmax", "log_softmax"):
        return softmax(site, t, result)
    if name == "repeat_interleave" and isinstance(site.arg(0, "repeats"), Num):
        # unsqueeze + expand + clone(contiguous) + view: the clone reads the expanded input at the output's size
        price(interp, copy_term(_label(site, name), result), name)
        return with_layout(result, None)
    if name == "cumsum":
        return _cumsum(site, t, result)
    if name == "repeat" and result.shape is not None and numel(t) is not None and elem_bytes(t) is not None:
        # one aten.repeat: reads the input once, writes the tiled output row-major (also for all-1 counts)
        price(interp, X.call(_label(site, "repeat"), "torch.copy", {"numel": numel(result), "in_numel": numel(t), "dtype_bytes": elem_bytes(t)}), name)
        return with_layout(Tensor(result.shape, t.dtype, result.why, result.param, result.route, result.no_grad, result.values), None)
    base = name[:-1] if name.endswith("_") else name
    if base in UNARY or base in BINARY:
        inputs = [t, *site.args, *site.kwargs.values()]
        out = elementwise(interp, _label(site, base), inputs, result, base in BOOL_OUT, inplace=name.endswith("_"))
        if name == "masked_fill" and isinstance(out, Tensor) and out.shape is not None:
            return with_layout(out, None)  # clone(memory_format=contiguous), then masked_fill_: row-major, whatever the input
        return out
    more = price_more(site, name, t, result, _label(site, name), True, lambda ins, res: elementwise(interp, _label(site, name), ins, res))
    return unmodelled(interp, f"Tensor.{name}", result) if more is NotImplemented else more


def _sum_to(site: CallSite, t: Tensor, result: Tensor) -> Any:
    """`sum(dim, dtype=float32)` of a float tensor: one aten.sum kernel that reads the input in its own dtype
    and writes the sums in the given one (diffllama's lambdas under bf16: reads 2 bytes, writes 4 per element)."""
    tag, n, b = dtype_tag(site.kwargs.get("dtype")), numel(t), elem_bytes(t)
    if tag not in ("float32", "model") or t.dtype not in ("float32", "model") or n is None or b is None:
        return unmodelled(site.interp, "Tensor.sum with a dtype", result)
    out = Tensor(result.shape, tag, result.why, result.param, result.route, result.no_grad)
    price(site.interp, X.call(_label(site, "sum"), "torch.elementwise", {"numel": numel(out), "n_inputs": ZERO, "extra_read": n * b, "dtype_bytes": elem_bytes(out)}), "sum")
    return with_layout(out, None)


def _cumsum(site: CallSite, t: Tensor, result: Tensor) -> Any:
    """One scan kernel: reads t, writes the sums (integer and bool inputs sum in int64, `dtype=` casts)
    in t's memory order."""
    given = site.kwargs.get("dtype")
    tag = dtype_tag(given) if given is not None else "long" if t.dtype in ("long", "bool", "int32") else t.dtype
    if tag is None or result.shape is None or t.dtype not in ("long", "bool", "int32", "float32", "model"):
        return unmodelled(site.interp, "cumsum of an unknown dtype", result)
    out = Tensor(result.shape, tag, result.why, result.param, result.route, result.no_grad, result.values)
    price(site.interp, elementwise_term(_label(site, "cumsum"), [t], out), "cumsum")
    return with_layout(out, elementwise_layout([t], out))


def elementwise(interp: Host, label: str, inputs: list, result: Tensor, bool_out: bool = False, inplace: bool = False) -> Tensor:
    """One pointwise kernel over `inputs` giving `result` (its dtype by promotion, its layout from the inputs)."""
    if inplace:
        target = inputs[0]
        price(interp, elementwise_term(label, inputs, target), label)
        return target
    tag = "bool" if bool_out else promote(inputs)
    if tag is None or result.shape is None:
        return unmodelled(interp, f"{label}: dtype or shape unknown", result)
    out = Tensor(result.shape, tag, result.why, result.param, result.route, result.no_grad, result.values)
    price(interp, elementwise_term(label, inputs, out), label)
    return with_layout(out, elementwise_layout(inputs, out))


def softmax(site: CallSite, t: Tensor, result: Any) -> Any:
    """softmax(dim, dtype=): a cast when dtype differs, then one _softmax (rule torch.nn.functional.softmax)."""
    interp = site.interp
    c = is_contiguous(t)
    n, b = numel(t), elem_bytes(t)
    target = dtype_tag(site.kwargs.get("dtype")) if site.kwargs.get("dtype") is not None else t.dtype
    if c != X.TRUE or n is None or b is None or target is None or not isinstance(result, Tensor):
        return unmodelled(interp, "softmax of a tensor of unknown layout or dtype", result)
    out = Tensor(result.shape, target, result.why, result.param, result.route, result.no_grad, result.values)
    kw = {"numel": n, "dtype_bytes": b}
    if target != t.dtype:
        kw["softmax_bytes"] = elem_bytes(out)
    price(interp, X.call(_label(site, "softmax"), "torch.nn.functional.softmax", kw), "softmax")
    return with_layout(out, None)


def _reshape(site: CallSite, t: Tensor, result: Tensor) -> Any:
    interp = site.interp
    if result.shape is None:
        return unmodelled(interp, "reshape to an unknown shape", result)
    seen = view_of(t, tuple(result.shape))
    if seen is None:
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("reshape of unknown layout:", t, layout_of(t), result.shape, interp.current_loc)
        return unmodelled(interp, "reshape of a tensor of unknown layout", result)
    ok = seen[0]
    if ok == X.TRUE:
        free(interp)
    else:
        price(interp, copy_term(_label(site, "reshape"), t, X.bnot(ok)), "reshape")
    return with_layout(result, per_arm(t, lambda x: _reshape_layout(x, result)))


def _with_bcast(lay: Any, dims: frozenset, rank: int) -> Any:
    """lay with `dims` of stride 0, in each arm of a conditional layout (None: row-major)."""
    if isinstance(lay, CondLayout):
        a, b = _with_bcast(lay.a, dims, rank), _with_bcast(lay.b, dims, rank)
        return UNKNOWN_LAYOUT if UNKNOWN_LAYOUT in (a, b) else CondLayout(lay.cond, a, b)
    if lay is None:
        lay = Layout(tuple(range(rank)))
    if not isinstance(lay, Layout):
        return UNKNOWN_LAYOUT
    return Layout(lay.order, lay.bcast | dims, lay.dense, lay.gaps)


def _reshape_layout(t: Tensor, result: Tensor) -> Any:
    """The layout of t.reshape(result.shape) for one arm: the view where it can view, else a row-major copy.
    A merged dim of stride-0 and other dims is stride 0 exactly where those others have size 1
    (MQA's repeat_kv at one key/value head)."""
    seen = view_of(t, tuple(result.shape))
    if seen is None or seen[1] is None:
        return UNKNOWN_LAYOUT
    ok, lay = seen
    if ok == X.FALSE:
        return None
    viewed: Any = lay
    mixed = mixed_merges(t, result)
    if mixed:
        cond, dims = mixed
        merged = _with_bcast(lay, dims, len(result.shape))
        if merged == UNKNOWN_LAYOUT:
            return UNKNOWN_LAYOUT
        viewed = CondLayout(cond, merged, lay)
    return viewed if ok == X.TRUE else CondLayout(ok, viewed, None)


def reshape_copy(interp: Host, label: str, t: Tensor, shape: tuple) -> bool:
    """The clone a reshape of t to `shape` runs when it cannot be a view (torch.matmul's operands); False: unknown."""
    seen = view_of(t, shape)
    if seen is None:
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("reshape_copy of unknown layout:", label, t, shape, interp.current_loc)
        gap(interp, f"{label}: operand of unknown layout")
        return False
    ok, _ = seen
    if ok != X.TRUE:
        price(interp, copy_term(label, Tensor(tuple(shape), t.dtype), X.bnot(ok)), label)
    return True


def _view_layout(t: Tensor, name: str, site: CallSite, result: Tensor) -> Any:
    lay = layout_of(t)
    if lay is None or result.shape is None or t.shape is None:
        return UNKNOWN_LAYOUT
    rank = len(t.shape)
    if name in ("transpose", "swapaxes", "swapdims", "t"):
        if name == "t":
            a, b = 0, 1
        else:
            a, b = norm_dim(site.arg(0, "dim0"), rank), norm_dim(site.arg(1, "dim1"), rank)
        if a is None or b is None:
            return UNKNOWN_LAYOUT
        perm = list(range(rank))
        perm[a], perm[b] = perm[b], perm[a]
        return _permuted(lay, perm)
    if name == "permute":
        dims = size_list(site, 0, "dims") or []  # *ints, a tuple, or a list (CTRL's `x.permute([0, 2, 1, 3])`), as the shape brain reads them
        perm = [norm_dim(d, rank) for d in dims]
        if None in perm or len(perm) != rank:
            return UNKNOWN_LAYOUT
        return _permuted(lay, perm)
    if name == "unsqueeze":
        d = norm_dim(site.arg(0, "dim"), rank + 1)
        if d is None:
            return UNKNOWN_LAYOUT
        return insert_dim(lay, d)
    if name == "squeeze":
        removed = [i for i in range(rank) if len(result.shape) < rank and i not in _kept(t.shape, result.shape)]
        return drop_dims(lay, removed)
    if name in ("expand", "expand_as", "broadcast_to"):
        extra = len(result.shape) - rank
        order = tuple(range(extra)) + tuple(o + extra for o in lay.order)
        bcast = set(range(extra)) | {b + extra for b in lay.bcast}
        for i, (old, new) in enumerate(zip(t.shape, result.shape[extra:])):
            if _broadcasts(old, new):
                bcast.add(i + extra)
        return Layout(order, frozenset(bcast), lay.dense, frozenset(g + extra for g in lay.gaps))
    return UNKNOWN_LAYOUT


def _kept(old: tuple, new: tuple) -> set:
    """Indices of `old` kept by a squeeze giving `new` (size-1 dims dropped, first match)."""
    kept, j = set(), 0
    for i, d in enumerate(old):
        if j < len(new) and new[j] == d and not (d.const_value() == 1 and len(old) - i > len(new) - j):
            kept.add(i)
            j += 1
    return kept


def _permuted(lay: Layout, perm: list) -> Layout:
    """New dim i is old dim perm[i]."""
    inv = {old: new for new, old in enumerate(perm)}
    return Layout(tuple(inv[o] for o in lay.order), frozenset(inv[b] for b in lay.bcast), lay.dense, frozenset(inv[g] for g in lay.gaps))


def insert_dim(lay: Layout, d: int) -> Layout:
    """A new size-1 dim at logical position d, placed in memory just before the dim it pushes right."""
    shifted = [o + 1 if o >= d else o for o in lay.order]
    bcast = frozenset(b + 1 if b >= d else b for b in lay.bcast)
    at = shifted.index(d + 1) if d + 1 in shifted else len(shifted)
    gaps = frozenset(g + 1 if g >= d else g for g in lay.gaps)
    return Layout(tuple(shifted[:at] + [d] + shifted[at:]), bcast, lay.dense, gaps)


def drop_dims(lay: Layout, dims: list) -> Layout:
    """Remove logical dims (size 1, or selected by an index) and renumber."""
    gone = set(dims)
    ren = {}
    n = 0
    for i in range(len(lay.order)):
        if i not in gone:
            ren[i] = n
            n += 1
    if gone & lay.gaps:  # the jump outside a dropped dim: where it falls is not tracked
        return Layout(tuple(ren[o] for o in lay.order if o not in gone), frozenset(ren[b] for b in lay.bcast if b not in gone), False)
    return Layout(tuple(ren[o] for o in lay.order if o not in gone), frozenset(ren[b] for b in lay.bcast if b not in gone), lay.dense,
                  frozenset(ren[g] for g in lay.gaps))


def _pieces(t: Tensor, result: Any) -> Any:
    """Pieces of a split / chunk / unbind / narrow: views, with gaps unless cut along the outermost dim."""
    lay = layout_of(t)

    def one(piece: Any) -> Any:
        if not isinstance(piece, Tensor) or piece.shape is None or t.shape is None:
            return piece
        if lay is None or len(piece.shape) != len(t.shape):
            return with_layout(piece, UNKNOWN_LAYOUT)
        cut = [i for i, (a, b) in enumerate(zip(t.shape, piece.shape)) if a != b]
        inner = [i for i in cut if not (lay.order and lay.order[0] == i)]
        if len(inner) == 1 and lay.dense and inner[0] not in lay.bcast:
            # cut along one inner dim (GPT-2's fused q/k/v): a stride jump just outside that dim
            return with_layout(piece, Layout(lay.order, lay.bcast, True, lay.gaps | {inner[0]}))
        return with_layout(piece, Layout(lay.order, lay.bcast, lay.dense and not inner, lay.gaps))

    if isinstance(result, (tuple, list)):
        return type(result)(one(p) for p in result)
    if isinstance(result, Repeated):  # chunk(1 + ngram) of a count read from the config: one element for every piece
        return Repeated(one(result.elem), result.count, result.index)
    return one(result)


def price_getitem(interp: Host, t: Tensor, index: Any, result: Any) -> Any:
    """Basic indexing (ints, slices, None, ...) is a view; a tensor index runs an index kernel (not priced)."""
    items = list(index) if isinstance(index, tuple) else [index]
    lists = [i for i in items if type(i).__name__ in ("ListV", "list")]
    if len(lists) == 1 and not any(isinstance(i, Tensor) for i in items):
        return _gather_list(interp, t, lists[0], items, result)
    if any(isinstance(i, Tensor) or type(i).__name__ in ("ListV", "list") for i in items):
        return unmodelled(interp, "indexing with a tensor", result)
    if not isinstance(result, Tensor) or result.shape is None or t.shape is None:
        return unmodelled(interp, "indexing of a tensor of unknown shape", result)
    free(interp)
    return with_layout(result, per_arm(t, lambda x: _index_layout(x, items, result)))


def _gather_list(interp: Host, t: Tensor, index: Any, items: list, result: Any) -> Any:
    """`x[..., [i, j], :]`: one aten.index (docs/bytes.md, gather): it reads the int64 index tensor
    and the selected elements (the output's size), and writes the output, dense in row-major order.
    Only one list of constant ints among full slices and Ellipsis is modelled (Falcon's MQA split)."""
    ints = index.items if type(index).__name__ == "ListV" else list(index)
    plain = all(i is Ellipsis or type(i).__name__ == "Slice" for i in items if i is not index)
    if getattr(index, "rep", None) is not None:
        plain = False  # a list filled in a loop of symbolic length
    b = elem_bytes(t)
    if not plain or not ints or not all(isinstance(i, Num) and i.const_value() is not None for i in ints) \
            or not isinstance(result, Tensor) or result.shape is None or b is None:
        return unmodelled(interp, "indexing with a tensor", result)
    out = Tensor(result.shape, t.dtype, result.why, result.param, result.route, result.no_grad, result.values)
    price(interp, X.call(interp.label_hint or "index", "torch.elementwise",
                         {"numel": numel(out), "extra_read": Num.const(8 * len(ints)), "dtype_bytes": b}), "index")
    return with_layout(out, None)


def _index_layout(t: Tensor, items: list, result: Tensor) -> Any:
    lay = layout_of(t)
    if lay is None:
        return UNKNOWN_LAYOUT
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    pos, out_pos = 0, 0
    order = list(lay.order)
    dense = lay.dense
    dropped: list = []
    inserted: list = []
    cuts: list = []  # dims a slice shortens that are not outermost in memory (-1: one of step other than 1)
    for item in items:
        if item is None:
            inserted.append(out_pos)
            out_pos += 1
        elif item is Ellipsis:
            skip = len(t.shape) - consumed
            pos += skip
            out_pos += skip
        elif isinstance(item, Num):
            if order and order[0] != pos:
                dense = False
            dropped.append(pos)
            pos += 1
        else:  # a slice
            if result.shape[out_pos] != t.shape[pos] and order and order[0] != pos:
                step = getattr(item, "step", None)
                cuts.append(pos if step is None or (isinstance(step, Num) and step.const_value() == 1) else -1)
            pos += 1
            out_pos += 1
    plain = lay.dense and not lay.gaps
    at = order.index(dropped[0]) if plain and not cuts and not inserted and len(dropped) == 1 else -1
    if 0 < at < len(order) - 1 and dropped[0] not in lay.bcast:
        # one inner dim selected (falcon's fused[..., 0, :] of [b, s, h, 3, d]): a stride jump just outside the dim inside it
        return drop_dims(Layout(tuple(order), lay.bcast, True, frozenset({order[at + 1]})), dropped)
    # one inner dim cut with step 1 (XLNet's rel_shift `x[:, :, 1:, :]`, falcon's qkv[:, :, :, :-2]), as _pieces:
    # a stride jump just outside that dim; any other cut leaves no dense layout
    one_cut = plain and len(cuts) == 1 and cuts[0] >= 0 and not dropped and cuts[0] not in lay.bcast
    gaps = lay.gaps | frozenset(cuts) if one_cut else lay.gaps
    dense = dense and (not cuts or one_cut)
    if lay.gaps and (dropped or not dense or cuts):  # a cut or select of a tensor that has gaps already: not tracked
        dense = False
    new = drop_dims(Layout(tuple(order), lay.bcast, dense, gaps if dense else frozenset()), dropped)
    for d in inserted:
        new = insert_dim(new, d)
    return new


def price_binop(interp: Host, op: str, a: Any, b: Any, result: Any, node: Any) -> Any:
    """`a op b` with a tensor operand: one pointwise kernel (a comparison gives bool)."""
    if not isinstance(result, Tensor):
        return result
    rec = interp.recorder
    name = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "//": "floor_divide", "%": "remainder",
            "&": "and", "|": "or", "^": "xor"}.get(op, "compare")
    hint = interp.label_hint or name
    label = rec.label(hint, node) if rec is not None else hint
    return elementwise(interp, label, [a, b], result, op in ("==", "!=", "<", "<=", ">", ">=") or (op in "&|^" and _all_bool(a, b)))


def _all_bool(a: Any, b: Any) -> bool:
    return all(t.dtype == "bool" for t in _tensors([a, b]))


def price_unary(interp: Host, op: str, t: Tensor, node: Any) -> Any:
    if op == "+":
        free(interp)
        return t
    rec = interp.recorder
    hint = interp.label_hint or "neg"
    label = rec.label(hint, node) if rec is not None else hint
    return elementwise(interp, label, [t], t, t.dtype == "bool")


def _cat_repeated(site: CallSite, short: str, rep: Repeated, result: Any) -> Any:
    """torch.cat / stack of a comprehension's `count` results (stablelm's per-head LayerNorms): one copy that reads
    each element (a new tensor per iteration) and writes the output row-major. An element from outside the loop
    (`[x for _ in range(n)]`, read once by torch) or one that depends on the index stays a gap."""
    t = rep.elem
    n = numel(t) if isinstance(t, Tensor) else None
    if not isinstance(t, Tensor) or not isinstance(result, Tensor) or not rep.fresh or n is None or elem_bytes(t) is None \
            or result.shape is None or rep.index is not None and rep.index in X.free_params(n):
        return unmodelled(site.interp, f"{site.name} of a repeated value", result)
    out = Tensor(result.shape, t.dtype, result.why, result.param, result.route, result.no_grad, result.values)
    kw = {"numel": numel(out), "dtype_bytes": elem_bytes(out)}
    if rep.count * n != numel(out):
        kw["in_numel"] = rep.count * n
    price(site.interp, X.call(_label(site, short), "torch.copy", kw), site.name)
    return with_layout(out, None)


def price_function(site: CallSite, result: Any) -> Any:
    """torch.* / F.* functions: the method's bytes where the function is a method in disguise."""
    name = site.name
    interp = site.interp
    short = name.split(".", 1)[1] if "." in name else name
    args = site.args
    if name in ("torch.cat", "torch.concat", "torch.concatenate", "torch.stack"):
        seq = site.arg(0, "tensors")
        rep = seq if isinstance(seq, Repeated) else seq.rep if isinstance(seq, ListV) and not seq.items else None
        if rep is not None:
            return _cat_repeated(site, short, rep, result)
        items = list(seq) if isinstance(seq, (tuple, list)) else list(getattr(seq, "items", []) or [])
        distinct: list = []
        for v in items:
            if isinstance(v, Tensor) and not any(v is u for u in distinct):
                distinct.append(v)
        if not isinstance(result, Tensor) or not items or len(distinct) != len([v for v in items if isinstance(v, Tensor)]) and False:
            return unmodelled(interp, name, result)
        if any(not isinstance(v, Tensor) or numel(v) is None or v.dtype != distinct[0].dtype for v in items) or elem_bytes(distinct[0]) is None:
            return unmodelled(interp, f"{name} of tensors of unknown shape or mixed dtypes", result)
        in_numel = Num.const(0)
        for v in distinct:
            in_numel = in_numel + numel(v)
        out = Tensor(result.shape, distinct[0].dtype, result.why, result.param, result.route, result.no_grad, result.values)
        kw = {"numel": numel(out), "dtype_bytes": elem_bytes(out)}
        if in_numel != numel(out):
            kw["in_numel"] = in_numel
        price(interp, X.call(_label(site, short), "torch.copy", kw), name)
        return with_layout(out, None)
    if name == "torch.arange" and isinstance(result, Tensor) and result.shape is not None:
        tag = result.dtype if "dtype" not in site.kwargs else dtype_tag(site.kwargs["dtype"])
        # without a dtype, float arguments make a float32 tensor; with one (BLOOM's alibi powers), that dtype
        if tag is None or "dtype" not in site.kwargs and any(isinstance(a, Num) and not X.is_integral(a) for a in args):
            return unmodelled(interp, "arange of floats", result)
        out = Tensor(result.shape, tag, result.why, values=result.values)
        price(interp, X.call(_label(site, "arange"), "torch.factory", {"numel": numel(out), "dtype_bytes": elem_bytes(out)}), name)
        return out
    if name in FACTORIES or name in LIKE_FACTORIES:
        return price_factory(site, result)
    if name == "F.layer_norm":
        return price_layer_norm(site, result)
    scalar = site.arg(0, "data", None) if name in ("torch.tensor", "torch.as_tensor") else None
    if name in ("torch.tensor", "torch.as_tensor") and isinstance(scalar, (Num, X.Bool, Unknown)) and isinstance(result, Tensor) and result.shape == ():
        free(interp)  # a tensor from a Python number (gemma's normalizer, GPT-2's finfo.min): made on the host, no counted kernel
        return result
    if name in ("torch.matmul", "torch.bmm", "torch.mm", "F.linear", "torch.baddbmm", "torch.addmm", "torch.einsum"):
        return result  # priced by the matmul brain
    if name in ("F.pad", "torch.nn.functional.pad") and args and isinstance(args[0], Tensor):
        return _pad(site, args[0], result)
    if name in ("F.dropout",) and isinstance(result, Tensor):
        training = site.arg(2, "training", X.TRUE)
        if training == X.FALSE:
            free(interp)
            return result
        return unmodelled(interp, "dropout in training mode", result)
    if name in ("F.softmax", "torch.softmax", "torch.nn.functional.softmax") and args and isinstance(args[0], Tensor):
        return softmax(site, args[0], result)
    if args and isinstance(args[0], Tensor):
        t = args[0]
        method = short[2:] if short.startswith("F.") else short
        if name.startswith("F."):
            method = name[2:]
        if method in UNARY or method in BINARY or method in REDUCTIONS or method in VIEWS or method in CASTS or method in PIECES \
                or method in ("reshape", "flatten", "clone", "contiguous", "repeat_interleave", "cumsum"):
            sub = CallSite(interp, site.callee, list(args[1:]), dict(site.kwargs), site.node, site.hint, "Tensor." + method, t)
            if method == "where":
                return elementwise(interp, _label(site, "where"), list(args), result) if isinstance(result, Tensor) else result
            return price_method(sub, method, t, result)
    if name == "torch.where" and isinstance(result, Tensor):
        return elementwise(interp, _label(site, "where"), list(args), result)
    if args and isinstance(args[0], Tensor):
        more = price_more(site, short, args[0], result, _label(site, short), False, lambda ins, res: elementwise(interp, _label(site, short), ins, res))
        if more is not NotImplemented:
            return more
    if short in BINARY | {"pow"} and isinstance(result, Tensor) and any(isinstance(a, Tensor) for a in args):
        return elementwise(interp, _label(site, short), list(args), result)  # a number first: MPT's `torch.pow(2, base)`
    return unmodelled(interp, name, result)


def _pad(site: CallSite, t: Tensor, result: Any) -> Any:
    """F.pad, constant mode: one aten.constant_pad_nd that reads the whole input (also where a
    negative pad cuts it) and writes the output, row-major where every pad is a constant >= 0 (a
    negative pad keeps the input's memory order: not tracked)."""
    interp = site.interp
    pads = site.arg(1, "pad", None)
    mode = site.arg(2, "mode", "constant")
    b = elem_bytes(t)
    if mode != "constant" or not isinstance(pads, (tuple, list)) or not isinstance(result, Tensor) or result.shape is None \
            or numel(t) is None or b is None:
        return unmodelled(interp, "F.pad", result)
    out = Tensor(result.shape, t.dtype, result.why, result.param, result.route, result.no_grad, result.values)
    price(interp, X.call(_label(site, "pad"), "torch.copy", {"numel": numel(out), "in_numel": numel(t), "dtype_bytes": b}), "pad")
    known = all(isinstance(p, Num) and isinstance(p.const_value(), int) and p.const_value() >= 0 for p in pads)
    return with_layout(out, None if known and len(t.shape) not in (4, 5) else UNKNOWN_LAYOUT)


def price_matmul(site: CallSite, a: Tensor, b: Tensor, out: Tensor, label: str, kwargs: dict) -> None:
    """torch.matmul's copies (an operand whose batch dims cannot be viewed as one) and the bmm / mm."""
    interp = site.interp
    if a.dtype != b.dtype or elem_bytes(a) is None:
        gap(interp, "matmul of mixed or unknown dtypes")
        return
    sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) >= 3 and len(sb) <= 2:
        # folded into one mm: [batch * m, k] @ [k, n], the right operand read once
        ok = reshape_copy(interp, label + "_input", a, (numel(Tensor(sa[:-1])), sa[-1]))
        kwargs = {"m": numel(Tensor(sa[:-1])), "k": kwargs["k"], "n": kwargs["n"]}
    elif len(sa) >= 3 or len(sb) >= 3:
        full = tuple(out.shape[:-2])
        ea = _expanded(a, full)
        eb = _expanded(b, full)
        ok = ea is not None and eb is not None
        if ok:
            # each operand reshaped to [batch, rows, cols], its batch written with its own sizes
            ok = reshape_copy(interp, label + "_lhs", ea, (numel(Tensor(ea.shape[:-2])),) + sa[-2:]) and \
                reshape_copy(interp, label + "_rhs", eb, (numel(Tensor(eb.shape[:-2])),) + sb[-2:])
        else:
            if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
                print("matmul operands", a, b)
            gap(interp, "matmul operands of unknown layout")
    else:
        ok = True
    if ok:
        price(interp, X.call(label, "torch.matmul", {**{k: v for k, v in kwargs.items() if k != "grad_operands"}, "dtype_bytes": elem_bytes(a)}), "matmul")


def _expanded(t: Tensor, batch: tuple) -> Tensor | None:
    """t expanded to the broadcast batch dims (what torch.matmul does before its reshape)."""
    if isinstance(t.layout, CondLayout):
        pieces = [(g, _expanded(x, batch)) for g, x in arms(t)]
        if any(p is None for _, p in pieces):
            return None
        return with_layout(pieces[0][1], join_layouts([(g, p.layout) for g, p in pieces]))
    lay = layout_of(t)
    if lay is None:
        return None
    rank = len(t.shape)
    own = (ONE,) * (len(batch) - (rank - 2)) + tuple(t.shape[:-2])
    want = tuple(new if _broadcasts(old, new) else old for old, new in zip(own, batch)) + tuple(t.shape[-2:])
    extra = len(want) - rank
    order = tuple(range(extra)) + tuple(o + extra for o in lay.order)
    bcast = set(range(extra)) | {x + extra for x in lay.bcast}
    for i, (old, new) in enumerate(zip(t.shape, want[extra:])):
        if _broadcasts(old, new):
            bcast.add(i + extra)
    return Tensor(want, t.dtype, layout=Layout(order, frozenset(bcast), lay.dense, frozenset(g + extra for g in lay.gaps)))


def price_sdpa(site: CallSite, label: str, q: Tensor, k: Tensor, v: Tensor, kwargs: dict, mask: Any, enable_gqa: Any,
               is_causal: Any = X.FALSE) -> Tensor:
    """The fused SDPA kernel's bytes (rule torch.nn.functional.scaled_dot_product_attention); its
    output follows the query's memory order (the CPU flash kernel). Where key/value may have fewer
    heads than the query without enable_gqa, the same rule prices torch's math fallback (one
    broadcast key/value head; any other count makes torch raise): see `_math_fallback`."""
    interp = site.interp
    out = Tensor(q.shape[:-1] + (v.shape[-1],), q.dtype)
    b = elem_bytes(q)
    if b is None or k.dtype != q.dtype or v.dtype != q.dtype or not isinstance(enable_gqa, X.Bool):
        gap(interp, "sdpa of unknown dtypes")
        return with_layout(out, UNKNOWN_LAYOUT)
    kw = {key: val for key, val in kwargs.items()}
    heads, kv_heads = q.shape[-3], k.shape[-3]
    if kv_heads != heads:
        kw["kv_heads"] = kv_heads
        math = X.band(X.cmp("!=", kv_heads, heads), X.bnot(enable_gqa))
        if math != X.FALSE:
            return _math_fallback(site, label, q, k, v, kw, mask, enable_gqa, is_causal, math, out)
        kw["enable_gqa"] = enable_gqa
    if mask is not None:
        if not isinstance(mask, Tensor) or numel(mask) is None or mask.dtype not in ("bool", q.dtype):
            gap(interp, "sdpa with a mask of unknown shape or dtype")
            return with_layout(out, UNKNOWN_LAYOUT)
        kw["mask_numel"] = numel(mask)
        if mask.dtype != "bool":
            kw["mask_float"] = X.TRUE
    kw["dtype_bytes"] = b
    price(interp, X.call(label, "torch.nn.functional.scaled_dot_product_attention", kw), "sdpa")
    # a query with gaps (a cut of a fused projection): the output is dense in the query's memory order
    return with_layout(out, per_arm(q, lambda x: preserved(x) if preserved(x) == layout_of(x) or _gapped(x) else UNKNOWN_LAYOUT))


def _math_fallback(site: CallSite, label: str, q: Tensor, k: Tensor, v: Tensor, kw: dict, mask: Any, enable_gqa: Any,
                   is_causal: Any, math: Any, out: Tensor) -> Tensor:
    """SDPA that may take torch's math fallback (rule torch._scaled_dot_product_attention_math,
    called by the sdpa rule under the same condition): key/value heads != query heads and no
    enable_gqa. The rule models one broadcast key/value head, dense key and value, no mask or a
    float mask in the model dtype, and a query laid out [b, h, q, d] or [b, q, h, d] in memory
    (the scaled query, dense in that order, is cloned for the bmm in the second case)."""
    interp = site.interp
    orders = {lay.order if lay is not None else None for _, x in arms(q) for lay in [layout_of(x)]}
    dense_kv = all(lay is not None and lay.dense and not lay.gaps for t in (k, v) for _, x in arms(t) for lay in [layout_of(x)])
    if len(q.shape) != 4 or len(orders) != 1 or next(iter(orders)) not in ((0, 1, 2, 3), (0, 2, 1, 3)) or not dense_kv \
            or not isinstance(is_causal, X.Bool) or mask is not None and (not isinstance(mask, Tensor) or numel(mask) is None or mask.dtype != q.dtype):
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("sdpa math fallback of", orders, dense_kv, k.layout, v.layout, is_causal, mask)
        gap(interp, "sdpa that may take the math fallback")
        return with_layout(out, UNKNOWN_LAYOUT)
    kw["enable_gqa"] = enable_gqa
    if is_causal != X.FALSE:
        kw["is_causal"] = is_causal
    kw["query_bshd"] = X.TRUE if next(iter(orders)) == (0, 2, 1, 3) else X.FALSE
    if mask is not None:
        kw["mask_numel"] = numel(mask)
        kw["mask_float"] = X.TRUE
    kw["dtype_bytes"] = elem_bytes(q)
    price(interp, X.call(label, "torch.nn.functional.scaled_dot_product_attention", kw), "sdpa")
    fused = per_arm(q, lambda x: preserved(x) if preserved(x) == layout_of(x) or _gapped(x) else UNKNOWN_LAYOUT)
    return with_layout(out, CondLayout(math, None, fused))  # the math path's output: the bmm's, row-major


def _gapped(t: Tensor) -> bool:
    lay = layout_of(t)
    return lay is not None and bool(lay.gaps) and not lay.bcast


def transpose_contiguous(interp: Host, label: str, t: Tensor, d0: int, d1: int) -> Tensor | None:
    """`t.transpose(d0, d1).contiguous()`: a copy unless the transposed tensor is contiguous; None: unknown layout."""
    if t.shape is None:
        gap(interp, f"{label}: layout unknown")
        return None
    perm = list(range(len(t.shape)))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    shape = tuple(t.shape[p] for p in perm)
    moved = with_layout(Tensor(shape, t.dtype), per_arm(t, lambda x: _permuted(layout_of(x), perm) if layout_of(x) is not None else UNKNOWN_LAYOUT))
    c = is_contiguous(moved)
    if c is None:
        gap(interp, f"{label}: layout unknown")
        return None
    if c != X.TRUE:
        price(interp, copy_term(label, moved, X.bnot(c)), label)
    else:
        free(interp)
    return Tensor(shape, t.dtype)


def _broadcasts(old: Num, new: Num) -> bool:
    """Whether expanding a dim of size `old` to `new` repeats it (stride 0): only a size-1 dim broadcasts;
    sizes written differently (h and g * (h // g)) are equal wherever the op runs."""
    return old.const_value() == 1 and new.const_value() != 1
