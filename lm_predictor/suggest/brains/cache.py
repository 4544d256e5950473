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

import dataclasses

import os
from typing import Any

from astroid import nodes

from lm_predictor.diagnostics import A_LAYER_INDEX
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import saved
from lm_predictor.suggest.brains.base import CallSite, brain, numel, receiver, text_config_object, unknown_tensor
from lm_predictor.suggest.brains.layout import copy_term, gap, price
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.layers import count_where, periodic_condition
from lm_predictor.suggest.pyvalues import BoundMethod, ConfigV
from lm_predictor.suggest.valueops import make_phi, translate
from lm_predictor.suggest.values import CacheV, DictV, FunctionV, ListV, ObjectV, Phi, Repeated, Tensor, Unknown


CACHE_CLASSES_TRUE = ("Cache", "DynamicCache")


def model_cache(interp: Host, cls: Any, args: list, kwargs: dict, node: Any) -> Any:
    """A cache class the model's source defines (lfm2's Lfm2HybridConvCache: key/value lists per
    layer, `update(key_states, value_states, layer_idx)` appends then concatenates), built in
    prefill: an empty dynamic cache, plus the state tensors its __init__ allocates (lfm2: one
    [batch, hidden, conv_L_cache] conv state per layer) as kv_cache_bytes. NotImplemented for
    any other class."""
    node_def = getattr(cls, "node", None)
    if node_def is None or not node_def.name.endswith("Cache"):
        return NotImplemented
    update = next((f for f in node_def.mymethods() if f.name == "update"), None)
    if update is None and extends_library_cache(interp, cls):
        return CacheV(ZERO, own=cls)  # DynamicCache's keys and values, plus the states its own methods keep
    if update is None or [a.name for a in update.args.args[1:4]] != ["key_states", "value_states", "layer_idx"]:
        return NotImplemented
    init = interp.class_attr(cls, "__init__")
    obj = ObjectV(cls)
    if isinstance(init, FunctionV):
        interp.run_function(FunctionV(init.node, init.module, init.qualname, None, obj, init.owner_class), args, kwargs, node)
    held = ZERO
    for value in obj.attrs.values():
        held = held + _state_elements(value)
    if held != ZERO:
        # the cache holds these in prefill and in the decode step that receives it: not past_len's branch
        saved = list(interp.assume)
        interp.assume[:] = [c for c in saved if not any(n.lstrip("@") == "past_len" for n in X.free_params(c))]
        try:
            interp.add_cost("kv_cache_bytes", held * Num.sym("dtype_bytes"), note="state tensors the model's cache allocates")
        finally:
            interp.assume[:] = saved
    return CacheV(ZERO, stores_first=stores_given(update))


def stores_given(update: nodes.FunctionDef) -> bool:
    """Whether a cache's `update(key_states, ...)` keeps the key states as given somewhere
    (`self.key_cache.append(key_states)`, `self.key_cache[i] = key_states`: lfm2, jamba), which it
    does while the layer is empty, so the prefill's update copies nothing."""
    key = update.args.args[1].name

    def given(value: Any) -> bool:
        return isinstance(value, nodes.Name) and value.name == key

    for assign in update.nodes_of_class(nodes.Assign):
        if given(assign.value) and all(isinstance(t, (nodes.Subscript, nodes.AssignAttr)) for t in assign.targets):
            return True
    for call in update.nodes_of_class(nodes.Call):
        if isinstance(call.func, nodes.Attribute) and call.func.attrname == "append" and len(call.args) == 1 and given(call.args[0]):
            return True
    return False


def extends_library_cache(interp: Host, cls: Any) -> bool:
    """Whether a class the model defines derives from the library's DynamicCache (and defines no update of its own)."""
    return any(getattr(c, "name", "").rsplit(".", 1)[-1] == "DynamicCache" and not hasattr(c, "node") for c in interp.mro(cls))


def _self_item(node: Any, params: list) -> tuple[str, int] | None:
    """(attr, position of the index parameter) of `self.<attr>[<param>]`, else None."""
    if not isinstance(node, nodes.Subscript) or not isinstance(node.value, nodes.Attribute):
        return None
    if not (isinstance(node.value.expr, nodes.Name) and node.value.expr.name == "self"):
        return None
    if not (isinstance(node.slice, nodes.Name) and node.slice.name in params):
        return None
    return node.value.attrname, params.index(node.slice.name)


