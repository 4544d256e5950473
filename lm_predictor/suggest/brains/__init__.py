"""Pattern modules for what the interpreter does not read from source (astroid-brains style).

One module per family of ops: `matmul` (the counted ops), `tensors` (shapes), `torch_modules`
(nn.Linear, nn.Embedding, ...), `builtins` (Python builtins, math), `cache` (the KV cache),
`transformers_lib` (library plumbing). Each registers its producers with `@base.brain(name, keys)`
in `base.BRAINS`, keyed by what they handle; the functions below are the interpreter's hooks.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import replace
from typing import Any

from lm_predictor.diagnostics import A_BRAIN_ERROR, A_MODULE_INPUT
from lm_predictor.suggest import expr as X
from lm_predictor.suggest import liveness
from lm_predictor.suggest.brains import autograd_fn as _autograd_fn
from lm_predictor.suggest.brains import einsum_saved as _einsum_saved
from lm_predictor.suggest.brains import gradflow as _gradflow
from lm_predictor.suggest.brains import saved as _saved
from lm_predictor.suggest.brains import saved_scan as _saved_scan
from lm_predictor.suggest.brains import (
    builtins as _builtins,
    cache as _cache,
    dtypes as _dtypes,
    matmul as _matmul,
    shapes as _shapes,
    tensors as _tensors,
    switches as _switches,
    torch_modules as _modules,
    transformers_lib as _tf,
)
from lm_predictor.suggest.brains.dtype_info import info_attr, info_object
from lm_predictor.suggest.brains.base import CallSite, Pattern, brain_for, canonical, slice_length
from lm_predictor.suggest.brains.fnbytes import price_conv1d
from lm_predictor.suggest.brains.layout import elem_bytes, free, gap
from lm_predictor.suggest.brains.opbytes import METADATA, price_getitem, price_unary
from lm_predictor.suggest.brains.setitem import price_setitem
from lm_predictor.suggest.brains.transformers_lib import ActTable, BrainFunc
from lm_predictor.suggest.expr import ONE, Num
from lm_predictor.suggest.findings import BrainError, DeadPath
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import BoundMethod, ConfigV, Range, hashable
from lm_predictor.suggest.scope import ModRef, Template, TorchModule
from lm_predictor.suggest.valueops import compare_known, known_element, translate
from lm_predictor.suggest.values import INTEGER_DTYPES, Builtin, CacheV, DictV, External, ListV, ObjectV, Phi, Repeated, Tensor, Unknown


BRAIN_MODULES = (_builtins, _cache, _dtypes, _matmul, _tensors, _modules, _tf)  # importing them fills base.BRAINS
STATIC_RULES = _modules.STATIC_RULES

FALSE_EXTERNALS = {
    "torch.jit.is_tracing", "torch.jit.is_scripting", "torch.compiler.is_compiling", "torch.is_grad_enabled",
    "torch.cuda.is_available", "torch.is_autocast_enabled", "torch._dynamo.is_compiling", "torch.fx._symbolic_trace.is_fx_tracing",
    "torch.compiler.is_dynamo_compiling", "torch.backends.mps.is_available", "torch.distributed.is_initialized",
    "torch.distributed.is_available", "torch.xpu.is_available", "torch.npu.is_available",
}
CONTEXT_EXTERNALS = {"torch.autocast", "torch.no_grad", "torch.enable_grad", "contextlib.nullcontext", "torch.inference_mode", "torch.amp.autocast", "torch.cuda.amp.autocast", "torch.random.fork_rng"}


# ---------------------------------------------------------------------------- hooks


def global_value(interp: Host, qual: str) -> Any:
    return _tf.global_value(interp, qual)


TORCH_BASES = {"nn.Linear", "nn.Embedding", "nn.LayerNorm", "nn.Conv1d", "nn.RMSNorm", "nn.GroupNorm"}


INIT_HINTS = {
    "nn.Linear": ["in_features", "out_features", "bias"],
    "nn.Embedding": ["num_embeddings", "embedding_dim", "padding_idx"],
    "nn.LayerNorm": ["normalized_shape", "eps", "elementwise_affine", "bias"],
    "nn.RMSNorm": ["normalized_shape", "eps", "elementwise_affine"],
    "nn.GroupNorm": ["num_groups", "num_channels", "eps", "affine"],
    "nn.Conv1d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"],
}


def init_hints(init: Any) -> list:
    """Parameter names of a brain-implemented constructor (nn.Linear & co as a base class)."""
    name = getattr(init, "name", "")
    return INIT_HINTS.get(name.rsplit(".__init__", 1)[0], [])


def is_module_base(name: str) -> bool:
    return name in _tf.MODULE_BASES or canonical(name) in ("nn.Module",) or canonical(name) in TORCH_BASES


def base_attr(interp: Host, base: str, name: str) -> Any:
    cname = canonical(base)
    if cname == "nn.Module":
        base = "torch.nn.Module"
    if cname in TORCH_BASES:
        if name == "__init__":
            return BrainFunc(f"{cname}.__init__", lambda i, recv, args, kw, node: _torch_base_init(i, cname, recv, args, kw, node))
        if name == "forward":
            return BrainFunc(f"{cname}.forward", _torch_base_forward, saves_itself=True)  # the module call records its saves
        return _tf.base_attr(interp, "torch.nn.Module", name)
    return _tf.base_attr(interp, base, name)


def _torch_base_init(interp: Host, cname: str, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """A transformers class derived from nn.Linear & co: the base builds weight / bias."""
    site = CallSite(interp, None, list(args), dict(kwargs), node, None, cname)
    ref = _modules.construct(site, cname)
    if not isinstance(ref, ModRef) or not isinstance(recv, ModRef):
        return None
    tmpl = recv.inst.template
    tmpl.torch_base = ref
    frozen = cname == "nn.Embedding" and _modules.is_true(site.arg(None, "_freeze", False))  # nn.Embedding(..., _freeze=True)
    for attr in ("weight", "bias", "in_features", "out_features", "num_embeddings", "embedding_dim", "padding_idx", "normalized_shape"):
        value = _modules.module_attr(interp, ref, attr, node)
        if isinstance(value, Unknown) or isinstance(value, BoundMethod):
            continue
        if frozen and attr == "weight" and isinstance(value, Tensor) and value.param:
            value = replace(value, no_grad=True)  # a weight made with requires_grad=False
        interp.set_attr(recv, attr, value, node)
    return None


def _torch_base_forward(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    tmpl = recv.inst.template if isinstance(recv, ModRef) else None
    base = getattr(tmpl, "torch_base", None)
    if base is None:
        return Unknown("forward of a torch module base")
    view = translate(base, recv.binding, None) if recv.binding else base
    if not interp.grad_off:  # the base's forward reads them (under torch.no_grad(): no gradient)
        tmpl.read_attrs.update(a for a in ("weight", "bias") if a in tmpl.attrs)
    return _modules.call_module(interp, view, args, kwargs, node)


def class_method(interp: Host, cls: Any, name: str) -> Any:
    """Class methods the analysed tree inherits from transformers' or torch's bases: `Model._from_config(config)` builds
    `Model(config)`; `F.apply(*args)` of a torch.autograd.Function subclass runs its own `forward(ctx, *args)`."""
    if name in ("_from_config", "from_config") and any(isinstance(c, External) and is_module_base(c.name) for c in interp.mro(cls)):
        return BrainFunc(name, lambda i, recv, args, kw, node: i.call(cls, [args[0] if args else kw.get("config")], {}, node))
    if name == "apply" and _autograd_fn.is_function_class(interp, cls):
        return _autograd_fn.autograd_apply(interp, cls)
    return None


def external_truth(name: str) -> bool | None:
    return True


def config_method(interp: Host, model: Any, name: str) -> Any:
    return _tf.config_method(interp, model, name)


def tensor_binop(interp: Host, op: str, a: Any, b: Any, node: Any) -> Any:
    decided = compare_known(op, a, b)
    if decided is not None:
        return decided
    result = _tensors.tensor_binop(interp, op, a, b, node)
    if all(isinstance(v, (Tensor, Num, X.Bool)) for v in (a, b)) and not any(v.requires_grad for v in (a, b) if isinstance(v, Tensor)):
        result = _mark_no_grad(result)  # e.g. position_ids / 2 (an unknown operand may require grad)
    _saved.op(interp, BINOPS.get(op, "compare"), [a, b], result)
    liveness.op(interp, [a, b], result)
    return result


BINOPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "//": "floor_divide", "%": "remainder", "@": "matmul",
          "&": "and", "|": "or", "^": "xor", "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def module_tensor(interp: Host, key: tuple, value: Any, buffer: bool) -> Any:
    """A module attribute read in a forward: a buffer is never counted; a plain tensor is one storage per instance."""
    value = _saved.module_tensor(interp, key, value, buffer)
    liveness.seen(interp, value)
    return value


def tensor_attr(interp: Host, t: Tensor, name: str, node: Any) -> Any:
    result = _tensors.tensor_attr(interp, t, name, node)
    liveness.op(interp, [t], result)
    return result


def tensor_setitem(interp: Host, t: Tensor, index: Any, value: Any, node: Any) -> None:
    """`t[index] = value`: its bytes (brains/setitem.py); the view basic indexing takes sizes a copy."""
    items = list(index) if isinstance(index, tuple) else [index]
    basic = not any(isinstance(i, (Tensor, ListV, list)) for i in items)
    view = _shapes.getitem(interp, t, index, node) if basic and t.shape is not None else None
    rec = interp.recorder
    price_setitem(interp, t, index, value, view, rec.label("setitem", node) if rec is not None else "setitem")
    liveness.escape(interp, value)  # written into another tensor (the target or a view of it may be read anywhere)


def tensor_getitem(interp: Host, t: Tensor, index: Any, node: Any) -> Any:
    known = known_element(t, index)
    if known is not None:
        free(interp)
        result = known
    else:
        result = price_getitem(interp, t, index, _shapes.getitem(interp, t, index, node))
    result = result if t.requires_grad else _mark_no_grad(result)
    items = list(index) if isinstance(index, tuple) else [index]
    # a 0-dim integer tensor index is a select (torch's applySlicing reads its value): a view, as an int index is
    fancy = any(isinstance(i, (Tensor, ListV, list)) and not _scalar_index(i) for i in items)
    _saved.op(interp, "index" if fancy else "select", [t] + ([_index_tensor(interp, i) for i in items] if fancy else []), result)
    liveness.op(interp, [t, index], result)
    return result


def _scalar_index(i: Any) -> bool:
    """A 0-dim integer tensor used as an index (5.x MoE's `self.gate_up_proj[expert_idx]`)."""
    return isinstance(i, Tensor) and i.shape == () and i.dtype in INTEGER_DTYPES and i.dtype != "bool"


def _index_tensor(interp: Host, i: Any) -> Any:
    """An index item as aten.index gets it: a tensor as is, a flat list of numbers the new int64 tensor
    torch makes of it (one storage per list, which index's backward keeps), else None (basic) or unknown."""
    if isinstance(i, Tensor):
        return i
    if not isinstance(i, (ListV, list)):
        return None
    items = i.items if isinstance(i, ListV) else i
    if isinstance(i, ListV) and i.rep is not None or not items or not all(isinstance(v, (Num, int)) and not isinstance(v, bool) for v in items):
        return Unknown("list index")
    made = Tensor((Num.const(len(items)),), "long")
    _saved.fresh(interp, made)
    return made


def element_bytes(t: Tensor) -> Num | None:
    """Bytes per element of a tensor's dtype (None: not sized)."""
    return elem_bytes(t)


def tensor_unary(interp: Host, op: str, t: Tensor, node: Any) -> Any:
    """-x, ~x, +x on a tensor: one pointwise kernel (none for +)."""
    result = price_unary(interp, op, t, node)
    _saved.op(interp, {"-": "neg", "~": "bitwise_not", "+": "positive"}.get(op, op), [t], result)
    liveness.op(interp, [t], result)
    return result


def external_attr(interp: Host, ext: External, name: str) -> Any:
    full = f"{ext.name}.{name}"
    limit = info_attr(ext, name)
    if limit is not None:
        return limit
    if ext.name == "math" and name in ("pi", "e", "tau"):
        return Num.const(getattr(math, name))
    return External(full)


def is_autograd_function(interp: Host, cls: Any) -> bool:
    """Whether `cls` subclasses torch.autograd.Function (its `apply` runs brains/autograd_fn.py)."""
    return _autograd_fn.is_function_class(interp, cls)


def object_attr(interp: Host, obj: ObjectV, name: str, node: Any) -> Any:
    if obj.kind == _autograd_fn.CTX_KIND:
        return _autograd_fn.ctx_attr(obj, name)
    return _tf.object_attr(interp, obj, name, node)


def super_attr(interp: Host, inst: Any, name: str, node: Any) -> Any:
    cls = interp.instance_class(inst)
    if cls is not None:
        for c in interp.mro(cls):
            if isinstance(c, External):
                attr = base_attr(interp, c.name, name)
                if attr is not None:
                    return interp.bind_attr(attr, inst, node)
    if isinstance(inst, ObjectV) and inst.kind == "config" and name == "__init__":
        def pretrained_init(i: Host, recv: Any, args: list, kwargs: dict, n: Any) -> Any:
            i.config_model_building.pretrained_init(i, inst, dict(kwargs))
            return None
        return BrainFunc("PretrainedConfig.__init__", pretrained_init, inst)
    if isinstance(inst, ObjectV) and name == "__init__" and isinstance(interp.config, ConfigV) and any(
            isinstance(c, External) and c.name.endswith("PretrainedConfig") for c in interp.mro(interp.instance_class(inst) or inst.cls)):
        def nested_init(i: Host, recv: Any, args: list, kwargs: dict, n: Any) -> Any:
            i.config.model.sub_config_init(inst, dict(kwargs))
            return None
        return BrainFunc("PretrainedConfig.__init__", nested_init, inst)
    if isinstance(inst, ObjectV) and inst.kind == "config" and name == "__post_init__":
        return BrainFunc("PreTrainedConfig.__post_init__", _tf.config_post_init, inst)
    if name in ("__init__", "__post_init__"):  # 5.x PreTrainedConfig.__post_init__: the fields are set already
        return BrainFunc(name, _tf._noop, inst)
    return Unknown(f"super().{name}")


def value_attr(interp: Host, obj: Any, name: str, node: Any) -> Any:
    if isinstance(obj, CacheV):
        return _cache.attr(interp, obj, name)
    if name in ("values", "indices") and isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], Tensor) and obj[1].dtype == "long":
        return obj[name == "indices"]  # torch.return_types (max, min, topk, sort): a (values, indices) named tuple
    if isinstance(obj, (str, DictV, ListV, tuple, Num, Repeated)):
        return BoundMethod(obj, name)
    if isinstance(obj, BrainFunc):
        return Unknown(f"attribute {name} of {obj.name}")
    if isinstance(obj, Builtin) and obj.name == "dict" and name == "fromkeys":
        return BrainFunc("dict.fromkeys", _builtins.dict_fromkeys)
    return Unknown(f"attribute {name} of {type(obj).__name__}")


