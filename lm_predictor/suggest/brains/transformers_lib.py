"""transformers internals the analysis does not read from source.

Library plumbing (logging, decorators, availability checks, attention masks, the module and
config base classes, ACT2FN, GPT-2's Conv1D) has a fixed, cost-free meaning under
`lmpredict verify`'s workload: no attention mask passed, eval mode (the attention path is the
workload fact `attn_implementation__sdpa`, see `attention_function`). These
modules are `External` names; everything under `transformers.models.*`, `modeling_rope_utils`,
`activations` classes and `modeling_outputs` is read from source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from astroid import nodes

from lm_predictor.diagnostics import A_ACTIVATION, A_CACHE_IN_FORWARD, A_MODULE_PARAMS, A_TIE_UNKNOWN
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import saved
from lm_predictor.suggest.brains.base import CallSite, brain, callee, prefix, text_config_object
from lm_predictor.suggest.brains.cache import built_layers
from lm_predictor.suggest.brains.layout import free, gap
from lm_predictor.suggest.brains.masks import (
    causal_mask, causal_mask_v5, extended_mask, legacy_causal_mask, looks_like_legacy_mask, padding_mask_for_sdpa, padding_warning,
    prepare_4d_causal_mask,
)
from lm_predictor.suggest.expr import ONE, TRUE, ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import BrainFunc, ConfigV
from lm_predictor.suggest.resolve import ABSENT_PACKAGES
from lm_predictor.suggest.scope import Instance, ModRef, Template, Term, TorchModule
from lm_predictor.suggest.values import ATTN_IMPLEMENTATION, CacheV, ClassV, DictV, External, FunctionV, ListV, ObjectV, Phi, Repeated, Tensor, Unknown


EXTERNAL_MODULES = (
    "transformers.utils",
    "transformers.integrations",
    "transformers.generation",
    "transformers.processing_utils",
    "transformers.modeling_flash_attention_utils",
    "transformers.modeling_utils",
    "transformers.configuration_utils",
    "transformers.masking_utils",
    "transformers.modeling_attn_mask_utils",
    "transformers.cache_utils",
    "transformers.modeling_layers",
    "transformers.file_utils",
    "transformers.loss",
    "transformers.image_utils",
    "transformers.tokenization_utils",
    "transformers.tokenization_utils_base",
    "transformers.feature_extraction_utils",
    "transformers.modeling_gguf_pytorch_utils",
    "transformers.quantizers",
    "transformers.dynamic_module_utils",
    "transformers.kernels",
)

MODULE_BASES = {
    "torch.nn.Module", "torch.nn.modules.module.Module", "transformers.modeling_utils.PreTrainedModel",
    "transformers.modeling_layers.GradientCheckpointingLayer", "torch.nn.ModuleList", "torch.nn.Sequential",
    "transformers.modeling_utils.ModuleUtilsMixin",
}

MASK_FUNCTIONS = {
    "create_causal_mask", "create_sliding_window_causal_mask", "create_chunked_causal_mask", "create_masks_for_generate",
    "create_bidirectional_mask", "_prepare_4d_causal_attention_mask", "_prepare_4d_causal_attention_mask_for_sdpa",
    "_prepare_4d_attention_mask", "_prepare_4d_attention_mask_for_sdpa", "_update_causal_mask",
    "_prepare_4d_causal_attention_mask_with_cache_position", "_prepare_decoder_attention_mask", "_make_causal_mask",
    "_expand_mask", "get_extended_attention_mask", "invert_attention_mask", "_update_mamba_mask", "_update_linear_attn_mask",
    "_prepare_4d_causal_attention_mask_with_cache_position", "_ignore_causal_mask_sdpa", "sliding_window_causal_mask_function",
    "causal_mask_function", "_preprocess_mask_arguments", "create_attention_mask", "_get_unpad_data",
    "get_causal_mask", "_create_causal_mask", "build_alibi_tensor_mask",
}

FALSE_FUNCTIONS = {
    "is_torchdynamo_compiling", "is_torch_fx_proxy", "is_flash_attn_available", "is_torch_flex_attn_available",
    "is_flash_attn_2_available", "is_flash_attn_greater_or_equal", "is_torchdynamo_exporting", "is_tracing",
    "is_torch_greater_or_equal", "is_mambapy_available", "is_causal_conv1d_available", "is_mamba_ssm_available", "is_mamba_2_ssm_available",
    "is_fast_path_available", "is_kernels_available", "is_torch_xpu_available", "is_torch_npu_available",
    "is_accelerate_available", "is_torch_sdpa_available", "is_flash_attn_3_available", "is_grouped_mm_available",
    "is_flash_attention_requested",  # 5.x: the workload's attention path is eager or sdpa, never flash
    "is_torch_cuda_available", "is_ninja_available",  # custom CUDA kernels (rwkv): the measured path is the CPU one
} | ABSENT_PACKAGES
TRUE_FUNCTIONS = {"is_torch_available"}


@dataclass(eq=False)
class ActTable:
    """transformers.activations.ACT2FN: `ACT2FN[name]` instantiates the activation class."""

    module: Any


# ---------------------------------------------------------------------------- globals


def global_value(interp: Host, qual: str) -> Any:
    if qual == "transformers.activations.ACT2FN":
        pm = interp.tree.parse("transformers.activations")
        return ActTable(pm)
    if qual == "transformers.activations.get_activation":
        pm = interp.tree.parse("transformers.activations")
        table = ActTable(pm)
        return BrainFunc("get_activation", lambda i, recv, args, kw, node: act_lookup(i, table, args[0], node))
    if qual == "transformers.pytorch_utils.Conv1D":
        return External("transformers.pytorch_utils.Conv1D")
    if qual in ("transformers.modeling_utils.ALL_ATTENTION_FUNCTIONS", "transformers.ALL_ATTENTION_FUNCTIONS"):
        return ObjectV(None, {}, kind="attention-functions")
    if qual == "transformers.modeling_utils.AttentionInterface":  # a model's own registry (Doge): the global one plus its keys
        return BrainFunc("AttentionInterface", lambda i, recv, args, kw, node: ObjectV(None, {}, kind="attention-functions"))
    if qual in AUTO_CLASSES:
        return ObjectV(None, {}, kind=f"auto:{AUTO_CLASSES[qual]}")
    for prefix in EXTERNAL_MODULES:
        if qual.startswith(prefix + "."):
            return External(qual)
    return None


AUTO_CLASSES = {
    "transformers.models.auto.modeling_auto.AutoModel": "MODEL_MAPPING_NAMES",
    "transformers.models.auto.modeling_auto.AutoModelForCausalLM": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
}
"""Auto classes a composite model builds its parts with (`AutoModel.from_config(config.vision_config)`), by the
mapping of modeling_auto.py they read."""


def config_class_of(interp: Host, model_type: Any) -> Any:
    """`CONFIG_MAPPING[model_type]`: the configuration class of a model type (from the pin's table)."""
    from lm_predictor.data.transformers_table import load_table

    facts = load_table()["model_types"].get(model_type) if isinstance(model_type, str) else None
    if facts is None:
        return Unknown(f"CONFIG_MAPPING[{model_type!r}]")
    cls = interp.resolve_qualname(facts["config_class"])
    return cls if cls is not None else Unknown(f"{facts['config_class']} not found")


def auto_from_config(interp: Host, mapping: str, args: list, kwargs: dict, node: Any) -> Any:
    """`AutoModel.from_config(sub_config)`: the class the mapping names for the sub-config's class, built on it."""
    import ast

    from lm_predictor.data.transformers_table import load_table

    config = args[0] if args else kwargs.get("config")
    cls = interp.instance_class(config) if isinstance(config, ObjectV) else None
    qual = cls.qualname if cls is not None else (config.model.facts["config_class"] if isinstance(config, ConfigV) else None)
    model_type = next((t for t, f in load_table()["model_types"].items() if f["config_class"] == qual), None)
    if model_type is None:
        return Unknown(f"{mapping} entry for the config class {qual}")
    model_type = load_table()["model_types"][model_type].get("class_model_type") or model_type
    pm = interp.tree.parse("transformers.models.auto.modeling_auto")
    stmt = next((st for st in pm.tree.body if isinstance(st, nodes.Assign) and st.targets[0].as_string() == mapping), None) if pm else None
    try:
        names = dict(ast.literal_eval(stmt.value.args[0].as_string())) if stmt is not None else {}
    except (ValueError, SyntaxError, IndexError, AttributeError):
        names = {}
    name = names.get(model_type)
    if not isinstance(name, str):
        return Unknown(f"{mapping} has no class for {model_type}")
    target = interp.resolve_qualname(f"{qual.rsplit('.', 2)[0]}.{name}")
    if target is None:
        return Unknown(f"{name} not found")
    return interp.call(target, [config], {}, node)


def act_lookup(interp: Host, table: ActTable, key: Any, node: Any) -> Any:
    if isinstance(key, Phi):
        return interp.on_phi(key, lambda k: act_lookup(interp, table, k, node))
    if not isinstance(key, str):
        interp.report(A_ACTIVATION, node, "activation chosen by a non-constant config value; assumed elementwise with no parameters")
        return ModRef(Instance(TorchModule("elementwise", None, {"kind": "activation"}, ZERO), {}), {}, "")
    act2cls = interp.global_value(table.module, "ACT2CLS", node)
    entry = act2cls.items.get(key) if isinstance(act2cls, DictV) else None
    if entry is None:
        interp.report(A_ACTIVATION, node, f"unknown activation {key!r}; assumed elementwise with no parameters")
        return ModRef(Instance(TorchModule("elementwise", None, {"kind": "activation"}, ZERO), {}), {}, "")
    kwargs: dict = {}
    if isinstance(entry, tuple):
        entry, extra = entry
        if isinstance(extra, DictV):
            kwargs = dict(extra.items)
    return interp.call(entry, [], kwargs, node)


# ---------------------------------------------------------------------------- base classes


def _noop(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    return None


def _module_init(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """PreTrainedModel.__init__(config) keeps the config; nn.Module.__init__ does nothing."""
    config = args[0] if args else kwargs.get("config")
    if config is not None and isinstance(recv, ModRef):
        interp.set_attr(recv, "config", config, node)
    return None


def _named_setter(value_kw: str, buffer: bool = False):
    """`module.<method>(name, value)`: sets attribute `name` (a buffer's tensor is not a parameter)."""

    def run(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
        name = args[0] if args else kwargs.get("name")
        value = args[1] if len(args) > 1 else kwargs.get(value_kw)
        if buffer:
            interp.note_buffer(recv, name if isinstance(name, str) else None)
        if isinstance(name, str):
            if buffer and isinstance(value, Tensor):
                value = Tensor(value.shape, value.dtype, value.why, False, no_grad=True)
            interp.set_attr(recv, name, value, node)
        return None

    return run


def _head_mask(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    n = args[1] if len(args) > 1 else kwargs.get("num_hidden_layers")
    head_mask = args[0] if args else kwargs.get("head_mask")
    if head_mask is None and isinstance(n, Num):
        c = n.const_value()
        if isinstance(c, int) and c <= 64:
            return ListV([None] * c)
        return Repeated(None, n)
    return Unknown("head mask")


def _mask(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    return Tensor(None, "mask", "attention mask", no_grad=True)  # a mask never requires grad


def _extended_mask(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """get_extended_attention_mask: an encoder's mask of ones priced (brains/masks.py), else opaque."""
    mask = extended_mask(interp, recv, args, kwargs, node)
    return _mask(interp, recv, args, kwargs, node) if mask is NotImplemented else mask


def _input_embeddings(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """PreTrainedModel.get_input_embeddings as in 4.56 (EmbeddingAccessMixin), and 5.x's `language_model` step."""
    name = interp.getattr(recv, "_input_embed_layer", node)
    if not isinstance(name, str):
        name = "embed_tokens"
    found = _attr_or_none(interp, recv, name, node)
    if found is not None:
        return found
    model = _attr_or_none(interp, recv, "model", node)
    if model is not None:
        emb = _attr_or_none(interp, model, "embed_tokens", node)
        if emb is not None:
            return emb
    language = _attr_or_none(interp, recv, "language_model", node)  # 5.x: a multimodal model's text sub-model
    if language is not None and language is not recv:
        return interp.call(interp.getattr(language, "get_input_embeddings", node), [], {}, node)
    prefix = interp.getattr(recv, "base_model_prefix", node)
    if isinstance(prefix, str) and prefix:
        base = _attr_or_none(interp, recv, prefix, node)
        if base is not None and base is not recv:
            method = interp.getattr(base, "get_input_embeddings", node)
            return interp.call(method, [], {}, node)
    return None


def _output_embeddings(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    return _attr_or_none(interp, recv, "lm_head", node)


def _attr_or_none(interp: Host, recv: Any, name: str, node: Any) -> Any:
    if isinstance(recv, ModRef) and isinstance(recv.inst.template, Template):
        tmpl = recv.inst.template
        if name in tmpl.attrs:
            tmpl.read_attrs.add(name)
            return interp.view(tmpl.attrs[name], recv)
        return None
    return None


MODULE_ATTRS: dict[str, Any] = {
    "__init__": BrainFunc("__init__", _module_init),
    "post_init": BrainFunc("post_init", _noop),
    "register_buffer": BrainFunc("register_buffer", _named_setter("tensor", buffer=True)),
    "register_parameter": BrainFunc("register_parameter", _named_setter("param")),
    "add_module": BrainFunc("add_module", _named_setter("module")),
    "get_head_mask": BrainFunc("get_head_mask", _head_mask),
    "warn_if_padding_and_no_attention_mask": BrainFunc("warn", padding_warning),
    "get_extended_attention_mask": BrainFunc("mask", _extended_mask),
    "invert_attention_mask": BrainFunc("mask", _mask),
    "get_input_embeddings": BrainFunc("get_input_embeddings", _input_embeddings),
    "get_output_embeddings": BrainFunc("get_output_embeddings", _output_embeddings),
    "apply": BrainFunc("apply", _noop),
    "gradient_checkpointing_enable": BrainFunc("gc", _noop),
    "_init_weights": BrainFunc("_init_weights", _noop),
    "_backward_compatibility_gradient_checkpointing": BrainFunc("bc", _noop),
    "training": X.FALSE,
    "gradient_checkpointing": X.FALSE,
    "_attn_implementation": ATTN_IMPLEMENTATION,
    "base_model_prefix": "",
    "_input_embed_layer": "embed_tokens",
    "is_gradient_checkpointing": X.FALSE,
    "supports_gradient_checkpointing": X.TRUE,
    "main_input_name": "input_ids",
    "_tied_weights_keys": None,
    "dtype": External("torch.<model dtype>"),
    "device": External("torch.device"),
    "_is_stateful": X.FALSE,
}


def base_attr(interp: Host, base: str, name: str) -> Any:
    if base in MODULE_BASES or base.startswith("transformers.modeling_utils."):
        if name in MODULE_ATTRS:
            return MODULE_ATTRS[name]
        if name == "__call__":
            return None
        return None
    if base.endswith(("PreTrainedConfig", "RotaryEmbeddingConfigMixin")) and name == "standardize_rope_params":
        return BrainFunc("PreTrainedConfig.standardize_rope_params", standardize_rope_params)
    return None


ROPE_SCALED_TYPES = ("llama3", "yarn", "longrope")
"""rope types whose parameters take the pretraining length (original_max_position_embeddings)."""


def standardize_rope_params(interp: Host, obj: Any, args: list, kwargs: dict, node: Any) -> None:
    """5.x RotaryEmbeddingConfigMixin.standardize_rope_params: `rope_theta` (and `partial_rotary_factor`) moved into
    `rope_parameters` with its `rope_type`, one flat dict or one per layer type; a config with neither keeps none."""
    if not isinstance(obj, ObjectV):
        return None
    attrs = obj.attrs
    given = attrs.get("rope_parameters")
    if given is not None and not isinstance(given, DictV):
        return None  # not a dict the analysis reads: left as it is
    params = DictV(dict(given.items)) if isinstance(given, DictV) else DictV({})
    theta, partial = attrs.get("rope_theta"), attrs.get("partial_rotary_factor")
    if not params.items and X.bool_value(interp.truth(theta, node)) is not True:
        return None  # case 0 (no RoPE parameters), or a rope_theta the analysis cannot tell from 0
    labels = attrs.get("_rope_type_labels") or attrs.get("layer_types")
    labels = [v for v in labels.items if isinstance(v, str)] if isinstance(labels, ListV) and labels.rep is None else []
    nested = [k for k in params.items if k in labels]
    default_type = interp.class_attr(obj.cls, "default_rope_type") if isinstance(obj.cls, ClassV) else None
    for key in nested or [None]:
        one = params if key is None else params.items[key]
        if one is None:
            continue
        if not isinstance(one, DictV):
            return None
        one = DictV(dict(one.items))
        one.items.setdefault("rope_type", one.items.get("type", "default"))
        one.items.setdefault("rope_theta", theta)
        if partial is not None:
            one.items.setdefault("partial_rotary_factor", partial)
        rope_type = one.items["rope_type"]
        if isinstance(default_type, str) and default_type != "default" and rope_type == "default":
            one.items["rope_type"] = rope_type = default_type
        if isinstance(rope_type, str) and rope_type in ROPE_SCALED_TYPES:
            if key is None and "original_max_position_embeddings" in attrs:
                one.items["original_max_position_embeddings"] = attrs["original_max_position_embeddings"]
            else:
                one.items.setdefault("original_max_position_embeddings", attrs.get("max_position_embeddings"))
        if key is None:
            params = one
        else:
            params.items[key] = one
    attrs["rope_parameters"] = params
    return None


PADDING_MASK_FUNCTIONS = ("create_recurrent_attention_mask",)
"""5.x masks for linear-attention / mamba layers: None when no attention_mask is passed (so the layer skips masking)."""


def is_dataclass_config(interp: Host, cls: Any) -> bool:
    """A 5.x configuration class: PreTrainedConfig among its analysed bases, and no __init__ in the source (a dataclass)."""
    if not isinstance(cls, ClassV):
        return False
    chain = interp.mro(cls)
    if not any(getattr(c, "name", "").endswith("PreTrainedConfig") for c in chain):
        return False
    return not any(isinstance(c, ClassV) and "__init__" in c.node.locals for c in chain)


def config_post_init(interp: Host, obj: Any, args: list, kwargs: dict, node: Any) -> None:
    """5.x PreTrainedConfig.__post_init__(**kwargs): the sub-configs of `sub_configs_defaults` built from their
    dicts (or defaults), then the keys that are no field become attributes, per_layer_config last."""
    specs = interp.class_attr(obj.cls, "sub_configs_defaults") if isinstance(obj.cls, ClassV) else None
    for key, spec in (specs.items.items() if isinstance(specs, DictV) else ()):
        _build_sub_config(interp, obj, key, spec, node)
    for key, value in sorted(kwargs.items(), key=lambda kv: kv[0] == "per_layer_config"):
        if key not in ("torch_dtype", "dtype", "name_or_path", "_commit_hash"):
            obj.attrs[getattr(obj, "attribute_map", {}).get(key, key)] = value
    return None


def _build_sub_config(interp: Host, obj: ObjectV, key: str, spec: Any, node: Any) -> None:
    """SubConfigSpec.create_subconfig: `obj.<key>` (a dict, or None) becomes an instance of the spec's
    configuration class (AutoConfig: the class of the dict's model_type, else the spec's)."""
    current = obj.attrs.get(key)
    if isinstance(current, ObjectV) or key == "backbone_config":
        return
    config_class, given = spec, {}
    default_type, optional = None, False
    if isinstance(spec, ObjectV):  # SubConfigSpec(config_class=..., model_type=..., init_kwargs=..., optional=...)
        config_class = spec.attrs.get("config_class")
        default_type = spec.attrs.get("model_type")
        init = spec.attrs.get("init_kwargs")
        given = dict(init.items) if isinstance(init, DictV) else {}
        optional = spec.attrs.get("optional") == X.TRUE
    if current is None and optional:
        return
    if isinstance(current, DictV):
        given = dict(current.items)
    elif current is not None:
        return
    if not (isinstance(config_class, ClassV) and is_dataclass_config(interp, config_class)):  # AutoConfig
        model_type = given.get("model_type", default_type)
        config_class = config_class_of(interp, model_type)
    if isinstance(config_class, ClassV):
        obj.attrs[key] = interp.call(config_class, [], {k: v for k, v in given.items() if isinstance(k, str)}, node)


def layer_overrides(value: Any) -> dict:
    """{layer: {attribute: value}} of a 5.x `per_layer_config` dict (JSON keys are zero-padded strings; `skip` dropped)."""
    out: dict = {}
    for key, layer in (value.items.items() if isinstance(value, DictV) else ()):
        index = int(key) if isinstance(key, (int, str)) and str(key).isdigit() else None
        if index is not None and isinstance(layer, DictV):
            out[index] = {k: v for k, v in layer.items.items() if k != "skip"}
    return out


def nested_config_attr(interp: Host, obj: ObjectV, name: str) -> Any:
    """A nested config object's attribute_map aliases, and HeterogeneousConfigMixin: its per-layer view, or
    whether it has overrides (NotImplemented: an ordinary attribute)."""
    amap = getattr(obj, "attribute_map", None) or {}
    if name in amap and name not in obj.attrs and amap[name] in obj.attrs:  # PreTrainedConfig.__getattribute__'s alias
        return obj.attrs[amap[name]]
    if name not in ("per_layer_config", "is_heterogeneous"):
        return NotImplemented
    overrides = layer_overrides(obj.attrs.get("per_layer_config"))
    if name == "is_heterogeneous":
        return X.bconst(bool(overrides))
    return ObjectV(None, {"overrides": overrides, "layer_types": obj.attrs.get("layer_types"), "config": obj}, kind="per-layer-config")


def layer_config(interp: Host, view: ObjectV, index: Any) -> Any:
    """`config.per_layer_config[i]`: layer i's view of the config; by a layer type (rope), its first layer's."""
    overrides = view.attrs.get("overrides") or {}
    owner = view.attrs.get("config")
    if isinstance(index, str):
        kinds = view.attrs.get("layer_types")
        items = kinds.items if isinstance(kinds, ListV) else []
        first = next((j for j, k in enumerate(items) if k == index), None)
        if first is None:
            return owner if owner is not None else interp.config
        index = Num.const(first)
    if not isinstance(index, Num):
        return Unknown("per_layer_config indexed by a value the analysis cannot read")
    if isinstance(owner, ObjectV):  # a nested config: a copy with the layer's values
        names = {n for values in overrides.values() for n in values}
        attrs = {**owner.attrs, **{n: _layer_value(index, overrides, n, owner.attrs.get(n)) for n in names}}
        attrs.pop("per_layer_config", None)
        copy = ObjectV(owner.cls, attrs, kind=owner.kind)
        copy.attribute_map = getattr(owner, "attribute_map", {})
        return copy
    if isinstance(interp.config, ConfigV):
        return ConfigV(interp.config.model, index, overrides)
    return Unknown("per_layer_config of an unknown config")


def _layer_value(index: Num, overrides: dict, name: str, base: Any) -> Any:
    """The value of `name` at layer `index`: an override where a layer sets one, `base` elsewhere."""
    groups: list = []  # (value, layers that set it)
    for layer, values in sorted(overrides.items()):
        if name in values:
            found = next((g for g in groups if _same(g[0], values[name])), None)
            if found is None:
                groups.append((values[name], [layer]))
            else:
                found[1].append(layer)
    at = index.const_value()
    if isinstance(at, int):
        return next((v for v, layers in groups if at in layers), base)
    result = base
    for value, layers in groups:
        result = _phi(X.bor(*(X.cmp("==", index, k) for k in layers)), value, result)
    return result


def layer_config_attr(interp: Host, cfg: ConfigV, name: str, node: Any) -> Any:
    """An attribute of one layer's config: its override where the layer has one, the config's value elsewhere."""
    return _layer_value(cfg.layer, cfg.overrides, name, cfg.model.get(interp, name, node))


def _same(a: Any, b: Any) -> bool:
    return a == b if not isinstance(a, (Num, X.Bool)) else (type(a) is type(b) and a == b)


def _phi(cond: Any, a: Any, b: Any) -> Any:
    """a where cond holds, else b (numbers and booleans merge into a formula)."""
    if isinstance(a, Num) and isinstance(b, Num):
        return X.ifnum(cond, a, b)
    if isinstance(a, X.Bool) and isinstance(b, X.Bool):
        return X.ifbool(cond, a, b)
    return Phi(cond, a, b)


def config_method(interp: Host, model: Any, name: str) -> Any:
    """PretrainedConfig methods and properties a model reads."""
    if name == "get_text_config":  # a composite config's text part (text_config, decoder, ...), else the config itself
        return BrainFunc("get_text_config", lambda i, recv, args, kw, node: text_config_object(i) or ConfigV(model))
    if name in ("use_return_dict", "return_dict"):
        return X.TRUE
    if name in ("is_encoder_decoder", "add_cross_attention", "tie_encoder_decoder", "is_decoder"):
        value = model.resolved.get(name, False)
        model.fold(name, value)
        return X.bconst(bool(value))
    if name == "num_labels":
        return Num.const(2)
    if name in ("pruned_heads",):
        return DictV({})
    if name in ("name_or_path", "_name_or_path"):
        return ""
    return None


# ---------------------------------------------------------------------------- external calls


@brain("transformers-external", prefix("transformers."))
def suggest_transformers_external(site: CallSite) -> Any:
    name = site.callee.name
    short = name.rsplit(".", 1)[-1]
    interp = site.interp
    if name == "transformers.pytorch_utils.Conv1D":
        nf, nx = site.arg(0, "nf"), site.arg(1, "nx")
        if not isinstance(nf, Num) or not isinstance(nx, Num):
            return ModRef(Instance(TorchModule("unknown", None, {"why": "Conv1D sizes"}, None), {}), {}, "")
        return ModRef(Instance(TorchModule("hf_conv1d", "transformers.pytorch_utils.Conv1D", {"nf": nf, "nx": nx}, nx * nf + nf), {}), {}, "")
    if short in ("create_causal_mask", "create_sliding_window_causal_mask"):
        v5 = str(getattr(interp.tree, "version", "4")).split(".")[0] not in ("", "0", "1", "2", "3", "4")  # 5.x signature
        mask = (causal_mask_v5 if v5 else causal_mask)(site, sliding_mask=short != "create_causal_mask")
        if mask is not NotImplemented:
            if v5:  # a new storage (5.23 MPT's `.to(torch.bool)` of it, which masked_fill keeps)
                saved.fresh_leaves(interp, mask)
            return mask
    if short == "_prepare_4d_causal_attention_mask" and (mask := prepare_4d_causal_mask(site)) is not NotImplemented:
        return mask
    if short == "_prepare_4d_attention_mask_for_sdpa":
        mask = padding_mask_for_sdpa(interp, site.args, site.kwargs, site.node)
        if mask is not NotImplemented:
            return mask
    if short in MASK_FUNCTIONS:
        return Tensor(None, "mask", "attention mask", no_grad=True)  # a mask never requires grad
    if short == "SubConfigSpec":  # 5.x: how a composite config builds a sub-config (read by config_post_init)
        init = site.arg(2, "init_kwargs", None)
        return ObjectV(External(name), {"config_class": site.arg(0, "config_class", None), "model_type": site.arg(1, "model_type", None),
                                        "init_kwargs": init if isinstance(init, DictV) else DictV({}), "optional": site.arg(3, "optional", X.FALSE)}, kind="sub-config-spec")
    if short in PADDING_MASK_FUNCTIONS:  # a 2D padding mask, or None without one (the verify workload)
        mask = site.arg(2, "attention_mask", None)
        return None if mask is None else Tensor(None, "mask", "padding mask")
    if short in FALSE_FUNCTIONS:
        return X.FALSE
    if short in TRUE_FUNCTIONS:
        return X.TRUE
    if short in ("DynamicCache", "Cache", "OffloadedCache"):
        return CacheV(ZERO, size=built_layers(site) if short == "DynamicCache" else None)  # the cache a model builds in prefill: empty
    if short in ("HybridCache", "StaticCache", "SlidingWindowCache", "HybridChunkedCache", "EncoderDecoderCache", "QuantizedCache", "MambaCache", "DynamicLayer"):
        interp.report(A_CACHE_IN_FORWARD, site.node, f"{short} built inside forward(); modelled as an empty dynamic cache")
        return CacheV(ZERO)
    if short in ("get_logger",):
        return ObjectV(External("logging.Logger"), {}, kind="logger")
    if short in ("deprecate_kwarg", "auto_docstring", "can_return_tuple", "check_model_inputs", "use_kernel_forward_from_hub", "add_start_docstrings", "replace_return_docstrings", "add_start_docstrings_to_model_forward", "add_code_sample_docstrings", "dynamic_rope_update", "use_kernel_func_from_hub", "use_kernel_func_from_hub_with_fallback"):
        return BrainFunc("decorator", lambda i, recv, args, kw, node: args[0] if args else None)
    if short == "slice_logits_to_keep":  # 5.x: hidden_states[:, -logits_to_keep:, :]; forward() passes 0
        kept = _slice_logits_to_keep(site.arg(0, "hidden_states"), site.arg(1, "logits_to_keep", 0))
        if isinstance(kept, Tensor):
            free(interp)  # a view: no kernel, no bytes
        return kept
    if short == "GradientCheckpointingLayer" or short == "PreTrainedModel":
        return Unknown(f"{short} instance")
    if short in ("ModelOutput",):
        return Unknown("ModelOutput")
    if short in ("TransformersKwargs", "Unpack", "FlashAttentionKwargs", "LossKwargs", "KwargsForCausalLM"):
        return External(name)
    if short == "OutputRecorder":
        return ObjectV(External(name), {}, kind="output-recorder")
    return Unknown(f"{name} (library internals)")


PLAIN_TIE_KEY = re.compile(r"^[A-Za-z0-9_.]+\.(weight|bias)$")
"""A `_tied_weights_keys` entry naming one parameter (else a module or a regex get_expanded_tied_weights_keys expands)."""

def _slice_logits_to_keep(hidden: Any, keep: Any) -> Any:
    """5.x `slice_logits_to_keep(hidden_states, logits_to_keep)`: 0 keeps every position."""
    if keep == 0 or (isinstance(keep, Num) and keep.const_value() == 0):
        return hidden
    return Unknown("slice_logits_to_keep with logits_to_keep other than 0")


@brain("brain-function", callee(BrainFunc))
def suggest_brain_func(site: CallSite) -> Any:
    f: BrainFunc = site.callee
    return f.fn(site.interp, f.bound, site.args, site.kwargs, site.node)


def function_call(interp: Host, fv: FunctionV, args: list, kwargs: dict, node: Any, hint: Any) -> Any:
    short = fv.qualname.rsplit(".", 1)[-1]
    if short == "_update_causal_mask" and looks_like_legacy_mask(interp, fv):
        mask = legacy_causal_mask(interp, fv, args, kwargs, node)
        if mask is not NotImplemented:
            saved.fresh_leaves(interp, mask)  # a new storage (a checkpointed layer keeps it: an input)
            return mask
    if short in MASK_FUNCTIONS or (short.startswith("_") and "mask" in short and "attention" in short):
        return Tensor(None, "mask", "attention mask", no_grad=True)  # a mask never requires grad
    if short in ("_init_weights", "post_init", "warn_if_padding_and_no_attention_mask", "_check_and_enable_sdpa", "gradient_checkpointing_enable"):
        return None
    return NotImplemented


def before_decorated_call(interp: Host, fv: FunctionV, args: list, node: Any) -> None:
    """`@dynamic_rope_update` runs the rotary forward as written, after a frequency update for the
    dynamic and longrope types (torch.max(position_ids), a buffer swap) whose bytes are not priced:
    there the rule gets a bytes gap, never a total short of those ops."""
    decorators = fv.node.decorators.nodes if getattr(fv.node, "decorators", None) else []
    if not any(getattr(d, "name", getattr(d, "attrname", None)) == "dynamic_rope_update" for d in decorators):
        return
    recv = fv.bound if fv.bound is not None else (args[0] if args else None)
    rope_type = interp.getattr(recv, "rope_type", node)
    if not isinstance(rope_type, str) or "dynamic" in rope_type or rope_type == "longrope":
        gap(interp, f"@dynamic_rope_update: the {rope_type if isinstance(rope_type, str) else 'unknown'} RoPE frequency update")


SDPA_ATTENTION = "transformers.integrations.sdpa_attention.sdpa_attention_forward"


def attention_function(name: Any) -> Any:
    """ALL_ATTENTION_FUNCTIONS[name]: the SDPA integration (a brain in `matmul`), else unknown."""
    if name == "sdpa":
        return External(SDPA_ATTENTION)
    return Unknown(f"attention function {name}")


def object_attr(interp: Host, obj: ObjectV, name: str, node: Any) -> Any:
    if obj.kind == "attention-functions":
        if name == "get_interface":
            def get_interface(i: Host, recv: Any, args: list, kw: dict, n: Any) -> Any:
                impl = args[0] if args else kw.get("attn_implementation")
                default = args[1] if len(args) > 1 else kw.get("default")
                return i.on_phi(impl, lambda name: default if name == "eager" else attention_function(name))
            return BrainFunc("get_interface", get_interface)
        return Unknown("ALL_ATTENTION_FUNCTIONS")
    if obj.kind == "logger":
        return BrainFunc("log", _noop)
    if obj.kind.startswith("auto:") and name in ("from_config", "_from_config"):
        mapping = obj.kind.split(":", 1)[1]
        return BrainFunc(name, lambda i, recv, args, kw, n: auto_from_config(i, mapping, args, kw, n))
    return None


def after_init(interp: Host, template: Template, self_ref: ModRef) -> None:
    """Tied input/output embeddings (PreTrainedModel.tie_weights): the output weight is not counted again."""
    cls = template.cls
    if cls is None or not any(isinstance(c, External) and c.name == "transformers.modeling_utils.PreTrainedModel" for c in interp.mro(cls)):
        return
    _tie_embeddings(interp, template, self_ref)
    if "lm_head" not in template.attrs and interp.class_attr(cls, "get_output_embeddings") is MODULE_ATTRS["get_output_embeddings"]:
        return
    try:
        out_fn = interp.getattr(self_ref, "get_output_embeddings", None)
        output = interp.call(out_fn, [], {}, None)
        arm_cond = X.TRUE
        while isinstance(output, Phi):  # e.g. proj = Linear(...) if not config.asm else AdaptiveLogSoftmax(...)
            linear_a = isinstance(output.a, ModRef) and isinstance(output.a.inst.template, TorchModule) and output.a.inst.template.kind == "linear"
            arm_cond = X.band(arm_cond, output.cond if linear_a else X.bnot(output.cond))
            output = output.a if linear_a else output.b
        if not isinstance(output, ModRef):
            return
        in_fn = interp.getattr(self_ref, "get_input_embeddings", None)
        inp = interp.call(in_fn, [], {}, None)
        while isinstance(inp, Phi) and isinstance(inp.a, ModRef) and isinstance(inp.b, ModRef) and inp.a.path == inp.b.path:
            inp = inp.a  # one embedding built two ways (padding_idx = config.pad_token_id, which may be null): one path
    except Exception:  # noqa: BLE001 - tying is best effort; report below
        interp.report(A_TIE_UNKNOWN, cls.node, "could not tell whether the output embedding is tied to the input embedding")
        return
    if not isinstance(inp, ModRef) or not isinstance(output.inst.template, TorchModule):
        return
    config = interp.config
    tie = X.TRUE
    keys = interp.getattr(self_ref, "_tied_weights_keys", None)
    if isinstance(keys, DictV):
        tie = _tie_condition_5x(interp, self_ref)
    elif config is not None:
        # 4.x PreTrainedModel.tie_weights reads config.get_text_config(decoder=True): a composite model's text part decides
        text = text_config_object(interp)
        value = interp.getattr(text, "tie_word_embeddings", None) if text is not None else config.model.getattr_default(interp, "tie_word_embeddings", X.TRUE, None)
        tie = value if isinstance(value, X.Bool) else X.TRUE
    mod = output.inst.template
    if mod.kind != "linear" or not _declared_tie(interp, self_ref, output.path):
        return
    template.tied.append((output.path, inp.path, X.band(tie, arm_cond), _bias_tied(interp, self_ref, output.path)))


def _tie_condition_5x(interp: Host, self_ref: ModRef) -> X.Bool:
    """5.x get_expanded_tied_weights_keys: `getattr(self.config, "tie_word_embeddings", False)`, the model's own config."""
    own = interp.getattr(self_ref, "config", None)
    if isinstance(own, ObjectV):
        value = own.attrs.get("tie_word_embeddings", X.FALSE)
    elif interp.config is not None:
        value = interp.config.model.getattr_default(interp, "tie_word_embeddings", X.FALSE, None)
    else:
        return X.TRUE
    return value if isinstance(value, X.Bool) else X.TRUE


def _module_at(template: Template, path: str) -> ModRef | None:
    """The module a dotted attribute path names from `template` (None through a list, a phi or a non-module)."""
    ref = None
    for seg in path.split("."):
        if not isinstance(template, Template):
            return None
        ref = template.attrs.get(seg)
        if not isinstance(ref, ModRef):
            return None
        template = ref.inst.template
    return ref


def _tie_embeddings(interp: Host, template: Template, self_ref: ModRef) -> None:
    """5.x tie_weights: each plain `{target: source}` pair of `_tied_weights_keys` whose target is an embedding's
    weight (ProphetNet's `decoder.word_embeddings.weight`) counts that weight once, at the source, where the
    model's own config ties; linear targets (the output embedding) are after_init's; patterns are not read."""
    try:
        major = int(str(interp.tree.version).split(".")[0])
    except (AttributeError, ValueError):
        return
    keys = interp.getattr(self_ref, "_tied_weights_keys", None) if major >= 5 else None
    if not isinstance(keys, DictV):
        return
    pairs = [(t, s) for t, s in keys.items.items() if isinstance(t, str) and isinstance(s, str) and t.endswith(".weight") and s.endswith(".weight")]
    patterns = [f"{t} -> {s}" for t, s in keys.items.items() if not (isinstance(t, str) and isinstance(s, str) and PLAIN_TIE_KEY.match(t) and PLAIN_TIE_KEY.match(s))]
    tie = _tie_condition_5x(interp, self_ref) if pairs or patterns else X.FALSE
    if patterns:  # expanded over the model's parameter names at run time (zamba's layers.(?!2\.)\d+.shared_transf)
        where = template.cls.node if template.cls is not None else None
        unknown = interp.unresolved(A_MODULE_PARAMS, where, f"{template.qualname}: parameters tied by the `_tied_weights_keys` pattern {patterns[0]} are not counted once")
        template.param_terms.append(Term(TRUE, ONE, X.ifnum(tie, unknown, ZERO), "tied by a pattern"))
    for target, source in pairs:
        out, src = _module_at(template, target[: -len(".weight")]), _module_at(template, source[: -len(".weight")])
        if out is None or src is None or out.inst is src.inst or not isinstance(out.inst.template, TorchModule):
            continue  # unresolved, already one module, or a nested model's own rule
        if out.inst.template.kind == "embedding" and src.inst.template.kind in ("embedding", "linear"):
            template.tied.append((target[: -len(".weight")], source[: -len(".weight")], tie, False))


def _declared_tie(interp: Host, self_ref: ModRef, out_path: str) -> bool:
    """Whether tie_weights ties the output embedding at all: 4.x ties get_output_embeddings() to the input
    embedding whatever `_tied_weights_keys` says; 5.x ties only the targets `_tied_weights_keys = {target:
    source}` names (5.23's BigBirdPegasusForCausalLM (None) and CpmAntForCausalLM ({}) keep lm_head untied)."""
    try:
        major = int(str(interp.tree.version).split(".")[0])
    except (AttributeError, ValueError):
        return True
    if major < 5:
        return True
    keys = interp.getattr(self_ref, "_tied_weights_keys", None)
    return isinstance(keys, DictV) and (f"{out_path}.weight" in keys.items or out_path in keys.items)


def _bias_tied(interp: Host, self_ref: ModRef, out_path: str) -> bool | str:
    """5.x `_tied_weights_keys = {target: source}`: whether the output module's bias is tied too
    (BERT's `cls.predictions.decoder.bias` -> `cls.predictions.bias`: that source path; True for a
    source that is not a plain string); 4.x lists are not read."""
    keys = interp.getattr(self_ref, "_tied_weights_keys", None)
    if not isinstance(keys, DictV) or f"{out_path}.bias" not in keys.items:
        return False
    source = keys.items[f"{out_path}.bias"]
    return source if isinstance(source, str) and source else True
