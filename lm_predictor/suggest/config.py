"""The model config as the analysis sees it: the configuration class's `__init__`, run symbolically.

Raw config keys with scalar values (int, float, bool, or None where the class annotates a
number) become rule parameters, named as stored (attribute_map aliases resolve to the stored
name, e.g. GPT-2's `hidden_size` -> `n_embd`). Keys with strings, lists or dicts (`hidden_act`,
`rope_scaling`, `layer_types`) are specialised: the analysis uses their value from the given
config, or the pinned class default, and records which ones it read (they key eval's cache).
What `__init__` derives (`head_dim = head_dim if head_dim is not None else hidden // heads`) is
kept as a formula, so defaults follow the source.
"""

from __future__ import annotations

import json
from typing import Any

from astroid import nodes

from lm_predictor.data.transformers_table import config_facts, load_table, resolve_config
from lm_predictor.diagnostics import A_CONFIG_CLASS
from lm_predictor.suggest import brains, expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.pyvalues import ConfigV
from lm_predictor.suggest.scope import ParamInfo
from lm_predictor.suggest.values import ATTN_IMPLEMENTATION, ClassV, DictV, FunctionV, ListV, ObjectV, Phi, Unknown


# Runtime switches: the attention path is the workload fact `attn_implementation__sdpa` (eager
# or sdpa, as eval's --attn binds it); the rest is fixed to what `lmpredict verify` runs.
RUNTIME = {
    "_attn_implementation": ATTN_IMPLEMENTATION,
    "_attn_implementation_internal": ATTN_IMPLEMENTATION,
    "output_attentions": False,
    "output_hidden_states": False,
    "return_dict": True,
    "use_return_dict": True,
    "use_cache": True,
    "torchscript": False,
    "gradient_checkpointing": False,
    "_experts_implementation": None,
    "pruned_heads": {},
}

POST_INIT_KWARGS = ("per_layer_config",)
"""Keys 5.x PreTrainedConfig.__post_init__ pops from its **kwargs (HeterogeneousConfigMixin), though the
default instance has them as attributes: a config that gives one passes it as a keyword, so a subclass's
`"per_layer_config" not in kwargs` (gemma4's default per-layer head dims) sees it, even as `{}`."""

STANDARDISED = ("rope_parameters",)
"""Fields PreTrainedConfig.__post_init__ fills in (a nested config takes them from its type's default instance)."""

SCALAR_PRETRAINED = {"tie_word_embeddings"}
"""PretrainedConfig keys that stay parameters; the others are specialised constants."""


