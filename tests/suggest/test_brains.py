"""The brain registry: keyed by what each brain handles, duplicates refused, crashes loud under test."""

from __future__ import annotations

import pytest

from lm_predictor.suggest import brains  # noqa: F401 - importing the package fills the registry
from lm_predictor.suggest.brains.base import BRAINS, CallSite, brain, brain_for, op, prefix
from lm_predictor.suggest.pyvalues import BrainFunc
from lm_predictor.suggest.values import Builtin, External


def _site(callee: object, name: str = "") -> CallSite:
    return CallSite(None, callee, [], {}, None, None, name)  # type: ignore[arg-type]


@pytest.mark.parametrize(("callee", "name", "expected"), [
    (External("torch.matmul"), "torch.matmul", "matmul"),  # an exact name beats the torch. prefix
    (External("torch.softmax"), "torch.softmax", "torch-function"),
    (External("torch.nn.functional.silu"), "F.silu", "torch-function"),
    (External("torch.nn.Linear"), "nn.Linear", "torch-module"),
    (External("math.sqrt"), "math.sqrt", "math"),
    (External("transformers.pytorch_utils.Conv1D"), "transformers.pytorch_utils.Conv1D", "transformers-external"),
    (Builtin("len"), "", "builtin"),
    (BrainFunc("x", lambda *a: None), "", "brain-function"),
])
def test_a_call_finds_the_brain_registered_for_it(callee: object, name: str, expected: str) -> None:
    found = brain_for(_site(callee, name))
    assert found is not None and found.name == expected


def test_a_call_no_brain_handles_finds_none() -> None:
    assert brain_for(_site(External("numpy.zeros"), "numpy.zeros")) is None


def test_registering_a_handled_key_twice_is_refused() -> None:
    assert ("name", "torch.einsum") in BRAINS
    with pytest.raises(RuntimeError, match="already handled by brain 'einsum'"):
        brain("second-einsum", op("torch.einsum"))(lambda site: None)
    with pytest.raises(RuntimeError, match="already handled"):
        brain("second-torch", prefix("torch."))(lambda site: None)
    assert BRAINS[("name", "torch.einsum")].name == "einsum"
