"""Config values the pinned transformers itself refuses, found before a rule is chosen or derived.

A rule derived from the source (`suggest`) folds a config's strings in as constants, so a bogus one
(`rope_scaling.rope_type: "bogus"`, `hidden_act: "bogus"`, `hidden_size: "4096"`) either leaves a
dozen unresolved terms (C013) or, where the analysis assumes a default, prices a model transformers
cannot build. These checks refuse such a value first, with one C001 line naming the field. The
accepted names are the pin's own (ROPE_INIT_FUNCTIONS, ACT2CLS, the attention registry), never
hand-written: lm_predictor/data/accepted_names.json, generated from the vendored source by
scripts/gen_accepted_names.py, so the checks hold with or without third_party.
"""

from __future__ import annotations

import math

from lm_predictor import diagnostics as d
from lm_predictor.data.accepted_names import accepted
from lm_predictor.data.transformers_table import integer_sizes, is_size, load_table
from lm_predictor.diagnostics import LmPredictorError

ROPE_FIELDS = ("rope_scaling", "rope_parameters")
"""Config fields holding the rope type: 4.x `rope_scaling`, 5.x `rope_parameters` (maybe per layer type)."""
ACTIVATION_FIELDS = ("hidden_act", "activation_function", "hidden_activation")
"""Config fields the models index ACT2FN with (checked where the class default is an ACT2FN key)."""
ATTN_FIELDS = ("attn_implementation", "_attn_implementation")
MAX_SIZE_BITS = 62


def _error(detail: str) -> LmPredictorError:
    """One C001 bad-config line."""
    return LmPredictorError(d.make(d.C_CONFIG, None, detail=detail))


def rope_types(version: str) -> frozenset[str]:
    """The rope types the pin knows: ROPE_INIT_FUNCTIONS's keys and "default" (5.x computes it apart)."""
    return accepted(version, "rope_types") | {"default"}


def activations(version: str) -> frozenset[str]:
    """ACT2CLS's keys: the names ACT2FN[...] resolves (any other raises KeyError)."""
    return accepted(version, "activations")


def attention_names(version: str) -> frozenset[str]:
    """The attention implementations the pin registers, and "eager" (the models' own function)."""
    return accepted(version, "attention") | {"eager"}


def _shown(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def _check_rope(config: dict, defaults: dict, version: str) -> None:
    """rope_scaling / rope_parameters: a mapping (or one per layer type) whose rope type the pin knows."""
    for field in ROPE_FIELDS:
        value = config.get(field)
        if value is None:
            continue
        # a class that declares the field validates it (5.x ones with rope_parameters take a legacy rope_scaling
        # as theirs); one that does not may still read a mapping (GlmRotaryEmbedding: `isinstance(..., dict)`)
        declared = any(f in defaults for f in (field, "rope_parameters"))
        if not isinstance(value, dict) and not declared:
            continue
        if not isinstance(value, dict):
            raise _error(f"config field '{field}' must be a mapping, got {value!r}")
        known = rope_types(version)
        nested = value and all(isinstance(v, dict) for v in value.values())  # 5.x: one mapping per layer type
        for where, entry in ([(f"{field}.{k}", v) for k, v in value.items()] if nested else [(field, value)]):
            for key in ("rope_type", "type"):
                kind = entry.get(key)
                if kind is None:
                    continue
                if not isinstance(kind, str) or kind not in known:
                    raise _error(f"config field '{where}.{key}' is {kind!r}, which is not a rope type; transformers {version} knows {_shown(known)}")


def _check_activations(config: dict, defaults: dict, version: str) -> None:
    """An activation field whose class default is an ACT2FN name must name one too (exact match, as ACT2FN's)."""
    known = activations(version)
    for field in ACTIVATION_FIELDS:
        value = config.get(field)
        if value is None or defaults.get(field) not in known:
            continue
        if not isinstance(value, str) or value not in known:
            raise _error(f"config field '{field}' is {value!r}, which transformers {version}'s ACT2FN does not have (KeyError); it has {_shown(known)}")


def _check_attention(config: dict, version: str) -> None:
    """attn_implementation in a config.json: a name the pin registers (a hub kernel, 'org/repo', is left to transformers)."""
    for field in ATTN_FIELDS:
        value = config.get(field)
        if value is None:
            continue
        known = attention_names(version)
        if isinstance(value, str) and ("/" in value or "|" in value or value in known):
            continue
        raise _error(f"config field '{field}' is {value!r}, which transformers {version} does not implement; it knows {_shown(known)}")


def _check_undeclared_sizes(config: dict, defaults: dict, version: str) -> None:
    """A size the class does not declare (or declares as null), but other classes of the pin declare as an integer, given as a
    string or a bool: the model code that reads it anyway (`getattr(config, "head_dim", None) or ...`,
    mixtral, qwen3_moe, deepseek_v3, lfm2) cannot build a tensor with it."""
    sizes = integer_sizes(version)
    for field, value in config.items():
        if defaults.get(field) is None and field in sizes and isinstance(value, (str, bool)):
            raise _error(f"config field '{field}' must be an integer, got {value!r}")


def _check_sizes(config: dict, defaults: dict, prefix: str = "") -> None:
    """A size the class defaults to an integer must be an integer (an integral float is read as one);
    `prefix` names a sub-config in the errors."""
    for field, default in defaults.items():
        if not is_size(field) or isinstance(default, bool) or not isinstance(default, int) or field not in config:
            continue
        value = given = config[field]
        if value is None or isinstance(value, (list, dict)):  # per-layer values (gemma3n intermediate_size): the layer lists' checks
            continue
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and math.isfinite(value)):
            raise _error(f"config field '{prefix}{field}' must be an integer, got {value!r}")
        if isinstance(value, int) and value.bit_length() > MAX_SIZE_BITS:
            raise _error(f"config field '{prefix}{field}' is implausibly large: {given!r}")


