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

GPT-J's `_update_causal_mask` (copied into persimmon, stablelm, opt, ... in 4.56) is modelled too,
without an attention_mask (`legacy_causal_mask`): sdpa skips it as above, otherwise
`_prepare_4d_causal_attention_mask_with_cache_position` builds a float [q, past + q + 1] mask
(`full`, `triu` unless q == 1, `arange(target) > cache_position.reshape(-1, 1)`, an in-place `*=`)
expanded to [batch, 1, q, target].

The pre-cache builder `_prepare_4d_causal_attention_mask` (mvp, trocr, open-llama in 4.56) is given its
result's shape (`prepare_4d_causal_mask`): without an attention_mask, `to_causal_4d` returns None for
one query token and no window, else `_make_causal_mask`'s float [q, past + q] mask expanded to
[batch, 1, q, past + q]; without a window its ops are priced (`make_causal_mask_bytes`), with a window
or a 2-d attention_mask they stay a bytes gap.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite
from lm_predictor.suggest.brains.cache import mask_layer_kind, present
from lm_predictor.suggest.brains.gradflow import known_ones
from lm_predictor.suggest.brains.layout import ELEMENT_BYTES, Layout, elem_bytes, gap, promote, with_layout
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import CacheV, FunctionV, ListV, Phi, Tensor


def _record(site: CallSite, cond: Bool, hint: str, rule: str, kwargs: dict) -> None:
    """One op's bytes term, recorded under `cond` (added to the interpreter's assumptions)."""
    _record_at(site.interp, site.node, cond, hint, rule, kwargs)


def _record_at(interp: Host, node: Any, cond: Bool, hint: str, rule: str, kwargs: dict) -> None:
    rec = interp.recorder
    label = rec.label(hint, (node, hint)) if rec is not None else hint
    interp.assume.append(cond)
    try:
        interp.add_cost("bytes", X.call(label, rule, kwargs))
    finally:
        interp.assume.pop()


def _causal_tail(site: CallSite, runs: Bool, impl: Any, skip: Any, sizes: tuple, sliding_mask: bool, scalars: tuple[str, ...]) -> Any:
    """The end both mask builders share, once the positions are built: the int64 `kv <= q` compare (and the
    window's `&`), then sdpa's bool [batch, 1, q, kv] mask (None where it skips), or eager's 0-dim `scalars`
    at the model dtype and the `where` that turns the bool mask into a float one."""
    batch, q, kv = sizes
    _record(site, runs, "causal_le", "torch.elementwise",
            {"numel": q * kv, "n_inputs": ZERO, "broadcast_numel": q + kv, "dtype_bytes": Num.const(8), "out_bytes": ONE})
    if sliding_mask:
        _record(site, runs, "causal_and", "torch.elementwise", {"numel": q * kv, "n_inputs": Num.const(2), "dtype_bytes": ONE})
    shape = (batch, ONE, q, kv)
    if impl == "sdpa":
        mask = with_layout(Tensor(shape, "bool", no_grad=True), Layout((0, 1, 2, 3), frozenset({0, 1})))
        return mask if skip == X.FALSE else Phi(skip, None, mask)
    b = Num.sym("dtype_bytes")
    for name in scalars:
        _record(site, runs, name, "torch.factory", {"numel": ONE, "dtype_bytes": b})
    _record(site, runs, "where", "torch.elementwise",
            {"numel": batch * q * kv, "n_inputs": ZERO, "broadcast_numel": Num.const(2), "extra_read": batch * q * kv, "dtype_bytes": b})
    return Tensor(shape, "model", no_grad=True)


def causal_mask(site: CallSite, sliding_mask: bool = False) -> Any:
    """create_causal_mask(config, input_embeds, attention_mask, cache_position, past_key_values, ...), or with
    `sliding_mask` create_sliding_window_causal_mask (the mask function ANDs `kv > q - window` in:
    new_ones [q], q - window, gt, &, le, &); NotImplemented: not modelled."""
    interp = site.interp
    config, embeds = site.arg(0, "config"), site.arg(1, "input_embeds")
    attention_mask = site.arg(2, "attention_mask", None)
    cache = site.arg(4, "past_key_values", None)
    extra = [site.arg(i, name, None) for i, name in ((6, "or_mask_function"), (7, "and_mask_function"))]
    if attention_mask is not None or any(e is not None for e in extra) or not isinstance(embeds, Tensor) or embeds.shape is None or len(embeds.shape) < 2:
        return NotImplemented
    if cache is not None and not isinstance(cache, CacheV):
        return NotImplemented
    batch, q = embeds.shape[0], embeds.shape[1]
    if cache is None:
        sliding, window, past = X.FALSE, ONE, ZERO
        if sliding_mask:  # no cache yet (gemma3's multimodal model masks before its language model makes one): the config's window
            set_, size = present(interp.getattr(config, "sliding_window", site.node))
            window = size if set_ == X.TRUE and size is not None else ONE
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
        return _causal_tail(site, runs, impl, skip, (batch, q, kv), sliding_mask, ("min_value",))

    try:
        return interp.on_phi(attn, build)
    except LookupError:
        return NotImplemented


