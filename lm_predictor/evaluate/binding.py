"""Config + workload -> the root rule and its bindings (statically: no torch, no transformers)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lm_predictor import diagnostics as d
from lm_predictor.data.transformers_table import root_rule_name
from lm_predictor.data.versions import DEFAULT_PIN, other_pins
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.facts import derived_facts, lookup_fact, workload_fact
from lm_predictor.formula.values import Value
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Rule
from lm_predictor.workload import Workload

WORKLOAD_PARAMS = ("batch", "seq_len", "past_len", "dtype_bytes")
"""Parameters every model-level rule may declare; eval binds them from the workload."""

_SIZE_SUFFIXES = ("_size", "_layers", "_heads", "_dim", "_features", "_embd", "_layer", "_head", "_positions", "_experts")
_NOT_SIZES = ("max_window_layers",)
"""Counts that look like sizes but may be 0 (Qwen2 max_window_layers=0: every layer slides)."""
_NEVER_ZERO = (
    "hidden_size", "n_embd", "d_model", "vocab_size", "num_attention_heads", "n_head",
    "num_hidden_layers", "n_layer", "num_key_value_heads", "head_dim", "intermediate_size",
)
"""Sizes no model has at 0; other sizes may be 0 where a model switches a part off with it
(granitemoeshared shared_intermediate_size=0: no shared MLP), so only a negative one is refused."""


def _config_error(detail: str) -> LmPredictorError:
    return LmPredictorError(d.make(d.C_CONFIG, None, detail=detail))


def resolve(raw: dict, version: str = DEFAULT_PIN, why: str = "") -> dict:
    """Fill missing keys with the defaults of pin `version`'s configuration class (static table).

    The result records the pin as its transformers_version, as transformers writes its own
    version into every config it saves."""
    from lm_predictor.data.transformers_table import model_types, resolve_config

    if "model_type" not in raw:
        raise _config_error("config has no 'model_type'")
    if not isinstance(raw["model_type"], str):
        raise _config_error("'model_type' must be a string")
    if raw["model_type"] not in model_types(version):
        knows = [v for v in other_pins(version) if raw["model_type"] in model_types(v)]
        if knows:
            chosen = f"transformers {version}" + (f" ({why})" if why else "")
            detail = f"model_type {raw['model_type']!r} is not in {chosen}; transformers {knows[0]} defines it: pass --transformers {knows[0]}"
            raise LmPredictorError(d.make(d.C_OTHER_PIN, None, detail=detail))
    try:
        return {**resolve_config(raw, version), "transformers_version": version}
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_ARCH, None, detail=str(err).splitlines()[0])) from None


def find_root_rule(library: RuleLibrary, config: dict) -> Rule:
    """The library rule for the config's causal-LM class, or a one-line unknown-architecture error."""
    name = root_rule_name(config)
    rule = library.get(name)
    if rule is None:
        raise LmPredictorError(d.make(d.C_ARCH, None, detail=f"no rule for {name} (model_type {config.get('model_type')!r}); run `lmpredict suggest --recursive {name}`"))
    return rule


def _is_size(name: str) -> bool:
    if name in _NOT_SIZES:
        return False
    return name.endswith(_SIZE_SUFFIXES) or name.startswith(("num_", "n_")) or name in ("vocab_size", "intermediate_size")


def _json_number(value: float) -> str:
    """inf / nan as a config.json spells them."""
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def nested_field(config: dict, path: str) -> object:
    """The value at a dotted path (`rope_scaling.rope_type`); None where a step is absent.

    A step that is present but not a mapping is a config error (transformers fails on it too)."""
    value: object = config
    walked: list[str] = []
    for part in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _config_error(f"config field '{'.'.join(walked)}' must be a mapping, got {value!r}")
        walked.append(part)
        value = value.get(part)
    return value


def refuse_unpriced_strings(rule: Rule, config: dict) -> None:
    """A config string the rule's `accepts:` does not list (a typo, or a value such as "xielu" the
    rule does not model) is an error: its derived switches would all stay false, pricing the default."""
    for name, allowed in rule.accepts.items():
        value = nested_field(config, name)
        if value is not None and value not in allowed:
            model = rule.name.rsplit(".", 1)[-1]
            raise _config_error(f"config field '{name}' is {value!r}, which the {model} rule does not price; it prices {', '.join(allowed)}")


def bind(rule: Rule, config: dict, workload: Workload) -> dict[str, Value]:
    """Bindings for the root rule: workload params, then config fields the rule declares."""
    refuse_unpriced_strings(rule, config)
    values: dict[str, Value] = {}
    workload_values = {"batch": workload.batch, "seq_len": workload.seq_len, "past_len": workload.past_len, "dtype_bytes": workload.itemsize}
    derived = None  # flattened on the first derived name: most rules declare none
    for name, spec in rule.params.items():
        if spec.derived:  # computed by the rule itself; a config key of that name is not read
            continue
        if name in workload_values:
            values[name] = workload_values[name]
            continue
        # derived names (`a__b`) come only from the facts, never from a literal config key
        if "__" in name:
            value = workload_fact(name, workload.dtype, workload.attn)
            if value is None:
                derived = derived or derived_facts(config)
                value = lookup_fact(name, *derived)
        else:
            value = config.get(name)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise LmPredictorError(d.make(d.C_NON_FINITE, None, detail=f"config field '{name}' is {_json_number(value)}; {rule.name} computes with it and needs a finite number"))
        if spec.type == "bool":
            if not isinstance(value, bool):
                raise _config_error(f"config field '{name}' must be true or false, got {value!r}")
        elif spec.type == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _config_error(f"config field '{name}' must be an integer, got {value!r}")
            if _is_size(name) and (value < 0 or (value == 0 and name in _NEVER_ZERO)):
                raise _config_error(f"config field '{name}' must be {'positive' if name in _NEVER_ZERO else 'zero or more'}, got {value}")
            if value.bit_length() > 62:
                raise _config_error(f"config field '{name}' is implausibly large: {value}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _config_error(f"config field '{name}' must be a number, got {value!r}")
        values[name] = value
    missing = [name for name, spec in rule.params.items() if spec.required and name not in values]
    if missing:
        raise _config_error(f"config lacks required field(s) {', '.join(missing)} for {rule.name}")
    return values
