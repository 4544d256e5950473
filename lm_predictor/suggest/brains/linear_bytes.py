"""Bytes of torch.nn modules beyond their plain library rule: nn.Linear on an input that may not be
contiguous (the conditions its rule's bytes take) and the constant pad modules.

at::linear (torch 2.13) folds a contiguous input of 3 or more dims into one aten.addmm on the
[tokens, in] view; any other input of 3 or more dims goes through torch.matmul: the fold's
`reshape(-1, in)` (a clone where the leading dims cannot be viewed as one; the weight requires
grad, so matmul always folds), aten.mm, then the bias in a separate aten.add. MVP's and TrOCR's
`out_proj` get a `reshape` of the transposed attention output, contiguous except where head_dim
is 1 and both the heads and the query length are not.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import numel
from lm_predictor.suggest.brains.layout import UNKNOWN_LAYOUT, elem_bytes, gap, is_contiguous, view_of, with_layout
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import Tensor


def strided_linear(x: Tensor, in_features: Any) -> dict | None:
    """The `strided` / `strided_copy` arguments of rule torch.nn.Linear for input x (None: layout unknown)."""
    if x.shape is None or len(x.shape) < 3:
        return None
    contiguous = is_contiguous(x)
    seen = view_of(x, (numel(tuple(x.shape[:-1])), x.shape[-1]))
    if contiguous is None or seen is None:
        return None
    strided = X.bnot(contiguous)
    return {"strided": strided, "strided_copy": X.band(strided, X.bnot(seen[0]))}


def pad_module_bytes(interp: Host, label: str, x: Tensor, pads: tuple, result: Tensor, count: Num) -> Tensor:
    """nn.ZeroPad1d/2d, nn.ConstantPad1d/2d: F.pad's one aten.constant_pad_nd (reads the whole input, also where a
    negative pad cuts it, writes the output; RWKV's `ZeroPad2d((0, 0, 1, -1))` time shift); the output row-major
    where every pad is a constant >= 0 on a tensor of rank other than 4 or 5, else its layout is not tracked."""
    n_in, n_out, b = numel(x.shape), numel(result.shape), elem_bytes(x)
    if n_in is None or n_out is None or b is None:
        gap(interp, f"{label}: pad of an input of unknown shape or dtype")
        return result
    interp.add_cost("bytes", X.call(label, "torch.copy", {"numel": n_out, "in_numel": n_in, "dtype_bytes": b}), count)
    known = all(isinstance(p, Num) and isinstance(p.const_value(), int) and p.const_value() >= 0 for p in pads)
    out = Tensor(result.shape, x.dtype, result.why, result.param, result.route, result.no_grad, result.values)
    return with_layout(out, None if known and len(x.shape) not in (4, 5) else UNKNOWN_LAYOUT)