def slice_repeated(interp: Host, rep: Repeated, index: Any, node: Any) -> Any:
    if any(b is not None and not isinstance(b, Num) for b in (index.start, index.stop, index.step)):
        return Unknown("slice of a module list with bounds the analysis cannot read")
    count = slice_length(rep.count, index.start, index.stop, index.step)
    return Repeated(rep.elem, count, rep.index)


def external_getitem(interp: Host, ext: External, index: Any, node: Any) -> Any:
    return External(ext.name + "[]")


def module_getitem(interp: Host, ref: ModRef, index: Any, node: Any) -> Any:
    mod = ref.inst.template
    if isinstance(mod, TorchModule) and mod.kind == "sequential":
        items = _modules.iterate(interp, ref, node)
        c = index.const_value() if isinstance(index, Num) else None
        if isinstance(c, int) and items and -len(items) <= c < len(items):
            return items[c]
    return Unknown("module indexing")


def value_getitem(interp: Host, obj: Any, index: Any, node: Any) -> Any:
    if isinstance(obj, ActTable):
        return _tf.act_lookup(interp, obj, index, node)
    if isinstance(obj, ObjectV) and obj.kind == "attention-functions":
        return _tf.attention_function(index)
    if isinstance(obj, str) and isinstance(index, Num):
        c = index.const_value()
        return obj[c] if isinstance(c, int) and -len(obj) <= c < len(obj) else Unknown("string index")
    if isinstance(obj, CacheV) and isinstance(index, Num):  # Cache.__getitem__: (keys, values) of one layer, legacy style
        return (_tensors.past_layer(obj.past), _tensors.past_layer(obj.past))
    if isinstance(obj, CacheV):
        return Unknown("legacy cache indexing (past_key_values[layer])")
    if isinstance(obj, ObjectV) and getattr(obj.cls, "name", "") == "_LazyConfigMapping":
        return interp.on_phi(index, lambda key: _tf.config_class_of(interp, key))  # CONFIG_MAPPING["llama"]
    if isinstance(obj, Range) and isinstance(index, Num):
        return obj.start + obj.step * index
    if isinstance(obj, ObjectV) and obj.kind == "per-layer-config":
        return _tf.layer_config(interp, obj, index)
    return Unknown(f"indexing {type(obj).__name__}")


