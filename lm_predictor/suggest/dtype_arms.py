"""A dtype of two arms: a tensor joined from branches of two float dtypes (branch w17-elem).

Mamba's block keeps its residual in float32 under a config switch (`if self.residual_in_fp32:
residual = residual.to(torch.float32)`): after the join the residual is float32 where the switch
holds and the model's dtype elsewhere, and so is every tensor computed from it (the residual add,
the final norm's `input_dtype`). Such a tensor carries a `CondDtype` tag: a `str` (so every test of
a tag, `t.dtype == "float32"`, `.startswith("complex")`, a table lookup, keeps working and simply
fails to match) that names its condition and arms. Its element size is `if cond then a else b`
(`tag_bytes`), a cast of it is a no-op in the arms whose dtype is the target's (`same_dtype`), and
type promotion runs per arm (`promote_tags`). Code that does not know the tag sees a dtype it cannot
size: a gap, never a wrong number.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool, Num

ELEMENT_BYTES = {"model": Num.sym("dtype_bytes"), "float32": Num.const(4), "long": Num.const(8), "bool": Num.const(1),
                 "int32": Num.const(4), "complex64": Num.const(8)}
"""Bytes per element of each dtype tag ("model" is the workload's dtype)."""

FLOAT_TAGS = frozenset({"model", "float32"})
"""The float tags a conditional dtype may join (integer and float arms differ in whether autograd tracks them)."""

_KNOWN: dict = {}
"""tag text -> CondDtype: `x.dtype` is an External named by the tag, read back by `dtype_tag`."""


class CondDtype(str):
    """A dtype tag that is `a` where `cond` holds, else `b` (each a float tag or another CondDtype)."""

    cond: Bool
    a: str
    b: str

    def __new__(cls, cond: Bool, a: str, b: str) -> CondDtype:
        digest = hashlib.sha256(repr((X.render_bool(cond), str(a), str(b))).encode()).hexdigest()[:12]
        obj = super().__new__(cls, f"cond_{digest}")
        obj.cond, obj.a, obj.b = cond, a, b
        _KNOWN[str(obj)] = obj
        return obj

    def __reduce__(self) -> tuple:
        return (CondDtype, (self.cond, self.a, self.b))


def joinable(tag: Any) -> bool:
    """Whether a tag may be an arm of a conditional dtype."""
    return isinstance(tag, CondDtype) or tag in FLOAT_TAGS


def cond_dtype(cond: Bool, a: str, b: str) -> str | None:
    """The tag of a tensor of dtype `a` where `cond` holds, else `b` (None: arms that cannot join)."""
    value = X.bool_value(cond)
    if value is not None:
        return a if value else b
    if a == b:
        return a
    if not (joinable(a) and joinable(b)):
        return None
    return CondDtype(cond, a, b)


def known_tag(name: str) -> CondDtype | None:
    """The conditional dtype a tag's text names (from `x.dtype`), else None."""
    return _KNOWN.get(name)


def tag_bytes(tag: Any) -> Num | None:
    """Bytes per element of a tag (None: not sized)."""
    if isinstance(tag, CondDtype):
        a, b = tag_bytes(tag.a), tag_bytes(tag.b)
        return None if a is None or b is None else X.ifnum(tag.cond, a, b)
    return ELEMENT_BYTES.get(tag)


def same_dtype(a: Any, b: Any) -> Bool | None:
    """Where two tags are one dtype (a cast between them is a no-op); None: not known. The model's
    dtype is float32 where `dtype_bytes == 4` (the only 4-byte float the workload names)."""
    if isinstance(a, CondDtype):
        x, y = same_dtype(a.a, b), same_dtype(a.b, b)
        return None if x is None or y is None else X.ifbool(a.cond, x, y)
    if isinstance(b, CondDtype):
        return same_dtype(b, a)
    if a == b:
        return X.TRUE
    if {a, b} == FLOAT_TAGS:
        return X.cmp("==", ELEMENT_BYTES["model"], Num.const(4))
    return None
