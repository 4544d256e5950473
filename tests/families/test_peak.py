"""The optimizer-step peak (`optimizer_peak_bytes`) is exact against MemTracker for the eight families.

`optimizer_peak_bytes` is the maximum of live bytes over `optimizer.step()` (docs/training.md):
weights, gradients, the optimizer state (the first step allocates all of it before updating
any parameter), the kept 0-dim float32 loss, GPT-2's viewed input_ids, and AdamW's scratch
(`exp_avg_sq.sqrt()` and its quotient for parameter i while parameter i - 1's quotient is still
bound). The oracle is train_oracle's phase tracker (a MemTracker that also keeps each phase's
maximum). The scratch depends on the order of parameters(), so the order the rules give is
checked against named_parameters() too.

The whole-step `peak_bytes` is not predicted: its forward and backward phases are not modelled
(bench/peak_gap.py measures them).
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.engine.evaluate import evaluate  # noqa: E402
from lm_predictor.evaluate.binding import bind, find_root_rule, resolve  # noqa: E402
from lm_predictor.evaluate.predict import default_library  # noqa: E402
from lm_predictor.evaluate.train import TrainOptions, idle_paths, param_sequence, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.test_train import CASES, FAMILIES  # noqa: E402


def test_notes_llama_by_hand() -> None:
    """The 2-layer Llama of oracle-notes.md (arithmetic in tests/verify/test_train_oracle.py)."""
    from tests.verify.test_train_oracle import NOTES_LLAMA, OPTIMIZER_PEAK

    assert predict_train(NOTES_LLAMA, batch=1, seq_len=64).totals["optimizer_peak_bytes"] == OPTIMIZER_PEAK


def _peaks(config: dict, workload: Workload, options: TrainOptions) -> tuple[int | None, dict[str, int]]:
    measured = measure_train(config, workload, optimizer=options.optimizer).totals
    predicted = predict_train(config, batch=workload.batch, seq_len=workload.seq_len, dtype=workload.dtype, options=options)
    return predicted.totals.get("optimizer_peak_bytes"), measured


@pytest.mark.parametrize(("family", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_adamw_step_peak_exact(family: str, name: str) -> None:
    predicted, measured = _peaks(FAMILIES[family][name], Workload(2, 7), TrainOptions())
    assert predicted == measured["optimizer_peak_bytes"]
    # at this small workload the optimizer step is the peak of the whole step (measured)
    assert measured["peak_bytes"] == measured["optimizer_peak_bytes"]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_bfloat16_and_sgd_step_peak_exact(family: str) -> None:
    """bfloat16 AdamW (state and scratch in bfloat16) at batch 1; SGD (momentum 0: no state, no
    scratch, so the step holds weights + grads + loss, and the backward is the peak)."""
    config = list(FAMILIES[family].values())[1]
    predicted, measured = _peaks(config, Workload(1, 5, 0, "bfloat16"), TrainOptions())
    assert predicted == measured["optimizer_peak_bytes"]
    predicted, measured = _peaks(config, Workload(2, 7), TrainOptions(optimizer="sgd"))
    assert predicted == measured["optimizer_peak_bytes"]


@pytest.mark.parametrize(("family", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_parameter_order(family: str, name: str) -> None:
    """param_sequence lists each trained tensor's numel in named_parameters() order."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from lm_predictor.verify.hf import hf_config, model_class

    config = FAMILIES[family][name]
    library, resolved = default_library(), resolve(config)
    rule = find_root_rule(library, resolved)
    bindings = bind(rule, resolved, Workload(2, 7))
    trees = {m: evaluate(library, rule.name, m, bindings, trace=True).tree for m in ("param_count", "bytes_read")}
    predicted = param_sequence(library, trees["param_count"], idle_paths(trees["param_count"], trees["bytes_read"]))
    with FakeTensorMode(allow_non_fake_inputs=True):
        model = model_class(config)._from_config(hf_config(config), attn_implementation="eager", dtype=torch.float32)
        # GPT-2's cross-attention blocks run only with encoder states: no gradient, no optimizer state
        measured = [p.numel() for n, p in model.named_parameters() if "crossattention" not in n and "ln_cross_attn" not in n]
    assert predicted == measured