def config_post_init(interp: Host, obj: ObjectV, kwargs: dict) -> None:
    """5.x PreTrainedConfig.__post_init__(**kwargs) of a config class that defines none of its own."""
    _tf.config_post_init(interp, obj, [], kwargs, None)


def layer_config_attr(interp: Host, cfg: ConfigV, name: str, node: Any) -> Any:
    return _tf.layer_config_attr(interp, cfg, name, node)


def layer_overrides(value: Any) -> dict:
    return _tf.layer_overrides(value)


def nested_config_attr(interp: Host, obj: ObjectV, name: str) -> Any:
    """`per_layer_config` / `is_heterogeneous` of a nested (sub-)config object, else NotImplemented."""
    return _tf.nested_config_attr(interp, obj, name)


def function_call(interp: Host, fv: Any, args: list, kwargs: dict, node: Any, hint: Any) -> Any:
    switched = _switches.config_switch(interp, fv, args, kwargs, node)
    if switched is not NotImplemented:
        return switched
    return _tf.function_call(interp, fv, args, kwargs, node, hint)


def before_run(interp: Host, fv: Any, args: list, node: Any) -> None:
    """Called before a function of the tree runs from source (its decorators' own work)."""
    _tf.before_decorated_call(interp, fv, args, node)


def instantiate(interp: Host, cls: Any, args: list, kwargs: dict, node: Any) -> Any:
    if not args and isinstance(interp.config, ConfigV) and _tf.is_dataclass_config(interp, cls):
        return interp.config.model.dataclass_instance(interp, cls, kwargs)
    return _cache.model_cache(interp, cls, args, kwargs, node)


