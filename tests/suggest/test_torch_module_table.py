"""Module-table entries added for the long tail, checked against torch itself: parameter counts of
nn.MultiheadAttention (in_proj or separate q/k/v weights, biases, bias_k/bias_v, out_proj) and the
shape a constant-padding module gives (rwkv's nn.ZeroPad2d((0, 0, 1, -1)) time shift)."""

from __future__ import annotations

import pytest

from lm_predictor.suggest.brains.base import CallSite
from lm_predictor.suggest.brains.tensors import pad
from lm_predictor.suggest.brains.torch_modules import construct
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import Tensor

torch = pytest.importorskip("torch")


def built(cname: str, *args, **kwargs):
    site = CallSite(None, None, list(args), kwargs, None, None, cname)  # type: ignore[arg-type]
    return construct(site, cname).inst.template


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"kdim": 16, "vdim": 8}, {"add_bias_kv": True}],
                         ids=["in-proj", "no-bias", "kdim-vdim", "bias-kv"])
def test_multihead_attention_parameters_equal_torchs(kwargs: dict) -> None:
    # E = 32: in-proj 3 * 32 * 32 + 3 * 32 bias + out_proj 32 * 32 + 32 = 4224 (torch's own count below)
    expected = sum(p.numel() for p in torch.nn.MultiheadAttention(32, 4, **kwargs).parameters())
    from lm_predictor.suggest import expr as X
    sym = {k: (X.bconst(v) if isinstance(v, bool) else Num.const(v)) for k, v in kwargs.items()}
    module = built("nn.MultiheadAttention", Num.const(32), Num.const(4), **sym)
    assert module.params.const_value() == expected


def test_zero_pad_2d_shifts_time_without_changing_the_shape() -> None:
    # (0, 0, 1, -1) on [b, t, c]: c + 0 + 0, t + 1 - 1 -> the input's shape, as torch gives
    x = torch.zeros(2, 7, 5)
    expected = tuple(torch.nn.ZeroPad2d((0, 0, 1, -1))(x).shape)
    module = built("nn.ZeroPad2d", tuple(Num.const(v) for v in (0, 0, 1, -1)))
    out = pad(Tensor(tuple(Num.const(d) for d in x.shape)), module.args["pad"])
    assert tuple(d.const_value() for d in out.shape) == expected
    wide = pad(Tensor((Num.const(2), Num.const(3), Num.const(4))), (Num.const(1),) * 4)  # ZeroPad2d(1): 3 + 2, 4 + 2
    assert tuple(d.const_value() for d in wide.shape) == tuple(torch.nn.ZeroPad2d(1)(torch.zeros(2, 3, 4)).shape)
