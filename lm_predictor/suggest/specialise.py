"""What a derived rule is specialised on, and the part of eval's derive-cache key that follows from it.

A config number is a rule parameter, but the analysis may still depend on it. It folds it into a
constant (a PretrainedConfig key such as `add_cross_attention`, a switch condition's `block_size`,
a layer count a per-layer list follows, an unresolved term's guard it decides): the rule holds for
that *value* only. Or it asks the number's sign (the analysis starts from the signs of the given
config's numbers, so `dropout != 0` folds to true at 0.1): the rule holds for every number of that
*sign*. The analysis records both (`specialised_on` / `signs_on` of a suggest result); eval keys a
derived rule by exactly those, so it is reused at any config that agrees on them, and never at one
that does not. This module imports nothing heavy: the warm cache path uses it.
"""

from __future__ import annotations

from typing import Any


VALUE, SIGN = "value", "sign"
"""How a derived rule depends on a config key: on its value, or on its sign only."""


def sign_of(value: Any) -> str:
    """The sign class of a config number ('> 0', '== 0', '< 0'); anything else is its own class."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    return "> 0" if value > 0 else ("== 0" if value == 0 else "< 0")


def spec_of(values: dict, signs: dict) -> dict:
    """{name: VALUE or SIGN}: what a rule specialised on `values` and `signs` depends on (a value wins)."""
    return {**{name: SIGN for name in signs}, **{name: VALUE for name in values}}


def key_values(spec: dict, resolved: dict) -> dict:
    """The part of the cache key a config gives for a rule's spec: each value, or each sign class."""
    return {name: resolved.get(name) if how == VALUE else sign_of(resolved.get(name)) for name, how in sorted(spec.items())}


def shown(values: dict, signs: dict) -> str:
    """`n=2, dropout > 0`: the specialisation as notes and rule headers print it."""
    parts = {name: f"{name}={value!r}" for name, value in values.items()}
    parts.update({name: f"{name} {sign}" for name, sign in signs.items() if name not in values})
    return ", ".join(parts[name] for name in sorted(parts))


def given_numbers(resolved: dict, given: set, attribute_map: dict) -> set:
    """The stored names of the config numbers (not bools) the config itself gives (under any alias)."""
    names = set(given) | {attribute_map.get(k, k) for k in given}
    return {n for n in names if isinstance(resolved.get(n), (int, float)) and not isinstance(resolved.get(n), bool)}