def state_method(cls: Any, name: str) -> tuple[str, str, int, int] | None:
    """How a method a model's cache class defines reads or writes its per-layer states:
    ("store", attr, index arg, value arg) for a body that assigns `self.<attr>[<i>] = <v>` (i and v
    its parameters); ("load", attr, index arg, -1) for one that returns `self.<attr>[<i>]` of a
    list some store method writes; None for any other method (its cost is not modelled)."""
    methods = {f.name: f for f in cls.node.mymethods()}
    fn = methods.get(name)
    if fn is None:
        return None

    def stores(f: Any) -> list[tuple[str, int, int]]:
        params = [a.name for a in f.args.args[1:]]
        found = []
        for assign in f.nodes_of_class(nodes.Assign):
            item = _self_item(assign.targets[0], params) if len(assign.targets) == 1 else None
            if item is not None and isinstance(assign.value, nodes.Name) and assign.value.name in params:
                found.append((item[0], item[1], params.index(assign.value.name)))
        return found

    own = stores(fn)
    if len(own) == 1:
        return ("store",) + own[0]
    params = [a.name for a in fn.args.args[1:]]
    stored = {attr for f in methods.values() for attr, _, _ in stores(f)}
    loads = {_self_item(r.value, params) for r in fn.nodes_of_class(nodes.Return) if r.value is not None}
    loads.discard(None)
    if len(loads) == 1:
        attr, index = loads.pop()
        if attr in stored:
            return ("load", attr, index, -1)
    return None


def own_state(site: CallSite, cache: CacheV, how: tuple[str, str, int, int]) -> Any:
    """A per-layer state a model's cache class stores (`set_linear_cache(layer_idx, state)`) or
    loads (`get_linear_cache(layer_idx)`). With the cache model of this analysis (prefill starts
    empty, decode finds every layer filled by the prefill), a load is None in prefill and the state
    the layer stored in decode; the state's bytes count once per layer in kv_cache_bytes (at the
    store in prefill, at the load in decode, where the store replaces it)."""
    kind, attr, index, value = how
    scope = site.node.scope() if site.node is not None else None
    idx = site.arg(index)
    c = idx.const_value() if isinstance(idx, Num) else idx
    key = (scope.qname() if scope is not None else "", f"{cache.own.qualname}.{attr}", str(c))
    held = X.cmp(">", cache.past, 0)
    rec = linear_states(site.interp)
    if kind == "store":
        state = site.arg(value)
        if not isinstance(state, Tensor) or state.shape is None:
            return Unknown(f"{attr}: a state of an unknown shape")
        rec["shapes"][key] = state
        site.interp.add_cost("kv_cache_bytes", X.ifnum(held, ZERO, state_bytes(state)), note=f"{attr} state")
        return None
    if held == X.FALSE:
        return None
    state = rec["shapes"].get(key)
    if state is None:
        rec["missing"] = True
        return Phi(held, unknown_tensor(f"{attr} state before its first store"), None)
    site.interp.add_cost("kv_cache_bytes", X.ifnum(held, state_bytes(state), ZERO), note=f"{attr} state")
    return Phi(held, state, None)


def _state_elements(value: Any) -> Num:
    """Elements of the float state tensors in one attribute of a cache (a tensor, or a list of them)."""
    if isinstance(value, Phi):  # set on the branch that builds the cache (past_len == 0)
        return _state_elements(value.a if value.b is None else value.b if value.a is None else None)
    if isinstance(value, Tensor) and value.shape is not None and value.dtype not in ("long", "bool"):
        return numel(value.shape)
    if isinstance(value, ListV):
        if value.rep is not None:
            return value.rep.count * _state_elements(value.rep.elem) if isinstance(value.rep, Repeated) else ZERO
        total = ZERO
        for item in value.items:
            total = total + _state_elements(item)
        return total
    return ZERO


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
            flags = [_sliding_entry(e, window) == X.TRUE for e in entries]
            periodic = periodic_condition(layer_idx, flags)
            if periodic is not None:
                return periodic, window
            return X.bor(*(X.cmp("==", layer_idx, j) for j, flag in enumerate(flags) if flag)), window
    return None


def layer_types_listed(interp: Host, node: Any) -> bool:
    """Whether the config gives `layer_types` (its layers may differ); False where every layer is of one kind."""
    config = interp.config
    if config is None:
        return False
    text = text_config_object(interp)
    types = config.model.getattr_default(interp, "layer_types", None, node) if text is None else text.attrs.get("layer_types")
    return types is not None


