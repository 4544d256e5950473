"""Buffers and parameter dtypes as suggest sees them (lm_predictor/suggest/interp/buffers.py).

weight_bytes of a derived rule is param_count * dtype_bytes + buffer_bytes, with parameters not
at the model dtype priced by param_bytes; each needs the dtype tag the analysis gives a tensor.
The oracle-backed checks are in tests/families/test_train_derived.py; these pin the pieces.
"""

from __future__ import annotations

import pytest

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite
from lm_predictor.suggest.brains.tensors import tensor_method
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.interp.buffers import register_buffers
from lm_predictor.suggest.scope import Template
from lm_predictor.suggest.values import External, Tensor

FLOAT32, BF16 = External("torch.float"), External("torch.bfloat16")


def _method(name: str, t: Tensor, args: list, kwargs: dict) -> Tensor:
    return tensor_method(CallSite(None, None, args, kwargs, None, None, f"Tensor.{name}", t))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "args", "kwargs", "dtype"), [
    ("to", [], {"device": None, "dtype": FLOAT32}, "float32"),  # rope: arange(dtype=int64).to(device=..., dtype=torch.float)
    ("to", [BF16], {}, "bfloat16"),
    ("to", [Tensor((Num.const(2),), "float16")], {}, "float16"),  # x.to(other): other's dtype
    ("to", ["cpu"], {}, "long"),  # a device move keeps the dtype
    ("double", [], {}, "float64"),
    ("half", [], {}, "float16"),
])
def test_casts_set_the_dtype_tag(name: str, args: list, kwargs: dict, dtype: str) -> None:
    ids = Tensor((Num.const(4),), "long")
    assert _method(name, ids, args, kwargs).dtype == dtype


def _template(buffers: dict) -> Template:
    template = Template(None, "m.M", "", None)  # type: ignore[arg-type]
    template.attrs.update(buffers)
    template.buffers = list(buffers)
    return template


def test_a_buffer_costs_its_elements_at_its_dtype() -> None:
    # inv_freq [8] float32 = 32 bytes; a [3, 3] bool mask = 9 bytes; a 0-dim model-dtype scalar = dtype_bytes
    template = _template({
        "inv_freq": Tensor((Num.const(8),), "float32"),
        "mask": Tensor((Num.const(3), Num.const(3)), "bool"),
        "scale": Tensor((), "model"),
    })
    register_buffers(template)
    assert template.buffers_known
    total = sum((t.expr for t in template.buffer_terms), X.ZERO)
    assert total == Num.const(41) + Num.sym("dtype_bytes")


@pytest.mark.parametrize("value", [Tensor(None, "float32"), Tensor((Num.const(2),), "?"), "not a tensor"])
def test_a_buffer_the_analysis_cannot_size_leaves_the_buffers_unknown(value: object) -> None:
    template = _template({"b": value})
    register_buffers(template)
    assert not template.buffers_known


def test_a_parameter_off_the_model_dtype_is_priced_apart() -> None:
    # xlnet-style torch.FloatTensor(4, 2) parameter: 8 elements * (4 - dtype_bytes) bytes more than the model dtype
    template = _template({})
    template.attrs["q"] = Tensor((Num.const(4), Num.const(2)), "float32", param=True)
    register_buffers(template)
    assert template.param_dtypes_known and template.has_odd_params
    assert [t.expr for t in template.excess_terms] == [Num.const(8) * (Num.const(4) - Num.sym("dtype_bytes"))]


def test_a_python_set_keeps_equal_items_once() -> None:
    from lm_predictor.suggest.pyvalues import set_items

    # {theta for theta in [1e4, 1e4, 5e5]}: two items, in first-seen order; equal symbols once too
    assert set_items([Num.const(10000.0), Num.const(10000.0), Num.const(500000.0)]) == [Num.const(10000.0), Num.const(500000.0)]
    assert set_items([Num.sym("a"), Num.sym("a"), Num.sym("b")]) == [Num.sym("a"), Num.sym("b")]


@pytest.mark.parametrize(("data", "dtype"), [
    (Num.const(12), "long"),  # torch.tensor(12): int64 (minicpm3's embed_scale = config.scale_emb)
    (X.power(Num.sym("hidden_size"), Num.const(0.5)), "model"),  # gemma's torch.tensor(hidden_size**0.5): the default float dtype
    (Num.const(1.5), "model"),
    (X.TRUE, "bool"),
])
def test_torch_tensor_of_a_python_scalar_takes_its_type(data: object, dtype: str) -> None:
    from lm_predictor.suggest.brains.layout import scalar_tensor_dtype

    assert scalar_tensor_dtype(data) == dtype


def test_torch_tensor_of_a_float_parameter_is_at_the_model_dtype() -> None:
    from lm_predictor.suggest.brains.layout import scalar_tensor_dtype

    # gemma3's `embed_scale: float` parameter (its annotation says float), and an int one
    with X.using(X.SymbolFacts(floats={"@embed_scale"})):
        assert scalar_tensor_dtype(Num.sym("@embed_scale")) == "model"
        assert scalar_tensor_dtype(Num.sym("scale_emb")) == "long"
