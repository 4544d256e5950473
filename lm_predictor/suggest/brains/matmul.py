"""Matmul-class ops: the only ops FlopCounterMode counts (mm, addmm, bmm, baddbmm, conv, SDPA).

Each producer emits a nested call to the library rule (`torch.matmul`, `torch.baddbmm`,
`torch.addmm`, `torch.nn.functional.scaled_dot_product_attention`) labelled with the variable
the result is assigned to, and returns the result tensor's shape.
"""

from __future__ import annotations

import os
from typing import Any

from lm_predictor.diagnostics import A_EINSUM, A_MATMUL_SHAPE
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, brain, broadcast, numel, op, unknown_tensor
from lm_predictor.suggest.brains.layout import UNKNOWN_LAYOUT, Layout, arms, copy_term, free, gap, join_bools, join_layouts, layout_of, price, view_of, with_layout
from lm_predictor.suggest.brains.fnbytes import price_baddbmm
from lm_predictor.suggest.brains.gradflow import check_matmul_operands
from lm_predictor.suggest.brains.opbytes import price_matmul, price_sdpa, transpose_contiguous
from lm_predictor.suggest.expr import ONE, Num
from lm_predictor.suggest.values import Phi, Tensor


MATMUL_NAMES = {"torch.matmul", "torch.bmm", "torch.mm", "Tensor.matmul", "Tensor.bmm", "Tensor.mm", "Tensor.__matmul__"}


def matmul(site: CallSite, a: object, b: object, rule: str = "torch.matmul", fallback: str = "matmul") -> Tensor:
    """a @ b with torch.matmul's broadcasting; records 2*batch*m*k*n unless it is a mat-vec."""
    interp = site.interp
    if not isinstance(a, Tensor) or not isinstance(b, Tensor) or a.shape is None or b.shape is None:
        why = f"matmul of a tensor whose shape is not known ({_why(a)}; {_why(b)})"
        interp.add_cost("flops", interp.unresolved(A_MATMUL_SHAPE, site.node, why))
        return unknown_tensor(why)
    sa, sb = a.shape, b.shape
    if len(sa) == 0 or len(sb) == 0:
        return unknown_tensor("matmul of a scalar")
    if len(sb) == 1:
        # matrix-vector or dot product: aten.mv / aten.dot, which FlopCounterMode does not count
        gap(interp, "matrix-vector product")
        return Tensor(sa[:-1], a.dtype)
    squeeze_m = len(sa) == 1
    if squeeze_m:
        sa = (ONE,) + sa
    m, k, n = sa[-2], sa[-1], sb[-1]
    batch_shape = broadcast(sa[:-2], sb[:-2]) or ()
    batch = numel(batch_shape)
    kwargs = {"m": m, "k": k, "n": n}
    if batch != ONE:
        kwargs["batch"] = batch
    grads = int(a.requires_grad) + int(b.requires_grad)
    check_matmul_operands(site.interp, a, b)
    if grads != 2 and rule == "torch.matmul":  # autograd multiplies only the operands that require grad
        kwargs["grad_operands"] = Num.const(grads)
    label = site.label(fallback)
    interp.add_cost("flops", X.call(label, rule, kwargs))
    out = Tensor(tuple(batch_shape) + ((n,) if squeeze_m else (m, n)), a.dtype)
    if squeeze_m or rule != "torch.matmul":
        gap(interp, "vector-matrix product")
    else:
        price_matmul(site, a, b, out, label, kwargs)
    return out


@brain("matmul", op(*MATMUL_NAMES))
def suggest_matmul(site: CallSite) -> Tensor:
    if site.receiver is not None:
        return matmul(site, site.receiver, site.arg(0, "other"))
    return matmul(site, site.arg(0, "input"), site.arg(1, "other"))


