"""w17-tail: activation_bytes of apertus, lfm2, deepseek_v3 and doge (docs/training.md, "w17-tail").

- a mask of unknown shape compared with a number (5.x Doge's `attention_mask[...] != 0`, the mask
  `masked_fill` saves) stays a mask of unknown shape: saving it is a gap, never a 0-dim tensor (1 B
  where torch keeps [batch, 1, q, k] bools: 98 B at batch 2, 7 tokens);
Expected values: the oracle (saved_tensors_hooks, each storage once), or unavailable, never a wrong number.
"""

from __future__ import annotations

import pytest

from lm_predictor.suggest.brains.tensors import elementwise
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import Tensor


@pytest.mark.parametrize("dtype", ["bool", None])
def test_unsized_mask_against_a_number_keeps_an_unknown_shape(dtype: str | None) -> None:
    mask = Tensor(None, "mask", "attention mask", no_grad=True)
    for out in (elementwise(mask, Num.const(0), dtype), elementwise(Num.const(-1), mask, dtype)):
        assert out.shape is None and out.dtype == "mask" and not out.requires_grad


def test_unsized_mask_broadcasts_into_sized_scores() -> None:
    scores = Tensor((Num.const(2), Num.const(4), Num.const(7), Num.const(7)), "model")
    out = elementwise(scores, Tensor(None, "mask", "attention mask", no_grad=True))
    assert out.shape == scores.shape
