"""A storage made outside a symbolic loop and saved inside it under a per-layer condition.

autograd keeps one storage once, however many iterations save it: the rotary cos and sin that a
model computes once per layer type before the decoder loop (gemma3, olmo3, cohere2's sliding
layers) are saved by every layer that reads them, and count once when at least one layer does.
The save's condition then names the loop index (`$#i1 == 0 or $#i1 == 4`, from `layer_types`),
which no per-layer sum can take; it becomes "some layer i < count meets it", a count of the
layers where it holds (suggest/layers.py's cells) compared with 0.
"""

from __future__ import annotations

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool
from lm_predictor.suggest.layers import count_where


def some_iteration(cond: Bool, loops: tuple) -> Bool:
    """`cond` for "some iteration of each of `loops` (innermost last) saves it": each loop index
    it names is closed over by a count of the iterations where it holds; unchanged where the
    layers cannot be counted (the caller's per-layer sum then reports the term)."""
    for loop in reversed(loops):
        for index in (loop.get("index"), loop.get("items")):
            if not index or index not in X.free_params(cond):
                continue
            hits = count_where(cond, index, loop["count"])
            if hits is None:
                return cond
            cond = X.cmp(">", hits, 0)
    return cond
