"""The bytes of torch functions beyond the method table of opbytes.py (docs/bytes.md): factories
with an explicit dtype (`torch.full`, `torch.empty`, `torch.zeros`, `torch.ones`, `*_like`),
`F.layer_norm` (one aten.native_layer_norm), `baddbmm` and GPT-2's `Conv1D` (one addmm). Each
records its op's term, or a gap where the dtype, shape or operands are not known."""

from __future__ import annotations

import dataclasses
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite
from lm_predictor.suggest.brains.layout import elem_bytes, gap, is_contiguous, numel, price, with_layout
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import ListV, Tensor

FACTORIES = {"torch.full", "torch.empty", "torch.zeros", "torch.ones"}
LIKE_FACTORIES = {"torch.full_like", "torch.empty_like", "torch.zeros_like", "torch.ones_like"}


def price_factory(site: CallSite, result: Any) -> Any:
    """A new tensor of the result's shape: written, nothing read. Without `dtype=` a plain factory
    makes torch's default dtype in a forward (float32; `torch.full` takes its fill value's, not tracked: a gap)."""
    interp = site.interp
    explicit = "dtype" in site.kwargs or site.name in LIKE_FACTORIES
    if not explicit and interp.in_init is None and site.name != "torch.full" and isinstance(result, Tensor):
        # a forward runs under torch's default dtype, float32 (from_config sets the model dtype for __init__ only)
        result, explicit = dataclasses.replace(result, dtype="float32"), True
    n, b = numel(result) if isinstance(result, Tensor) else None, elem_bytes(result)
    if not explicit or n is None or b is None:
        gap(interp, f"{site.name} of an unknown size or dtype")
        return result
    price(interp, X.call(site.label(site.name.rsplit(".", 1)[-1]), "torch.factory", {"numel": n, "dtype_bytes": b}), site.name)
    return with_layout(result, None)


def price_layer_norm(site: CallSite, result: Any) -> Any:
    """F.layer_norm(x, normalized_shape, weight, bias, eps): reads x (and weight, bias), writes
    the output and the per-row mean and rstd (rule torch.nn.LayerNorm)."""
    interp = site.interp
    x, shape = site.arg(0, "input"), site.arg(1, "normalized_shape")
    weight, bias = site.arg(2, "weight", None), site.arg(3, "bias", None)
    b = elem_bytes(x)
    items = shape.items if isinstance(shape, ListV) else shape if isinstance(shape, (tuple, list)) else (shape,)
    dims = len(items)
    ok = isinstance(x, Tensor) and x.shape is not None and b is not None and isinstance(result, Tensor) and 0 < dims <= len(x.shape)
    ok = ok and not (weight is None and bias is not None)
    ok = ok and all(p is None or isinstance(p, Tensor) and p.dtype == x.dtype for p in (weight, bias))
    if not ok:
        gap(interp, "F.layer_norm of an unknown input or affine")
        return result
    kw = {"normalized_shape": numel(Tensor(x.shape[len(x.shape) - dims:])), "tokens": numel(Tensor(x.shape[:len(x.shape) - dims])), "dtype_bytes": b}
    if weight is None:
        kw["elementwise_affine"] = X.FALSE
    elif bias is None:
        kw["bias"] = X.FALSE
    price(interp, X.call(site.label("layer_norm"), "torch.nn.LayerNorm", kw), "layer_norm")
    return with_layout(Tensor(result.shape, x.dtype, result.why, result.param, result.route, result.no_grad), None)


def price_baddbmm(interp: Host, label: str, inp: Any, a: Tensor, b: Tensor, out: Tensor) -> None:
    """aten.baddbmm(input, batch1, batch2): reads all three at their logical sizes, writes [batch, m, n]
    (rule torch.baddbmm); `input` must be the full [batch, m, n] of the same dtype."""
    width = elem_bytes(a)
    same = isinstance(inp, Tensor) and inp.shape is not None and tuple(inp.shape) == tuple(out.shape)
    if width is None or not same or not (inp.dtype == a.dtype == b.dtype) or len(a.shape) != 3 or len(b.shape) != 3:
        gap(interp, "baddbmm of operands of unknown or mixed shapes or dtypes")
        return
    kw = {"batch": a.shape[0], "m": a.shape[1], "k": a.shape[2], "n": b.shape[2], "dtype_bytes": width}
    price(interp, X.call(label, "torch.baddbmm", kw), "baddbmm")


def price_conv1d(interp: Host, label: str, x: Tensor, nf: Any, nx: Any, count: Any) -> bool:
    """GPT-2's Conv1D: `addmm(bias, x.view(-1, nx), weight)` (rule transformers.pytorch_utils.Conv1D);
    the view needs a contiguous input. False (a gap) otherwise."""
    b = elem_bytes(x)
    if b is None or x.dtype != "model" or x.shape is None or is_contiguous(x) != X.TRUE:
        gap(interp, f"{label}: Conv1D of an input of unknown layout or dtype")
        return False
    kw = {"nf": nf, "nx": nx, "tokens": numel(Tensor(x.shape[:-1])), "dtype_bytes": b}
    interp.add_cost("bytes", X.call(label, "transformers.pytorch_utils.Conv1D", kw), count)
    return True
