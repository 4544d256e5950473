"""ProphetNet's activation_bytes (derived rules) against train_oracle (fake tensors, batch 2, 7 tokens, float32):

- `chunk(1 + ngram)` of the projected streams: the pieces are views of the projection's storage, with its layout;
- `_compute_loss` (label smoothing off, `eps == 0`): the float32 log_softmax of the [ngram * batch * seq, V]
  logits, the int64 targets `new_zeros(ngram, batch, seq)` and nll_loss's total_weight;
- 5.23's `ngram_attention_bias`: `torch.where(mask, torch.full((), -inf), torch.zeros(()))` of constants saves
  no mask (a 0-dim `torch.zeros` requires no grad);
- batch 1: the decoder returns `hidden_states[:, :seq]` and `[:, seq:]` of one storage, and the lm_head keeps a
  view of the second: all of that storage;
- `DynamicCache(config=self.config)` holds `config.num_hidden_layers` layers, which ProphetNetConfig reads as its
  encoder layers: with more decoder layers the update of layer `num_encoder_layers` raises IndexError, the oracle
  retries without a cache (each layer's main keys and values are then views of the [batch, (1 + ngram) * seq,
  hidden] projections, not [batch, heads, seq, head_dim] copies), and eval says unavailable rather than price the
  cached step: at 2 encoder and 3 decoder layers, ngram 2, the measurement is 880,772 where the cached step
  saves 837,764 (3 layers x 2 x [2, 14, 64] float32 = 43,008 B more).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

PIN = "5.23.0" if int(transformers.__version__.split(".")[0]) >= 5 else "4.56.0"
SMALL = dict(hidden_size=64, num_encoder_attention_heads=4, num_decoder_attention_heads=4, encoder_ffn_dim=128,
             decoder_ffn_dim=128, vocab_size=100, num_encoder_layers=3, num_decoder_layers=3)  # fmt: skip

CASES = {
    "ngram 1": dict(SMALL, ngram=1),
    "ngram 2": dict(SMALL, ngram=2),
    "ngram 3": dict(SMALL, ngram=3),
    "2 heads, 8 buckets, fewer decoder layers": dict(SMALL, ngram=2, num_decoder_attention_heads=2, decoder_ffn_dim=32,
                                                     num_buckets=8, relative_max_distance=16, num_encoder_layers=5, num_decoder_layers=2),
}


def _both(overrides: dict, tmp_path: Path, batch: int = 2, seq_len: int = 7) -> tuple:
    """(predicted, measured) activation_bytes of one training step."""
    config = written_config("prophetnet", overrides, tmp_path)
    measured = measure_train(config, Workload(batch, seq_len), peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=batch, seq_len=seq_len, survey_checked=False, transformers=PIN).totals.get("activation_bytes")
    return predicted, measured


@pytest.mark.parametrize("case", list(CASES))
def test_activation_bytes_exact(case: str, tmp_path: Path) -> None:
    predicted, measured = _both(CASES[case], tmp_path)
    assert predicted == measured


def test_batch_one_keeps_the_whole_decoder_output(tmp_path: Path) -> None:
    # at batch 1 the lm_head's input is a view of the decoder's [1, (1 + ngram) * seq, hidden] output: all of it
    # is kept (a copy of the [batch, ngram * seq, hidden] streams at batch > 1); 1,280 B were missing before
    predicted, measured = _both(dict(SMALL, ngram=3), tmp_path, batch=1, seq_len=5)
    assert predicted == measured


def test_cache_past_its_layers_is_unavailable(tmp_path: Path) -> None:
    predicted, measured = _both(dict(SMALL, ngram=2, num_encoder_layers=2), tmp_path)
    assert measured == 880_772  # the step without a cache (the module docstring's arithmetic)
    assert predicted is None
