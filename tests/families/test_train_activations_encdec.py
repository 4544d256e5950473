"""activation_bytes of derived rules for the 4.56 encoder-decoder decoders run as causal LMs
(BartForCausalLM and its copies; issue 13), exact against train_oracle's saved_tensors_hooks.

These heads compute their own loss on unshifted labels, `CrossEntropyLoss()(logits.view(-1, V),
labels.view(-1))`: cross_entropy keeps its log_softmax output at the logits' dtype and nll_loss a
0-dim total_weight of that dtype (4 bytes in float32, 2 in bfloat16) and its targets, a view of
`labels` = the input_ids, whose storage the token embedding already keeps (counted once). At the
oracle's bart config below (batch 2, 5 tokens, vocab 256, float32) the loss adds
2 * 5 * 256 * 4 + 4 = 10,244 bytes. The decoder is the grandchild `self.model.decoder(...)`, so
its activation_bytes go through the path helper (`activation_bytes_via`). Marian and Pegasus embed
positions in a `@torch.no_grad()` forward: the frozen-by-context embedding keeps no indices (before:
the `arange` positions were counted, 8 * 5 = 40 bytes over here, 56 at the survey's varied A).
LayerDrop reads a random number in training, so the oracle runs these with real tensors (seeded).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

BART_LIKE = dict(d_model=64, decoder_layers=2, encoder_layers=2, decoder_attention_heads=4, encoder_attention_heads=4,
                 decoder_ffn_dim=128, encoder_ffn_dim=128, vocab_size=256, max_position_embeddings=64)
CONFIGS = {
    "bart": BART_LIKE,
    "marian": {**BART_LIKE, "decoder_vocab_size": 256, "pad_token_id": 0},
    "pegasus": BART_LIKE,
    "whisper": dict(d_model=64, decoder_layers=2, encoder_layers=2, decoder_attention_heads=4, encoder_attention_heads=4,
                    decoder_ffn_dim=128, encoder_ffn_dim=128, vocab_size=256, max_target_positions=64, max_source_positions=64,
                    pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1),
}


def _config(model_type: str, tmp_path: Path) -> dict:
    import transformers

    if not transformers.__version__.startswith("4."):
        pytest.skip("the unshifted-loss heads are 4.56's (5.x BartForCausalLM calls self.loss_function)")
    return written_config(model_type, CONFIGS[model_type], tmp_path)


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_activation_bytes_exact(model_type: str, tmp_path: Path) -> None:
    config = _config(model_type, tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=2, seq_len=5)
    assert predicted.totals.get("activation_bytes") == measured


def test_activation_bytes_bfloat16_checkpointed(tmp_path: Path) -> None:
    """bfloat16 logits: log_softmax and total_weight at 2 bytes; checkpointing keeps each layer's inputs."""
    config = _config("bart", tmp_path)
    workload = Workload(1, 6, 0, "bfloat16")
    measured = measure_train(config, workload, grad_checkpointing=True, peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=1, seq_len=6, dtype="bfloat16", options=TrainOptions(grad_checkpointing=True))
    assert predicted.totals.get("activation_bytes") == measured

