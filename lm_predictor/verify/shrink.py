"""Shrink a config.json dict to a small model that real tensors run in a blink (dict logic; defaults read from transformers when installed)."""

from __future__ import annotations

import copy
from typing import Any

from lm_predictor.evaluate.layers import INDEX_LISTS, KIND_LISTS, VALUE_LISTS
from lm_predictor.verify.hf import quiet_transformers

HIDDEN, LAYERS, HEADS, VOCAB, FFN, MOE_FFN, MAX_EXPERTS = 64, 2, 4, 256, 128, 32, 4

_HIDDEN_KEYS = ("hidden_size", "n_embd", "d_model", "hidden_size_global")  # hidden_size_global: blt's encoders read the global width
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "decoder_layers", "encoder_layers")
"""Layer counts, all shrunk alike: bart-like configs keep num_hidden_layers (the cache size) apart from decoder_layers."""
_HEAD_KEYS = ("num_attention_heads", "n_head", "num_heads")
_KV_HEAD_KEYS = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num")
_HEAD_DIM_KEYS = ("head_dim", "kv_channels", "attention_head_dim")
_FFN_KEYS = ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "ffn_hidden_size")
_MOE_FFN_KEYS = ("moe_intermediate_size", "expert_intermediate_size", "shared_expert_intermediate_size")
_MORE_FFN_KEYS = (  # 5.x widths of dense, shared and per-expert MLPs (0 switches a part off: kept)
    "expert_ffn_hidden_size", "dense_intermediate_size", "shared_experts_intermediate_size", "shared_intermediate_size",
    "moe_shared_expert_intermediate_size", "intermediate_size_mlp", "prefix_dense_intermediate_size",
)
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
_TOPK_KEYS = ("num_experts_per_tok", "num_experts_per_token", "moe_top_k", "moe_topk", "moe_k", "num_selected_experts")  # not "top_k": a generation setting
_GROUP_KEYS = ("n_group", "topk_group", "num_expert_group")
_ZERO_EXPERT_KEYS = ("zero_expert_num",)
"""Expert groups (DeepSeek-V3 routing): experts // n_group must stay whole, so one group once experts are cut."""
_VOCAB_KEYS = ("vocab_size", "padded_vocab_size", "encoder_hash_byte_group_vocab")  # the last: blt's hash n-gram tables
# Latent / split head sizes of MLA-style attention (DeepSeek-V2/V3 and kin).
_SMALL_DIMS = {"q_lora_rank": 32, "kv_lora_rank": 32, "qk_rope_head_dim": 8, "qk_nope_head_dim": 8, "v_head_dim": 16}
# Mamba-2 mixers: (expand, heads, head dim, groups); the config classes require
# heads * head_dim == expand * hidden_size (or mamba_d_ssm where falcon_h1 sets it).
_SSM_HEADS = (
    ("expand", "num_heads", "head_dim", "n_groups"),  # mamba2
    ("mamba_expand", "mamba_n_heads", "mamba_d_head", "mamba_n_groups"),  # bamba, falcon_h1, granitemoehybrid
    ("mamba_expand", "n_mamba_heads", "mamba_headdim", "mamba_ngroups"),  # zamba2
)
_PERIODS = (("attn_layer_period", "attn_layer_offset"), ("expert_layer_period", "expert_layer_offset"))
"""Layer kinds chosen by i % period == offset (jamba, zamba): period 2, so both kinds fit in LAYERS."""


_NOT_SUB_CONFIGS = frozenset({"quantization_config", "rope_config", "per_layer_config", "generation_config"})
"""`*_config` keys that hold no model sizes."""


def _is_sub_config(key: str, value: Any) -> bool:
    """A nested config dict with model sizes (text_config, vision_config, ...)."""
    return key.endswith("_config") and key not in _NOT_SUB_CONFIGS and isinstance(value, dict)


def shrink_config(config: dict[str, Any]) -> dict[str, Any]:
    """Small real config of the same architecture: hidden 64, 2 layers, 4 heads, vocab 256,
    at most 4 experts (top_k <= experts), small FFNs; model_type, architectures and flags kept."""
    out = copy.deepcopy(config)
    defaults = _defaults(out.get("model_type"))
    _fill_defaults(out, defaults)
    for key, sub in defaults.items():  # a composite ({"model_type": "llama4"}): its sub-configs' sizes too
        if _is_sub_config(key, sub) and out.get(key) is None:
            out[key] = {}
    _shrink(out)
    for key, sub in out.items():  # text_config, and the towers a causal LM also builds (vision, audio, blt's encoders)
        if _is_sub_config(key, sub):
            if isinstance(defaults.get(key), dict):
                _fill_defaults(sub, defaults[key])
            _shrink(sub)
    _rederive(out)
    return out