LEGACY_MARKS = ("_ignore_causal_mask_sdpa", "_prepare_4d_causal_attention_mask_with_cache_position", "past_seen_tokens + sequence_length + 1")
PREPARE_MARKS = ("torch.full((sequence_length, target_length)", "torch.triu(causal_mask, diagonal=1)",
                 "causal_mask *= torch.arange(target_length", "expand(batch_size, 1, -1, -1)")


def looks_like_legacy_mask(interp: Host, fv: FunctionV) -> bool:
    """GPT-J's `_update_causal_mask` and its `_prepare_4d_causal_attention_mask_with_cache_position`, read from their bodies."""
    text = fv.node.as_string()
    if not all(mark in text for mark in LEGACY_MARKS) or fv.owner_class is None:
        return False
    prepare = interp.class_attr(fv.owner_class, "_prepare_4d_causal_attention_mask_with_cache_position")
    body = prepare.node.as_string() if isinstance(prepare, FunctionV) else ""
    return all(mark in body for mark in PREPARE_MARKS)


def legacy_causal_mask(interp: Host, fv: FunctionV, args: list, kwargs: dict, node: Any) -> Any:
    """`self._update_causal_mask(attention_mask, input_tensor, cache_position, past_key_values, output_attentions)`
    on a dynamic cache, without an attention_mask or with the model's own 2D one of ones (opt's `torch.ones`);
    NotImplemented: not modelled."""
    names = [a.name for a in fv.node.args.args][1:]  # without self
    bound = {**dict(zip(names, args)), **kwargs}
    embeds, cache, given = bound.get("input_tensor"), bound.get("past_key_values"), bound.get("attention_mask")
    if bound.get("output_attentions", X.FALSE) != X.FALSE:
        return NotImplemented
    if not isinstance(embeds, Tensor) or embeds.shape is None or len(embeds.shape) < 2 or not (cache is None or isinstance(cache, CacheV)):
        return NotImplemented
    if given is not None and not (isinstance(given, Tensor) and given.shape is not None and len(given.shape) == 2
                                  and elem_bytes(given) is not None and given.shape[0] == embeds.shape[0]):
        return NotImplemented
    batch, q = embeds.shape[0], embeds.shape[1]
    kv = (cache.past if cache is not None else ZERO) + q
    # no attention_mask: past_seen_tokens + sequence_length + 1; else the mask's length
    target = kv + 1 if given is None else given.shape[1]
    attn = interp.getattr(interp.config, "_attn_implementation", node) if interp.config is not None else None

    def rec(cond: Bool, hint: str, rule: str, kw: dict) -> None:
        _record_at(interp, node, cond, hint, rule, kw)

    def build(impl: Any) -> Any:
        if impl not in ("eager", "sdpa"):
            raise LookupError(impl)
        skip = X.bor(X.cmp("==", q, ONE), X.cmp("==", kv, q)) if impl == "sdpa" else X.FALSE
        if impl == "sdpa" and given is not None:
            # _ignore_causal_mask_sdpa: torch.all(attention_mask == 1), read back to the host (a mask of ones)
            n_am = given.shape[0] * given.shape[1]
            rec(X.TRUE, "mask_is_one", "torch.elementwise", {"numel": n_am, "dtype_bytes": elem_bytes(given), "out_bytes": ONE})
            rec(X.TRUE, "mask_all", "torch.reduction", {"numel": n_am, "out_numel": ONE, "dtype_bytes": ONE})
            rec(X.TRUE, "mask_item", "torch.elementwise", {"numel": ZERO, "n_inputs": ZERO, "extra_read": ONE, "dtype_bytes": ONE})
        runs = X.bnot(skip)
        if runs == X.FALSE:
            return None
        b, n = Num.sym("dtype_bytes"), q * target
        rec(runs, "mask_full", "torch.factory", {"numel": n, "dtype_bytes": b})
        rec(X.band(runs, X.cmp("!=", q, ONE)), "mask_triu", "torch.elementwise", {"numel": n, "dtype_bytes": b})
        rec(runs, "mask_arange", "torch.factory", {"numel": target})
        rec(runs, "mask_gt", "torch.elementwise",
            {"numel": n, "n_inputs": ZERO, "broadcast_numel": target + q, "dtype_bytes": Num.const(8), "out_bytes": ONE})
        # causal_mask *= bool: in place, reads the mask and the bool once, writes the mask
        rec(runs, "mask_mul", "torch.elementwise", {"numel": n, "extra_read": n, "dtype_bytes": b})
        if given is None:
            mask = with_layout(Tensor((batch, ONE, q, target), "model", no_grad=True), Layout((0, 1, 2, 3), frozenset({0})))
            return mask if skip == X.FALSE else Phi(skip, None, mask)
        full = batch * n
        summed = promote([Tensor((ONE,), "model"), given])
        if summed is None or summed not in ELEMENT_BYTES:
            raise LookupError(given.dtype)
        # clone of the expanded mask; + attention_mask[:, None, None, :]; == 0; masked_fill; written back with copy_
        rec(runs, "mask_clone", "torch.copy", {"numel": full, "dtype_bytes": b})
        pad_bytes = ELEMENT_BYTES[summed]
        add_kw = {"numel": full, "extra_read": batch * target * elem_bytes(given), "dtype_bytes": b}
        if summed != "model":
            add_kw["out_bytes"] = pad_bytes
        rec(runs, "mask_pad_add", "torch.elementwise", add_kw)
        rec(runs, "mask_pad_eq", "torch.elementwise", {"numel": full, "dtype_bytes": pad_bytes, "out_bytes": ONE})
        rec(runs, "mask_fill", "torch.elementwise", {"numel": full, "extra_read": full, "dtype_bytes": b})
        rec(runs, "mask_copy", "torch.copy", {"numel": full, "dtype_bytes": b})
        mask = Tensor((batch, ONE, q, target), "model", no_grad=True)
        return mask if skip == X.FALSE else Phi(skip, None, mask)

    try:
        return interp.on_phi(attn, build)
    except LookupError:
        return NotImplemented


