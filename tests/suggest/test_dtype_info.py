"""torch.finfo / torch.iinfo limits in the analysis (suggest/brains/dtype_info.py), against torch itself."""

from __future__ import annotations

import pytest

from lm_predictor.suggest.brains.dtype_info import FINFO, IINFO, info_attr, info_object
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import External, Unknown

torch = pytest.importorskip("torch")

TORCH_NAMES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16", "float64": "float64",
               "long": "int64", "int32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8"}  # fmt: skip


@pytest.mark.parametrize("tag", sorted(FINFO))
def test_finfo_of_a_known_dtype_is_torchs_number(tag: str) -> None:
    info = info_object("finfo", [External(f"torch.{TORCH_NAMES[tag]}")], {})
    expected = torch.finfo(getattr(torch, TORCH_NAMES[tag]))
    for name in ("min", "max", "eps", "tiny"):
        assert info_attr(info, name) == Num.const(getattr(expected, name))


@pytest.mark.parametrize("tag", sorted(IINFO))
def test_iinfo_of_a_known_dtype_is_torchs_number(tag: str) -> None:
    info = info_object("iinfo", [], {"type": External(f"torch.{TORCH_NAMES[tag]}")})
    expected = torch.iinfo(getattr(torch, TORCH_NAMES[tag]))
    assert (info_attr(info, "min"), info_attr(info, "max")) == (Num.const(expected.min), Num.const(expected.max))


def test_finfo_of_the_model_dtype_is_an_opaque_number() -> None:
    """float32, bfloat16 or float16 (dtype_bytes does not tell the last two apart): a runtime value, never priced."""
    with X.using(X.SymbolFacts()) as facts:
        value = info_attr(info_object("finfo", [External("torch.<model dtype>")], {}), "min")
        names = X.free_params(value)
        assert isinstance(value, Num) and names and all(n.startswith("?") for n in names)
        assert not X.is_integral(value) and names <= facts.floats  # torch.tensor(finfo.min) is a float tensor, not long


def test_finfo_of_an_unknown_dtype_stays_unknown() -> None:
    assert isinstance(info_attr(info_object("finfo", [Unknown("dtype")], {}), "min"), Unknown)
    assert info_attr(info_object("finfo", [External("torch.float32")], {}), "bits") is None
    assert info_attr(External("torch.float32"), "min") is None