class ConfigModel:
    """Attributes of one model type's config object, as formulas over its raw keys."""

    def __init__(self, model_type: str, overrides: dict | None = None):
        facts = config_facts(model_type)
        if facts is None:
            raise ValueError(f"unknown model_type {model_type!r}")
        self.model_type = model_type
        self.facts = facts
        raw = {"model_type": model_type, **(overrides or {})}
        self.resolved = resolve_config(raw)
        self.given = set(overrides or {})
        self.attribute_map: dict = facts.get("attribute_map") or {}
        self.init_defaults: dict = facts.get("init_defaults") or {}
        self.pretrained_defaults: dict = dict(load_table()["pretrained_defaults"])
        self.pretrained_defaults.update(facts.get("pretrained_overrides") or {})
        self.params: dict[str, ParamInfo] = {}
        self.attrs: dict = {}
        self.read_constants: dict = {}
        self.cls: ClassV | None = None
        self.annotations: dict = {}
        self.built = False
        self.dataclass = False  # a 5.x dataclass config (fields set from the table, then __post_init__)
        self.specialised: dict = {}  # fields made constants (the layer count a derived per-layer list follows)
        self.folded: dict = {}  # given numbers and flags the analysis made constants (specialise.py: they key eval's cache)

    # ---------------------------------------------------------------- building

    def build(self, interp: Any) -> None:
        """Run the configuration class's __init__ symbolically (once)."""
        if self.built:
            return
        self.built = True
        cls = interp.resolve_qualname(self.facts["config_class"])
        if not isinstance(cls, ClassV):
            self.attrs = {k: self.convert(k, v) for k, v in self.resolved.items()}
            return
        self.cls = cls
        interp.config_model_building = self
        init = interp.class_attr(cls, "__init__")
        obj = ObjectV(cls, {}, kind="config")
        obj.attribute_map = self.attribute_map
        kwargs: dict = {}
        post_init = interp.class_attr(cls, "__post_init__")
        if not isinstance(init, FunctionV) and (isinstance(post_init, FunctionV) or _has_fields(interp, cls)):
            # a 5.x dataclass config; one with no __post_init__ of its own (GPT2Config) still sets its fields
            self.build_dataclass(interp, cls, obj, post_init if isinstance(post_init, FunctionV) else None)
        elif isinstance(init, FunctionV):
            args = init.node.args
            names = [p.name for p in list(args.posonlyargs or []) + list(args.args or []) + list(args.kwonlyargs or [])][1:]
            for arg, ann in zip(list(args.posonlyargs or []) + list(args.args or []), list(args.posonlyargs_annotations or []) + list(args.annotations or [])):
                if ann is not None:
                    self.annotations[arg.name] = ann.as_string()
            for arg, ann in zip(list(args.kwonlyargs or []), list(args.kwonlyargs_annotations or [])):
                if ann is not None:
                    self.annotations[arg.name] = ann.as_string()
            for name in names:
                if name in self.resolved or name in self.init_defaults:  # PretrainedConfig's own keys stay constants there too
                    kwargs[name] = self.convert(name, self.resolved.get(name), pretrained=name in self.pretrained_defaults)
            extra = {k: v for k, v in self.resolved.items() if k not in names and k not in self.pretrained_defaults and k != "model_type"}
            if args.kwarg:
                for k, v in extra.items():
                    kwargs[k] = self.convert(k, v)
            _run_config_method(interp, init, obj, kwargs)
        self.attrs = obj.attrs

    def build_dataclass(self, interp: Any, cls: ClassV, obj: ObjectV, post_init: FunctionV | None) -> None:
        """A transformers 5.x config: a dataclass whose generated __init__ sets every field, then
        __post_init__ derives the rest (head_dim from hidden_size, ...), run here symbolically.

        PreTrainedConfig.__post_init__ is a brain: it builds the sub-configs of `sub_configs_defaults`
        and sets the keys that are no field; what it standardises (rope_parameters, ...) comes from the
        table's default instance where the config gives no value."""
        for klass in reversed(interp.mro(cls)):
            if isinstance(klass, ClassV):
                for stmt in klass.node.body:
                    if isinstance(stmt, nodes.AnnAssign) and isinstance(stmt.target, nodes.AssignName):
                        self.annotations[stmt.target.name] = stmt.annotation.as_string()
        self.dataclass = True
        derived = self.facts.get("derived_from_none") or {}
        own = set(self.init_defaults) - set(self.pretrained_defaults)
        own |= {self.attribute_map[k] for k in own if k in self.attribute_map}  # qwen3_moe's field num_experts is stored as num_local_experts
        names = set(self.init_defaults) | set(self.resolved)
        counts = self.list_counts(names, derived)
        later: list = []
        for name in sorted(names):
            if name == "model_type" or self.attribute_map.get(name) in names:
                continue  # an alias (num_local_experts -> n_routed_experts): the stored name sets it
            value = self.resolved.get(name)
            if value is None and isinstance(derived.get(name), (dict, list, str)) and name not in self.given and not _object_repr(derived[name]):
                if isinstance(derived[name], list) and counts - self.default_counts(counts):
                    later.append(name)  # __post_init__ builds it from the config's own layer count (beam, laguna)
                else:
                    value = derived[name]  # the default instance's list holds at the default count
            if name in counts:  # the derived rules hold for this count only: keyed by it (derive's cache)
                self.specialised[name] = value
                if value != self.init_defaults[name]:
                    self.setattr(obj, name, _python(value))
                    continue
            self.setattr(obj, name, self.convert(name, value, pretrained=name not in own))
        # keys given that are no field reach __post_init__(**kwargs), as the dataclass __init__ passes them
        # (gemma4's `"per_layer_config" not in kwargs`); PreTrainedConfig.__post_init__ then sets them (brains)
        fields = (set(self.annotations) | set(self.attribute_map) | set(self.pretrained_defaults) | {"model_type"}) - set(POST_INIT_KWARGS)
        extra = {k: self.convert(k, self.resolved[k]) for k in sorted(self.given) if k not in fields and k in self.resolved}
        _post_init(interp, post_init, obj, extra)
        for name in later:  # one __post_init__ left None, or built of values it cannot tell: the default instance's, as before
            if not _plain_list(obj.attrs.get(self.attribute_map.get(name, name))):
                self.setattr(obj, name, self.convert(name, derived[name], pretrained=name not in own))

    def list_counts(self, names: set, derived: dict) -> set:
        """Int fields a per-layer list the config leaves None follows (its length is their default): the rules
        are keyed by them; one set otherwise is a constant, so __post_init__ derives the list from its value."""
        lengths = {len(v) for k, v in derived.items() if isinstance(v, list) and v and k in names and k not in self.given and self.resolved.get(k) is None}
        return {k for k in names if _is_count(self.init_defaults.get(k)) and self.init_defaults[k] in lengths and _is_count(self.resolved.get(k))}

    def default_counts(self, counts: set) -> set:
        """The counts the config leaves at their class default."""
        return {k for k in counts if self.resolved.get(k) == self.init_defaults.get(k)}

    def pretrained_init(self, interp: Any, obj: ObjectV, kwargs: dict) -> None:
        """PretrainedConfig.__init__: its own keys (given ones win), then leftover kwargs."""
        for key, default in self.pretrained_defaults.items():
            if key in kwargs:
                value = kwargs.pop(key)
            else:
                value = self.convert(key, self.resolved.get(key, default), pretrained=True)
            self.setattr(obj, key, value)
        for key in ("torch_dtype", "dtype"):
            kwargs.pop(key, None)
        for key, value in kwargs.items():  # set last, as transformers does: a file's value wins over one __init__ set before
            self.setattr(obj, key, value)

    def sub_config_init(self, obj: ObjectV, kwargs: dict) -> None:
        """PretrainedConfig.__init__ of a nested config (`SiglipVisionConfig(**vision_config)` inside the
        model's config): its own keys as constants (given ones win), the runtime switches, leftover kwargs."""
        for key, default in self.pretrained_defaults.items():
            if key not in obj.attrs:
                obj.attrs[key] = kwargs.pop(key) if key in kwargs else _python(default)
        for key, value in RUNTIME.items():
            obj.attrs.setdefault(key, _python(value))
        for key in ("torch_dtype", "dtype"):
            kwargs.pop(key, None)
        for key, value in kwargs.items():
            obj.attrs.setdefault(key, value)

    def dataclass_instance(self, interp: Any, cls: ClassV, kwargs: dict) -> ObjectV:
        """`SubConfig(**kwargs)` of a 5.x dataclass config class (a composite model's text or vision part):
        its fields' class defaults and the given values as constants (a nested config's given values key
        the cache, as in 4.x), the runtime switches, then its __post_init__ with the keys that are no field."""
        obj = ObjectV(cls, {}, kind="config")
        amap = interp.class_attr(cls, "attribute_map")
        obj.attribute_map = {k: v for k, v in amap.items.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(amap, DictV) else {}
        fields: list = []
        for klass in reversed(interp.mro(cls)):
            if isinstance(klass, ClassV):
                for stmt in klass.node.body:
                    if isinstance(stmt, nodes.AnnAssign) and isinstance(stmt.target, nodes.AssignName) and stmt.target.name not in fields:
                        fields.append(stmt.target.name)
        given = {obj.attribute_map.get(k, k): v for k, v in kwargs.items()}
        for name in fields:
            obj.attrs[name] = given[name] if name in given else interp.class_attr(cls, name)
        for key, value in RUNTIME.items():
            obj.attrs.setdefault(key, _python(value))
        post_init = interp.class_attr(cls, "__post_init__")
        _post_init(interp, post_init if isinstance(post_init, FunctionV) else None, obj, {k: v for k, v in given.items() if k not in fields})
        # what PreTrainedConfig.__post_init__ standardises (rope_parameters) comes from the table's default instance
        table = load_table()["model_types"]
        derived = next((f.get("derived_from_none") or {} for f in table.values() if f.get("config_class") == cls.qualname), {})
        for name in STANDARDISED:
            if obj.attrs.get(name) is None and isinstance(derived.get(name), dict) and not _object_repr(derived[name]):
                obj.attrs[name] = _python(derived[name])
        return obj

    def fold(self, name: str, value: Any) -> None:
        """Record a given number or flag the analysis uses as a constant: the rules hold for that value only."""
        if isinstance(value, (bool, int, float)) and (name in self.given or any(self.attribute_map.get(k) == name for k in self.given)):
            self.folded[name] = value

    def setattr(self, obj: ObjectV, name: str, value: Any) -> None:
        obj.attrs[self.attribute_map.get(name, name)] = value

    def convert(self, name: str, value: Any, pretrained: bool = False) -> Any:
        """A raw config value as the analysis uses it: a parameter, or a specialised constant."""
        if name in RUNTIME:
            return _python(RUNTIME[name])
        if pretrained and name not in SCALAR_PRETRAINED:
            self.fold(name, value)
            return _python(value)
        ann = self.annotations.get(name, "").lower()
        nullable = "optional" in ann or "none" in ann or (name in self.init_defaults and self.init_defaults[name] is None)
        if nullable and self.dataclass and self.init_defaults.get(name) is not None:
            # 5.x `decoder_layers: int | None = 12` holding a number: a number (a config that gives
            # null is derived apart: eval keys derivations by the config's null values)
            nullable = False
        if nullable and isinstance(value, (bool, int, float)):
            kind = "bool" if isinstance(value, bool) else ("int" if isinstance(value, int) else "number")
            self.declare(name, kind, None, optional=True)
            sym = X.bsym(name) if kind == "bool" else Num.sym(name)
            return Phi(X.defined(name), sym, None)
        if isinstance(value, bool):
            self.declare(name, "bool", value)
            return X.bsym(name)
        if isinstance(value, int):
            self.declare(name, "int", value)
            return Num.sym(name)
        if isinstance(value, float):
            self.declare(name, "number", value)
            return Num.sym(name)
        if value is None:
            kind = self.none_kind(name)
            if kind is None:
                return None
            self.declare(name, kind, None, optional=True)
            sym = X.bsym(name) if kind == "bool" else Num.sym(name)
            return Phi(X.defined(name), sym, None)
        return _python(value)

    def none_kind(self, name: str) -> str | None:
        """The parameter type of a key whose value is None, from its annotation (None: not a number)."""
        ann = self.annotations.get(name, "")
        low = ann.lower()
        if any(t in low for t in ("dict", "list", "str", "callable", "tuple", "config", "any")):
            return None
        if "bool" in low:
            return "bool"
        if "float" in low:
            return "number"
        if "int" in low:
            return "int"
        if name in ("rope_scaling", "layer_types", "quantization_config", "sub_configs", "rope_parameters"):
            return None
        if not name.startswith(("num_", "n_")) and name.endswith(("layers", "types", "ids", "indices", "list", "mapping", "map", "kwargs", "config", "scaling", "blocks", "dims", "sizes", "factors", "patterns")):
            return None  # a list / dict the model reads (e.g. mlp_only_layers)
        return "int"

    def declare(self, name: str, typ: str, default: Any, optional: bool = False) -> None:
        if typ == "number":
            X.symbol_facts().floats.add(name)
        if name in self.params:
            return
        table_default = self.init_defaults.get(name, self.pretrained_defaults.get(name, default))
        doc = f"config.{name}"
        if optional or table_default is None or isinstance(table_default, (list, dict, str)):
            if table_default is not None and not isinstance(table_default, (list, dict, str)):
                doc += f" (may be null; the configuration class default is {json.dumps(table_default)})"
            else:
                doc += " (optional)"
            optional = True
            table_default = None
        self.params[name] = ParamInfo(name, "config", typ, doc, table_default, optional)

    # ---------------------------------------------------------------- reading

    def has(self, name: str) -> bool:
        name = self.attribute_map.get(name, name)
        return name in self.attrs or name in RUNTIME or (self.cls is not None and _class_defines(self.cls, name))

    def get(self, interp: Any, name: str, node: Any) -> Any:
        self.build(interp)
        name = self.attribute_map.get(name, name)
        if name in RUNTIME:
            return _python(RUNTIME[name])
        if name in ("per_layer_config", "is_heterogeneous"):  # 5.x HeterogeneousConfigMixin
            overrides = self.layer_overrides()
            if name == "is_heterogeneous":
                return X.bconst(bool(overrides))
            return ObjectV(None, {"overrides": overrides, "layer_types": self.attrs.get("layer_types")}, kind="per-layer-config")
        if name in self.attrs:
            value = self.attrs[name]
            self.note_read(name, value)
            return value
        if self.cls is not None:
            attr = interp.class_attr(self.cls, name)
            if attr is not None:
                return interp.bind_attr(attr, ConfigV(self), node)
        if name in self.resolved:
            value = self.convert(name, self.resolved[name])
            self.attrs[name] = value
            return value
        info = self.params.get(name)
        if info is not None:  # an optional key the model tests with hasattr()
            return X.bsym(name) if info.type == "bool" else Num.sym(name)
        special = brains.config_method(interp, self, name)
        if special is not None:
            return special
        return Unknown(f"config has no attribute {name!r}")

    def layer_overrides(self) -> dict:
        """{layer: {attribute: value}} of a 5.x `per_layer_config`."""
        value = self.attrs.get("per_layer_config")
        self.note_read("per_layer_config", value)
        return brains.layer_overrides(value)

    def getattr_default(self, interp: Any, name: str, default: Any, node: Any) -> Any:
        """getattr(config, name, default): the attribute if the class sets it, else an optional key."""
        self.build(interp)
        if self.has(name) or name in self.resolved:
            return self.get(interp, name, node)
        if isinstance(default, Num):
            self.declare_extra(name, "int" if X.is_integral(default) else "number")
            return Num.atom(X.Op("opt", (name, default)))
        if isinstance(default, X.Bool):
            self.declare_extra(name, "bool")
            return X.ifbool(X.defined(name), X.bsym(name), default)
        if default is None:
            kind = self.none_kind(name)
            if kind is None:
                return None
            self.declare_extra(name, kind)
            return Phi(X.defined(name), X.bsym(name) if kind == "bool" else Num.sym(name), None)
        return default

    def declare_extra(self, name: str, typ: str) -> None:
        if typ == "number":
            X.symbol_facts().floats.add(name)
        if typ == "int" and (name.endswith(("_dim", "_size", "_heads", "_window", "_layers")) or name.startswith("num_")):
            X.symbol_facts().positive.add(name)  # a size when given
        if name not in self.params:
            self.params[name] = ParamInfo(name, "config", typ, f"config.{name} (optional; not set by the configuration class)", None, True)

    def note_read(self, name: str, value: Any) -> None:
        if isinstance(value, (str, ListV, DictV)) or value is None:
            self.read_constants[name] = _plain(value)
        elif isinstance(value, ObjectV):  # a nested config the model reads: its given values are constants of the rules
            self.read_constants[name] = self.resolved.get(name)


def _run_config_method(interp: Any, fn: FunctionV, obj: ObjectV, kwargs: dict) -> None:
    """Run a config class's __init__ or __post_init__ on `obj` with no cost recording and fresh
    assumptions; a method we cannot run is reported (A101), not fatal."""
    saved = interp.recorder
    saved_assume, saved_mults, saved_facts = interp.assume, interp.mults, interp.facts
    interp.recorder = None
    interp.assume, interp.mults, interp.facts = [], [], []
    obj.assume_base = 0
    try:
        interp.run_function(FunctionV(fn.node, fn.module, fn.qualname, None, obj, fn.owner_class), [], kwargs, fn.node)
    except Exception as err:  # noqa: BLE001 - a config we cannot run is reported, not fatal
        name = fn.qualname.rsplit(".", 1)[-1]
        interp.report(A_CONFIG_CLASS, fn.node, f"configuration class {name} could not be analysed: {type(err).__name__}: {err}")
    finally:
        interp.recorder = saved
        interp.assume, interp.mults, interp.facts = saved_assume, saved_mults, saved_facts


def _plain_list(value: Any) -> bool:
    """A list of plain items (strings, numbers, sizes); exaone_moe's layer_types, built of conditions on symbolic fields, is not."""
    return isinstance(value, ListV) and value.rep is None and all(isinstance(v, (str, bool, Num)) for v in value.items)


def _is_count(value: Any) -> bool:
    """A positive int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _object_repr(value: Any) -> bool:
    """A table value that stands for an object (a sub-config the default instance built): {"repr": "..."}."""
    return isinstance(value, dict) and set(value) == {"repr"}


def _post_init(interp: Any, post_init: FunctionV | None, obj: ObjectV, extra: dict) -> None:
    """A 5.x config's __post_init__(**extra); PreTrainedConfig's own (a brain) where the class defines none."""
    if post_init is not None:
        _run_config_method(interp, post_init, obj, extra)
        return
    saved = interp.recorder
    interp.recorder = None
    try:
        brains.config_post_init(interp, obj, extra)
    finally:
        interp.recorder = saved


def _has_fields(interp: Any, cls: ClassV) -> bool:
    """Whether the class or an analysed base declares annotated fields (a dataclass config)."""
    return any(isinstance(k, ClassV) and any(isinstance(s, nodes.AnnAssign) for s in k.node.body) for k in interp.mro(cls))


def _class_defines(cls: ClassV, name: str) -> bool:
    return name in cls.node.locals


def _python(value: Any) -> Any:
    """A JSON value as an analysis constant (numbers stay exact constants, lists become ListV)."""
    if isinstance(value, bool):
        return X.bconst(value)
    if isinstance(value, (int, float)):
        return Num.const(value)
    if isinstance(value, list):
        return ListV([_python(v) for v in value])
    if isinstance(value, dict):
        return DictV({k: _python(v) for k, v in value.items()})
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, ListV):
        return [_plain(v) for v in value.items]
    if isinstance(value, DictV):
        return {str(k): _plain(v) for k, v in value.items.items()}
    if isinstance(value, Num):
        return X.render(value)
    if isinstance(value, X.Bool):
        return X.render_bool(value)
    return value if isinstance(value, (str, int, float, type(None))) else repr(value)