def causal_mask_v5(site: CallSite, sliding_mask: bool = False) -> Any:
    """5.x create_causal_mask(config, inputs_embeds, attention_mask, past_key_values, position_ids, or_mask_function,
    and_mask_function, block_sequence_ids, layer_idx, allow_is_causal_skip), or with `sliding_mask`
    create_sliding_window_causal_mask; NotImplemented: not modelled.

    sdpa_mask builds the mask without vmap: aranges of batch and head, `arange(q) + q_offset`,
    `arange(kv) + kv_offset`, then the mask function on broadcast views: causal `kv <= q` (`le`), and
    for a sliding window first `new_ones(())`, `q - window`, `kv > ...` (`gt`), `&`, then `le`, `&`;
    expanded to [batch, 1, q, kv] (a view). sdpa skips it (None) for one query token, as many keys as
    queries, or an empty cache (q_offset 0), unless a sliding window is reached (kv >= window); eager
    never skips and turns it into a float mask (`zeros(())`, `scalar_tensor(min)`, `where`)."""
    interp = site.interp
    config, embeds = site.arg(0, "config"), site.arg(1, "inputs_embeds")
    attention_mask, cache = site.arg(2, "attention_mask", None), site.arg(3, "past_key_values", None)
    position_ids = site.arg(4, "position_ids", None)
    extra = [site.arg(i, name, None) for i, name in ((5, "or_mask_function"), (6, "and_mask_function"), (7, "block_sequence_ids"), (8, "layer_idx"))]
    allow_skip = site.arg(9, "allow_is_causal_skip", X.TRUE)
    # a 2-d mask of ones (BART-style decoders make `torch.ones(batch, past + q)` when given none) masks
    # nothing: sdpa skips as without one (`fast_all(padding_mask)` holds) and eager's mask has the same
    # shape and dtype; only its own ops (the bool cast, the padding lookup, `&`) are not priced
    padding = attention_mask is not None
    if padding and not (_plain_2d(attention_mask) and known_ones(interp, attention_mask)):
        return NotImplemented
    if any(e is not None for e in extra) or allow_skip not in (X.TRUE, True):
        return NotImplemented
    if builds_recurrent_mask(site.node):
        return NotImplemented
    if not isinstance(embeds, Tensor) or embeds.shape is None or len(embeds.shape) < 2 or not (cache is None or isinstance(cache, CacheV)):
        return NotImplemented
    if interp.config is not None and interp.config.model.getattr_default(interp, "is_causal", X.TRUE, site.node) in (X.FALSE, False):
        return NotImplemented  # a bidirectional mask instead (a config field `is_causal` a user may set is read as true)
    batch, q = embeds.shape[0], embeds.shape[1]
    if cache is None and padding and attention_mask.shape[1] != q:
        return NotImplemented  # _preprocess_mask_arguments: kv is the mask's length, not q
    if cache is None:
        sliding, window, past = X.FALSE, ONE, ZERO
    else:
        kind = mask_layer_kind(interp, site.node, sliding_mask)
        if kind is None:
            return NotImplemented
        sliding, window = kind
        window = window if window is not None else ONE
        past = cache.past
    if sliding_mask and window == ONE:
        return NotImplemented  # no window: transformers' sliding mask function refuses it
    # DynamicSlidingWindowLayer.get_mask_sizes: window - 1 + q keys once the cache holds a window, else past + q
    kept = X.ifnum(sliding, X.ifnum(X.cmp(">", window, 1), X.fn("min", past, window - 1), past), past)
    kv = kept + q
    attn = interp.getattr(config, "_attn_implementation", site.node)
    if padding:
        gap(interp, "5.x create_causal_mask's padding-mask ops (a 2-d attention_mask of ones)")
    if cache is None and position_ids is not None and not padding:
        # find_packed_sequence_indices: diff, cumsum and a host read of the positions (no bytes model); a
        # plain 0..q-1 run is one sequence, so the mask is the causal one
        gap(interp, "5.x create_causal_mask's packed-sequence check of position_ids")

    def build(impl: Any) -> Any:
        if impl not in ("eager", "sdpa"):
            raise LookupError(impl)
        skip = X.FALSE
        if impl == "sdpa":
            skip = X.bor(X.cmp("==", q, ONE), X.cmp("==", kv, q), X.cmp("==", past, ZERO))
            if sliding_mask:
                # _ignore_causal_mask_sdpa's local_size: config.sliding_window (None: no test)
                set_, size = present(interp.config.model.getattr_default(interp, "sliding_window", None, site.node)) if interp.config is not None else (X.TRUE, window)
                skip = X.band(skip, X.ifbool(set_, X.cmp("<", kv, size if size is not None else window), X.TRUE))
        runs = X.bnot(skip)
        if runs == X.FALSE:
            return None
        i64 = Num.const(8)
        _record(site, runs, "batch_arange", "torch.factory", {"numel": batch})
        _record(site, runs, "head_arange", "torch.factory", {"numel": ONE})
        _record(site, runs, "q_arange", "torch.factory", {"numel": q})
        _record(site, runs, "q_offset_add", "torch.elementwise", {"numel": q, "dtype_bytes": i64})
        _record(site, runs, "kv_arange", "torch.factory", {"numel": kv})
        _record(site, runs, "kv_offset_add", "torch.elementwise", {"numel": kv, "dtype_bytes": i64})
        if sliding_mask:
            # and_masks: result = q.new_ones((), bool); result & (kv > q - window); result & (kv <= q)
            _record(site, runs, "mask_ones", "torch.factory", {"numel": ONE, "dtype_bytes": ONE})
            _record(site, runs, "window_start", "torch.elementwise", {"numel": q, "dtype_bytes": i64})
            _record(site, runs, "window_gt", "torch.elementwise",
                    {"numel": q * kv, "n_inputs": ZERO, "broadcast_numel": q + kv, "dtype_bytes": i64, "out_bytes": ONE})
            _record(site, runs, "window_and", "torch.elementwise", {"numel": q * kv, "broadcast_numel": ONE, "dtype_bytes": ONE})
        return _causal_tail(site, runs, impl, skip, (batch, q, kv), sliding_mask, ("zero_value", "min_value"))

    try:
        return interp.on_phi(attn, build)
    except LookupError:
        return NotImplemented