@brain("baddbmm", op("torch.baddbmm", "Tensor.baddbmm", "torch.addmm", "Tensor.addmm", "torch.addbmm"))
def suggest_baddbmm(site: CallSite) -> Tensor:
    offset = 0 if site.receiver is not None else 1
    a = site.arg(offset, "batch1" if "bmm" in site.name else "mat1")
    b = site.arg(offset + 1, "batch2" if "bmm" in site.name else "mat2")
    interp = site.interp
    if not isinstance(a, Tensor) or not isinstance(b, Tensor) or a.shape is None or b.shape is None:
        interp.add_cost("flops", interp.unresolved(A_MATMUL_SHAPE, site.node, f"{site.name} of a tensor whose shape is not known"))
        return unknown_tensor("baddbmm")
    if "bmm" in site.name and site.name != "torch.addbmm":
        batch, m, k = a.shape[-3], a.shape[-2], a.shape[-1]
        n = b.shape[-1]
        interp.add_cost("flops", X.call(site.label("baddbmm"), "torch.baddbmm", {"batch": batch, "m": m, "k": k, "n": n}))
        out = Tensor((batch, m, n), a.dtype)
        price_baddbmm(interp, site.label("baddbmm"), site.receiver if site.receiver is not None else site.arg(0, "input"), a, b, out)
        return out
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    gap(interp, "addmm")
    interp.add_cost("flops", X.call(site.label("addmm"), "torch.addmm", {"m": m, "k": k, "n": n}))
    return Tensor((m, n), a.dtype)


@brain("linear-function", op("F.linear"))
def suggest_linear_fn(site: CallSite) -> Tensor:
    x, w = site.arg(0, "input"), site.arg(1, "weight")
    interp = site.interp
    if not isinstance(x, Tensor) or not isinstance(w, Tensor) or x.shape is None or w.shape is None or len(w.shape) != 2:
        interp.add_cost("flops", interp.unresolved(A_MATMUL_SHAPE, site.node, "F.linear of a tensor whose shape is not known"))
        return unknown_tensor("linear")
    tokens = numel(x.shape[:-1])
    out_f, in_f = w.shape
    interp.add_cost("flops", X.call(site.label("linear"), "torch.matmul", {"m": tokens, "k": in_f, "n": out_f}))
    gap(interp, "F.linear")
    return Tensor(x.shape[:-1] + (out_f,), x.dtype)


def sdpa_kernel(site: CallSite, label: str, q: Any, k: Any, v: Any, mask: Any = None, enable_gqa: Any = X.FALSE,
                is_causal: Any = X.FALSE, flops: bool = True) -> Tensor:
    """The SDPA kernel on [..., heads, q_len, head_dim] tensors: torch's sdpa_flop at the query's heads
    (`flops` False: its bytes only, the caller counted the FLOPs)."""
    interp = site.interp
    if not all(isinstance(t, Tensor) and t.shape is not None and len(t.shape) >= 3 for t in (q, k, v)):
        interp.add_cost("flops", interp.unresolved(A_MATMUL_SHAPE, site.node, "scaled_dot_product_attention of tensors whose shapes are not known"))
        return unknown_tensor("sdpa")
    batch = numel(q.shape[:-3])
    kwargs = {"batch": batch, "num_heads": q.shape[-3], "q_len": q.shape[-2], "kv_len": k.shape[-2], "head_dim": q.shape[-1]}
    if v.shape[-1] != q.shape[-1]:
        kwargs["v_head_dim"] = v.shape[-1]
    if flops:
        interp.add_cost("flops", X.call(label, "torch.nn.functional.scaled_dot_product_attention", kwargs))
    return price_sdpa(site, label, q, k, v, kwargs, mask, enable_gqa, is_causal)


@brain("sdpa", op("F.scaled_dot_product_attention"))
def suggest_sdpa(site: CallSite) -> Tensor:
    return sdpa_kernel(site, site.label("sdpa"), site.arg(0, "query"), site.arg(1, "key"), site.arg(2, "value"),
                       site.arg(3, "attn_mask", None), site.kwargs.get("enable_gqa", X.FALSE), site.arg(5, "is_causal", X.FALSE))


@brain("sdpa-attention", op("transformers.integrations.sdpa_attention.sdpa_attention_forward"))
def suggest_sdpa_attention(site: CallSite) -> tuple:
    """transformers' SDPA path (`ALL_ATTENTION_FUNCTIONS["sdpa"]`): the kernel, then `transpose(1, 2)`; no weights.

    repeat_kv (taken when a mask is passed) copies keys and values to the query's heads, which
    changes no FLOPs: torch's formula counts at the query's heads either way."""
    interp = site.interp
    if _is_v5(interp):
        return interp.on_phi(site.arg(4, "attention_mask", None), lambda mask: _sdpa_forward_v5(site, mask))
    return interp.on_phi(site.arg(4, "attention_mask", None), lambda mask: _sdpa_forward(site, mask))