def after_init(interp: Host, template: Template, self_ref: ModRef) -> None:
    _tf.after_init(interp, template, self_ref)


def torch_module_attr(interp: Host, ref: ModRef, name: str, node: Any) -> Any:
    mod = ref.inst.template
    if mod.kind == "hf_conv1d":
        args = _modules.module_args(ref)
        if name == "weight":
            return Tensor((args["nx"], args["nf"]), "model", "", True)
        if name == "bias":
            return Tensor((args["nf"],), "model", "", True)
        if name in ("nf", "nx"):
            return args[name]
    return _modules.module_attr(interp, ref, name, node)


def torch_module_params(interp: Host, ref: ModRef, label: str) -> Any:
    mod = ref.inst.template
    if mod.kind == "hf_conv1d":
        args = _modules.module_args(ref)
        return X.call(label, "transformers.pytorch_utils.Conv1D", {"nf": args["nf"], "nx": args["nx"]})
    return _modules.module_params(interp, ref, label)


def call_torch_module(interp: Host, ref: ModRef, args: list, kwargs: dict, node: Any) -> Any:
    mod = ref.inst.template
    if mod.kind == "hf_conv1d":
        margs = _modules.module_args(ref)
        x = args[0] if args else next(iter(kwargs.values()), None)
        label = ref.path or "conv1d"
        if not isinstance(x, Tensor) or x.shape is None:
            interp.add_cost("flops", interp.unresolved(A_MODULE_INPUT, node, f"input of {label} (Conv1D) has an unknown shape"), ref.count or ONE)
            return Tensor(None, "model", "Conv1D of an unknown input")
        tokens = _modules.numel(x.shape[:-1])
        interp.add_cost("flops", X.call(label, "transformers.pytorch_utils.Conv1D", {"nf": margs["nf"], "nx": margs["nx"], "tokens": tokens}), ref.count or ONE)
        price_conv1d(interp, label, x, margs["nf"], margs["nx"], ref.count or ONE)
        result = Tensor(x.shape[:-1] + (margs["nf"],), x.dtype)
        _saved.module(interp, "linear", x, result)  # addmm(bias, x.view(-1, nx), weight) keeps x, as Linear does
        return result
    return _modules.call_module(interp, ref, args, kwargs, node)