def mask_layer_kind(interp: Host, node: Any, sliding_mask: bool) -> tuple[X.Bool, Num | None] | None:
    """(is-sliding, window) of the cache layer whose sizes a mask takes: create_causal_mask reads the
    first full layer (`is_sliding.index(False)`), create_sliding_window_causal_mask the first sliding
    one, and each takes layer 0 where there is none; None when the analysis cannot count the kinds."""
    first = layer_kind(interp, ZERO, node)
    if first is None or not layer_types_listed(interp, node):
        return first
    config, text = interp.config, text_config_object(interp)
    types = config.model.getattr_default(interp, "layer_types", None, node) if text is None else text.attrs.get("layer_types")
    if isinstance(types, ListV) and types.rep is not None:
        types = types.rep
    window = first[1]
    if isinstance(types, Repeated) and types.index:
        n, sliding = types.count, count_where(_sliding_entry(types.elem, window), types.index, types.count)
    elif isinstance(types, ListV) and all(isinstance(e, str) for e in types.items):
        n, sliding = Num.const(len(types.items)), Num.const(sum(_sliding_entry(e, window) == X.TRUE for e in types.items))
    else:
        return None
    if sliding is None:
        return None
    if sliding_mask:
        return X.cmp(">", sliding, 0), window
    facts = X.symbol_facts()
    with X.using(dataclasses.replace(facts, counts=set(facts.counts) | X.free_params(n))):
        full = X.cmp(">", n - sliding, 0)  # `layers // 4` full layers: none in a 2-layer cohere2 (a layer count's quotient may be 0)
    return X.band(X.bnot(full), first[0]), window


def _sliding_entry(entry: Any, window: Num | None) -> X.Bool:
    if isinstance(entry, str):
        return X.bconst(entry in ("sliding_attention", "chunked_attention"))
    if isinstance(entry, Phi):
        return X.ifbool(entry.cond, _sliding_entry(entry.a, window), _sliding_entry(entry.b, window))
    return X.bsym("?layer_type")


def _subst_index(value: Any, index: str, idx: Num) -> Any:
    return translate(value, {index: idx}, None)


def built_layers(site: CallSite) -> tuple | None:
    """(where, n): `DynamicCache(config=...)` of a flat config builds n = `config.num_hidden_layers` layers (read as
    the config class defines it: ProphetNet's property gives its encoder layers) where the config has neither
    `layer_types` nor `num_kv_shared_layers`; None where it grows on demand or the analysis cannot count them."""
    config = site.arg(1, "config", None)
    if not isinstance(config, ConfigV) or text_config_object(site.interp) is not None:
        return None
    read = config.model.getattr_default
    where, n = present(site.interp.getattr(config, "num_hidden_layers", site.node))
    for other in ("layer_types", "num_kv_shared_layers"):
        where = X.band(where, X.bnot(present(read(site.interp, other, None, site.node))[0]))
    return (where, n) if n is not None and where != X.FALSE else None


def _past_the_layers(interp: Host, cache: CacheV, layer_idx: Any, states: tuple) -> None:
    """`cache.layers[layer_idx]` past the layers a DynamicCache(config) built raises IndexError (4.56 ProphetNet's
    decoder run with fewer encoder layers): the oracle's step then runs without a cache, which this analysis does not
    follow. Where the states are views of part of a storage (ProphetNet's `chunk(1 + ngram)` pieces) that step keeps
    other bytes than the cache's copies: recorded for the root's activation_bytes (emit_saved: unavailable where it
    holds at the config). States that are all of their storage (BART's `k_proj(x).view(...).transpose(1, 2)`) are
    kept as many bytes either way: not recorded."""
    log = saved.log_of(interp)
    whole = log is not None and all(saved.storage_is_all_of(log, t) for t in states)
    if log is not None and not whole and cache.size is not None and isinstance(layer_idx, Num):
        where, n = cache.size
        log.past_cache.append(X.band(interp.guard(), where, X.cmp(">", n, 0), X.cmp(">=", layer_idx, n)))


