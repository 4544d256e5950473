"""The bytes of a tensor subscript assignment, `t[index] = value` (docs/bytes.md).

torch's `Tensor.__setitem__` makes a Python scalar value a 0-dim tensor of t's dtype without an
aten op (scalarToTensor), then:

- an index of tensors only (a bool mask, integer index tensors; Gemma3Model's
  `llm_input_ids[special_image_mask] = 0`) runs one aten.index_put_: the bytes counter reads the
  mutated t, every index tensor and the value, and writes t (all at their logical size);
- basic indexing (ints, slices, None, Ellipsis) takes a view (free), then `fill_` for a 0-dim value
  (reads the value, writes the view) or `copy_` of the value expanded to the view (reads it at the
  view's size in its own dtype, writes the view).

Anything else (tensor and basic items mixed, a list index, unknown shapes or dtypes) records a
gap: the bytes are unavailable, never a silent 0.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.layout import elem_bytes, gap, numel, price, tensor_bytes
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import Tensor


def _basic(item: Any) -> bool:
    """An index item that takes a view: an int, a slice, None or Ellipsis."""
    return item is None or item is Ellipsis or isinstance(item, Num) or type(item).__name__ == "Slice"


def price_setitem(interp: Host, t: Tensor, index: Any, value: Any, view: Any, label: str = "setitem") -> None:
    """Record the bytes of `t[index] = value`; `view` is the shape brain's `t[index]` (basic indexing); `label`
    names the op in the rule, one per assignment (two assignments under one label read as one op: RWKV's
    `shifted[:, 0] = state[...]` and `state[...] = hidden[:, -1]`)."""
    items = list(index) if isinstance(index, tuple) else [index]
    b, n = elem_bytes(t), numel(t)
    if b is None or n is None:
        gap(interp, "tensor setitem: target of unknown shape or dtype")
        return
    if items and all(isinstance(i, Tensor) for i in items):
        extra = ZERO
        for i in items:
            ib = tensor_bytes(i)
            if ib is None:
                gap(interp, "tensor setitem: index tensor of unknown shape or dtype")
                return
            extra = extra + ib
        scalar = isinstance(value, Num)
        if not scalar:
            vb = tensor_bytes(value) if isinstance(value, Tensor) else None
            if vb is None:
                gap(interp, "tensor setitem: value of unknown shape or dtype")
                return
            extra = extra + vb
        # aten.index_put_: t read and written once (n_inputs 1), the indices and the value read
        price(interp, X.call(label, "torch.elementwise", {"numel": n, "broadcast_numel": ONE if scalar else ZERO,
                                                          "extra_read": extra, "dtype_bytes": b}), "index_put_")
        return
    if not all(_basic(i) for i in items) or not isinstance(view, Tensor) or numel(view) is None:
        gap(interp, "tensor setitem with this index")
        return
    vn = numel(view)
    if isinstance(value, Num):
        # fill_ with the 0-dim value: one element read, the view written
        price(interp, X.call(label, "torch.elementwise", {"numel": vn, "n_inputs": ZERO, "broadcast_numel": ONE,
                                                          "dtype_bytes": b}), "fill_")
        return
    vb = elem_bytes(value) if isinstance(value, Tensor) else None
    if vb is None or value.shape is None:
        gap(interp, "tensor setitem: value of unknown shape or dtype")
        return
    if len(value.shape) == 0:
        price(interp, X.call(label, "torch.elementwise", {"numel": vn, "n_inputs": ZERO, "extra_read": vb,
                                                          "dtype_bytes": b}), "fill_")
        return
    # copy_ of the value expanded to the view: read at the view's size in the value's dtype
    price(interp, X.call(label, "torch.elementwise", {"numel": vn, "n_inputs": ZERO, "extra_read": vn * vb,
                                                      "dtype_bytes": b}), "copy_")
