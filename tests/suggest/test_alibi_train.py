"""The ALiBi family's training step through suggest (issue 13), against train_oracle at small configs.

Runs on the transformers of the running venv (`.venv`: 4.56; `.venv-tf5/bin/python -m pytest`: 5.23),
on the survey's library (no hand-written model rules), batch 2, 6 tokens, float32, AdamW:

- bloom: its MLP's GeLU is `GeLUFunction.apply(x)` (a torch.autograd.Function) in training (4.56:
  under `if self.training:`, else `bloom_gelu_forward(x)`; 5.23: always). torch runs the Function's
  forward with grad mode off, so it keeps only what `ctx.save_for_backward` gets, `x`; the inference
  arm's six tensors had made 4.56's prediction 172,032 B high at 7 tokens (315,844 against 143,812:
  2 layers x 6 x [2, 7, 256] float32 = 2 x 6 x 14,336). activation_bytes, flops and flops with checkpointing.
- mpt: on 5.23 the mask `create_causal_mask(...).to(torch.bool)` is a new bool [2, 1, 6, 6] storage that
  masked_fill keeps (72 B), so its activation_bytes are priced; on 4.56 they were already.
- falcon: activation_bytes may stay unavailable (its attention's formula is over the length limit,
  docs/training.md), but is never a wrong number.
Expected values: the oracle (saved_tensors_hooks, each storage once; FlopCounterMode).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

PIN = "5.23.0" if int(transformers.__version__.split(".")[0]) >= 5 else "4.56.0"
SMALL = {
    "bloom": dict(hidden_size=64, n_head=4, n_layer=2, vocab_size=256),
    "mpt": dict(d_model=64, n_heads=4, n_layers=2, vocab_size=256, max_seq_len=32),
    "falcon": dict(hidden_size=64, num_attention_heads=4, num_hidden_layers=2, vocab_size=256),
}
WORKLOAD = Workload(2, 6)


def _library():
    from bench.survey import base_library

    return base_library()


def _predict(config: dict, **options) -> dict:
    return predict_train(config, batch=WORKLOAD.batch, seq_len=WORKLOAD.seq_len, survey_checked=False, library=_library(),
                         transformers=PIN, **options).totals


@pytest.mark.parametrize("model_type", ["bloom", "mpt"])
def test_activation_bytes_exact(model_type: str, tmp_path) -> None:
    config = written_config(model_type, SMALL[model_type], tmp_path)
    measured = measure_train(config, WORKLOAD, peak=False).totals
    predicted = _predict(config)
    assert predicted.get("activation_bytes") == measured["activation_bytes"]
    assert predicted.get("flops") == measured["flops"]


def test_bloom_checkpointed_flops(tmp_path) -> None:
    config = written_config("bloom", SMALL["bloom"], tmp_path)
    measured = measure_train(config, WORKLOAD, grad_checkpointing=True, peak=False).totals
    assert _predict(config, options=TrainOptions(grad_checkpointing=True)).get("flops") == measured["flops"]


def test_falcon_activation_bytes_never_wrong(tmp_path) -> None:
    config = written_config("falcon", SMALL["falcon"], tmp_path)
    predicted = _predict(config).get("activation_bytes")
    assert predicted is None or predicted == measure_train(config, WORKLOAD, peak=False).totals["activation_bytes"]