def _is_v5(interp: Any) -> bool:
    """The analysed transformers is 5.x (its sdpa_attention_forward picks enable_gqa, pack_gqa or repeat_kv)."""
    return str(getattr(getattr(interp, "tree", None), "version", "4")).split(".")[0] not in ("", "0", "1", "2", "3", "4")


def _sdpa_forward_v5(site: CallSite, mask: Any) -> tuple:
    """One mask arm of 5.x sdpa_attention_forward. With fewer key/value heads than query heads:
    enable_gqa where no mask is passed and the head dims are equal and at most 256 (use_gqa_in_sdpa on
    CPU/CUDA); else one query token is packed onto the key/value heads (`pack_gqa`: the query
    [b, h, 1, d] viewed as [b, kv, h // kv, d], the [b, 1, 1, kv_len] mask as is, the output viewed
    back); else repeat_kv as in 4.56."""
    interp = site.interp
    q, k, v = site.arg(1, "query"), site.arg(2, "key"), site.arg(3, "value")
    shaped = (q, k, v) if mask is None else (q, k, v, mask)
    if not all(isinstance(t, Tensor) and t.shape is not None and len(t.shape) == 4 for t in shaped):
        return _sdpa_forward(site, mask)  # the 4.56 arm says what is unknown
    gqa = X.band(X.cmp("==", k.shape[-1], v.shape[-1]), X.cmp("<=", k.shape[-1], Num.const(256)))
    if mask is None:
        grouped = X.cmp("!=", k.shape[1], q.shape[1])
        path = Phi(X.band(grouped, X.bnot(gqa)), Phi(X.cmp("==", q.shape[2], ONE), "pack", "repeat"), "gqa")
    else:
        path = Phi(X.band(X.cmp("!=", k.shape[1], q.shape[1]), X.cmp("==", q.shape[2], ONE)), "pack", "repeat")

    rec = interp.recorder
    label = rec.label("sdpa", site.node) if rec is not None else "sdpa"
    # the FLOPs are the same on every path (sdpa_flop at the query's heads), so they are counted once, outside the arms
    kwargs = {"batch": q.shape[0], "num_heads": q.shape[1], "q_len": q.shape[2], "kv_len": k.shape[2], "head_dim": q.shape[3]}
    if v.shape[-1] != q.shape[-1]:
        kwargs["v_head_dim"] = v.shape[-1]
    interp.add_cost("flops", X.call(label, "torch.nn.functional.scaled_dot_product_attention", kwargs))

    def run(how: str) -> Any:
        if how == "gqa":
            return _sdpa_forward(site, None, flops=False)[0]
        if how == "repeat":
            return _sdpa_forward(site, mask, repeat=True, flops=False)[0]
        return _packed_sdpa(site, q, k, v, mask)

    return interp.on_phi(path, run), None


def _packed_sdpa(site: CallSite, q: Tensor, k: Tensor, v: Tensor, mask: Any) -> Tensor:
    """pack_gqa: SDPA on the query viewed as [b, kv, h // kv, d] (a [b, h, 1, d] query is contiguous in either
    order), the output [b, kv, h // kv, dv] viewed as [b, h, 1, dv] and transposed to [b, 1, h, dv] (no copy)."""
    interp = site.interp
    rec = interp.recorder
    b, heads, _, d = q.shape
    g = k.shape[1]
    if mask is not None and not (isinstance(mask, Tensor) and mask.shape is not None and len(mask.shape) == 4 and mask.shape[1] == ONE):
        gap(interp, "pack_gqa of a mask with heads")
        return Tensor((b, q.shape[2], heads, v.shape[-1]), q.dtype)
    packed = Tensor((b, g, X.floordiv(heads, g), d), q.dtype, layout=Layout((0, 1, 2, 3)))
    out = sdpa_kernel(site, rec.label("sdpa", site.node) if rec is not None else "sdpa", packed, k, v, mask, X.FALSE, flops=False)
    free(interp)  # the reshape back and transpose(1, 2).contiguous() of a [b, h, 1, dv] output: views
    return Tensor((b, q.shape[2], heads, out.shape[-1]), q.dtype)  # q.shape[2] is 1 on this arm


