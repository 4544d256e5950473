"""Per-layer lists of a config.json, checked against the config itself before anything is priced.

A published config spells its layers out: `layer_types`, `layers_block_type`, `no_rope_layers`,
per-layer `intermediate_size`, index lists such as `mlp_only_layers`. transformers 4.56 reads
them with `list[i]` per layer, so a list shorter than the model raises deep inside the build and
a longer one is silently cut. eval refuses both with one line, as it refuses kinds of layer the
model's source does not build and index lists that name layers the config does not have.
"""

from __future__ import annotations

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Code, LmPredictorError

ATTENTION_KINDS = frozenset({"full_attention", "sliding_attention", "chunked_attention", "linear_attention"})
"""configuration_utils.ALLOWED_LAYER_TYPES of transformers 4.56."""

LEGACY_KINDS_5_23 = frozenset({"mamba", "attention", "deepseek_sparse_attention", "qwen_sparse_attention"})
"""The legacy names transformers 5.23.0's remap_legacy_layer_types renames before any class validates."""

LAYER_TYPES_BY_PIN: dict[str, dict[str, frozenset[str]]] = {
    "5.23.0": {
        # configuration_utils.ALLOWED_ATTN_LAYER_TYPES of transformers 5.23.0 (PreTrainedConfig.validate_layer_type)
        "*": LEGACY_KINDS_5_23 | {
            "full_attention", "sliding_attention", "chunked_attention", "window_attention", "indexed_attention",
            "compressed_sparse_attention", "heavily_compressed_attention", "minimax_m3_sparse", "conv", "moe", "hybrid",
            "hybrid_sliding", "reference_sliding_attention", "linear_attention",
        },
        # classes that override validate_layer_type with their own list (configuration_nemotron_h.py: valid_types)
        # (legacy "mamba" / "attention" are remapped to linear_attention / full_attention first)
        "nemotron_h": frozenset({"full_attention", "linear_attention", "moe", "mlp", "mamba", "attention"}),
    },
}
"""`layer_types` kinds of a pin other than 4.56.0, per model_type or "*" (its configuration classes check against them)."""

KIND_LISTS: dict[str, dict[str, frozenset[str]]] = {
    # key -> {model_type or "*": the kinds the source builds}
    "layer_types": {"*": ATTENTION_KINDS, "lfm2": frozenset({"full_attention", "conv"}), "granitemoehybrid": frozenset({"mamba", "attention"})},
    "layers_block_type": {"*": frozenset({"mamba", "attention", "hybrid"}), "zamba": frozenset({"mamba", "hybrid"}), "zamba2": frozenset({"mamba", "hybrid"})},
    "attention_layers": {"*": frozenset({"global", "local"})},  # gpt_neo, expanded from attention_types
    "attn_layers": {"*": frozenset({"local", "lsh"})},  # reformer
}
"""Lists with one layer kind per layer."""

SETS_THE_COUNT = ("attn_layers",)
"""Lists the model builds its layers from (reformer: num_hidden_layers = len(attn_layers))."""

VALUE_LISTS = ("no_rope_layers", "intermediate_size", "activation_sparsity_pattern")
"""Fields that, when given as a list, hold one value per layer."""

INDEX_LISTS = ("mlp_only_layers", "attn_layer_indices", "hybrid_layer_ids", "cross_attention_layers", "full_attn_idxs", "moe_layers")
"""Lists of layer indices (0-based)."""

LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")


def layer_count(config: dict) -> int | None:
    """The number of decoder layers a resolved config declares, if it says."""
    for key in LAYER_COUNT_KEYS:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _fail(code: Code, detail: str) -> LmPredictorError:
    return LmPredictorError(d.make(code, None, detail=detail))


