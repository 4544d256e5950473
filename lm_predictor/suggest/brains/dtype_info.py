"""`torch.finfo(dtype)` and `torch.iinfo(dtype)`: their limits as numbers where the dtype is known.

`torch.finfo(torch.float32).min` is a Python float (torch's values, below); of the model's own dtype
(`torch.finfo(hidden_states.dtype).min`: float32, bfloat16 or float16, which the rule's `dtype_bytes`
does not tell apart) it is an opaque number (`?finfo(model).min`, brains/builtins.py opaque_number's
convention): a mask built from it (`torch.ones(...) * finfo.min`, prophetnet's ngram bias) keeps its
shape, dtype and saves, and a cost term that reads the value is reported, never priced. Without a
dtype the analysis can name, the value stays unknown, as before.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.tensors import dtype_tag
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import External, Unknown

FINFO = {
    "float32": {"min": -3.4028234663852886e38, "max": 3.4028234663852886e38, "eps": 1.1920928955078125e-07, "tiny": 1.1754943508222875e-38},
    "float16": {"min": -65504.0, "max": 65504.0, "eps": 0.0009765625, "tiny": 6.103515625e-05},
    "bfloat16": {"min": -3.3895313892515355e38, "max": 3.3895313892515355e38, "eps": 0.0078125, "tiny": 1.1754943508222875e-38},
    "float64": {"min": -1.7976931348623157e308, "max": 1.7976931348623157e308, "eps": 2.220446049250313e-16, "tiny": 2.2250738585072014e-308},
}
"""torch.finfo of each floating dtype tag (torch 2.13: float32, float16, bfloat16, float64)."""
IINFO = {
    "long": {"min": -(2**63), "max": 2**63 - 1}, "int32": {"min": -(2**31), "max": 2**31 - 1},
    "int16": {"min": -(2**15), "max": 2**15 - 1}, "int8": {"min": -128, "max": 127}, "uint8": {"min": 0, "max": 255},
}  # fmt: skip
"""torch.iinfo of each integer dtype tag."""
PREFIX = "torch.info:"
"""The External name of an info object: `torch.info:finfo:<dtype tag>`."""


def info_object(kind: str, args: list, kwargs: dict) -> External:
    """The value of `torch.finfo(dtype)` / `torch.iinfo(dtype)` (kind "finfo" / "iinfo"), named by its dtype tag."""
    dtype = args[0] if args else kwargs.get("type")
    tag = dtype_tag(dtype, "?") if dtype is not None else "?"
    return External(f"{PREFIX}{kind}:{tag}")


def info_attr(ext: External, name: str) -> Any:
    """`finfo(...).min` and kin: a number for a known dtype, an opaque number for the model's; None: not an info object's limit."""
    if not ext.name.startswith(PREFIX):
        return None
    kind, tag = ext.name[len(PREFIX):].split(":", 1)
    table = FINFO if kind == "finfo" else IINFO
    if name not in ("min", "max", "eps", "tiny") or (kind == "iinfo" and name not in ("min", "max")):
        return None
    if tag in table:
        return Num.const(table[tag][name])
    if tag == "model" and kind == "finfo":
        opaque = f"?finfo(model).{name}"
        floats = X.symbol_facts().floats
        if not isinstance(floats, frozenset):  # read-only outside an analysis
            floats.add(opaque)  # a float: torch.tensor(...) of it is in the model dtype, not long
        return Num.sym(opaque)
    return Unknown("finfo value")
