"""The optimizer-step peak (`optimizer_peak_bytes`) is exact against MemTracker for the eight families.

`optimizer_peak_bytes` is the maximum of live bytes over `optimizer.step()` (docs/training.md):
weights, gradients, the optimizer state (the first step allocates all of it before updating
any parameter), the kept 0-dim float32 loss, GPT-2's viewed input_ids, and AdamW's scratch
(`exp_avg_sq.sqrt()` and its quotient for parameter i while parameter i - 1's quotient is still
bound). The oracle is train_oracle's phase tracker (a MemTracker that also keeps each phase's
maximum). The scratch depends on the order of parameters(), so the order the rules give is
checked against named_parameters() too.

The inference `peak_bytes` (one forward, use_cache=True, no_grad, eager attention; weights and the
past cache included) is composed from each rule's `infer_peak_bytes` (lm_predictor/evaluate/peak.py)
and checked against train_oracle.measure_infer_peak (the same MemTracker) at every varied config of
the eight families: prefill, decode, chunked decode, and a long prefill where the peak moves into
the attention; and at one config per family in bfloat16 and float16 (the float32 softmax of half
scores, GPT-2's and Falcon's upcasts). SDPA is listed unavailable.

The whole training-step `peak_bytes` (with its forward and backward phases) is checked in
tests/families/test_train_peak.py for the families whose root rules compose it.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.engine.evaluate import evaluate  # noqa: E402
from lm_predictor.evaluate.binding import bind, find_root_rule, resolve  # noqa: E402
from lm_predictor.evaluate.predict import default_library, predict  # noqa: E402
from lm_predictor.evaluate.train import TrainOptions, idle_paths, param_sequence, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_infer_peak, measure_train  # noqa: E402
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
    predicted = param_sequence(library, trees["param_count"], idle_paths(trees["param_count"], trees["bytes_read"], library))
    with FakeTensorMode(allow_non_fake_inputs=True):
        model = model_class(config)._from_config(hf_config(config), attn_implementation="eager", dtype=torch.float32)
        # GPT-2's cross-attention blocks run only with encoder states: no gradient, no optimizer state
        measured = [p.numel() for n, p in model.named_parameters() if "crossattention" not in n and "ln_cross_attn" not in n]
    assert predicted == measured


INFER_CASES = CASES
# prefill; decode of one token after 6; chunked decode; a long prefill (GPT-2's varied configs have
# 64 positions), where the eager score matrices outgrow the MLP and the peak moves into the attention
INFER_WORKLOADS = {
    "prefill": Workload(2, 7),
    "decode": Workload(1, 1, 6),
    "chunked": Workload(2, 3, 5),
    "long": Workload(4, 256),
}


def _infer_peak(config: dict, workload: Workload) -> tuple[int | None, int, str]:
    """(predicted peak_bytes, measured peak, where the measured peak is)."""
    w = workload
    predicted = predict(config, batch=w.batch, seq_len=w.seq_len, past_len=w.past_len, dtype=w.dtype, breakdown=False)
    measured = measure_infer_peak(config, workload)
    return predicted.totals.get("peak_bytes"), measured.totals["peak_bytes"], measured.notes[0]


@pytest.mark.parametrize("workload", list(INFER_WORKLOADS))
@pytest.mark.parametrize(("family", "name"), INFER_CASES, ids=[f"{f}-{n}" for f, n in INFER_CASES])
def test_infer_peak_exact(family: str, name: str, workload: str) -> None:
    wl = INFER_WORKLOADS[workload]
    if workload == "long" and family == "gpt2":
        wl = Workload(4, 60)
    predicted, measured, where = _infer_peak(FAMILIES[family][name], wl)
    assert predicted == measured, where


def test_infer_peak_moves_into_attention() -> None:
    """Llama (gqa): at batch 2, 7 tokens the peak is in the last layer's MLP (gate activation, up
    projection and their product live at once); at batch 4, 256 tokens in its attention (the
    [4, 8, 256, 256] float32 scores: the score matmul and its scaled copy, 8,388,608 bytes)."""
    config = FAMILIES["llama"]["gqa"]
    assert "layers.1.mlp" in _infer_peak(config, Workload(2, 7))[2]
    predicted, measured, where = _infer_peak(config, Workload(4, 256))
    assert "layers.1.self_attn" in where and predicted == measured


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_infer_peak_half_precision(family: str, dtype: str) -> None:
    """Below float32 the eager softmax converts the scores to float32 first (llama-like and
    gpt_neox), GPT-2's reordered attention casts q and k, Falcon's ALiBi path upcasts the scores."""
    configs = list(FAMILIES[family].values())
    config = configs[2] if family == "falcon" else configs[1] if family == "gpt2" else configs[0]  # ALiBi; reordered upcast
    for wl in (Workload(2, 7, 0, dtype), Workload(1, 1, 6, dtype), Workload(4, 56, 0, dtype)):
        predicted, measured, where = _infer_peak(config, wl)
        assert predicted == measured, (wl, where)


def test_infer_peak_unavailable_with_sdpa() -> None:
    """The peak formulas follow eager attention: with --attn sdpa peak_bytes is unavailable, never a guess."""
    llama = FAMILIES["llama"]["gqa"]
    assert "peak_bytes" in predict(llama, batch=2, seq_len=7, attn="sdpa", breakdown=False).unavailable


BUNDLED = ["llama-3-8b", "mistral-7b", "qwen2.5-7b", "gemma-7b", "phi-3-mini", "falcon-7b", "gpt2", "pythia-160m"]


@pytest.mark.parametrize("name", BUNDLED)
def test_infer_peak_bundled_configs(name: str) -> None:
    """The real configs: a bfloat16 decode step (2 sequences, 1 token after 300) and a 128-token prefill."""
    import json
    from pathlib import Path

    config = json.loads((Path(__file__).resolve().parents[2] / "configs" / name / "config.json").read_text())
    for wl in (Workload(2, 1, 300, "bfloat16"), Workload(1, 128, 0, "bfloat16")):
        predicted, measured, where = _infer_peak(config, wl)
        assert predicted == measured, (wl, where)