def check_layer_lists(raw: dict, resolved: dict, where: str = "") -> None:
    """One-line C03x errors when the per-layer lists `raw` gives disagree with the config."""
    n = layer_count(resolved)
    model_type = resolved.get("model_type")
    prefix = f"{where}." if where else ""
    check_list_types(raw, prefix)
    for key, by_type in KIND_LISTS.items():
        value = raw.get(key)
        if not isinstance(value, list):
            continue
        if key not in SETS_THE_COUNT:
            _check_length(prefix + key, value, n)
        known = by_type.get(model_type, by_type["*"]) if isinstance(model_type, str) else by_type["*"]
        if key in ("layer_types", "layers_block_type") and resolved.get("transformers_version") in LAYER_TYPES_BY_PIN:
            # 5.x: layers_block_type is an alias of layer_types (zamba), remapped to the new names ("mamba" -> "linear_attention")
            by_pin = LAYER_TYPES_BY_PIN[resolved["transformers_version"]]
            known = by_pin.get(model_type, by_pin["*"]) if isinstance(model_type, str) else by_pin["*"]
        for i, kind in enumerate(value):
            if kind not in known:
                raise _fail(d.C_LAYER_KIND, f"'{prefix}{key}' entry {i} is {kind!r}; {model_type} layers are one of {', '.join(sorted(known))}")
    for key in VALUE_LISTS:
        if isinstance(raw.get(key), list):
            _check_length(prefix + key, raw[key], n)
    for key in INDEX_LISTS:
        value = raw.get(key)
        if not isinstance(value, list) or n is None:
            continue
        for index in value:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise _fail(d.C_LAYER_INDEX, f"'{prefix}{key}' names layer {index!r}; the config has {n} layers (0 to {n - 1})")
    _check_agreement(raw, n, prefix, model_type)


def check_list_types(raw: dict, prefix: str = "") -> None:
    """A kind list or an index list given as something other than a list (null leaves the class default):
    transformers iterates it (a string's characters are no layer kinds) or tests `i in` it."""
    for key in (*KIND_LISTS, *INDEX_LISTS):
        value = raw.get(key)
        if value is not None and not isinstance(value, (list, tuple)):
            what = "one layer kind per layer" if key in KIND_LISTS else "layer indices"
            raise _fail(d.C_CONFIG, f"config field '{prefix}{key}' must be a list of {what}, got {value!r}")


def _check_length(key: str, value: list, n: int | None) -> None:
    if n is not None and len(value) != n:
        raise _fail(d.C_LAYER_LIST_LENGTH, f"'{key}' lists {len(value)} layers, but the config has {n} (num_hidden_layers)")


PATTERN_TYPES = ("gemma3_text", "cohere2")
"""Types whose config derives layer_types as sliding unless (i + 1) % sliding_window_pattern == 0."""


def _check_agreement(raw: dict, n: int | None, prefix: str, model_type: object) -> None:
    """Fields that restate one per-layer list must agree with it, layer by layer."""
    types = raw.get("layer_types")
    if not isinstance(types, list) or n is None:
        return
    pattern = raw.get("sliding_window_pattern")  # every pattern-th layer is full attention
    if model_type in PATTERN_TYPES and isinstance(pattern, int) and not isinstance(pattern, bool) and pattern > 0 and set(types) <= {"sliding_attention", "full_attention"}:
        for i, kind in enumerate(types):
            implied = "sliding_attention" if (i + 1) % pattern else "full_attention"
            if kind != implied:
                raise _fail(d.C_LAYER_CONFLICT, f"'{prefix}layer_types' says layer {i} is {kind}, but '{prefix}sliding_window_pattern' {pattern} makes it {implied}")
    full = raw.get("full_attn_idxs")  # lfm2: the attention layers by index
    if isinstance(full, list) and all(isinstance(i, int) for i in full):
        for i, kind in enumerate(types):
            implied = "full_attention" if i in full else "conv"
            if kind != implied:
                raise _fail(d.C_LAYER_CONFLICT, f"'{prefix}layer_types' says layer {i} is {kind}, but '{prefix}full_attn_idxs' makes it {implied}")


def layer_kind_list(config: dict) -> list[str] | None:
    """The config's one-kind-per-layer list (layer_types, layers_block_type, ...), if it has one."""
    for key in KIND_LISTS:
        value = config.get(key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return value
    return None