def iterate_module(interp: Host, ref: ModRef, node: Any) -> Any:
    return _modules.iterate(interp, ref, node)


def module_attr_default(interp: Host, ref: ModRef, name: str, node: Any) -> Any:
    if name in _tf.MODULE_ATTRS:
        return interp.bind_attr(_tf.MODULE_ATTRS[name], ref, node)
    return None


def module_call_default(interp: Host, ref: ModRef, args: list, kwargs: dict, node: Any) -> Any:
    return NotImplemented


# ---------------------------------------------------------------------------- calls


def call(interp: Host, callee: Any, args: list, kwargs: dict, node: Any, hint: Any) -> Any:
    """Dispatch a call the interpreter cannot run from source; values that are still a Phi
    (they differ by a condition and could not be merged) are split, each arm called, the
    results joined."""
    if isinstance(callee, BoundMethod) and isinstance(callee.receiver, Phi):
        return interp.on_phi(callee.receiver, lambda r: call(interp, BoundMethod(r, callee.name), args, kwargs, node, hint))
    for i, a in enumerate(args):
        if isinstance(a, Phi):
            return interp.on_phi(a, lambda v: call(interp, callee, args[:i] + [v] + args[i + 1:], kwargs, node, hint))
        if isinstance(a, tuple):  # a shape tuple with a conditional size
            for j, x in enumerate(a):
                if isinstance(x, Phi):
                    return interp.on_phi(x, lambda v: call(interp, callee, args[:i] + [a[:j] + (v,) + a[j + 1:]] + args[i + 1:], kwargs, node, hint))
        if isinstance(a, ListV) and a.rep is None:  # torch.cat([state, x]) with a state that is None in prefill
            for j, x in enumerate(a.items):
                if isinstance(x, Phi):
                    return interp.on_phi(x, lambda v: call(interp, callee, args[:i] + [ListV(a.items[:j] + [v] + a.items[j + 1:])] + args[i + 1:], kwargs, node, hint))
    for k, a in kwargs.items():
        if isinstance(a, Phi):
            return interp.on_phi(a, lambda v: call(interp, callee, args, {**kwargs, k: v}, node, hint))
    return _call(interp, callee, args, kwargs, node, hint)


