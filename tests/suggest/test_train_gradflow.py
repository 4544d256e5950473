"""Where autograd's records are not known, the train metrics they decide are unavailable, not wrong
(issue 13, suggest/brains/gradflow.py). Each case is a 5.23 train mismatch the survey found:

- hrm_text: `ctx = nullcontext() if low_cycle_idx >= grad_threshold else torch.no_grad()` runs all
  but the last `L_bp_cycles` inner cycles without gradients: backward FLOPs unknown;
- qwen3_5_text: the gated delta rule's recurrent state starts as `torch.zeros` (no gradient), so
  the first chunk's products with it have one backward product, not two: backward FLOPs unknown;

Everything else of the step stays exact against train_oracle (fake tensors, batch 2, 5 tokens).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import predict_train  # noqa: E402
from lm_predictor.suggest.brains.gradflow import mixed_grad_context  # noqa: E402
from lm_predictor.suggest.values import ObjectV, Phi  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
SMALL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=300, max_position_embeddings=64)

# (model type, overrides, metrics left unavailable, metrics still exact)
CASES = {
    "a with over nullcontext() or torch.no_grad() (hrm_text)": (
        "hrm_text", dict(SMALL, num_hidden_layers=1, head_dim=16, H_cycles=2, L_cycles=3, L_bp_cycles=[1]),
        ("flops",), ("weight_bytes", "grad_bytes", "optimizer_bytes")),
    "a product with a zero-initialised recurrent state (qwen3_5_text)": (
        "qwen3_5_text", dict(SMALL, num_key_value_heads=2, head_dim=16, linear_key_head_dim=16, linear_value_head_dim=16,
                             linear_num_key_heads=2, linear_num_value_heads=2, layer_types=["linear_attention", "full_attention"]),
        ("flops",), ("weight_bytes", "grad_bytes", "optimizer_bytes")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_unknown_grad_flow_is_unavailable(case: str, tmp_path: Path) -> None:
    if MAJOR < 5:
        pytest.skip("5.23 sources")
    model_type, overrides, unknown, exact = CASES[case]
    config = written_config(model_type, overrides, tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="5.23.0")
    assert [m for m in unknown if m in predicted.totals] == []
    assert {m: predicted.totals.get(m) for m in exact} == {m: measured[m] for m in exact}
    assert predicted.totals["forward_flops"] > 0  # the forward is still priced


def test_the_constructs_change_the_backward() -> None:
    """Not vacuous: hrm_text's measured step is short of 3 x its forward (the no-grad cycles have no
    backward), which the rule could not have told."""
    if MAJOR < 5:
        pytest.skip("5.23 sources")
    import tempfile

    model_type, overrides, _, _ = CASES["a with over nullcontext() or torch.no_grad() (hrm_text)"]
    with tempfile.TemporaryDirectory() as tmp:
        config = written_config(model_type, overrides, Path(tmp))
        step = measure_train(config, Workload(2, 5), peak=False).totals
        forward = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="5.23.0").totals["forward_flops"]
    assert step["flops"] < 3 * forward


class _Cls:
    """A stand-in for the class value of a context manager (only its name is read)."""

    def __init__(self, name: str) -> None:
        self.name = name


def _context(name: str) -> ObjectV:
    return ObjectV(_Cls(name), kind="context")


def test_mixed_grad_context() -> None:
    off = frozenset({"torch.no_grad"})
    no_grad, null = _context("torch.no_grad"), _context("contextlib.nullcontext")
    assert mixed_grad_context(no_grad, off) is True
    assert mixed_grad_context(null, off) is False
    assert mixed_grad_context(Phi(None, null, no_grad), off) is None  # off on one arm only: not known
    assert mixed_grad_context(Phi(None, no_grad, no_grad), off) is True
