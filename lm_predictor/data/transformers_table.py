"""Torch-free reader of the generated transformers config tables, one per pin.

transformers_configs.json (4.56.0) and transformers_configs-5.23.0.json are produced by
scripts/gen_transformers_table.py, each in a venv holding that transformers; this module only
reads JSON, so `lmpredict eval` can fill missing config keys without importing transformers.
Every function takes the pin's version; None means `versions.active_pin()`.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

from lm_predictor.data.versions import PINS, active_pin, pin_of
from lm_predictor.diagnostics import C_ARCH, LmPredictorError, make

# Raw keys that PretrainedConfig 4.56 also exposes under a second name.
_SECOND_NAMES = {"torch_dtype": "dtype", "_name_or_path": "name_or_path"}


def load_table(version: str | None = None) -> dict[str, Any]:
    """The whole table of one pin (cached; treat as read-only)."""
    return _load(version or active_pin())


@functools.lru_cache(maxsize=None)
def _load(version: str) -> dict[str, Any]:
    """The parsed table file of a pin."""
    text = resources.files(__package__).joinpath(PINS[version].table_file).read_text(encoding="utf-8")
    return json.loads(text)


def model_types(version: str | None = None) -> list[str]:
    """All model_type keys known to the table, sorted."""
    return sorted(load_table(version)["model_types"])


def config_facts(model_type: str, version: str | None = None) -> dict[str, Any] | None:
    """A copy of the facts recorded for model_type, or None when unknown."""
    facts = load_table(version)["model_types"].get(model_type)
    return copy.deepcopy(facts) if facts is not None else None


def causal_lm_for(model_type: str, version: str | None = None) -> str | None:
    """Dotted path of the causal-LM class transformers maps model_type to, if any."""
    facts = load_table(version)["model_types"].get(model_type)
    return facts["causal_lm"] if facts else None


_ATOMS = (int, float, str, bool, type(None))


def copied(value: Any) -> Any:
    """`copy.deepcopy(value)`, without its bookkeeping for the immutable scalars most config values are."""
    return value if type(value) in _ATOMS else copy.deepcopy(value)


@functools.lru_cache(maxsize=None)
def _merged_defaults(version: str, model_type: str) -> dict[str, Any]:
    """The three default layers of resolve_config merged once per pin and type (never mutated: callers copy)."""
    table, facts = load_table(version), load_table(version)["model_types"][model_type]
    merged: dict[str, Any] = {}
    for layer in (table["pretrained_defaults"], facts["pretrained_overrides"], facts["init_defaults"]):
        merged.update({k: v for k, v in layer.items() if v is not None})
    return merged


def resolve_config(raw: dict[str, Any], version: str | None = None) -> dict[str, Any]:
    """Return a new dict: defaults transformers would apply, with raw's values on top.

    Layers, later wins: PretrainedConfig defaults, the class's hard-coded overrides of them,
    the class `__init__` defaults, then raw. A null default means "not given" and is skipped,
    so keys that `__init__` derives from None (e.g. llama `num_key_value_heads`) are absent
    unless raw has them. Aliases from the class `attribute_map` are exposed under both names.
    Nested sub-config dicts are copied as given, not resolved, and values that `__init__`
    rewrites from given ones (qwen2 drops `sliding_window` unless `use_sliding_window`) are not
    reproduced.
    """
    model_type = raw.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ValueError("config has no model_type; cannot look up transformers defaults")
    table = load_table(version)
    facts = table["model_types"].get(model_type)
    if facts is None:
        raise ValueError(f"unknown model_type {model_type!r} (not in transformers {table['transformers_version']})")

    aliases: dict[str, str] = facts["attribute_map"]
    resolved = {k: copied(v) for k, v in _merged_defaults(table["transformers_version"], model_type).items()}
    # Like PretrainedConfig.__setattr__: a value given under an alias lands on its target, and
    # aliases are set after the named arguments, so an alias wins when both names are given.
    for key, value in sorted(raw.items(), key=lambda item: item[0] in aliases):
        resolved[aliases.get(key, key)] = copied(value)
    for key, second in _SECOND_NAMES.items():
        if key in raw and second not in raw:
            resolved[second] = copy.deepcopy(raw[key])
    for alias, target in aliases.items():
        if target in resolved:
            resolved[alias] = copy.deepcopy(resolved[target])
    return resolved


def root_rule_name(config: dict) -> str:
    """The causal-LM class for a config: architectures[0], else the model_type's auto mapping."""
    model_type, version = config.get("model_type"), pin_of(config)
    default = causal_lm_for(model_type, version) if isinstance(model_type, str) else None
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str) and archs[0].isidentifier():
        if default is not None:
            return default.rsplit(".", 1)[0] + "." + archs[0] if archs[0].endswith("ForCausalLM") else default
        raise LmPredictorError(make(C_ARCH, None, detail=f"unknown model_type {model_type!r} (architecture {archs[0]})"))
    if default is None:
        raise LmPredictorError(make(C_ARCH, None, detail=f"model_type {model_type!r} has no causal-LM class in transformers {version}"))
    return default


SIZE_SUFFIXES = ("_size", "_layers", "_heads", "_dim", "_features", "_embd", "_layer", "_head", "_positions", "_experts")
NOT_SIZES = ("max_window_layers",)
"""Counts that look like sizes but are not model sizes (Qwen2 max_window_layers=0: every layer slides)."""


def is_size(name: str) -> bool:
    """Whether a config field names a size or a count (an integer the model builds tensors with)."""
    if name in NOT_SIZES:
        return False
    return name.endswith(SIZE_SUFFIXES) or name.startswith(("num_", "n_")) or name in ("vocab_size", "intermediate_size")


@functools.lru_cache(maxsize=None)
def integer_sizes(version: str | None = None) -> frozenset[str]:
    """Size fields that some configuration class of the pin declares with an integer default (head_dim)."""
    return frozenset(field for facts in load_table(version)["model_types"].values() for field, default in (facts.get("init_defaults") or {}).items()
                     if is_size(field) and isinstance(default, int) and not isinstance(default, bool))

