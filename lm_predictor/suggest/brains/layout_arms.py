"""A tensor whose layout differs by branch (a `CondLayout`, e.g. the SDPA arm's output against eager's),
seen one arm at a time by the saved-tensor model (brains/saved.py), as a tensor joined from two
branches (`Tensor.merged`) is.

A view of such a tensor (`attn_output.view(...).permute(...)` after Falcon's inline
`F.scaled_dot_product_attention` or eager matmul) keeps the storage but no longer the join, only
the conditional layout; a reshape of it then copies or not per arm, and an arm only the SDPA path
takes (train steps are measured eager) may stay unknown.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lm_predictor.suggest.values import CondLayout, Tensor


def layout_arms(t: Tensor, idents: dict) -> tuple | None:
    """(cond, a, b): `t` under each arm of its CondLayout, each sharing `t`'s storage entry in
    `idents` (a saved-tensor log's id -> (tensor, arms)); None where `t` has no CondLayout or no known storage."""
    lay = t.layout
    got = idents.get(id(t))
    if not isinstance(lay, CondLayout) or got is None or got[0] is not t:
        return None
    a, b = replace(t, layout=lay.a), replace(t, layout=lay.b)
    for arm in (a, b):
        idents[id(arm)] = (arm, got[1])
    return lay.cond, a, b