def _sdpa_forward(site: CallSite, mask: Any, repeat: bool = False, flops: bool = True) -> tuple:
    """One arm of sdpa_attention_forward: with a mask (or `repeat`), repeat_kv and the mask sliced to the keys."""
    interp = site.interp
    rec = interp.recorder  # labelled "sdpa", not by the caller's variable: eager's matmul labels stay as they are
    q, k, v = site.arg(1, "query"), site.arg(2, "key"), site.arg(3, "value")
    if mask is not None or repeat:
        shaped = all(isinstance(t, Tensor) and t.shape is not None and len(t.shape) == 4 for t in (q, k, v, *([mask] if mask is not None else [])))
        if not shaped:
            gap(interp, "sdpa_attention_forward with a mask or tensors of unknown shape")
        else:
            # no enable_gqa with a mask: repeat_kv (a copy unless one group or one key/value head), then the mask cut to the keys
            k = repeat_kv(interp, rec.label("repeat_kv_key", site.node) if rec is not None else "repeat_kv_key", k, q.shape[1])
            v = repeat_kv(interp, rec.label("repeat_kv_value", site.node) if rec is not None else "repeat_kv_value", v, q.shape[1])
            kv = k.shape[-2]
            if mask is not None:
                cut = mask.shape[-1] if mask.shape[-1] == kv else X.fn("min", mask.shape[-1], kv)
                mask = Tensor(mask.shape[:-1] + (cut,), mask.dtype, layout=mask.layout)
    out = sdpa_kernel(site, rec.label("sdpa", site.node) if rec is not None else "sdpa", q, k, v, mask, X.TRUE if mask is None and not repeat else X.FALSE, flops=flops)
    if out.shape is None or len(out.shape) < 3:
        return out, None
    moved = transpose_contiguous(interp, rec.label("sdpa_output", site.node) if rec is not None else "sdpa_output", out, len(out.shape) - 3, len(out.shape) - 2)
    return (moved if moved is not None else Tensor(out.shape[:-3] + (out.shape[-2], out.shape[-3], out.shape[-1]), out.dtype, layout="unknown")), None


def repeat_kv(interp: Any, label: str, t: Tensor, heads: Num) -> Tensor:
    """transformers' repeat_kv(t, heads // kv_heads): expand a new dim then reshape, a copy unless it can view
    (per arm of a layout that depends on a branch: lfm2's keys, transposed in prefill, concatenated in decode)."""
    b, g, n, d = t.shape
    n_rep = X.floordiv(heads, g)  # module.num_key_value_groups; heads == g * n_rep wherever the model runs
    out = Tensor((b, heads, n, d), t.dtype)
    copies, layouts = [], []
    for guard, x in arms(t):
        lay = layout_of(x)
        seen = None
        if lay is not None:
            order = [o + 1 if o >= 2 else o for o in lay.order]
            at = order.index(3)
            expanded = Tensor((b, g, n_rep, n, d), t.dtype, layout=Layout(tuple(order[:at] + [2] + order[at:]), frozenset({2} | {y + 1 if y >= 2 else y for y in lay.bcast}), lay.dense,
                                                                          frozenset(y + 1 if y >= 2 else y for y in lay.gaps)))
            seen = view_of(expanded, (b, g * n_rep, n, d))
        if seen is None:
            if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
                print("repeat_kv of", t, interp.current_loc)
            gap(interp, f"{label}: layout unknown")
            return out
        copy = X.band(X.cmp("!=", n_rep, 1), X.bnot(seen[0]))
        copies.append((guard, copy))
        layouts.append((guard, None if copy == X.TRUE or seen[1] is None else UNKNOWN_LAYOUT))
    copy = join_bools(copies)
    if copy != X.FALSE:
        price(interp, copy_term(label, out, copy), label)
    else:
        free(interp)
    return with_layout(out, join_layouts(layouts))


