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


# the derived-rule cases below run the oracle: small configs, batch 1 and 2
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import predict_train, train_bindings  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

PIN = "5.23.0" if int(transformers.__version__.split(".")[0]) >= 5 else "4.56.0"
LFM2 = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=4,
            layer_types=["conv", "full_attention", "conv", "full_attention"], vocab_size=256)
DOGE = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2,
            keep_window_size=4, vocab_size=256)


def _predicted(config: dict, workload: Workload) -> int | None:
    from bench.survey import base_library

    return predict_train(config, batch=workload.batch, seq_len=workload.seq_len, survey_checked=False, library=base_library(),
                         transformers=PIN).totals.get("activation_bytes")


@pytest.mark.parametrize("batch", [1, 2])
def test_lfm2_activation_bytes_exact(batch: int, tmp_path) -> None:
    """The prefill keys the cache hands back are the given ones (its concatenation arm needs a past)."""
    config = written_config("lfm2", LFM2, tmp_path)
    workload = Workload(batch, 6)
    assert _predicted(config, workload) == measure_train(config, workload, peak=False).totals["activation_bytes"]


@pytest.mark.parametrize("batch", [1, 2])
def test_doge_activation_bytes_never_wrong(batch: int, tmp_path) -> None:
    """4.56: exact (its float mask has a shape); 5.x: its causal mask has none, so the `mask != 0` that
    masked_fill saves is unknown and the metric unavailable, never 97 B a layer low."""
    config = written_config("doge", DOGE, tmp_path)
    workload = Workload(batch, 6)
    predicted, measured = _predicted(config, workload), measure_train(config, workload, peak=False).totals["activation_bytes"]
    if PIN == "4.56.0":
        assert predicted == measured
    else:
        assert predicted is None or predicted == measured


def test_train_bindings_refuse_a_past() -> None:
    """Derived activation_bytes drop the arms a past cache takes: binding them with a past is refused."""
    with pytest.raises(ValueError, match="no past"):
        train_bindings(None, {}, Workload(1, 4, 3), None)