def _facts(config: dict, version: str) -> dict:
    """The pin's table entry for the config's model_type (empty where unknown)."""
    return load_table(version)["model_types"].get(config.get("model_type")) or {}


def _init_defaults(config: dict, version: str) -> dict:
    """The pin's configuration class __init__ defaults for the config's model_type (empty where unknown)."""
    return _facts(config, version).get("init_defaults") or {}


def check_derived(config: dict, version: str) -> None:
    """The checks for derived roots only: a hand rule says what it prices with its own `accepts:` and
    `requires:` (E014; phi3's config class turns a legacy "su" or "LongRoPE" into longrope, which the
    pin's rope table lacks)."""
    _check_groups(config)
    _check_rope(config, _init_defaults(config, version), version)


def _check_groups(config: dict) -> None:
    """Grouped-query attention repeats each KV head num_attention_heads // num_key_value_heads times:
    a KV head count that does not divide the head count builds a model whose attention cannot run."""
    heads, kv = config.get("num_attention_heads"), config.get("num_key_value_heads")
    if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (heads, kv)) and heads % kv:
        raise _error(f"config field 'num_key_value_heads' is {kv}, which does not divide num_attention_heads = {heads}")


WINDOW_FIELDS = ("sliding_window", "attention_window")
"""Window lengths in positions: null (or a use_sliding_window switch) turns them off; a negative one
builds a mask transformers cannot broadcast (verify: C012 at `attn_weights + causal_mask`)."""


def _check_windows(config: dict) -> None:
    """A window length that is negative."""
    for field in WINDOW_FIELDS:
        value = config.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise _error(f"config field '{field}' is {value!r}; a window is a number of positions (null turns it off)")


TEXT_CONFIG_FIELDS = ("text_config", "decoder", "generator")
"""Fields PretrainedConfig.get_text_config returns when set (4.56 and 5.23): the generation config
built with the model calls `.to_dict()` on it, so a stray one (a string, a list, a plain mapping,
even 0) fails the build of a class that does not declare it as a sub-config."""


def _check_sub_configs(config: dict, version: str) -> None:
    """A sub-config the class declares must be a mapping (or null, its default), and the sizes in it
    integers as at the top level; a text-config field the class does not declare is refused."""
    table = load_table(version)["model_types"]
    facts = _facts(config, version)
    for field, cls in (facts.get("sub_configs") or {}).items():
        value = config.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise _error(f"config field '{field}' must be a mapping (a {field.removesuffix('_config')} config), got {_brief(value)}")
        by_class = [f for f in table.values() if f.get("config_class") == cls]
        defaults = (by_class[0].get("init_defaults") or {}) if len(by_class) == 1 else {}
        _check_sizes(value, defaults, f"{field}.")
    for field in TEXT_CONFIG_FIELDS:
        value = config.get(field)
        if value is None or field in (facts.get("sub_configs") or {}) or field in (facts.get("init_defaults") or {}):
            continue
        raise _error(f"config field '{field}' is {_brief(value)}, but {config.get('model_type')} has no '{field}' sub-config: "
                     f"transformers {version} reads it as the text config (get_text_config) and cannot build the model; remove it")


def _brief(value: object) -> str:
    """A value as the error quotes it, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_config(config: dict, version: str) -> None:
    """Refuse, with one C001 line, a config value the pin's transformers refuses (see the module docstring)."""
    defaults = _init_defaults(config, version)
    _check_sub_configs(config, version)
    _check_sizes(config, defaults)
    _check_undeclared_sizes(config, defaults, version)
    _check_activations(config, defaults, version)
    _check_attention(config, version)
    _check_windows(config)
