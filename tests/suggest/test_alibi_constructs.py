"""What the saved-tensor model assumes of torch for the ALiBi family's constructs (docs/training.md), checked with
saved_tensors_hooks: a custom autograd.Function keeps only `ctx.save_for_backward`'s tensors, a list index is
one new int64 tensor that aten.index keeps, and `x @ w.T` keeps the parameter's own storage."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _saved(fn) -> list:
    """The tensors autograd packs while `fn()` runs."""
    out: list = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: out.append(t) or t, lambda t: t):
        fn()
    return out


class _Gelu(torch.autograd.Function):
    """BLOOM's GeLUFunction: the tanh GeLU forward, the input kept for a hand-written backward."""

    @staticmethod
    def forward(ctx, x):  # noqa: ANN001, ANN205
        ctx.save_for_backward(x)
        return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        (x,) = ctx.saved_tensors
        return g * x  # its value does not matter here


def test_a_function_keeps_only_what_ctx_saves() -> None:
    x = torch.randn(2, 7, 8, requires_grad=True)
    inside = _saved(lambda: _Gelu.apply(x))
    assert len(inside) == 1 and inside[0].untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    # the same arithmetic outside a Function keeps x and 6 intermediates (4.56 BLOOM's inference arm: 6 x [b, s, 4h] high)
    plain = _saved(lambda: x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x))))
    assert len({t.untyped_storage().data_ptr() for t in plain} - {x.untyped_storage().data_ptr()}) == 6


def test_a_list_index_keeps_one_int64_tensor_per_list() -> None:
    """Falcon's MQA split `fused_qkv[..., [-2], :]`: aten.index keeps the index, 1 element x 8 B."""
    fused = torch.randn(2, 7, 6, 16, requires_grad=True)
    saved = _saved(lambda: fused[..., [-2], :])
    assert [(t.dtype, t.untyped_storage().nbytes()) for t in saved] == [(torch.int64, 8)]


def test_matmul_by_a_transposed_parameter_keeps_the_parameter() -> None:
    """FalconLinear: `input @ self.weight.T` keeps the input's 2-d fold and a view of the weight (not counted)."""
    w = torch.nn.Parameter(torch.randn(12, 8))
    x = torch.randn(2, 7, 8, requires_grad=True)
    saved = _saved(lambda: x @ w.T)
    ptrs = {t.untyped_storage().data_ptr() for t in saved}
    assert ptrs == {x.untyped_storage().data_ptr(), w.untyped_storage().data_ptr()}