def _call(interp: Host, callee: Any, args: list, kwargs: dict, node: Any, hint: Any) -> Any:
    receiver = None
    name = ""
    if isinstance(callee, External):
        name = canonical(callee.name)
        if callee.name in FALSE_EXTERNALS or name in FALSE_EXTERNALS:
            return X.FALSE
        if callee.name in CONTEXT_EXTERNALS:
            return ObjectV(External(callee.name), {}, kind="context")
        if callee.name in ("copy.deepcopy", "copy.copy"):
            return args[0] if args else Unknown("copy")
        if callee.name in ("typing.cast",):
            return args[1] if len(args) > 1 else Unknown("cast")
        if callee.name == "torch.finfo" or callee.name == "torch.iinfo":
            return info_object(callee.name[len("torch."):], list(args), dict(kwargs))
        if callee.name in ("functools.partial",):
            return _Partial(args[0], list(args[1:]), dict(kwargs))
        if callee.name.startswith(("typing.", "collections.abc.")) or callee.name in ("dataclasses.dataclass",):
            return External(callee.name)
        if callee.name.startswith(("warnings.", "logging.")):
            return None
        if callee.name == "torch.Size":
            return tuple(args[0]) if args and isinstance(args[0], (tuple, list)) else tuple(args)
        if callee.name in ("torch.device", "torch.dtype"):
            return External("torch.device")
    elif isinstance(callee, BoundMethod):
        receiver = callee.receiver
        if isinstance(receiver, Tensor):
            name = "Tensor." + callee.name
        elif isinstance(receiver, CacheV):
            name = "Cache." + callee.name
        elif isinstance(receiver, ModRef):
            return _module_method(interp, receiver, callee.name, args, kwargs, node)
        else:
            return _python_method(interp, receiver, callee.name, args, kwargs, node)
    elif isinstance(callee, _Partial):
        return interp.call(callee.fn, callee.args + list(args), {**callee.kwargs, **kwargs}, node, hint)
    elif isinstance(callee, ObjectV):
        if callee.kind == "context":
            return None
        call_attr = interp.getattr(callee, "__call__", node)
        if not isinstance(call_attr, Unknown):
            return interp.call(call_attr, args, kwargs, node, hint)
        return Unknown("call of an object")
    site = CallSite(interp, callee, list(args), dict(kwargs), node, hint, name, receiver)
    pattern = brain_for(site)
    if pattern is not None:
        rec = interp.recorder
        marks = rec.bytes_marks if rec is not None else 0
        try:
            result = _not_a_parameter(site, _without_grad(site, pattern.suggest(site)))
            if pattern.name == "einsum":  # a composite of permutes, reshapes and bmm: its own saved-tensor model
                result = _einsum_saved.call(site, result)
            elif pattern.name not in BYTES_EXEMPT and not getattr(site.callee, "saves_itself", False):
                result = _saved.call(site, pattern.name, result)
            if rec is not None and rec.bytes_marks == marks and pattern.name not in BYTES_EXEMPT and _runs_a_kernel(site, result):
                gap(interp, f"{site.name or pattern.name}: no bytes model")  # a partial bytes total would be wrong
            liveness.op(interp, [site.receiver, args, kwargs], result, in_place=_in_place(site))
            _gradflow.note_factory(interp, site.name, [site.receiver, *site.args, *site.kwargs.values()], result)
            return result
        except DeadPath:
            raise
        except (AttributeError, TypeError, IndexError, KeyError, ValueError, ZeroDivisionError) as err:
            gap(interp, f"{site.name or pattern.name}: brain error")
            return brain_failed(interp, site, pattern, err)
    liveness.escape(interp, [args, kwargs])  # a call the analysis does not follow
    if isinstance(callee, External):
        if any(isinstance(a, Tensor) for a in list(args) + list(kwargs.values())):
            return Unknown(f"{callee.name} is not in the op table")
        return Unknown(f"{callee.name}")
    if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
        print("call of", type(callee).__name__, interp.current_loc)
    return Unknown(f"call of {type(callee).__name__}")


def _in_place(site: CallSite) -> bool:
    """A tensor method that writes its receiver (`x.mul_(y)`, `x.copy_(y)`)."""
    short = (site.name or "").rsplit(".", 1)[-1]
    return isinstance(site.receiver, Tensor) and short.endswith("_") and not short.startswith("_")


BYTES_EXEMPT = {"builtin", "math", "torch-module"}
"""Brains whose calls never run a tensor kernel themselves (Python builtins, math, nn.* constructors)."""


def _runs_a_kernel(site: CallSite, result: Any) -> bool:
    """Whether a call may dispatch a tensor op: it returns a tensor, or is a tensor method beyond metadata."""
    if isinstance(site.receiver, Tensor) and site.name.split(".", 1)[-1] not in METADATA:
        return True
    items = result if isinstance(result, (tuple, list)) else (result,)
    return any(isinstance(v, (Tensor, Phi)) for v in items)


CONSTANT_FACTORIES = frozenset({"torch.tensor", "torch.as_tensor", "torch.ones"})
"""Factories of a tensor from Python numbers (and `torch.full` or `torch.zeros` of a 0-dim one), and `torch.ones` (the
2-d attention mask of ones OPT and the BART-style decoders build, only ever read): autograd gives them
no gradient (unlike `torch.zeros`, which a forward may fill in place from tensors that require it)."""