_ALL_KEYS = (
    _HIDDEN_KEYS + _LAYER_KEYS + _HEAD_KEYS + _KV_HEAD_KEYS + _HEAD_DIM_KEYS + _FFN_KEYS
    + _MOE_FFN_KEYS + _MORE_FFN_KEYS + _ZERO_EXPERT_KEYS + _EXPERT_KEYS + _TOPK_KEYS + _GROUP_KEYS + _VOCAB_KEYS + tuple(_SMALL_DIMS)
)


_LINKED_KEYS = frozenset(k for group in (*_SSM_HEADS, *_PERIODS) for k in group) | {"mamba_d_ssm", "attention_hidden_size"}
"""Keys a shrunk size must stay consistent with (made explicit too, so a minimal config shrinks alike)."""


def _defaults(model_type: str | None) -> dict[str, Any]:
    """The model type's default config values, if transformers knows it (else {})."""
    try:
        from transformers import CONFIG_MAPPING

        with quiet_transformers():
            return CONFIG_MAPPING[model_type]().to_dict()
    except Exception:  # no transformers, unknown type, or a config that needs arguments
        return {}


def _rederive(cfg: dict[str, Any]) -> None:
    """Fields the config class computes from others (DeepSeek-V3's qk_head_dim = qk_nope_head_dim +
    qk_rope_head_dim) are written to config.json too: recompute them from the shrunk fields, or the file
    contradicts itself. A field is derived when the class sets it differently once told the shrunk
    fields: a field that is no __init__ parameter (4.x), or a parameter that still holds its class default
    (5.x dataclass configs take qk_head_dim as a field; left out, __post_init__ computes it again)."""
    try:
        import inspect

        from transformers import CONFIG_MAPPING

        cls = CONFIG_MAPPING[cfg.get("model_type")]
        params = set(inspect.signature(cls.__init__).parameters)
        told = {k: v for k, v in cfg.items() if k in params}
        with quiet_transformers():
            untold = cls().to_dict()
            rebuilt = cls(**told).to_dict()
            unchanged = {k for k, v in told.items() if k in untold and untold[k] == v and _is_int(v)}
            recomputed = cls(**{k: v for k, v in told.items() if k not in unchanged}).to_dict() if unchanged else rebuilt
    except Exception:  # no transformers, unknown type, or a class that needs more than its parameters
        return
    for k, v in cfg.items():
        if not _is_int(v) or k not in untold:
            continue
        if k not in params and k in rebuilt and rebuilt[k] != untold[k] and rebuilt[k] != v:
            cfg[k] = rebuilt[k]  # it follows the fields told
        elif k in unchanged and _is_int(recomputed.get(k)) and recomputed[k] != v:
            cfg[k] = recomputed[k]


