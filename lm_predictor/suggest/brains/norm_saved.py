"""What `torch.nn.RMSNorm` saves for backward (torch 2.13, CPU): its composite forward upcasts the
input to float32, keeps that float32 input and the float32 `rsqrt(mean(x^2) + eps)` (one per
normalised row), and, with `elementwise_affine`, the float32 normalised value that the weight's
gradient needs. Measured with `saved_tensors_hooks` on [2, 3, 5, 16] inputs, each storage once:

| dtype | affine | saved storages (bytes) |
|---|---|---|
| float32 | no | the input itself (1,920), rstd (120) |
| bfloat16, float16 | no | a float32 copy of the input (1,920), rstd (120) |
| float32, bfloat16, float16 | yes | the above, and the float32 normalised value (1,920) |

(the weight is saved too; it is a parameter, in weight_bytes). Used for DiffLlama's
`groupnorm = nn.RMSNorm(2 * head_dim, elementwise_affine=False)`.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import saved
from lm_predictor.suggest.brains.layout import elem_bytes
from lm_predictor.suggest.expr import ONE, Bool, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import Tensor

FLOAT32_BYTES = Num.const(4)


def rms_norm(interp: Host, x: Any, result: Any, shape: tuple | None, affine: Bool) -> None:
    """The saved tensors of one nn.RMSNorm call over the last `len(shape)` dims of `x`."""
    log = saved.log_of(interp)
    if log is None:
        return None
    saved.fresh(interp, result)
    if interp.grad_off or not isinstance(x, Tensor):
        return None if interp.grad_off else saved.gap(interp, "RMSNorm: input not a tensor")
    if not x.requires_grad and affine == X.FALSE:
        return None  # nothing requires grad: autograd records no node
    size = elem_bytes(x)
    if shape is None or x.shape is None or len(shape) > len(x.shape) or size is None:
        return saved.gap(interp, "RMSNorm of an input of unknown shape or dtype")
    if x.requires_grad:
        _input_saves(interp, x, shape, size)
    if affine != X.FALSE:
        normed = Tensor(tuple(x.shape), "float32")
        saved.fresh(interp, normed)
        interp.assume.append(affine)
        try:
            saved.save(interp, normed, "rms_norm")
        finally:
            interp.assume.pop()
    return None


def _input_saves(interp: Host, x: Tensor, shape: tuple, size: Num) -> None:
    """The float32 input (a copy unless it is float32) and the float32 rstd, one per row."""
    upcast = Tensor(tuple(x.shape), "float32")  # x.float(): the input's storage where it is float32 already
    saved.maybe_same(interp, upcast, x, X.cmp("==", size, FLOAT32_BYTES) if x.dtype != "float32" else X.TRUE)
    saved.save(interp, upcast, "rms_norm")
    rows = tuple(x.shape[: len(x.shape) - len(shape)]) + (ONE,) * len(shape)
    rstd = Tensor(rows, "float32")
    saved.fresh(interp, rstd)
    saved.save(interp, rstd, "rms_norm")
