"""Train FLOPs with gradient checkpointing under transformers 5.23 (issue 13), against train_oracle.

5.23 checkpoints with `use_reentrant=False`: torch stops each layer's recompute once the last
tensor backward needs is recomputed, so a layer's recompute is its forward less its
`checkpoint_tail_flops` (tests/suggest/test_checkpoint_tail.py). Run under `.venv-tf5`
(`.venv-tf5/bin/python -m pytest tests/evaluate/test_checkpoint_tf5.py`); skipped under 4.56.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
pytestmark = [pytest.mark.tf5, pytest.mark.skipif(MAJOR < 5, reason="transformers 5.x checkpoints non-reentrantly (run under .venv-tf5)")]

SMALL = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=256)
WIDE = dict(hidden_size=96, intermediate_size=160, num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=6, vocab_size=300)
CKPT = TrainOptions(grad_checkpointing=True)


def _step(model_type: str, overrides: dict, tmp_path: Path) -> tuple[dict, int]:
    config = written_config(model_type, overrides, tmp_path)
    predicted = predict_train(config, batch=2, seq_len=7, options=CKPT, survey_checked=False, transformers="5.23.0").totals
    measured = measure_train(config, Workload(2, 7), grad_checkpointing=True, peak=False).totals["flops"]
    return predicted, measured


def test_llama_recompute_stops_before_down_proj(tmp_path: Path) -> None:
    predicted, measured = _step("llama", SMALL, tmp_path)
    # measured by train_oracle (FlopCounterMode, fake tensors, batch 2, 7 tokens)
    assert measured == 8_114_176
    # a layer's forward is 885,248 (test_checkpoint_tail.py); its down_proj 2*14*96*64 = 172,032 is not
    # recomputed: 2 layers x (885,248 - 172,032) = 1,426,432 (the whole forward again would be 344,064 more)
    assert predicted["recompute_flops"] == 1_426_432
    assert predicted["flops"] == measured


@pytest.mark.parametrize("overrides", [SMALL, WIDE], ids=["gqa-2-layers", "mha-3-layers"])
@pytest.mark.parametrize("model_type", ["llama", "qwen2", "mistral"])
def test_checkpointed_step_is_exact(model_type: str, overrides: dict, tmp_path: Path) -> None:
    predicted, measured = _step(model_type, overrides, tmp_path)
    assert predicted["flops"] == measured


def test_dropout_after_the_last_product_is_the_last_save(tmp_path: Path) -> None:
    # 5.23 gpt2 (resid_pdrop 0.1): the MLP's and the attention's dropout after c_proj keeps its noise,
    # so the whole layer is recomputed (tail 0), as the oracle measures
    predicted, measured = _step("gpt2", dict(n_embd=64, n_layer=2, n_head=4, vocab_size=256), tmp_path)
    assert measured == 12_587_008
    assert predicted["flops"] == measured
