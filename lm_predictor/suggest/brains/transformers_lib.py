"""transformers internals the analysis does not read from source.

Library plumbing (logging, decorators, availability checks, attention masks, the module and
config base classes, ACT2FN, GPT-2's Conv1D) has a fixed, cost-free meaning under
`lmpredict verify`'s workload: no attention mask passed, eval mode (the attention path is the
workload fact `attn_implementation__sdpa`, see `attention_function`). These
modules are `External` names; everything under `transformers.models.*`, `modeling_rope_utils`,
`activations` classes and `modeling_outputs` is read from source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from astroid import nodes

from lm_predictor.diagnostics import A_ACTIVATION, A_CACHE_IN_FORWARD, A_TIE_UNKNOWN
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, brain, callee, prefix, text_config_object
from lm_predictor.suggest.expr import ZERO, Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import BrainFunc, ConfigV
from lm_predictor.suggest.scope import Instance, ModRef, Template, TorchModule
from lm_predictor.suggest.values import ATTN_IMPLEMENTATION, CacheV, DictV, External, FunctionV, ListV, ObjectV, Phi, Repeated, Tensor, Unknown


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
}
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
    return Tensor(None, "mask", "attention mask")


def _input_embeddings(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """PreTrainedModel.get_input_embeddings as in 4.56 (EmbeddingAccessMixin)."""
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
    "warn_if_padding_and_no_attention_mask": BrainFunc("warn", _noop),
    "get_extended_attention_mask": BrainFunc("mask", _mask),
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
    if base == "transformers.configuration_utils.PretrainedConfig":
        return None
    return None


def config_method(interp: Host, model: Any, name: str) -> Any:
    """PretrainedConfig methods and properties a model reads."""
    if name == "get_text_config":
        return BrainFunc("get_text_config", lambda i, recv, args, kw, node: ConfigV(model))
    if name in ("use_return_dict", "return_dict"):
        return X.TRUE
    if name in ("is_encoder_decoder", "add_cross_attention", "tie_encoder_decoder", "is_decoder"):
        value = model.resolved.get(name, False)
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
    if short in MASK_FUNCTIONS:
        return Tensor(None, "mask", "attention mask")
    if short in FALSE_FUNCTIONS:
        return X.FALSE
    if short in TRUE_FUNCTIONS:
        return X.TRUE
    if short in ("DynamicCache", "Cache", "OffloadedCache"):
        return CacheV(ZERO)  # the cache a model builds in prefill: empty
    if short in ("HybridCache", "StaticCache", "SlidingWindowCache", "HybridChunkedCache", "EncoderDecoderCache", "QuantizedCache", "MambaCache", "DynamicLayer"):
        interp.report(A_CACHE_IN_FORWARD, site.node, f"{short} built inside forward(); modelled as an empty dynamic cache")
        return CacheV(ZERO)
    if short in ("get_logger",):
        return ObjectV(External("logging.Logger"), {}, kind="logger")
    if short in ("deprecate_kwarg", "auto_docstring", "can_return_tuple", "check_model_inputs", "use_kernel_forward_from_hub", "add_start_docstrings", "replace_return_docstrings", "add_start_docstrings_to_model_forward", "add_code_sample_docstrings", "dynamic_rope_update", "use_kernel_func_from_hub", "use_kernel_func_from_hub_with_fallback"):
        return BrainFunc("decorator", lambda i, recv, args, kw, node: args[0] if args else None)
    if short == "slice_logits_to_keep":  # 5.x: hidden_states[:, -logits_to_keep:, :]; forward() passes 0
        return _slice_logits_to_keep(site.arg(0, "hidden_states"), site.arg(1, "logits_to_keep", 0))
    if short == "GradientCheckpointingLayer" or short == "PreTrainedModel":
        return Unknown(f"{short} instance")
    if short in ("ModelOutput",):
        return Unknown("ModelOutput")
    if short in ("TransformersKwargs", "Unpack", "FlashAttentionKwargs", "LossKwargs", "KwargsForCausalLM"):
        return External(name)
    if short == "OutputRecorder":
        return ObjectV(External(name), {}, kind="output-recorder")
    return Unknown(f"{name} (library internals)")


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
    if short in MASK_FUNCTIONS or (short.startswith("_") and "mask" in short and "attention" in short):
        return Tensor(None, "mask", "attention mask")
    if short in ("_init_weights", "post_init", "warn_if_padding_and_no_attention_mask", "_check_and_enable_sdpa", "gradient_checkpointing_enable"):
        return None
    return NotImplemented


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
    if config is not None:
        # PreTrainedModel.tie_weights reads config.get_text_config(decoder=True): a composite model's text part decides
        text = text_config_object(interp)
        value = interp.getattr(text, "tie_word_embeddings", None) if text is not None else config.model.getattr_default(interp, "tie_word_embeddings", X.TRUE, None)
        tie = value if isinstance(value, X.Bool) else X.TRUE
    mod = output.inst.template
    if mod.kind != "linear" or not _declared_tie(interp, self_ref, output.path):
        return
    template.tied.append((output.path, inp.path, X.band(tie, arm_cond), _bias_tied(interp, self_ref, output.path)))


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


def _bias_tied(interp: Host, self_ref: ModRef, out_path: str) -> bool:
    """5.x `_tied_weights_keys = {target: source}`: whether the output module's bias is tied too
    (BERT's `cls.predictions.decoder.bias` -> `cls.predictions.bias`); 4.x lists are not read."""
    keys = interp.getattr(self_ref, "_tied_weights_keys", None)
    return isinstance(keys, DictV) and f"{out_path}.bias" in keys.items
