"""MoE routing as tensors carry it (`Tensor.route`): top-k ids ("ids", router width), a routing
mask ("mask", routed total, expert dim[, router width]), one expert's slice ("slice", total), the
hit experts' ids ("expert", router width)."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, Num
from lm_predictor.suggest.values import Tensor


def not_an_expert(a: Any, b: Any) -> bool:
    """`expert_id == v` where v is at least the router's width: top-k picks ids below it, so no hit
    expert has that id (5.x experts loops skip the padding class `num_experts` of a one_hot that
    has num_experts + 1 classes)."""
    for t, v in ((a, b), (b, a)):
        if isinstance(t, Tensor) and t.route and t.route[0] == "expert" and isinstance(v, Num):
            return X.bool_value(X.cmp(">=", v, t.route[1])) is True
    return False


def mask_dim(route: tuple, dim: int) -> tuple:
    """A routing mask's route with its expert dimension moved to `dim` (the router width kept)."""
    return ("mask", route[1], dim, *route[3:])


def routed_indices(t: Tensor) -> Any:
    """torch.where(mask) / mask.nonzero(as_tuple=True) on one expert's slice of a routing mask:
    index tensors whose length is the (data-dependent) number of tokens the expert gets."""
    n = len(t.shape) if t.shape is not None else 1
    count = X.routed(t.route[1])
    return tuple(Tensor((count,), "long") for _ in range(n))


def hit_experts(t: Tensor) -> Tensor:
    """(mask.sum(...) > 0).nonzero(): the experts that received tokens, one row each (ids below
    the router's width where the mask was built from top-k ids)."""
    return Tensor((X.experts_hit(t.route[1]), ONE), "long", route=("expert", t.route[3]) if len(t.route) > 3 else ())
