"""nn.Linear on an input that may not be contiguous: the conditions its library rule's bytes take.

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
from lm_predictor.suggest.brains.layout import is_contiguous, view_of
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