def builds_recurrent_mask(node: Any) -> bool:
    """The calling function also builds `create_recurrent_attention_mask` (5.x hybrids: a dict of masks by layer
    kind, read at `layer_types[i]`). A layer's rule takes its mask as a parameter that may be either entry, so a
    shaped 4-d causal mask would reach the linear-attention layers' `apply_mask_to_padding_states` (which the
    real model never does) and break their shapes: there the causal mask stays opaque (no bytes), as before."""
    scope = node.scope() if hasattr(node, "scope") else None
    while scope is not None and type(scope).__name__ == "Lambda" and scope.parent is not None:
        scope = scope.parent.scope()  # lfm3 builds each mask in a lambda of a dict in forward
    try:
        return scope is not None and "create_recurrent_attention_mask" in scope.as_string()
    except Exception:  # noqa: BLE001 - astroid may fail to print a node; then nothing is known
        return False


def prepare_4d_causal_mask(site: CallSite) -> Any:
    """`_prepare_4d_causal_attention_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length,
    sliding_window)` without an attention_mask: None where `to_causal_4d` builds nothing (one query token, no
    window), else a float [batch, 1, q, past + q] mask at the embeddings' dtype, expanded over the batch (a view
    of one [q, past + q] mask), its ops priced where there is no window; with a 2-d one (MPT's ones), `to_4d`'s
    new [batch, 1, q, past + q] tensor, its ops a bytes gap. NotImplemented: not modelled."""
    given, shape, embeds = site.arg(0, "attention_mask"), site.arg(1, "input_shape"), site.arg(2, "inputs_embeds")
    past, window = site.arg(3, "past_key_values_length"), site.arg(4, "sliding_window", None)
    items = shape.items if isinstance(shape, ListV) else shape
    if not isinstance(items, (tuple, list)) or len(items) < 2 or not all(isinstance(d, Num) for d in items):
        return NotImplemented
    if given is not None and not (isinstance(given, Tensor) and given.shape is not None and len(given.shape) == 2):
        return NotImplemented
    if not isinstance(past, Num) or not isinstance(embeds, Tensor) or elem_bytes(embeds) is None:
        return NotImplemented
    if window is not None and not isinstance(window, Num):
        return NotImplemented
    batch, q = items[0], items[-1]
    mask = with_layout(Tensor((batch, ONE, q, past + q), embeds.dtype, no_grad=True), Layout((0, 1, 2, 3), frozenset({0})))
    if given is not None or window is not None:  # to_4d, or a window's tril: their ops are not priced
        gap(site.interp, "_prepare_4d_causal_attention_mask: no bytes model")
    if given is not None:  # to_4d: the padding mask expanded, inverted and filled (into the causal one): a new tensor
        return Tensor((batch, ONE, q, past + q), embeds.dtype, no_grad=True)
    builds = X.TRUE if window is not None else X.cmp(">", q, ONE)
    if window is None:
        make_causal_mask_bytes(site, builds, q, past, elem_bytes(embeds))
    return mask if builds == X.TRUE else Phi(builds, mask, None)