def _is_int(v: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def _fill_defaults(cfg: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Make size keys the config leaves to its class defaults explicit, so they get shrunk too."""
    for k, v in defaults.items():
        if k == "text_config" and cfg.get(k) is None and isinstance(v, dict):
            cfg[k] = {}  # a minimal config of a composite model (llama4): its text sizes get shrunk too
            _fill_defaults(cfg[k], v)
            continue
        if k in KIND_LISTS and k != "layer_types" and k not in cfg and isinstance(v, list):
            cfg[k] = v  # zamba2's default layers_block_type does not follow num_hidden_layers: cut it with the layers
            # (layer_types is left out: config classes derive it from num_hidden_layers when absent)
        if k in cfg or not isinstance(v, int) or isinstance(v, bool):
            continue
        if k in _ALL_KEYS or k in _LINKED_KEYS or k.endswith("_token_id"):
            cfg[k] = v


def _shrink(cfg: dict[str, Any]) -> None:
    """Shrink one (sub-)config dict in place."""
    old_layers = next((cfg[k] for k in _LAYER_KEYS if isinstance(cfg.get(k), int)), None)
    old_heads = next((cfg[k] for k in _HEAD_KEYS if isinstance(cfg.get(k), int)), None)
    old_hidden = next((cfg[k] for k in _HIDDEN_KEYS if isinstance(cfg.get(k), int)), None)
    rope_heads = [k for k in _HEAD_DIM_KEYS if _is_int(cfg.get(k)) and cfg.get(k) == cfg.get("qk_rope_head_dim")]
    _set(cfg, _HIDDEN_KEYS, HIDDEN)
    _set(cfg, _LAYER_KEYS, LAYERS)
    _set(cfg, _HEAD_KEYS, HEADS)
    for k in _KV_HEAD_KEYS:
        if isinstance(cfg.get(k), int):
            kv = cfg[k]
            # keep the attention kind: MHA stays MHA, MQA stays MQA, GQA becomes 2 groups
            cfg[k] = HEADS if kv == old_heads else 1 if kv == 1 else 2
    _set(cfg, _HEAD_DIM_KEYS, HIDDEN // HEADS)
    if isinstance(cfg.get("attention_hidden_size"), int) and old_hidden:  # zamba: attention wider than hidden
        cfg["attention_hidden_size"] = cfg["attention_hidden_size"] * HIDDEN // old_hidden
        _set(cfg, _HEAD_DIM_KEYS, cfg["attention_hidden_size"] // HEADS)
    _set(cfg, _FFN_KEYS, FFN)
    _set(cfg, _MOE_FFN_KEYS, MOE_FFN)
    _set(cfg, tuple(k for k in _MORE_FFN_KEYS if cfg.get(k)), MOE_FFN)
    _set(cfg, _VOCAB_KEYS, VOCAB)
    for k, v in _SMALL_DIMS.items():
        _set(cfg, (k,), v)
    _set(cfg, tuple(rope_heads), _SMALL_DIMS["qk_rope_head_dim"])  # MLA: head_dim is the rotary part (longcat_flash)
    _shrink_experts(cfg)
    _shrink_token_ids(cfg)
    _shrink_rope(cfg)
    _shrink_ssm_heads(cfg)
    _shrink_periods(cfg)
    if old_layers and old_layers > LAYERS:
        _shrink_layer_lists(cfg, old_layers)


def _set(cfg: dict[str, Any], keys: tuple[str, ...], value: int) -> None:
    """Set every present, non-null key to value."""
    for k in keys:
        if isinstance(cfg.get(k), int) and not isinstance(cfg.get(k), bool):
            cfg[k] = value


def _shrink_experts(cfg: dict[str, Any]) -> None:
    """At most MAX_EXPERTS routed experts, top_k no larger, one expert group."""
    experts = None
    for k in _EXPERT_KEYS:
        if isinstance(cfg.get(k), int) and cfg[k] > 0:
            cfg[k] = experts = min(cfg[k], MAX_EXPERTS)
    if experts is None:
        return
    for k in _TOPK_KEYS:
        if isinstance(cfg.get(k), int) and cfg[k] > 0:
            cfg[k] = min(cfg[k], experts)
    if _is_int(cfg.get("zero_expert_num")) and cfg["zero_expert_num"] > 0:  # identity experts (longcat_flash) beside the routed ones
        cfg["zero_expert_num"] = min(cfg["zero_expert_num"], MAX_EXPERTS)
    for k in _GROUP_KEYS:
        if isinstance(cfg.get(k), int):
            cfg[k] = 1


def _shrink_token_ids(cfg: dict[str, Any]) -> None:
    """Special token ids must stay inside the smaller vocabulary."""
    for k, v in list(cfg.items()):
        if not k.endswith("_token_id"):
            continue
        if isinstance(v, int) and v >= VOCAB:
            cfg[k] = VOCAB - 1
        elif isinstance(v, list):
            cfg[k] = [min(x, VOCAB - 1) for x in v if isinstance(x, int)]


def _shrink_rope(cfg: dict[str, Any]) -> None:
    """Per-frequency rope factor lists (longrope) must match the new rotary dim / 2."""
    rope = cfg.get("rope_scaling")
    if not isinstance(rope, dict):
        return
    rotary = int(HIDDEN // HEADS * float(cfg.get("partial_rotary_factor", 1.0) or 1.0))
    for k in ("short_factor", "long_factor"):
        if isinstance(rope.get(k), list):
            rope[k] = rope[k][: rotary // 2]


def _shrink_ssm_heads(cfg: dict[str, Any]) -> None:
    """Mamba-2 heads that still tile the (shrunk) inner width: HEADS heads, at most 2 groups."""
    hidden = next((cfg[k] for k in _HIDDEN_KEYS if isinstance(cfg.get(k), int)), None)
    for expand, heads, head_dim, groups in _SSM_HEADS:
        if not isinstance(cfg.get(expand), (int, float)) or not isinstance(cfg.get(heads), int) or hidden is None:
            continue
        inner = int(cfg[expand] * hidden)
        if isinstance(cfg.get("mamba_d_ssm"), int):
            cfg["mamba_d_ssm"] = inner
        cfg[heads] = HEADS
        if isinstance(cfg.get(head_dim), int):
            cfg[head_dim] = inner // HEADS
        if isinstance(cfg.get(groups), int):
            cfg[groups] = 1 if cfg[groups] == 1 else 2


def _shrink_periods(cfg: dict[str, Any]) -> None:
    """A layer kind every `period` layers from `offset` gets period 2 (offset 1 if it was not 0)."""
    for period, offset in _PERIODS:
        if isinstance(cfg.get(period), int) and isinstance(cfg.get(offset), int) and cfg[period] > LAYERS:
            cfg[period], cfg[offset] = LAYERS, min(cfg[offset], 1)


_MORE_VALUE_LISTS = ("layer_rope_theta", "num_attention_heads_per_layer")
"""Per-layer value lists of transformers 5.x configs (granite_swa, laguna), beside eval's VALUE_LISTS."""


def _is_kind_list(key: str, value: Any, old_layers: int) -> bool:
    """A per-layer list of kinds: eval's KIND_LISTS, or a 5.x `*layer_types` / `*_types` list of strings
    (mlp_layer_types: dense or sparse per layer; indexer_types), one entry per layer."""
    if not isinstance(value, list) or len(value) != old_layers:
        return False
    return key in KIND_LISTS or (key.endswith("_types") and all(isinstance(v, str) for v in value))


def _kept_layers(cfg: dict[str, Any], old_layers: int) -> list[int]:
    """LAYERS layer indices that keep as many layer kinds as they can: each pick is the first layer that
    brings the most kinds not yet kept, over all kind lists (one list: the first layer of each of its
    first two kinds; bailing_hybrid: a dense linear-attention layer and a sparse full-attention one)."""
    lists = [v for k, v in cfg.items() if _is_kind_list(k, v, old_layers)]
    overrides = _per_layer_overrides(cfg)
    if overrides:  # a layer with its own overrides is a kind of its own
        lists.append([repr(sorted(overrides.get(i, {}).items())) for i in range(old_layers)])
    seen: list[set[Any]] = [set() for _ in lists]
    keep: list[int] = []
    while len(keep) < min(LAYERS, old_layers):
        def new_kinds(i: int) -> int:
            return sum(kinds[i] not in s for kinds, s in zip(lists, seen))

        best = max((i for i in range(old_layers) if i not in keep), key=lambda i: (new_kinds(i), -i))
        keep.append(best)
        for kinds, s in zip(lists, seen):
            s.add(kinds[best])
    return sorted(keep)


def _per_layer_overrides(cfg: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """5.x `per_layer_config` ({"02": {"num_attention_heads": 64, ...}}): layer index -> its overrides."""
    raw = cfg.get("per_layer_config")
    if not isinstance(raw, dict):
        return {}
    out = {}
    for k, v in raw.items():
        if isinstance(v, dict) and str(k).strip().isdigit():
            out[int(k)] = v
    return out


def _shrink_per_layer_config(cfg: dict[str, Any], keep: list[int]) -> None:
    """Keep the overrides of the kept layers, renumbered (same key width), their sizes shrunk alike."""
    raw = cfg.get("per_layer_config")
    if not isinstance(raw, dict):
        return
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if isinstance(v, dict) and str(k).strip().isdigit() and int(k) in keep:
            sub = copy.deepcopy(v)
            _shrink(sub)
            out[str(keep.index(int(k))).zfill(len(str(k)))] = sub
    cfg["per_layer_config"] = out


def _shrink_layer_lists(cfg: dict[str, Any], old_layers: int) -> None:
    """Cut per-layer lists (layer_types, ...) to LAYERS entries, keeping two layer kinds if any."""
    keep = _kept_layers(cfg, old_layers)
    _shrink_per_layer_config(cfg, keep)
    for k, v in list(cfg.items()):
        if k in INDEX_LISTS and isinstance(v, list):  # layer indices: renumbered, dropped layers left out
            cfg[k] = [keep.index(i) for i in v if i in keep]
        elif _is_kind_list(k, v, old_layers) or (k in (*VALUE_LISTS, *_MORE_VALUE_LISTS) and isinstance(v, list) and len(v) == old_layers):
            cfg[k] = [v[i] for i in keep]  # not any list that happens to be as long (falcon_h1's 5 ssm_multipliers)
