"""The bytes, dtype and layout of casts (`x.to(dtype)`, `.float()`, `type_as`) and of copies that keep
the input's memory format (clone): split from opbytes.py. A cast between the arms of a conditional dtype
(dtype_arms.py) is a no-op in the arms whose dtype is the target's."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite
from lm_predictor.suggest.brains.layout import UNKNOWN_LAYOUT, Layout, elem_bytes, free, gap, layout_of, numel, per_arm, price, with_layout
from lm_predictor.suggest.dtype_arms import CondDtype, known_tag, same_dtype
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import CondLayout, External, Tensor

CASTS = {"to": None, "float": "float32", "long": "long", "int": "int32", "bool": "bool", "double": None, "half": None,
         "bfloat16": None, "type_as": None, "type": None}
"""Cast methods and the tag each gives (None: read from its argument)."""
DTYPE_TAGS = {"float32": "float32", "float": "float32", "long": "long", "int64": "long", "bool": "bool", "<model dtype>": "model",
              "int32": "int32", "int": "int32"}
"""torch dtype name -> the analysis's dtype tag (a conditional dtype's own name: dtype_arms.known_tag)."""


def dtype_tag(value: Any) -> str | None:
    """The dtype tag an argument names (torch.float32, x.dtype of a model tensor, ...); None: not a dtype."""
    if isinstance(value, External) and value.name.startswith("torch."):
        name = value.name[len("torch."):]
        return DTYPE_TAGS.get(name) or known_tag(name)
    return None


def unmodelled(interp: Host, what: str, result: Any) -> Any:
    """A gap in the bytes; the result unchanged."""
    gap(interp, what)
    return result


def preserve(t: Tensor, result: Tensor) -> Tensor:
    """The layout of a copy made with memory_format=preserve (clone, _to_copy)."""
    return with_layout(result, per_arm(t, preserved))


def preserved(t: Tensor) -> Any:
    """The layout `empty_like(t)` (preserve_format) gives; unknown where t's is."""
    lay = layout_of(t)
    if lay is None:
        return UNKNOWN_LAYOUT
    if lay.gaps and not lay.bcast:
        return Layout(lay.order)  # empty_like(preserve_format) of a tensor with gaps: dense, in its memory order
    return None if lay.bcast or not lay.dense else lay


def cast(site: CallSite, name: str, t: Tensor, result: Tensor) -> Any:
    interp = site.interp
    target = CASTS[name]
    if name == "to":
        arg = site.arg(0, "dtype", site.kwargs.get("dtype"))
        if isinstance(arg, Tensor):
            target = arg.dtype
        elif isinstance(arg, External) and arg.name in ("torch.device",):
            target = t.dtype
        elif arg is None or isinstance(arg, str):
            target = t.dtype if "dtype" not in site.kwargs else dtype_tag(site.kwargs["dtype"])
        else:
            target = dtype_tag(arg)
        if "dtype" in site.kwargs:
            target = dtype_tag(site.kwargs["dtype"])
    elif name == "type" and site.args:  # x.type(dtype); x.type() with no argument names the type, not a tensor
        arg = site.arg(0, "dtype")
        target = arg.dtype if isinstance(arg, Tensor) else dtype_tag(arg)
    elif name == "type_as":
        other = site.arg(0, "other")
        target = other.dtype if isinstance(other, Tensor) else None
    if target is None or elem_bytes(t) is None or t.shape is None:
        return unmodelled(interp, f"Tensor.{name} to a dtype the table does not size", result)
    out = Tensor(result.shape, target, result.why, result.param, result.route, result.no_grad, result.values)
    if target == t.dtype:
        free(interp)
        return t
    runs = "model" not in (t.dtype, target)  # two fixed dtypes: modernbert-decoder's expanded int64 position ids `.float()`
    noop = X.cmp("==", elem_bytes(t), elem_bytes(out)) if elem_bytes(out) is not None else None
    if isinstance(t.dtype, CondDtype) or isinstance(target, CondDtype):  # a dtype of two arms: a no-op in the arms that agree
        noop = same_dtype(t.dtype, target)
        if noop is None or elem_bytes(out) is None:
            return unmodelled(interp, f"Tensor.{name} between dtypes the table does not compare", result)
        runs = noop == X.FALSE
    price(interp, X.call(site.label("to_" + target), "torch.cast", {"numel": numel(t), "from_bytes": elem_bytes(t), "to_bytes": elem_bytes(out)}), "cast")
    return with_layout(out, per_arm(t, lambda x: cast_layout(x, None if runs else noop, runs)))


def cast_layout(x: Tensor, noop: Any, runs: bool) -> Any:
    """The layout of `x.to(dtype)`: _to_copy's dense one where the cast runs (`runs`, or not `noop`: equal element sizes;
    DeepSeek's MLA `k_pass` slice becomes dense), x's own where it is a no-op; unknown where either is."""
    kept, copied = layout_of(x), preserved(x)
    if runs or copied == kept:
        return copied
    if kept is None or copied == UNKNOWN_LAYOUT or noop is None:
        return UNKNOWN_LAYOUT
    return CondLayout(noop, kept, copied)