def update(site: CallSite) -> Any:
    interp = site.interp
    cache: CacheV = site.receiver
    k, v = site.arg(0, "key_states"), site.arg(1, "value_states")
    layer_idx = site.arg(2, "layer_idx", ZERO)
    _past_the_layers(interp, cache, layer_idx, (k, v))
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
    # a model's cache that keeps a layer's first states as given concatenates only once it holds some
    copies = X.cmp(">", past, 0) if cache.stores_first else X.TRUE
    per_token = ZERO
    for t in (k, v):
        n = ONE
        for i, d in enumerate(t.shape):
            if i != len(t.shape) - 2:
                n = n * d
        per_token = per_token + n
    interp.add_cost("kv_cache_bytes", per_token * stored * Num.sym("dtype_bytes"))
    if kind is None:
        gap(interp, "cache update of a layer of unknown kind")
    for hint, t in (("key_cache", k_out), ("value_cache", v_out)):
        # DynamicLayer and DynamicSlidingWindowLayer both return torch.cat([kept, new], dim=-2): it
        # reads the kept and the new states and writes them all (a sliding layer then keeps a view)
        label = site.interp.recorder.label(hint, (site.node, hint)) if site.interp.recorder else hint
        price(interp, copy_term(label, t, copies) if copies != X.FALSE else ZERO, "cache update")
    if kind is not None and kind[0] != X.FALSE:
        scalars = layer_scalar_bytes(interp)
        if scalars:  # 5.x: the sliding layer also holds its window as a tensor
            interp.add_cost("kv_cache_bytes", X.ifnum(kind[0], Num.const(scalars), ZERO))
    saved.fresh(interp, (k_out, v_out))  # torch.cat's new storages (the arm a layer that held states takes)
    if copies != X.TRUE:
        return (make_phi(copies, k_out, k), make_phi(copies, v_out, v))
    return (k_out, v_out)


def update_indexer(site: CallSite) -> Any:
    """5.x `cache.update_indexer(k, layer_idx)` (DSA indexer keys, [batch, new, dim]): the layer
    concatenates them after the past ones on dim 1, keeps them all and returns them all."""
    k = site.arg(0, "indexer_key_states")
    if not isinstance(k, Tensor) or k.shape is None or len(k.shape) != 3:
        return unknown_tensor("indexer keys of an unknown shape")
    cache: CacheV = site.receiver
    total = cache.past + k.shape[1]
    site.interp.add_cost("kv_cache_bytes", k.shape[0] * total * k.shape[2] * Num.sym("dtype_bytes"))
    return Tensor((k.shape[0], total, k.shape[2]), k.dtype)


SCALAR_BYTES = {"long": 8, "int64": 8, "int": 4, "int32": 4}
_SCALARS: dict[int, int] = {}


def layer_scalar_bytes(interp: Host) -> int:
    """Bytes of the scalar tensors a sliding cache layer of the pinned source holds besides its
    keys and values: `self.x = torch.tensor(..., dtype=torch.long)` in
    `DynamicSlidingWindowLayer.__init__` (5.x keeps its window so; 4.56 holds none)."""
    key = id(interp.tree)
    if key not in _SCALARS:
        total = 0
        pm = interp.tree.parse("transformers.cache_utils") if interp.tree.has_module("transformers.cache_utils") else None
        cls = pm.tree.locals.get("DynamicSlidingWindowLayer", [None])[0] if pm is not None else None
        init = cls.locals.get("__init__", [None])[0] if isinstance(cls, nodes.ClassDef) else None
        for call in init.nodes_of_class(nodes.Call) if isinstance(init, nodes.FunctionDef) else ():
            dtype = next((k.value for k in call.keywords or () if k.arg == "dtype"), None)
            if call.func.as_string() == "torch.tensor" and isinstance(call.parent, nodes.Assign) and isinstance(dtype, nodes.Attribute):
                total += SCALAR_BYTES.get(dtype.attrname, 0)
        _SCALARS[key] = total
    return _SCALARS[key]


ELEMENT_BYTES = {"float32": 4, "float": 4, "float64": 8, "double": 8, "float16": 2, "half": 2, "bfloat16": 2}
# 5.x linear-attention states per analysed tree: (forward's qualname, kind, state_idx) -> the state
# tensor one layer keeps; "missing" when a decode step asked for a state before any update showed it
_STATES: dict[int, dict] = {}


def linear_states(interp: Host) -> dict:
    return _STATES.setdefault(id(interp.tree), {"shapes": {}, "missing": False})


def linear_states_reset(tree: Any, keep_shapes: bool = False) -> None:
    old = _STATES.get(id(tree))
    _STATES[id(tree)] = {"shapes": old["shapes"] if keep_shapes and old else {}, "missing": False}