def make_causal_mask_bytes(site: CallSite, builds: Bool, q: Num, past: Num, b: Num) -> None:
    """`_make_causal_mask((batch, q), dtype, past)` without a window, under `builds`: a float32 [q, q] `full` of
    finfo.min (no dtype=), `arange(q)`, `+ 1`, the int64 `<` against its [q, 1] view (bool [q, q]), an in-place
    `masked_fill_` of 0, `.to(dtype)` (nothing at float32), and where past > 0 a `zeros(q, past)` and the `cat`;
    the final `expand` is a view."""
    n, f32 = q * q, Num.const(4)
    _record(site, builds, "mask_full", "torch.factory", {"numel": n, "dtype_bytes": f32})
    _record(site, builds, "mask_arange", "torch.factory", {"numel": q})
    _record(site, builds, "mask_cond_add", "torch.elementwise", {"numel": q, "dtype_bytes": Num.const(8)})
    _record(site, builds, "mask_lt", "torch.elementwise",
            {"numel": n, "n_inputs": ZERO, "broadcast_numel": q + q, "dtype_bytes": Num.const(8), "out_bytes": ONE})
    _record(site, builds, "mask_fill", "torch.elementwise", {"numel": n, "extra_read": n, "dtype_bytes": f32})
    _record(site, builds, "mask_to", "torch.cast", {"numel": n, "from_bytes": f32, "to_bytes": b})
    cats = X.band(builds, X.cmp(">", past, ZERO))
    _record(site, cats, "mask_past_zeros", "torch.factory", {"numel": q * past, "dtype_bytes": b})
    _record(site, cats, "mask_past_cat", "torch.copy", {"numel": q * (q + past), "dtype_bytes": b})


def _plain_2d(mask: Any) -> bool:
    """A [batch, kv] padding mask of a sized dtype (the model's own `torch.ones` where the caller passes none)."""
    return isinstance(mask, Tensor) and mask.shape is not None and len(mask.shape) == 2 and elem_bytes(mask) is not None


