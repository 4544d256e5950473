"""The KV cache (transformers 4.56 `DynamicCache(config=...)`), followed the way the oracle runs it.

Decode is a prefill of `past_len` tokens, then the counted step; prefill's cache starts empty,
which is the same as past_len = 0. Per layer, `DynamicCache.__init__` picks
`DynamicSlidingWindowLayer(sliding_window)` when `layer_types[i]` is sliding/chunked (or, with no
`layer_types`, when `sliding_window or attention_chunk_size` is set), else `DynamicLayer`:

- DynamicLayer.update returns past + new tokens and keeps them all;
- DynamicSlidingWindowLayer.update returns cat(kept, new) with kept = the last W - 1 tokens of
  the prefill (all of them when W = 1: `[-0:]`), and keeps the last W - 1 of that.
"""

from __future__ import annotations

import os
from typing import Any

from lm_predictor.diagnostics import A_LAYER_INDEX
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, brain, receiver, text_config_object, unknown_tensor
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import BoundMethod
from lm_predictor.suggest.valueops import translate
from lm_predictor.suggest.values import CacheV, DictV, ListV, Phi, Repeated, Tensor, Unknown


CACHE_CLASSES_TRUE = ("Cache", "DynamicCache")


def present(value: Any) -> tuple[X.Bool, Num | None]:
    """(is-not-None condition, the number when present) of a config value that may be None."""
    if value is None:
        return X.FALSE, None
    if isinstance(value, Num):
        return X.TRUE, value
    if isinstance(value, Phi):
        ca, na = present(value.a)
        cb, nb = present(value.b)
        cond = X.ifbool(value.cond, ca, cb)
        if na is None:
            return cond, nb
        if nb is None:
            return cond, na
        return cond, X.ifnum(value.cond, na, nb)
    return X.FALSE, None


def layer_kind(interp: Host, layer_idx: Any, node: Any) -> tuple[X.Bool, Num | None] | None:
    """(is-sliding condition, window) for one layer, or None when the analysis cannot tell."""
    config = interp.config
    if config is None:
        return X.FALSE, None
    text = text_config_object(interp)  # DynamicCache(config=...) reads config.get_text_config(decoder=True)

    def read(name: str) -> Any:
        return config.model.getattr_default(interp, name, None, node) if text is None else text.attrs.get(name)

    cond, window = present(read("sliding_window"))
    ccond, cwin = present(read("attention_chunk_size"))
    if cwin is not None:
        if window is None:
            cond, window = ccond, cwin
        else:
            window = X.ifnum(cond, window, cwin)
            cond = X.bor(cond, ccond)
    types = read("layer_types")
    if isinstance(types, ListV) and types.rep is not None:
        types = types.rep
    if types is None:
        return cond, window
    entries = types.items if isinstance(types, ListV) else None
    if isinstance(types, Repeated):
        entry = types.elem
        if types.index and isinstance(layer_idx, Num):
            entry = _subst_index(entry, types.index, layer_idx)
        return _sliding_entry(entry, window), window
    if entries is not None:
        kinds = {e for e in entries if isinstance(e, str)}
        if len(kinds) == 1 and len(entries) == len([e for e in entries if isinstance(e, str)]):
            kind = kinds.pop()
            return X.bconst(kind in ("sliding_attention", "chunked_attention")), window
        c = layer_idx.const_value() if isinstance(layer_idx, Num) else None
        if isinstance(c, int) and 0 <= c < len(entries):
            return _sliding_entry(entries[c], window), window
        if c is None and isinstance(layer_idx, Num) and all(isinstance(e, str) for e in entries):
            # the config lists its layers: sliding exactly at the listed positions (summed by layers.concrete_cells)
            sliding = [j for j, e in enumerate(entries) if _sliding_entry(e, window) == X.TRUE]
            return X.bor(*(X.cmp("==", layer_idx, j) for j in sliding)), window
    return None


def _sliding_entry(entry: Any, window: Num | None) -> X.Bool:
    if isinstance(entry, str):
        return X.bconst(entry in ("sliding_attention", "chunked_attention"))
    if isinstance(entry, Phi):
        return X.ifbool(entry.cond, _sliding_entry(entry.a, window), _sliding_entry(entry.b, window))
    return X.bsym("?layer_type")


def _subst_index(value: Any, index: str, idx: Num) -> Any:
    return translate(value, {index: idx}, None)


def update(site: CallSite) -> Any:
    interp = site.interp
    cache: CacheV = site.receiver
    k, v = site.arg(0, "key_states"), site.arg(1, "value_states")
    layer_idx = site.arg(2, "layer_idx", ZERO)
    if not isinstance(k, Tensor) or not isinstance(v, Tensor) or k.shape is None or v.shape is None or len(k.shape) < 2:
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("cache update of", k, v)
        return (unknown_tensor("cache update of an unknown tensor"), unknown_tensor("cache update"))
    new = k.shape[-2]
    past = cache.past
    kind = layer_kind(interp, layer_idx, site.node)
    if kind is None:
        seq = interp.unresolved(A_LAYER_INDEX, site.node, "cache layer type depends on the layer index (mixed sliding/full layers)")
        kept = seq
        stored = seq
    else:
        sliding, window = kind
        if window is None:
            sliding, window = X.FALSE, ONE
        big = X.cmp(">", window, 1)
        kept_sliding = X.ifnum(big, X.fn("min", past, window - 1), past)
        kept = X.ifnum(sliding, kept_sliding, past)
        stored = X.ifnum(sliding, X.ifnum(big, X.fn("min", kept_sliding + new, window - 1), past + new), past + new)
    total = kept + new
    k_out = Tensor(k.shape[:-2] + (total, k.shape[-1]), k.dtype)
    v_out = Tensor(v.shape[:-2] + (total, v.shape[-1]), v.dtype)
    per_token = ZERO
    for t in (k, v):
        n = ONE
        for i, d in enumerate(t.shape):
            if i != len(t.shape) - 2:
                n = n * d
        per_token = per_token + n
    interp.add_cost("kv_cache_bytes", per_token * stored * Num.sym("dtype_bytes"))
    return (k_out, v_out)


@brain("cache-method", receiver(CacheV))
def method(site: CallSite) -> Any:
    name = site.name.split(".", 1)[1]
    cache: CacheV = site.receiver
    if name == "update":
        return update(site)
    if name in ("get_seq_length", "get_usable_length", "get_past_seen_tokens"):
        return cache.past
    if name == "get_mask_sizes":
        cp = site.arg(0, "cache_position")
        q = cp.shape[0] if isinstance(cp, Tensor) and cp.shape else Unknown("query length")
        return (cache.past + q if isinstance(q, Num) else Unknown("kv length"), ZERO)
    if name == "get_max_cache_shape":
        return Num.const(-1)
    if name in ("to_legacy_cache",):
        return Unknown("legacy cache tuple")
    return Unknown(f"Cache.{name}")


def attr(interp: Host, cache: CacheV, name: str) -> Any:
    if name in ("seen_tokens", "_seen_tokens"):
        return cache.past
    if name == "is_updated":
        return DictV({})
    if name in ("self_attention_cache",):
        return cache
    if name in ("is_compileable", "is_sliding"):
        return X.FALSE
    if name in ("layers", "key_cache", "value_cache", "cross_attention_cache", "conv_states", "ssm_states", "has_previous_state"):
        return Unknown(f"cache.{name}")
    return BoundMethod(cache, name)