def _without_grad(site: CallSite, result: Any) -> Any:
    """A tensor op (`Tensor.*`, `torch.*`, `F.*`) with tensor inputs, none of which requires grad,
    gives tensors that require none (the rotary `inv_freq[None, :, None].float() @ position_ids.float()`);
    a parameter, a module call and a factory (`torch.zeros`, later filled in place) keep their own answer.
    Under torch.no_grad() every result requires none (deepseek_v32's indexer scores)."""
    if getattr(site.interp, "grad_off", 0):
        return _mark_no_grad(result)
    if not site.name or not site.name.startswith(("Tensor.", "torch.", "F.")) or site.name.startswith("torch.nn."):
        return result
    inputs = [site.receiver, *site.args, *site.kwargs.values()]
    tensors = [v for v in inputs + [x for v in inputs for x in _items(v)] if isinstance(v, Tensor)]
    constant = site.name in CONSTANT_FACTORIES or site.name in ("torch.full", "torch.zeros") and isinstance(result, Tensor) and result.shape == ()
    if not tensors and constant and "requires_grad" not in site.kwargs:
        return _mark_no_grad(result)  # gemma's `torch.tensor(hidden_size**0.5)`, gpt2's `torch.full([], ...)`, 5.x prophetnet's `torch.zeros(())`: constants
    if not tensors or any(t.requires_grad for t in tensors):
        return result
    return _mark_no_grad(result)


def _not_a_parameter(site: CallSite, result: Any) -> Any:
    """A tensor op's new result is an activation, not a parameter, even where a brain copied its
    parameter input (xIELU's `softplus(self.alpha_p)`, saved for backward as a new storage); views,
    reshapes and casts may share the parameter's storage and keep the mark."""
    if not isinstance(result, Tensor) or not result.param or not site.name or not site.name.startswith(("Tensor.", "torch.", "F.")):
        return result
    short = site.name.split(".")[-1]
    if site.name.startswith("torch.nn.") or short in _saved.VIEWS | _saved.RESHAPES | _saved.CASTS | _saved.KEEPS_INPUT:
        return result
    if any(result is v for v in [site.receiver, *site.args, *site.kwargs.values()]):
        return result
    return dataclasses.replace(result, param=False)


def _items(value: Any) -> list:
    """The elements of a sequence argument (`torch.cat([torch.sin(x), torch.cos(x)])`: a list the analysis holds as ListV)."""
    if isinstance(value, (tuple, list)):
        return list(value)
    if isinstance(value, ListV):
        return [*value.items, *([value.rep] if value.rep is not None else [])]
    return []


def _mark_no_grad(result: Any) -> Any:
    """`result` with every float tensor in it (or in a tuple of them) marked no_grad."""
    if isinstance(result, Tensor) and not result.param and not result.no_grad:
        return dataclasses.replace(result, no_grad=True)
    if isinstance(result, tuple):
        return tuple(_mark_no_grad(v) for v in result)
    return result


def brain_failed(interp: Host, site: CallSite, pattern: Pattern, err: Exception) -> Unknown:
    """A brain raised on arguments it does not handle: an A170 diagnostic and an unknown result.

    With LMPREDICT_BRAIN_ERRORS=raise (the test suite sets it) the error propagates instead, so a
    brain bug fails loudly rather than turning into an unknown."""
    if os.environ.get("LMPREDICT_BRAIN_ERRORS") == "raise":
        raise BrainError(f"brain {pattern.name!r} raised on {site.name or type(site.callee).__name__}: {type(err).__name__}: {err}") from err
    interp.report(A_BRAIN_ERROR, site.node, f"brain {pattern.name!r} cannot follow the arguments of {site.name or pattern.name} ({type(err).__name__}: {err})")
    return Unknown(f"{site.name or pattern.name}: arguments the op table cannot follow ({type(err).__name__})")


class _Partial:
    def __init__(self, fn: Any, args: list, kwargs: dict):
        self.fn, self.args, self.kwargs = fn, args, kwargs


def _module_method(interp: Host, ref: ModRef, name: str, args: list, kwargs: dict, node: Any) -> Any:
    if name in ("forward", "__call__"):
        return interp.call_module(ref, args, kwargs, node)
    if name in _tf.MODULE_ATTRS and isinstance(_tf.MODULE_ATTRS[name], BrainFunc):
        f = _tf.MODULE_ATTRS[name]
        return f.fn(interp, ref, args, kwargs, node)
    if name in ("to", "float", "half", "eval", "train", "requires_grad_", "cpu", "cuda", "type"):
        return ref
    if name in ("parameters", "modules", "children", "named_parameters", "named_modules", "buffers"):
        return Unknown(f"module.{name}()")
    return Unknown(f"module method {name}")


