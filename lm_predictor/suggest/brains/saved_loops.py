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
from lm_predictor.suggest.expr import Bool, Num
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


def past_cache(guards: list, guard: Bool, mapping: dict, loops: tuple) -> list:
    """A callee's guards of a cache update past the cache's layers (brains/cache.py) in the caller's names, each
    closed over the loops around the call (some layer i < count indexes past them); one that still names a loop
    index (its layers cannot be counted) is left out, as the analysis did before it looked."""
    out = [some_iteration(X.band(guard, X.substitute(g, mapping)), loops) for g in guards]
    return [g for g in out if g != X.FALSE and not any(n.startswith("#") for n in X.free_params(g))]


def over_experts(nbytes: Num, count: Num, loop_count: Num | None) -> tuple | None:
    """(bytes, count) of a storage (or a call) made in a loop over experts and sized by the tokens routed to one
    expert, summed over the loop: linear in those tokens, so the loop's `count` copies at one expert's tokens are
    one at the routing total (interp/state.py's add_cost does the same for FLOPs); unchanged without routed
    tokens; None where they are not inside such a loop."""
    routed = X.find_routed(nbytes)
    if not routed:
        return nbytes, count
    if loop_count is None or any(a != routed[0] for a in routed):
        return None
    if any(atom == routed[0] and power > 1 for mono, _ in nbytes.terms for atom, power in mono):
        return None  # not linear in the routed tokens
    rest = X.exact_div(count, loop_count)
    if rest is None:
        return None
    return X.replace_atoms(nbytes, routed[0], routed[0].args[0]), rest
