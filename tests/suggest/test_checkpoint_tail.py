"""`checkpoint_tail_flops` of derived rules (issue 13): a layer's forward FLOPs after its last save.

torch's non-reentrant checkpoint (transformers 5.23's default) stops the recompute once the last
tensor backward needs is recomputed (torch/utils/checkpoint.py `_StopRecomputationError`), and
autograd saves a product's operands before the product runs: a llama-style layer's recompute
skips its MLP's down_proj. The tail is derived from the pinned source of the running venv (it is
the same construct in 4.56 and 5.23); 4.56 checkpoints reentrantly and ignores it
(test_checkpoint_tf5.py checks 5.23 against the oracle).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.data.versions import reading  # noqa: E402
from lm_predictor.engine.evaluate import evaluate  # noqa: E402
from lm_predictor.evaluate.binding import resolve  # noqa: E402
from lm_predictor.evaluate.predict import library_at, root_rule  # noqa: E402
from lm_predictor.evaluate.train import TrainOptions, predict_train, train_bindings  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
PIN = "5.23.0" if MAJOR >= 5 else "4.56.0"
SMALL = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=256)
STEP = Workload(2, 7)  # 14 tokens


def layer_tails(model_type: str, overrides: dict, tmp_path: Path) -> dict[str, int]:
    """checkpoint_tail_flops of each checkpointed layer call of the derived model (path -> FLOPs)."""
    raw = written_config(model_type, overrides, tmp_path)
    with reading(PIN):
        library, _ = library_at(None, PIN)
        library, rule, _, derived = root_rule(library, resolve(raw, PIN, "test"), PIN, STEP)
    assert derived
    tree = evaluate(library, rule.name, "flops", train_bindings(rule, resolve(raw, PIN, "test"), STEP, TrainOptions(grad_checkpointing=True)), trace=True).tree
    out = {}
    for _, record in tree.walk():
        metrics = library.get(record.rule).metrics if library.get(record.rule) is not None else {}
        if "checkpoint_layers" in metrics:
            out[record.label] = evaluate(library, record.rule, "checkpoint_tail_flops", record.bindings).value
    return out


@pytest.mark.parametrize("model_type", ["olmo", "stablelm"] if MAJOR < 5 else ["llama", "qwen2"])
def test_a_layer_tail_is_its_down_proj(model_type: str, tmp_path: Path) -> None:
    # the MLP's last op is down_proj, which saves its input before it runs; the residual add after
    # it saves nothing: 2 FLOPs x 14 tokens x 96 x 64 = 172,032 per layer
    tails = layer_tails(model_type, SMALL, tmp_path)
    assert list(tails.values()) == [172_032]  # one call site, 2 layers (count 2)


@pytest.mark.skipif(MAJOR >= 5, reason="4.56 checkpoints reentrantly")
def test_reentrant_checkpointing_still_recomputes_the_whole_layer(tmp_path: Path) -> None:
    # olmo 4.56, derived: the measured step with checkpointing is forward + backward + 2 whole layer forwards
    config = written_config("olmo", SMALL, tmp_path)
    options = TrainOptions(grad_checkpointing=True)
    measured = measure_train(config, STEP, grad_checkpointing=True, peak=False).totals["flops"]
    predicted = predict_train(config, batch=2, seq_len=7, options=options, survey_checked=False, transformers=PIN).totals
    plain = predict_train(config, batch=2, seq_len=7, survey_checked=False, transformers=PIN).totals
    # a layer: q, o (2*14*64*64 each), k, v (2*14*64*32 each), gate, up, down (2*14*64*96 each), and
    # q @ k^T, weights @ v (2*2*4*7*7*16 each): 229,376 + 114,688 + 516,096 + 25,088 = 885,248
    assert predicted["recompute_flops"] == 2 * 885_248
    assert predicted["flops"] == plain["flops"] + 2 * 885_248 == measured
