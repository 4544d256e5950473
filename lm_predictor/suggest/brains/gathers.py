"""Bytes of gathers by a tensor index and of torch.max / torch.min of two tensors (issue 14, round 8).

- `torch.gather(x, dim, index)` / `x.gather(dim, index)`: one aten.gather that reads the int64
  index and the selected elements (the output's size) and writes a row-major output of the index's
  shape, whatever the index's memory order (GPT-J's and CodeGen's sin/cos table: on [2, 10, 6]
  float32 with a [2, 3, 6] index it reads 432 bytes and writes 144).
- `x.index_select(dim, index)` / `torch.index_select`: the same count (the sinusoidal position
  tables of XGLM and TrOCR).
- `torch.max(a, b)` / `torch.min(a, b)` with a tensor second operand: aten.maximum / minimum,
  one pointwise kernel (XGLM's clamp of the scores at finfo.min); `x.max()` / `x.min()` with no
  argument, one reduction to a 0-dim tensor (XLM's `lengths.max()`); the forms with a dim (values
  and indices) stay gaps.
"""

from __future__ import annotations

from typing import Any, Callable

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, numel
from lm_predictor.suggest.brains.layout import elem_bytes, price, with_layout
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import Tensor


def _index_arg(site: CallSite, method: bool) -> Any:
    """The index tensor of a gather / index_select call (site args without the receiver for a method)."""
    return site.arg(1 if method else 2, "index", None)


def price_gather(site: CallSite, name: str, t: Tensor, result: Any, label: str, method: bool) -> Any:
    """gather / index_select, priced; NotImplemented where not modelled."""
    index = _index_arg(site, method)
    if not isinstance(result, Tensor) or result.shape is None or not isinstance(index, Tensor) or index.dtype != "long":
        return NotImplemented
    n_idx, n_out, b = numel(index.shape) if index.shape is not None else None, numel(result.shape), elem_bytes(t)
    if n_idx is None or n_out is None or b is None:
        return NotImplemented
    out = Tensor(result.shape, t.dtype, result.why, result.param, result.route, result.no_grad, result.values)
    price(site.interp, X.call(label, "torch.elementwise", {"numel": n_out, "extra_read": n_idx * Num.const(8), "dtype_bytes": b}), name)
    return with_layout(out, None)


def price_more(site: CallSite, name: str, t: Tensor, result: Any, label: str, method: bool, pointwise: Callable) -> Any:
    """The ops of this module by name (`gather`, `index_select`, `max`, `min`; `pointwise(inputs, result)` prices
    one elementwise kernel); NotImplemented for any other."""
    if name in ("gather", "index_select"):
        return price_gather(site, name, t, result, label, method)
    if name in ("max", "min") and not site.kwargs and len(site.args) == (0 if method else 1) and isinstance(result, Tensor) \
            and result.shape == () and t.shape is not None and elem_bytes(t) is not None:
        # the whole-tensor reduction: aten.max / aten.min to a 0-dim tensor of t's dtype
        out = Tensor((), t.dtype, result.why, result.param, result.route, result.no_grad, result.values)
        price(site.interp, X.call(label, "torch.reduction", {"numel": numel(t.shape), "out_numel": Num.const(1), "dtype_bytes": elem_bytes(t)}), name)
        return with_layout(out, None)
    if name in ("max", "min"):
        other = site.arg(0 if method else 1, "other", None)
        if not isinstance(other, Tensor) or not isinstance(result, Tensor) or result.shape is None:
            return NotImplemented
        return pointwise([t, other], result)
    return NotImplemented
