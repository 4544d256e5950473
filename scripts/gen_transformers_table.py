"""Generate lm_predictor/data/transformers_configs.json from the installed transformers.

Run with the venv that has the pinned transformers: `.venv/bin/python scripts/gen_transformers_table.py`.
The table lets `lmpredict` fill missing config keys without importing transformers.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import logging
import math
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "lm_predictor" / "data" / "transformers_configs.json"
_UNSET = object()


class _Unrepresentable(Exception):
    """Raised for a value JSON cannot carry faithfully."""


def _to_json(value: Any) -> Any:
    """Return a JSON-able copy of value (tuples become lists) or raise _Unrepresentable."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unrepresentable
        return value
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _to_json(v) for k, v in value.items()}
    raise _Unrepresentable


def _json_or_repr(value: Any) -> Any:
    """JSON-able value, or {"repr": ...} when it is not."""
    try:
        return _to_json(value)
    except _Unrepresentable:
        return {"repr": repr(value)}


def _path(obj: type) -> str:
    """Defining module path plus qualified name of a class."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _signature_defaults(func: Any) -> tuple[dict, dict, list[str]]:
    """Split a signature into JSON defaults, unrepresentable reprs and required names."""
    defaults: dict[str, Any] = {}
    unrepresentable: dict[str, str] = {}
    required: list[str] = []
    for name, param in inspect.signature(func).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is param.empty:
            required.append(name)
            continue
        try:
            defaults[name] = _to_json(param.default)
        except _Unrepresentable:
            unrepresentable[name] = repr(param.default)
    return defaults, unrepresentable, required


def _popped_kwargs(func: Any) -> dict[str, Any]:
    """Literal defaults of `kwargs.pop("name", default)` calls in func's source."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):  # a generated __init__ (5.x configs are dataclasses): no source
        return {}
    tree = ast.parse(textwrap.dedent(source))
    popped: dict[str, Any] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "pop"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "kwargs"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            default = node.args[1] if len(node.args) > 1 else None
            try:
                popped[node.args[0].value] = ast.literal_eval(default) if default else None
            except ValueError:
                continue  # a computed default: nothing static to record
    return popped


def pretrained_defaults() -> dict[str, Any]:
    """PretrainedConfig.__init__ keyword defaults plus the kwargs it pops with a literal default."""
    from transformers import PretrainedConfig

    defaults, _, _ = _signature_defaults(PretrainedConfig.__init__)
    # 4.x pops extra kwargs in __init__; 5.x configs are dataclasses and pop them in __post_init__
    for func in (PretrainedConfig.__init__, getattr(PretrainedConfig, "__post_init__", None)):
        for name, value in (_popped_kwargs(func) if func else {}).items():
            defaults.setdefault(name, value)
    return defaults


def _default_instance(cls: type) -> tuple[Any, str | None]:
    """Build cls() with defaults alone; (None, one-line error) when that fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cls(), None
    except Exception as exc:  # some classes cannot be built from defaults alone
        first = str(exc).splitlines()[0] if str(exc) else ""
        return None, f"{type(exc).__name__}: {first}"


def _instance_facts(instance: Any, init: dict, base: dict) -> tuple[dict, dict]:
    """Compare a default instance with the declared defaults.

    Returns (derived_from_none, pretrained_overrides): init args whose default is None but
    whose instance attribute is set, and PretrainedConfig defaults the class changes without
    declaring them in its signature.
    """
    if instance is None:
        return {}, {}
    derived = {}
    for name, default in init.items():
        if default is None:
            value = getattr(instance, name, _UNSET)
            if value is not _UNSET and value is not None:
                derived[name] = _json_or_repr(value)
    overrides = {}
    for name, default in base.items():
        if name in init or name in ("dtype", "torch_dtype", "id2label", "label2id", "num_labels", "per_layer_config"):
            continue  # dtype becomes a torch.dtype; labels default to a 2-label map; 5.x per-layer view object
        value = getattr(instance, name, _UNSET)
        if value is _UNSET or (isinstance(value, (dict, list)) and not value):
            continue
        if value != default:
            overrides[name] = _json_or_repr(value)
    return derived, overrides


def _sub_configs(cls: type, instance: Any) -> dict[str, str]:
    """Sub-config names mapped to their class path ("AutoConfig" for any)."""
    subs = cls.__dict__.get("sub_configs", getattr(cls, "sub_configs", None))
    if isinstance(subs, property):  # computed per instance in a few classes
        subs = getattr(instance, "sub_configs", None) if instance is not None else None
    if not isinstance(subs, dict):
        return {}
    return {
        name: ("AutoConfig" if sub.__name__ == "AutoConfig" else _path(sub))
        for name, sub in sorted(subs.items())
    }


def build_table() -> dict[str, Any]:
    """Collect config facts for every model_type in CONFIG_MAPPING."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation chatter from default instances
        return _build_table()


def _build_table() -> dict[str, Any]:
    """build_table without the warning filter."""
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    class_to_module = sys.modules["transformers"]._class_to_module
    base = pretrained_defaults()
    types: dict[str, Any] = {}
    for model_type in sorted(CONFIG_MAPPING.keys()):
        cls = CONFIG_MAPPING[model_type]
        init, unrepresentable, required = _signature_defaults(cls.__init__)
        instance, error = _default_instance(cls)
        derived, overrides = _instance_facts(instance, init, base)
        lm_name = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(model_type)
        entry: dict[str, Any] = {
            "config_class": _path(cls),
            "class_model_type": cls.model_type,
            "init_defaults": init,
            "unrepresentable": unrepresentable,
            "attribute_map": dict(getattr(cls, "attribute_map", {}) or {}),
            "sub_configs": _sub_configs(cls, instance),
            "in_causal_lm_mapping": lm_name is not None,
            "causal_lm": f"transformers.{class_to_module[lm_name]}.{lm_name}" if lm_name else None,
            "derived_from_none": derived,
            "pretrained_overrides": overrides,
        }
        if required:
            entry["required_args"] = required
        if error:
            entry["default_instance_error"] = error
        types[model_type] = entry
    return {
        "transformers_version": transformers.__version__,
        "pretrained_defaults": base,
        "generation_defaults": _generation_defaults(transformers.PretrainedConfig),
        "model_types": types,
    }


def _generation_defaults(base: type) -> dict[str, Any]:
    """Generation keys a 4.x config still carries; 5.x keeps none (they live in GenerationConfig)."""
    getter = getattr(base, "_get_global_generation_defaults", None)
    return _to_json(getter()) if getter else {}


def render(table: dict[str, Any]) -> str:
    """Deterministic JSON text of the table."""
    return json.dumps(table, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the generated table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail if the file on disk is stale")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    text = render(build_table())
    if args.check:
        if not args.out.exists() or args.out.read_text() != text:
            print(f"{args.out} is stale; rerun scripts/gen_transformers_table.py", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
