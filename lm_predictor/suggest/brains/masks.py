"""transformers.masking_utils.create_causal_mask (4.56) as the analysis runs it, with its bytes.

The real function vmaps a mask function over index tensors; the analysis cannot run that, so this
brain gives its result and its ops (docs/bytes.md, "Causal mask"): kv positions
`arange(kv_len) += kv_offset`, batch and head aranges, one `le` of cache_position against them
(a bool [q_len, kv_len] expanded to [batch, 1, q_len, kv_len]); eager turns it into a float mask
with `where(mask, 0, min)`; sdpa skips it where `_ignore_causal_mask_sdpa` allows (one query
token, or as many keys as queries) and otherwise passes the bool mask. A sliding cache layer
computes its kv_offset with three 0-dim int64 ops (`cache_position[0] - window + 1`, clamp).
Only the plain case is modelled (no attention_mask, no extra mask functions, every layer of one
kind); anything else stays an opaque mask and a bytes gap.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite
from lm_predictor.suggest.brains.cache import mask_layer_kind, present
from lm_predictor.suggest.brains.layout import Layout, with_layout
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num
from lm_predictor.suggest.values import CacheV, Phi, Tensor


def _record(site: CallSite, cond: Bool, hint: str, rule: str, kwargs: dict) -> None:
    """One op's bytes term, recorded under `cond` (added to the interpreter's assumptions); none for
    5.x's mask builder, whose ops these terms do not describe (it stays "no bytes model")."""
    if "inputs_embeds" in site.kwargs:
        return
    interp = site.interp
    rec = interp.recorder
    label = rec.label(hint, (site.node, hint)) if rec is not None else hint
    interp.assume.append(cond)
    try:
        interp.add_cost("bytes", X.call(label, rule, kwargs))
    finally:
        interp.assume.pop()


def causal_mask(site: CallSite, sliding_mask: bool = False) -> Any:
    """create_causal_mask(config, input_embeds, attention_mask, cache_position, past_key_values, ...), or with
    `sliding_mask` create_sliding_window_causal_mask (the mask function ANDs `kv > q - window` in:
    new_ones [q], q - window, gt, &, le, &); NotImplemented: not modelled."""
    interp = site.interp
    # 5.x: (config, inputs_embeds, attention_mask, past_key_values, position_ids, or_mask_function,
    # and_mask_function, block_sequence_ids, ...), called with keywords; its ops are not priced in bytes
    tf5 = "inputs_embeds" in site.kwargs
    if tf5 and (len(site.args) > 1 or site.kwargs.get("position_ids") is not None and site.kwargs.get("past_key_values") is None):
        return NotImplemented  # positional, or a packed-sequence check on the position ids (data-dependent)
    config, embeds = site.arg(0, "config"), site.kwargs["inputs_embeds"] if tf5 else site.arg(1, "input_embeds")
    attention_mask = site.arg(2, "attention_mask", None)
    cache = site.kwargs.get("past_key_values") if tf5 else site.arg(4, "past_key_values", None)
    names = ("or_mask_function", "and_mask_function", "block_sequence_ids")
    extra = [site.kwargs.get(n) for n in names] if tf5 else [site.arg(i, name, None) for i, name in ((6, names[0]), (7, names[1]))]
    if attention_mask is not None or any(e is not None for e in extra) or not isinstance(embeds, Tensor) or embeds.shape is None or len(embeds.shape) < 2:
        return NotImplemented
    if cache is not None and not isinstance(cache, CacheV):
        return NotImplemented
    batch, q = embeds.shape[0], embeds.shape[1]
    if cache is None:
        sliding, window, past = X.FALSE, ONE, ZERO
    else:
        kind = mask_layer_kind(interp, site.node, sliding_mask)
        if kind is None:
            return NotImplemented
        sliding, window = kind
        window = window if window is not None else ONE
        past = cache.past
    big = X.cmp(">", window, 1)
    kept = X.ifnum(sliding, X.ifnum(big, X.fn("min", past, window - 1), past), past)
    kv = kept + q
    attn = interp.getattr(config, "_attn_implementation", site.node)
    if sliding_mask and window == ONE:
        return NotImplemented  # no window: transformers' sliding mask function refuses it

    def build(impl: Any) -> Any:
        if impl not in ("eager", "sdpa"):
            raise LookupError(impl)
        skip = X.bor(X.cmp("==", q, ONE), X.cmp("==", kv, q)) if impl == "sdpa" else X.FALSE
        if sliding_mask and impl == "sdpa":
            # _ignore_causal_mask_sdpa's local_attention_size: config.sliding_window (None: no test)
            set_, size = present(interp.config.model.getattr_default(interp, "sliding_window", None, site.node)) if interp.config is not None else (X.TRUE, window)
            skip = X.band(skip, X.ifbool(set_, X.cmp("<", kv, size if size is not None else window), X.TRUE))
        runs = X.bnot(skip)
        for hint in ("kv_offset_sub", "kv_offset_add", "kv_offset_clamp"):
            # a sliding layer's get_mask_sizes: cache_position[0] - window + 1, clamped (also where the mask is skipped)
            _record(site, sliding, hint, "torch.elementwise", {"numel": ONE, "dtype_bytes": Num.const(8)})
        if runs == X.FALSE:
            return None
        _record(site, runs, "kv_arange", "torch.factory", {"numel": kv})
        _record(site, runs, "kv_index_add", "torch.elementwise",
                {"numel": kv, "broadcast_numel": X.ifnum(sliding, ONE, ZERO), "dtype_bytes": Num.const(8)})
        _record(site, runs, "batch_arange", "torch.factory", {"numel": batch})
        _record(site, runs, "head_arange", "torch.factory", {"numel": ONE})
        if sliding_mask:
            # vmapped over the query positions: new_ones makes one bool per query, & reads it broadcast
            _record(site, runs, "mask_ones", "torch.factory", {"numel": q, "dtype_bytes": ONE})
            _record(site, runs, "window_start", "torch.elementwise", {"numel": q, "dtype_bytes": Num.const(8)})
            _record(site, runs, "window_gt", "torch.elementwise",
                    {"numel": q * kv, "n_inputs": ZERO, "broadcast_numel": q + kv, "dtype_bytes": Num.const(8), "out_bytes": ONE})
            _record(site, runs, "window_and", "torch.elementwise", {"numel": q * kv, "broadcast_numel": q, "dtype_bytes": ONE})
        _record(site, runs, "causal_le", "torch.elementwise",
                {"numel": q * kv, "n_inputs": ZERO, "broadcast_numel": q + kv, "dtype_bytes": Num.const(8), "out_bytes": ONE})
        if sliding_mask:
            _record(site, runs, "causal_and", "torch.elementwise", {"numel": q * kv, "n_inputs": Num.const(2), "dtype_bytes": ONE})
        shape = (batch, ONE, q, kv)
        if impl == "sdpa":
            mask = with_layout(Tensor(shape, "bool", no_grad=True), Layout((0, 1, 2, 3), frozenset({0, 1})))
            return mask if skip == X.FALSE else Phi(skip, None, mask)
        b = Num.sym("dtype_bytes")
        _record(site, runs, "min_value", "torch.factory", {"numel": ONE, "dtype_bytes": b})
        _record(site, runs, "where", "torch.elementwise",
                {"numel": batch * q * kv, "n_inputs": ZERO, "broadcast_numel": Num.const(2), "extra_read": batch * q * kv, "dtype_bytes": b})
        return Tensor(shape, "model", no_grad=True)

    try:
        return interp.on_phi(attn, build)
    except LookupError:
        return NotImplemented