def _python_method(interp: Host, recv: Any, name: str, args: list, kwargs: dict, node: Any) -> Any:
    liveness.escape(interp, [args, kwargs])  # a list's append, a dict's update: the container may be read anywhere
    if isinstance(recv, str):
        if name in ("startswith", "endswith") and args and isinstance(args[0], (str, tuple)):
            return X.bconst(getattr(recv, name)(args[0]))
        if name in ("lower", "upper", "strip", "replace", "format", "split", "join", "capitalize", "title"):
            try:
                plain = [a for a in args if isinstance(a, str)]
                if len(plain) == len(args):
                    return getattr(recv, name)(*plain)
            except Exception:  # noqa: BLE001
                pass
            return "<str>"
        return Unknown(f"str.{name}")
    if isinstance(recv, DictV):
        if name == "get":
            key = hashable(args[0])
            default = args[1] if len(args) > 1 else kwargs.get("default")
            if key in recv.items:
                return recv.items[key]
            if isinstance(key, (str, int)) or key is None:
                return default
            return Unknown("dict.get of an unknown key")
        if name in ("pop",):
            key = hashable(args[0])
            default = args[1] if len(args) > 1 else None
            return recv.items.pop(key, default)
        if name == "items":
            return ListV([(k, v) for k, v in recv.items.items()])
        if name == "keys":
            return ListV(list(recv.items.keys()))
        if name == "values":
            return ListV(list(recv.items.values()))
        if name == "update":
            if args and isinstance(args[0], DictV):
                recv.items.update(args[0].items)
            recv.items.update(kwargs)
            return None
        if name == "setdefault":
            key = hashable(args[0])
            return recv.items.setdefault(key, args[1] if len(args) > 1 else None)
        if name == "copy":
            return DictV(dict(recv.items))
        return Unknown(f"dict.{name}")
    if isinstance(recv, ListV):
        if name == "append":
            loops = interp.sym_loops
            if loops and not recv.items:
                # appended inside a loop of symbolic length: recorded with the branch it runs on
                loop = loops[-1]
                guard = X.band(*interp.assume[loop["start"]:])
                loop["appends"].setdefault(id(recv), (recv, []))[1].append((guard, args[0]))
                return None
            recv.items.append(args[0])
            return None
        if name == "extend":
            items = interp.iter_items(args[0], node)
            if isinstance(items, list):
                recv.items.extend(items)
            return None
        if name == "insert":
            idx = args[0].const_value() if isinstance(args[0], Num) else None
            if isinstance(idx, int):
                recv.items.insert(idx, args[1])
            return None
        if name == "pop":
            return recv.items.pop() if recv.items else Unknown("pop")
        if name == "copy":
            return ListV(list(recv.items))
        if name == "index":
            for i, v in enumerate(recv.items):
                if v == args[0]:
                    return Num.const(i)
            return Unknown("list.index")
        if name == "count":
            return Num.const(sum(1 for v in recv.items if v == args[0]))
        return Unknown(f"list.{name}")
    if isinstance(recv, tuple):
        if name == "count":
            return Num.const(sum(1 for v in recv if v == args[0]))
        if name == "index":
            for i, v in enumerate(recv):
                if v == args[0]:
                    return Num.const(i)
        return Unknown(f"tuple.{name}")
    if isinstance(recv, Num):
        if name in ("is_integer",):
            return X.bconst(X.is_integral(recv))
        return Unknown(f"number.{name}")
    if isinstance(recv, Repeated):
        return Unknown(f"list.{name}")
    return Unknown(f"method {name} of {type(recv).__name__}")


def saved_inputs(interp: Host, draft: Any, root: bool, args: list, kwargs: dict) -> None:
    """A forward about to run: its inputs are its caller's storages (the root's are its own)."""
    draft.saved = _saved.SavedLog(root=root, loop_base=len(interp.sym_loops))
    _saved.register_args(interp, draft.saved, args, kwargs)


def saved_module_call(interp: Host, draft: Any, term: Num, count: Num, args: list, kwargs: dict, mapping: dict, checkpointed: bool) -> None:
    _saved.module_call(interp, draft, term, count, args, kwargs, None, mapping, checkpointed)


def saved_returned(interp: Host, draft: Any, inner: Any, out: Any, args: list, kwargs: dict, mapping: dict | None = None) -> None:
    _saved.returned(interp, draft, inner, out, args, kwargs, mapping)


def saved_after_loop(interp: Host, loop: dict, before: dict, after: dict) -> None:
    _saved_scan.after_loop(interp, loop, before, after)


def grad_off_context(interp: Host, value: Any, grad_off: frozenset) -> bool:
    """Whether a `with` item turns gradients off; one that does so on some arms of a condition only
    (hrm_text's `nullcontext() if ... else torch.no_grad()`) leaves the rule's backward unknown."""
    grad = _gradflow.mixed_grad_context(value, grad_off)
    if grad is None:
        _gradflow.backward_gap(interp, "a `with` that turns gradients off under a condition: which calls have a backward is not known")
    return bool(grad)