def padding_mask_for_sdpa(interp: Host, args: list, kwargs: dict, node: Any) -> Any:
    """`_prepare_4d_attention_mask_for_sdpa(mask, dtype, tgt_len)` on the model's own mask of ones (BERT's
    `torch.ones((batch, seq + past))`, as the oracle runs it): `torch.all(mask == 1)` read back to the host,
    then None (sdpa gets no mask); NotImplemented for any other mask."""
    mask = args[0] if args else kwargs.get("mask")
    if not _plain_2d(mask):
        return NotImplemented
    n = mask.shape[0] * mask.shape[1]
    _record_at(interp, node, X.TRUE, "mask_is_one", "torch.elementwise", {"numel": n, "dtype_bytes": elem_bytes(mask), "out_bytes": ONE})
    _record_at(interp, node, X.TRUE, "mask_all", "torch.reduction", {"numel": n, "out_numel": ONE, "dtype_bytes": ONE})
    _record_at(interp, node, X.TRUE, "mask_item", "torch.elementwise", {"numel": ZERO, "n_inputs": ZERO, "extra_read": ONE, "dtype_bytes": ONE})
    return None


def extended_mask(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """`self.get_extended_attention_mask(attention_mask, input_shape)` of an encoder-style model
    (config.is_decoder false) on a 2D mask: `mask[:, None, None, :]` (a view), `.to(self.dtype)`,
    `(1.0 - mask) * finfo.min`, a [batch, 1, 1, kv] float mask in the model dtype; NotImplemented
    for a decoder's causal arm or any other mask."""
    mask = args[0] if args else kwargs.get("attention_mask")
    config = interp.getattr(recv, "config", node) if recv is not None else None
    if not _plain_2d(mask) or config is None or kwargs.get("dtype") is not None or len(args) > 3:
        return NotImplemented
    if interp.getattr(config, "is_decoder", node) != X.FALSE:
        return NotImplemented
    n, b = mask.shape[0] * mask.shape[1], Num.sym("dtype_bytes")
    _record_at(interp, node, X.TRUE, "mask_to", "torch.cast", {"numel": n, "from_bytes": elem_bytes(mask), "to_bytes": b})
    _record_at(interp, node, X.TRUE, "mask_rsub", "torch.elementwise", {"numel": n, "dtype_bytes": b})
    _record_at(interp, node, X.TRUE, "mask_scale", "torch.elementwise", {"numel": n, "dtype_bytes": b})
    return Tensor((mask.shape[0], ONE, ONE, mask.shape[1]), "model", no_grad=True)


def padding_warning(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> None:
    """`self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)`: without a mask and with a
    pad_token_id, `pad_token_id in input_ids[:, [-1, 0]]` runs an aten.index of two int64 columns, `==`,
    `any` and a one-byte read back (BERT at batch 2: 85 bytes read, 37 written); nothing with a mask."""
    ids = args[0] if args else kwargs.get("input_ids")
    mask = args[1] if len(args) > 1 else kwargs.get("attention_mask")
    if mask is not None:
        if not isinstance(mask, Tensor):
            gap(interp, "warn_if_padding_and_no_attention_mask with a mask that may be None")
        return None
    config = interp.getattr(recv, "config", node) if recv is not None else None
    if not isinstance(ids, Tensor) or ids.shape is None or len(ids.shape) != 2 or ids.dtype != "long" or config is None:
        gap(interp, "warn_if_padding_and_no_attention_mask on input_ids of unknown shape")
        return None
    pad = interp.config.model.getattr_default(interp, "pad_token_id", None, node) if interp.config is not None else interp.getattr(config, "pad_token_id", node)
    runs, _ = present(pad)
    n = ids.shape[0] * 2
    _record_at(interp, node, runs, "pad_index", "torch.elementwise", {"numel": n, "extra_read": Num.const(16), "dtype_bytes": Num.const(8)})
    _record_at(interp, node, runs, "pad_eq", "torch.elementwise", {"numel": n, "dtype_bytes": Num.const(8), "out_bytes": ONE})
    _record_at(interp, node, runs, "pad_any", "torch.reduction", {"numel": n, "out_numel": ONE, "dtype_bytes": ONE})
    _record_at(interp, node, runs, "pad_item", "torch.elementwise", {"numel": ZERO, "n_inputs": ZERO, "extra_read": ONE, "dtype_bytes": ONE})
    return None