@brain("einsum", op("torch.einsum"))
def suggest_einsum(site: CallSite) -> Tensor:
    """Pairwise einsum: aten.einsum contracts operand pairs with bmm (2 * product of all sizes)."""
    interp = site.interp
    eq = site.arg(0, "equation")
    ops = list(site.args[1:])
    if len(ops) == 1 and isinstance(ops[0], (tuple, list)):
        ops = list(ops[0])
    if not isinstance(eq, str) or "..." in eq or "->" not in eq or not all(isinstance(t, Tensor) and t.shape is not None for t in ops):
        interp.add_cost("flops", interp.unresolved(A_EINSUM, site.node, "einsum with an equation or operand shapes the analysis cannot read"))
        return unknown_tensor("einsum")
    lhs, rhs = eq.replace(" ", "").split("->")
    terms = lhs.split(",")
    if len(terms) != len(ops):
        return unknown_tensor("einsum")
    sizes: dict = {}
    for term, t in zip(terms, ops):
        if len(term) != len(t.shape):
            return unknown_tensor("einsum rank")
        for ch, d in zip(term, t.shape):
            sizes.setdefault(ch, d)
    current, left_grad = terms[0], ops[0].requires_grad
    for i, term in enumerate(terms[1:], 1):
        letters = dict.fromkeys(current + term)
        contracted = [ch for ch in letters if ch not in rhs and not any(ch in t for t in terms[terms.index(term) + 1:])]
        if contracted:  # autograd's bmm per operand that requires grad (xlnet's pos_emb, a constant, needs none)
            interp.add_cost("flops", _einsum_term(site, letters, sizes, int(left_grad) + int(ops[i].requires_grad)))
        current = "".join(ch for ch in letters if ch not in contracted)
        left_grad = left_grad or ops[i].requires_grad
    return Tensor(tuple(sizes[ch] for ch in rhs), ops[0].dtype)


def _einsum_term(site: CallSite, letters: dict, sizes: dict, grads: int = 2) -> Num:
    """One pairwise contraction as torch.matmul (2 * the product of all its sizes), with the operands that need a gradient."""
    m = ONE
    for ch in letters:
        m = m * sizes[ch]
    kwargs = {"m": m, "k": ONE, "n": ONE} | ({"grad_operands": Num.const(grads)} if grads != 2 else {})
    return X.call(site.label("einsum"), "torch.matmul", kwargs)


def _why(value: object) -> str:
    if isinstance(value, Tensor):
        return f"shape {'unknown: ' + value.why if value.shape is None else 'known'}"
    reason = getattr(value, "reason", None)
    return reason or type(value).__name__


@brain("conv1d-function", op("F.conv1d"))
def suggest_conv1d_fn(site: CallSite) -> Tensor:
    """`F.conv1d(x[batch.., in_channels, length], weight[out_channels, in_channels / groups, k],
    bias, stride, padding, dilation, groups)` (integer arguments): nn.Conv1d's rule with the
    output length the functional computes."""
    x, w = site.arg(0, "input"), site.arg(1, "weight")
    stride, padding = site.arg(3, "stride", ONE), site.arg(4, "padding", Num.const(0))
    dilation, groups = site.arg(5, "dilation", ONE), site.arg(6, "groups", ONE)
    interp = site.interp
    known = isinstance(x, Tensor) and isinstance(w, Tensor) and x.shape is not None and w.shape is not None
    if not known or len(x.shape) < 2 or len(w.shape) != 3 or not all(isinstance(v, Num) for v in (stride, padding, dilation, groups)):
        interp.add_cost("flops", interp.unresolved(A_MATMUL_SHAPE, site.node, "F.conv1d of a tensor whose shape or arguments are not known"))
        return unknown_tensor("conv1d")
    out_ch, k = w.shape[0], w.shape[2]
    out_len = X.floordiv(x.shape[-1] + 2 * padding - dilation * (k - 1) - 1, stride) + 1
    kw = {"in_channels": x.shape[-2], "out_channels": out_ch, "kernel_size": k, "groups": groups, "batch": numel(x.shape[:-2]), "out_length": out_len}
    interp.add_cost("flops", X.call(site.label("conv1d"), "torch.nn.modules.conv.Conv1d", kw))
    return Tensor(x.shape[:-2] + (out_ch, out_len), x.dtype)


@brain("solve-triangular", op("torch.linalg.solve_triangular"))
def suggest_solve_triangular(site: CallSite) -> Tensor:
    """`torch.linalg.solve_triangular(A[.., n, n], B[.., n, k])`: X of B's matrix shape over the
    broadcast batch; aten.linalg_solve_triangular has no FlopCounterMode formula (0 FLOPs)."""
    a, b = site.arg(0, "input"), site.arg(1, "B")
    if not isinstance(a, Tensor) or not isinstance(b, Tensor) or a.shape is None or b.shape is None or len(a.shape) < 2 or len(b.shape) < 2:
        return unknown_tensor("solve_triangular of a tensor whose shape is not known")
    return Tensor(broadcast(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