def state_shapes(tree: Any) -> dict:
    """The linear-attention state shapes the last analysis of `tree` stored, by state key."""
    rec = _STATES.get(id(tree))
    return dict(rec["shapes"]) if rec else {}


def states_missing(tree: Any) -> bool:
    """Whether the last analysis of `tree` met a decode-step state it had no shape for yet, and
    the states it has since seen would give one (the caller runs the analysis again)."""
    rec = _STATES.get(id(tree))
    return bool(rec and rec["missing"] and rec["shapes"])


def state_key(site: CallSite, kind: str) -> tuple:
    scope = site.node.scope() if site.node is not None else None
    idx = site.arg(2 if "update" in site.name else 1, "state_idx", ZERO)
    c = idx.const_value() if isinstance(idx, Num) else idx
    return (scope.qname() if scope is not None else "", kind, str(c))


def state_bytes(t: Tensor) -> Num:
    b = ELEMENT_BYTES.get(t.dtype)
    return numel(t.shape) * (Num.const(b) if b else Num.sym("dtype_bytes"))


def get_state(site: CallSite, kind: str) -> Any:
    """5.x `cache.get_conv_state(layer_idx)` / `get_recurrent_state(layer_idx)`: None until an update
    (prefill), then the state the prefill left (decode: past_len > 0). Its bytes count in
    kv_cache_bytes here in decode, where the step may not update it."""
    cache: CacheV = site.receiver
    held = X.cmp(">", cache.past, 0)
    if held == X.FALSE:
        return None
    rec = linear_states(site.interp)
    state = rec["shapes"].get(state_key(site, kind))
    if state is None:
        rec["missing"] = True
        return Phi(held, unknown_tensor(f"{kind} state before its first update"), None)
    site.interp.add_cost("kv_cache_bytes", X.ifnum(held, state_bytes(state), ZERO), note=f"{kind} state")
    return Phi(held, state, None)


def update_state(site: CallSite, kind: str) -> Any:
    """5.x `cache.update_conv_state(x, layer_idx, conv_kernel_size=K)` keeps x[..., -K:] (K: the
    kwarg, else x's last size) and returns x left-padded to K in prefill, cat(state, x) once the
    layer holds a state (decode); `update_recurrent_state(s, layer_idx)` keeps and returns s."""
    x = site.arg(0, "conv_states" if kind == "conv" else "recurrent_states")
    if not isinstance(x, Tensor) or x.shape is None or not x.shape:
        return unknown_tensor(f"{kind} state of an unknown shape")
    cache: CacheV = site.receiver
    held = X.cmp(">", cache.past, 0)
    out = x
    state = x
    if kind == "conv":
        size = site.kwargs.get("conv_kernel_size")
        k = size if isinstance(size, Num) else x.shape[-1]
        state = Tensor(x.shape[:-1] + (k,), x.dtype)
        n = x.shape[-1]
        out = Tensor(x.shape[:-1] + (X.ifnum(held, k + n, X.fn("max", n, k)),), x.dtype)
    linear_states(site.interp)["shapes"][state_key(site, kind)] = state
    site.interp.add_cost("kv_cache_bytes", X.ifnum(held, ZERO, state_bytes(state)), note=f"{kind} state")
    return out


@brain("cache-method", receiver(CacheV))
def method(site: CallSite) -> Any:
    name = site.name.split(".", 1)[1]
    cache: CacheV = site.receiver
    if cache.own is not None and any(f.name == name for f in cache.own.node.mymethods()):
        how = state_method(cache.own, name)
        if how is None:
            return Unknown(f"{cache.own.qualname}.{name}: a cache method the model defines")
        return own_state(site, cache, how)
    if name == "update":
        return update(site)
    if name == "update_indexer":
        return update_indexer(site)
    if name in ("get_conv_state", "get_recurrent_state"):
        return get_state(site, name[4:-6])
    if name in ("update_conv_state", "update_recurrent_state"):
        return update_state(site, name[7:-6])
    if name == "is_recording_past":
        return X.FALSE
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
    if name == "has_previous_state":  # hybrid Mamba caches: set once a forward has filled the states
        return X.cmp(">", cache.past, 0)
    if name in ("layers", "key_cache", "value_cache", "cross_attention_cache", "conv_states", "ssm_states"):
        return Unknown(f"cache.{name}")
    return BoundMethod(cache, name)
