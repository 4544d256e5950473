"""torch.nn modules: construction, attributes, forward shapes, and the library rules they map to.

`MODULES` maps a canonical class name to a spec: which library rule it calls (with which
parameters), its parameter count, its output shape. Modules the library has no rule for but
whose cost is known (Conv1d, RMSNorm, GroupNorm) come with a `STATIC_RULES` entry that
`suggest --recursive` emits.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from lm_predictor.diagnostics import A_MODULE_FORWARD, A_MODULE_INPUT, A_MODULE_PARAMS
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, brain, numel, prefix, unknown_tensor
from lm_predictor.suggest.brains import norm_saved, saved
from lm_predictor.suggest.brains.layout import elem_bytes, elementwise_layout, free, gap, is_contiguous, layout_of, trained_dropout, with_layout
from lm_predictor.suggest.brains.linear_bytes import pad_module_bytes, strided_linear
from lm_predictor.suggest.brains.shapes import flatten, pad as tensor_pad
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import BoundMethod
from lm_predictor.suggest.scope import Instance, ModRef, TorchModule
from lm_predictor.suggest.valueops import translate
from lm_predictor.suggest.values import CondLayout, DictV, External, ListV, Phi, Tensor, Unknown


ELEMENTWISE_MODULES = {
    "nn.SiLU", "nn.GELU", "nn.ReLU", "nn.Tanh", "nn.Sigmoid", "nn.Softmax", "nn.Dropout", "nn.Identity", "nn.Mish",
    "nn.LeakyReLU", "nn.ELU", "nn.Softplus", "nn.Hardtanh", "nn.ReLU6", "nn.SELU", "nn.CELU", "nn.Hardswish",
    "nn.Hardsigmoid", "nn.LogSoftmax", "nn.Softsign", "nn.Tanhshrink", "nn.GLU", "nn.Dropout1d", "nn.Dropout2d",
    "nn.AlphaDropout", "nn.LogSigmoid", "nn.Flatten", "nn.Unflatten", "nn.SiLU_", "nn.Threshold",
}

def _conv_rule(n: int, layout: str, kernel: str, kernel_doc: str, out: str, out_doc: str) -> dict:
    """The static rule of nn.Conv{n}d: aten.convolution, 2 FLOPs per multiply-accumulate."""
    flops = f"2 * ${{batch}} * ${{out_channels}} * ${{{out}}} * (${{in_channels}} // ${{groups}}) * ${{{kernel}}}"
    return {
        "aliases": [f"torch.nn.Conv{n}d"],
        "doc": f"{n}-D convolution over [batch, in_channels, {layout}]: aten.convolution, 2 FLOPs per multiply-accumulate "
               f"(2 * batch * out_channels * {out} * in_channels / groups * {kernel}).",
        "params": {
            "in_channels": {"type": "int", "doc": "input channels"},
            "out_channels": {"type": "int", "doc": "output channels"},
            kernel: {"type": "int", "doc": kernel_doc},
            "groups": {"type": "int", "default": 1, "doc": "channel groups"},
            "bias": {"type": "bool", "default": True, "doc": "whether a bias is added"},
            "batch": {"type": "int", "optional": True, "doc": "batch of the input"},
            out: {"type": "int", "optional": True, "doc": out_doc},
            "input_requires_grad": {"type": "bool", "default": True, "doc": "whether the input needs a gradient (it does after any trainable layer)"},
        },
        "flops": flops,
        "param_count": f"${{out_channels}} * (${{in_channels}} // ${{groups}}) * ${{{kernel}}} + (if ${{bias}} then ${{out_channels}} else 0)",
        # FlopCounterMode's conv_backward_flop: grad_input as many FLOPs as the forward (if the input needs
        # one); grad_weight counted as a convolution over all in_channels, i.e. `groups` times the forward
        # (depthwise Conv1d of Mamba: in_channels times); the bias grad is a sum
        "metrics": {"param_tensors": "if ${bias} then 2 else 1",  # weight, bias
                    "backward_flops": f"(if $input_requires_grad then 1 else 0) * {flops} + ${{groups}} * {flops}"},
    }


def _norm_rule(name: str, doc: str, size: str, size_doc: str, affine: str, affine_doc: str, params: str, tensors: int) -> dict:
    """The static rule of a normalisation module: no counted FLOPs, `params` parameters when affine."""
    return {
        "aliases": [f"torch.nn.{name}"],
        "doc": doc,
        "params": {
            size: {"type": "int", "doc": size_doc},
            affine: {"type": "bool", "default": True, "doc": affine_doc},
        },
        "flops": "0",
        "param_count": f"if ${{{affine}}} then {params} else 0",
        "metrics": {"param_tensors": f"if ${{{affine}}} then {tensors} else 0"},
    }


def _rms_norm_bytes(rule: dict) -> dict:
    """nn.RMSNorm's bytes, torch 2.13 CPU on a contiguous input of `tokens` rows of n = normalized_shape (F.rms_norm
    decomposed): below float32 a cast in (N = tokens * n elements), pow, mean, add_ of eps and rsqrt on the
    rows, the normalising mul, with a weight its mul (the weight read in the model dtype), where the input is
    dense but not contiguous a clone of the float32 result (`strided`; the ops keep its memory order), a cast back."""
    low = "(if $dtype_bytes != 4 then 1 else 0)"
    aff = "(if ${elementwise_affine} then 1 else 0)"
    n, r = "${tokens} * ${normalized_shape}", "${tokens}"
    params = {**rule["params"], "tokens": {"type": "int", "optional": True, "doc": "rows normalised (numel / normalized_shape)"},
              "dtype_bytes": {"type": "int", "default": 4, "doc": "bytes per element of the input and the weight"},
              "strided": {"type": "bool", "default": False, "doc": "whether the input is dense but not contiguous (a clone at the end)"}}
    clone = "(if ${strided} then 4 else 0)"
    read = f"{low} * ({n}) * ($dtype_bytes + 4) + 12 * ({n}) + 12 * {r} + {aff} * (4 * ({n}) + ${{normalized_shape}} * $dtype_bytes) + {clone} * ({n})"
    written = f"{low} * ({n}) * (4 + $dtype_bytes) + 8 * ({n}) + 12 * {r} + {aff} * 4 * ({n}) + {clone} * ({n})"
    return {**rule, "params": params, "bytes_read": read, "bytes_written": written}


STATIC_RULES = {
    "torch.nn.modules.conv.Conv1d": _conv_rule(1, "length", "kernel_size", "kernel width", "out_length", "output length (from input length, padding, stride, dilation)"),
    "torch.nn.modules.conv.Conv2d": _conv_rule(2, "h, w", "kernel_elements", "kernel height * width", "out_positions", "output height * width"),
    "torch.nn.modules.activation.MultiheadAttention": {
        "aliases": ["torch.nn.MultiheadAttention"],
        "doc": "Multi-head attention with its own projections: in_proj_weight [3E, E] (q/k/v_proj_weight [E, E], [E, kdim], "
               "[E, vdim] when kdim or vdim differ), in_proj_bias [3E], out_proj Linear(E, E), bias_k / bias_v [1, 1, E]. "
               "Parameters only: the analysis reports a forward call (A113) instead of pricing it.",
        "params": {
            "embed_dim": {"type": "int", "doc": "model width E"},
            "kdim": {"type": "int", "doc": "key width (E unless given)"},
            "vdim": {"type": "int", "doc": "value width (E unless given)"},
            "bias": {"type": "bool", "default": True, "doc": "whether in_proj_bias and out_proj.bias exist"},
            "add_bias_kv": {"type": "bool", "default": False, "doc": "whether bias_k and bias_v exist"},
        },
        "flops": "0",
        "param_count": "${embed_dim} * (${embed_dim} + ${kdim} + ${vdim}) + (if ${bias} then 3 * ${embed_dim} else 0)"
                       " + (if ${add_bias_kv} then 2 * ${embed_dim} else 0)"
                       " + {out_proj: torch.nn.Linear}(in_features=${embed_dim}, out_features=${embed_dim}, bias=${bias})",
    },
    "torch.nn.modules.normalization.RMSNorm": _rms_norm_bytes(_norm_rule(
        "RMSNorm", "x * rsqrt(mean(x^2) + eps) * weight over the last `normalized_shape` elements; elementwise only.",
        "normalized_shape", "size of the normalised (last) dimensions", "elementwise_affine", "whether a weight exists", "${normalized_shape}", 1)),
    "torch.nn.modules.normalization.GroupNorm": _norm_rule(
        "GroupNorm", "Group normalisation over channel groups; elementwise and reductions only.",
        "num_channels", "channels", "affine", "whether weight and bias exist", "2 * ${num_channels}", 2),
}


def _b(value: Any, default: bool) -> X.Bool:
    if isinstance(value, X.Bool):
        return value
    if value is None:
        return X.FALSE
    if isinstance(value, Num):
        return X.cmp("!=", value, 0)
    return X.bconst(default)


def _shape_arg(value: Any) -> tuple | None:
    if isinstance(value, Num):
        return (value,)
    if isinstance(value, tuple) and all(isinstance(v, Num) for v in value):
        return value
    if isinstance(value, ListV) and all(isinstance(v, Num) for v in value.items):
        return tuple(value.items)
    return None


PAD_MODULES = {"nn.ZeroPad1d": 1, "nn.ZeroPad2d": 2, "nn.ConstantPad1d": 1, "nn.ConstantPad2d": 2}
"""Constant padding modules and how many trailing dims an int padding covers."""
POOL_MODULES = {
    "nn.AvgPool1d", "nn.AvgPool2d", "nn.AvgPool3d", "nn.MaxPool1d", "nn.MaxPool2d", "nn.MaxPool3d",
    "nn.AdaptiveAvgPool1d", "nn.AdaptiveAvgPool2d", "nn.AdaptiveMaxPool1d", "nn.AdaptiveMaxPool2d",
    "nn.ReflectionPad1d", "nn.ReplicationPad1d",
    "nn.Upsample", "nn.PixelShuffle", "nn.PixelUnshuffle",
}


def _multihead_attention(site: CallSite) -> ModRef:
    """nn.MultiheadAttention(E, heads, dropout, bias, add_bias_kv, add_zero_attn, kdim, vdim): parameters exact
    (in_proj_weight [3E, E] when kdim == vdim == E, else q/k/v_proj_weight; in_proj_bias [3E]; out_proj Linear(E, E);
    bias_k / bias_v [1, 1, E]); its forward is reported, not guessed."""
    e = site.arg(0, "embed_dim")
    bias = _b(site.arg(3, "bias", X.TRUE), True)
    bias_kv = _b(site.arg(4, "add_bias_kv", X.FALSE), False)
    kdim, vdim = site.arg(6, "kdim", None), site.arg(7, "vdim", None)
    kdim, vdim = (e if d is None else d for d in (kdim, vdim))
    if not all(isinstance(v, Num) for v in (e, kdim, vdim)):
        return _ref(TorchModule("unknown", None, {"why": "MultiheadAttention sizes"}, None))
    params = e * e + e * kdim + e * vdim + X.ifnum(bias, 3 * e, ZERO) + e * e + X.ifnum(bias, e, ZERO) + X.ifnum(bias_kv, 2 * e, ZERO)
    args = {"embed_dim": e, "kdim": kdim, "vdim": vdim, "bias": bias, "add_bias_kv": bias_kv,
            "why": "nn.MultiheadAttention forward is not in the op table"}
    return _ref(TorchModule("mha", "torch.nn.modules.activation.MultiheadAttention", args, params))


def construct(site: CallSite, cname: str) -> Any:
    """A torch.nn module built in __init__: its spec, args and parameter count."""
    interp = site.interp
    if cname in ("nn.Linear", "nn.Embedding", "nn.LayerNorm", "nn.RMSNorm", "nn.Conv1d") and any(a is None for a in site.args[:2]):
        raise DeadPath()  # a None size raises at construction
    if cname in ELEMENTWISE_MODULES:
        p = site.arg(0, "p", Num.const(0.5)) if cname.startswith("nn.Dropout") else None
        return _ref(TorchModule("elementwise", None, {"kind": cname, "p": p}, ZERO))
    if cname == "nn.Linear":
        in_f, out_f = site.arg(0, "in_features"), site.arg(1, "out_features")
        bias = _b(site.arg(2, "bias", X.TRUE), True)
        if not isinstance(in_f, Num) or not isinstance(out_f, Num):
            if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
                print("Linear args:", site.interp.current_loc, in_f, out_f)
            return _ref(TorchModule("unknown", None, {"why": f"Linear with sizes the analysis cannot read ({_what(in_f)}, {_what(out_f)})"}, None))
        params = in_f * out_f + X.ifnum(bias, out_f, ZERO)
        return _ref(TorchModule("linear", "torch.nn.Linear", {"in_features": in_f, "out_features": out_f, "bias": bias}, params))
    if cname == "nn.Embedding":
        num, dim = site.arg(0, "num_embeddings"), site.arg(1, "embedding_dim")
        if not isinstance(num, Num) or not isinstance(dim, Num):
            return _ref(TorchModule("unknown", None, {"why": "Embedding with sizes the analysis cannot read"}, None))
        return _ref(TorchModule("embedding", "torch.nn.Embedding", {"num_embeddings": num, "embedding_dim": dim, "padding_idx": site.arg(2, "padding_idx", None)}, num * dim))
    if cname == "nn.LayerNorm":
        shape = _shape_arg(site.arg(0, "normalized_shape"))
        affine = _b(site.arg(2, "elementwise_affine", X.TRUE), True)
        bias = _b(site.arg(3, "bias", X.TRUE), True)
        if shape is None:
            return _ref(TorchModule("unknown", None, {"why": "LayerNorm shape"}, None))
        n = numel(shape)
        params = X.ifnum(affine, n + X.ifnum(bias, n, ZERO), ZERO)
        return _ref(TorchModule("layernorm", "torch.nn.LayerNorm", {"normalized_shape": n, "elementwise_affine": affine, "bias": bias, "shape": shape}, params))
    if cname == "nn.RMSNorm":
        shape = _shape_arg(site.arg(0, "normalized_shape"))
        affine = _b(site.arg(2, "elementwise_affine", X.TRUE), True)
        if shape is None:
            return _ref(TorchModule("unknown", None, {"why": "RMSNorm shape"}, None))
        n = numel(shape)
        return _ref(TorchModule("rmsnorm", "torch.nn.modules.normalization.RMSNorm", {"normalized_shape": n, "elementwise_affine": affine, "shape": shape}, X.ifnum(affine, n, ZERO)))
    if cname == "nn.GroupNorm":
        groups, ch = site.arg(0, "num_groups"), site.arg(1, "num_channels")
        affine = _b(site.arg(3, "affine", X.TRUE), True)
        if not isinstance(ch, Num):
            return _ref(TorchModule("unknown", None, {"why": "GroupNorm channels"}, None))
        return _ref(TorchModule("groupnorm", "torch.nn.modules.normalization.GroupNorm", {"num_channels": ch, "affine": affine}, X.ifnum(affine, 2 * ch, ZERO)))
    if cname == "nn.Conv1d":
        in_c, out_c, k = site.arg(0, "in_channels"), site.arg(1, "out_channels"), site.arg(2, "kernel_size")
        stride = site.arg(3, "stride", ONE)
        padding = site.arg(4, "padding", ZERO)
        dilation = site.arg(5, "dilation", ONE)
        groups = site.arg(6, "groups", ONE)
        bias = _b(site.arg(7, "bias", X.TRUE), True)
        k = k[0] if isinstance(k, tuple) else k
        stride = stride[0] if isinstance(stride, tuple) else stride
        padding = padding[0] if isinstance(padding, tuple) else padding
        dilation = dilation[0] if isinstance(dilation, tuple) else dilation
        if not all(isinstance(v, Num) for v in (in_c, out_c, k, stride, dilation, groups)) or not isinstance(padding, Num):
            return _ref(TorchModule("unknown", None, {"why": "Conv1d arguments"}, None))
        params = out_c * X.floordiv(in_c, groups) * k + X.ifnum(bias, out_c, ZERO)
        args = {"in_channels": in_c, "out_channels": out_c, "kernel_size": k, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "bias": bias}
        return _ref(TorchModule("conv1d", "torch.nn.modules.conv.Conv1d", args, params))
    if cname in ("nn.Conv2d", "nn.Conv3d", "nn.ConvTranspose1d", "nn.ConvTranspose2d"):
        in_c, out_c, k = site.arg(0, "in_channels"), site.arg(1, "out_channels"), site.arg(2, "kernel_size")
        groups = site.arg(6 if cname.startswith("nn.Conv") and "Transpose" not in cname else 7, "groups", ONE)
        bias = _b(site.arg(7 if "Transpose" not in cname else 6, "bias", X.TRUE), True)
        dims = 2 if "2d" in cname else (3 if "3d" in cname else 1)
        ks = list(k) if isinstance(k, tuple) else [k] * dims
        if not all(isinstance(v, Num) for v in [in_c, out_c, groups] + ks):
            return _ref(TorchModule("unknown", None, {"why": f"{cname} arguments"}, None))
        kernel = ONE
        for v in ks:
            kernel = kernel * v
        params = out_c * X.floordiv(in_c, groups) * kernel + X.ifnum(bias, out_c, ZERO)
        if cname == "nn.Conv2d":
            stride = site.arg(3, "stride", ONE)
            padding = site.arg(4, "padding", ZERO)
            dilation = site.arg(5, "dilation", ONE)
            spread = lambda v: list(v) if isinstance(v, tuple) else [v] * 2  # noqa: E731
            args = {"in_channels": in_c, "out_channels": out_c, "kernel_elements": kernel, "groups": groups, "bias": bias,
                    "k": ks, "stride": spread(stride), "padding": spread(padding), "dilation": spread(dilation)}
            return _ref(TorchModule("conv2d", "torch.nn.modules.conv.Conv2d", args, params))
        # parameters are exact; a forward call of these (vision towers) is reported, not guessed
        return _ref(TorchModule("conv_nd", None, {"kind": cname, "why": f"{cname} forward is not in the op table"}, params))
    if cname in PAD_MODULES:  # F.pad with the module's padding: no parameters, no counted FLOPs (constant_pad_nd)
        sizes = site.arg(0, "padding")
        sizes = (sizes,) * (2 * PAD_MODULES[cname]) if isinstance(sizes, Num) else sizes
        if not isinstance(sizes, tuple):
            return _ref(TorchModule("unknown", None, {"why": f"{cname} padding"}, None))
        return _ref(TorchModule("pad", None, {"kind": cname, "pad": sizes}, ZERO))
    if cname in POOL_MODULES:  # no parameters; the forward (vision towers) is reported, not guessed
        return _ref(TorchModule("conv_nd", None, {"kind": cname, "why": f"{cname} forward is not in the op table"}, ZERO))
    if cname == "nn.MultiheadAttention":
        return _multihead_attention(site)
    if cname in ("nn.ParameterList",):
        items = site.arg(0, "values", None)
        return items if items is not None else ListV([])
    if cname in ("nn.ModuleList",):
        items = site.arg(0, "modules", None)
        if items is None:
            return ListV([])
        return items
    if cname == "nn.ModuleDict":
        items = site.arg(0, "modules", None)
        return items if isinstance(items, DictV) else DictV({})
    if cname == "nn.Sequential":
        mods = list(site.args)
        if len(mods) == 1 and isinstance(mods[0], DictV):
            mods = list(mods[0].items.values())
        return _ref(TorchModule("sequential", None, {"modules": mods}, None))
    if cname == "nn.Parameter":  # `requires_grad=False`: frozen (no_grad): no gradient, no optimizer state
        data = site.arg(0, "data")
        frozen = is_false(site.arg(1, "requires_grad", True))
        if isinstance(data, Tensor):
            return Tensor(data.shape, data.dtype, data.why, True, no_grad=frozen)
        return Tensor(None, "model", "parameter of unknown shape", True, no_grad=frozen)
    if cname == "nn.Buffer":  # torch >= 2.5 (transformers 5.x rotary inv_freq): a buffer, never a parameter
        data = site.arg(0, "data")
        if isinstance(data, Tensor):
            return Tensor(data.shape, data.dtype, data.why, False, no_grad=True, buffer=True)
        return Tensor(None, "model", "buffer of unknown shape", False, no_grad=True, buffer=True)
    return NotImplemented


def is_true(value: Any) -> bool:
    """Whether an argument is the constant True (a Python literal, as the analysis reads it)."""
    return value is True or value == X.TRUE


def is_false(value: Any) -> bool:
    """Whether an argument is the constant False (a Python literal, as the analysis reads it)."""
    return value is False or value == X.FALSE


def _ref(module: TorchModule) -> ModRef:
    return ModRef(Instance(module, {}), {}, "")


def module_args(ref: ModRef) -> dict:
    """The module's constructor values in the viewing rule's names."""
    mod: TorchModule = ref.inst.template
    if not ref.binding:
        return mod.args
    out = {}
    for k, v in mod.args.items():
        if isinstance(v, (Num, X.Bool)):
            out[k] = X.substitute(v, ref.binding)
        elif isinstance(v, tuple):
            out[k] = tuple(X.substitute(x, ref.binding) if isinstance(x, (Num, X.Bool)) else x for x in v)
        else:
            out[k] = v
    return out


def module_params(interp: Host, ref: ModRef, label: str) -> Num | None:
    mod: TorchModule = ref.inst.template
    args = module_args(ref)
    if mod.kind == "linear":
        return X.call(label, "torch.nn.Linear", {"in_features": args["in_features"], "out_features": args["out_features"], "bias": args["bias"]})
    if mod.kind == "embedding":
        return X.call(label, "torch.nn.Embedding", {"num_embeddings": args["num_embeddings"], "embedding_dim": args["embedding_dim"]})
    if mod.kind == "layernorm":
        kw = {"normalized_shape": args["normalized_shape"]}
        if args["elementwise_affine"] != X.TRUE:
            kw["elementwise_affine"] = args["elementwise_affine"]
        if args["bias"] != X.TRUE:
            kw["bias"] = args["bias"]
        return X.call(label, "torch.nn.LayerNorm", kw)
    if mod.kind == "rmsnorm":
        kw = {"normalized_shape": args["normalized_shape"]}
        if args["elementwise_affine"] != X.TRUE:
            kw["elementwise_affine"] = args["elementwise_affine"]
        return X.call(label, "torch.nn.modules.normalization.RMSNorm", kw)
    if mod.kind == "groupnorm":
        return X.call(label, "torch.nn.modules.normalization.GroupNorm", {"num_channels": args["num_channels"], "affine": args["affine"]})
    if mod.kind == "conv1d":
        kw = {k: args[k] for k in ("in_channels", "out_channels", "kernel_size", "groups", "bias")}
        return X.call(label, "torch.nn.modules.conv.Conv1d", kw)
    if mod.kind == "mha":
        kw = {k: args[k] for k in ("embed_dim", "kdim", "vdim", "bias", "add_bias_kv")}
        return X.call(label, "torch.nn.modules.activation.MultiheadAttention", kw)
    if mod.kind == "conv2d":
        kw = {k: args[k] for k in ("in_channels", "out_channels", "kernel_elements", "groups", "bias")}
        return X.call(label, "torch.nn.modules.conv.Conv2d", kw)
    if mod.kind == "elementwise":
        return None
    if mod.kind == "sequential":
        total = ZERO
        for i, child in enumerate(args["modules"]):
            if isinstance(child, ModRef):
                sub = interp.param_call(_child_view(child, ref), label)
                if sub is not None:
                    total = total + sub
        return total if total != ZERO else None
    if mod.kind in ("unknown",):
        return interp.unresolved(A_MODULE_PARAMS, None, f"parameters of {label}: {mod.args.get('why')}")
    if mod.kind == "conv_nd":
        return X.substitute(mod.params, ref.binding) if ref.binding else mod.params
    if mod.params is not None:
        return X.substitute(mod.params, ref.binding) if ref.binding else mod.params
    return None


def _child_view(child: ModRef, parent: ModRef) -> ModRef:
    return translate(child, parent.binding, None) if parent.binding else child


def call_module(interp: Host, ref: ModRef, args: list, kwargs: dict, node: Any) -> Any:
    mod: TorchModule = ref.inst.template
    margs = module_args(ref)
    x = args[0] if args else next(iter(kwargs.values()), None)
    label = ref.path or (interp.recorder.label(mod.kind, ref.inst) if interp.recorder else mod.kind)
    count = ref.count or ONE
    result = _module_bytes(interp, mod, margs, x, label, count, _call_module(interp, ref, mod, margs, x, label, count, node))
    if mod.kind != "sequential":
        kind = margs.get("kind")
        if result is x and isinstance(x, Tensor) and mod.kind == "elementwise" and kind != "nn.Identity" and not str(kind).startswith("nn.Dropout"):
            result = dataclasses.replace(x)  # an activation's output is a new tensor, not its input
        elif result is x and isinstance(x, Tensor) and str(kind).startswith("nn.Dropout"):
            result = trained_dropout(x, margs.get("p"))  # a new dense tensor in training where x is an expanded view
        shape = margs.get("shape")
        if mod.kind == "rmsnorm":  # its own saved-tensor model (brains/norm_saved.py)
            norm_saved.rms_norm(interp, x, result, tuple(shape) if isinstance(shape, (tuple, list)) else None, margs["elementwise_affine"])
        else:
            saved.module(interp, str(margs.get("kind") or mod.kind) if mod.kind == "elementwise" else mod.kind, x, result, tuple(shape) if isinstance(shape, (tuple, list)) else None, margs.get("p"))
    return result


ACTIVATION_RULES = {"nn.SiLU": "torch.nn.SiLU", "nn.GELU": "torch.nn.GELU", "nn.ReLU": "torch.nn.ReLU", "nn.Tanh": "torch.nn.Tanh"}
"""Single-kernel activation modules and their library rules (rules/torch/nn/modules/activation.yaml)."""


def _module_bytes(interp: Host, mod: TorchModule, margs: dict, x: Any, label: str, count: Num, result: Any) -> Any:
    """The bytes of one torch.nn module call (its library rule's bytes), or a gap."""
    kind = margs.get("kind")
    b = elem_bytes(x)
    if not isinstance(x, Tensor) or x.shape is None or b is None or not isinstance(result, Tensor):
        gap(interp, f"{label}: input of unknown shape or dtype")
        return result
    tokens = numel(x.shape[:-1])
    if mod.kind == "elementwise" and (kind in ("nn.Identity",) or str(kind).startswith("nn.Dropout")):
        free(interp)
        return result
    if mod.kind == "elementwise" and kind in ACTIVATION_RULES:
        interp.add_cost("bytes", X.call(label, ACTIVATION_RULES[kind], {"numel": numel(x.shape), "dtype_bytes": b}), count)
        return with_layout(result, elementwise_layout([x], result))
    contiguous = is_contiguous(x) == X.TRUE or len(x.shape) <= 2
    strided = None if contiguous or mod.kind != "linear" else strided_linear(x, margs["in_features"])
    if mod.kind == "linear" and (contiguous or strided is not None) and x.dtype == "model":
        # a bias its owner shares in (`self.decoder.bias = self.bias`: BERT's tied head) is counted there, read here
        bias = X.TRUE if margs.get("bias_shared") is True else margs["bias"]
        kw = {"in_features": margs["in_features"], "out_features": margs["out_features"], "bias": bias, "tokens": tokens, "dtype_bytes": b,
              **(strided or {})}
        interp.add_cost("bytes", X.call(label, "torch.nn.Linear", kw), count)
        return with_layout(Tensor(result.shape, x.dtype, result.why, result.param, result.route, result.no_grad), None)
    if mod.kind == "embedding" and x.dtype == "long" and contiguous:
        kw = {"num_embeddings": margs["num_embeddings"], "embedding_dim": margs["embedding_dim"], "tokens": numel(x.shape), "dtype_bytes": Num.sym("dtype_bytes")}
        interp.add_cost("bytes", X.call(label, "torch.nn.Embedding", kw), count)
        return with_layout(result, None)
    if mod.kind == "layernorm" and x.dtype == "model" and len(margs.get("shape") or ()) == 1:
        # native_layer_norm reads any input at its logical size and writes a contiguous output (phi's transposed q)
        kw = {"normalized_shape": margs["normalized_shape"], "tokens": tokens, "dtype_bytes": b}
        if margs["elementwise_affine"] != X.TRUE:
            kw["elementwise_affine"] = margs["elementwise_affine"]
        if margs["bias"] != X.TRUE:
            kw["bias"] = margs["bias"]
        interp.add_cost("bytes", X.call(label, "torch.nn.LayerNorm", kw), count)
        return with_layout(result, None)
    lay = layout_of(x) if not isinstance(x.layout, CondLayout) else None
    if mod.kind == "rmsnorm" and x.dtype == "model" and len(margs.get("shape") or ()) == 1 and lay is not None \
            and lay.dense and not lay.gaps and not lay.bcast:
        # F.rms_norm's ops (STATIC_RULES): the float32 result of a dense input not contiguous is cloned at the end
        kw = {"normalized_shape": margs["normalized_shape"], "tokens": tokens, "dtype_bytes": b}
        if margs["elementwise_affine"] != X.TRUE:
            kw["elementwise_affine"] = margs["elementwise_affine"]
        if is_contiguous(x) != X.TRUE:
            kw["strided"] = X.bnot(is_contiguous(x))
        interp.add_cost("bytes", X.call(label, "torch.nn.modules.normalization.RMSNorm", kw), count)
        return with_layout(result, None)
    if mod.kind == "pad" and result.shape is not None:
        return pad_module_bytes(interp, label, x, margs["pad"], result, count)
    if mod.kind != "sequential":
        gap(interp, f"{label}: {kind or mod.kind} module has no bytes model here")
    return result


def _call_module(interp: Host, ref: ModRef, mod: TorchModule, margs: dict, x: Any, label: str, count: Num, node: Any) -> Any:
    if mod.kind == "elementwise":
        if margs.get("kind") == "nn.Flatten":
            return flatten(x, Num.const(1), Num.const(-1)) if isinstance(x, Tensor) else unknown_tensor("flatten")
        return x if isinstance(x, Tensor) else unknown_tensor("elementwise module of an unknown input")
    if mod.kind == "pad":
        return tensor_pad(x, margs["pad"])
    if mod.kind in ("conv_nd", "unknown", "mha"):
        interp.add_cost("flops", interp.unresolved(A_MODULE_FORWARD, node, f"forward of {label}: {mod.args.get('why')}"), count)
        return unknown_tensor(str(mod.args.get("why")))
    if not isinstance(x, Tensor) or x.shape is None:
        why = f"input of {label} ({mod.kind}) has an unknown shape"
        if mod.kind in ("linear", "conv1d"):
            interp.add_cost("flops", interp.unresolved(A_MODULE_INPUT, node, why), count)
        if mod.kind == "linear":
            return unknown_tensor(why)
        return x if isinstance(x, Tensor) else unknown_tensor(why)
    if mod.kind == "linear":
        tokens = numel(x.shape[:-1])
        term = X.call(label, "torch.nn.Linear", {"in_features": margs["in_features"], "out_features": margs["out_features"], "bias": margs["bias"], "tokens": tokens})
        interp.add_cost("flops", term, count)
        return Tensor(x.shape[:-1] + (margs["out_features"],), x.dtype if x.dtype not in ("long", "bool") else "model")
    if mod.kind == "embedding":
        return Tensor(x.shape + (margs["embedding_dim"],), "model")
    if mod.kind in ("layernorm", "rmsnorm", "groupnorm"):
        return Tensor(x.shape, x.dtype)
    if mod.kind == "conv1d":
        if len(x.shape) < 2:
            return unknown_tensor("conv1d input rank")
        length = x.shape[-1]
        k, s, p, d = margs["kernel_size"], margs["stride"], margs["padding"], margs["dilation"]
        out_len = X.floordiv(length + 2 * p - d * (k - 1) - 1, s) + 1
        batch = numel(x.shape[:-2])
        kw = {k2: margs[k2] for k2 in ("in_channels", "out_channels", "kernel_size", "groups")}
        kw.update({"batch": batch, "out_length": out_len})
        interp.add_cost("flops", X.call(label, "torch.nn.modules.conv.Conv1d", kw), count)
        return Tensor(x.shape[:-2] + (margs["out_channels"], out_len), x.dtype)
    if mod.kind == "conv2d":
        if len(x.shape) < 3:
            return unknown_tensor("conv2d input rank")
        outs = []
        for i, size in enumerate(x.shape[-2:]):
            k, st, p, dl = margs["k"][i], margs["stride"][i], margs["padding"][i], margs["dilation"][i]
            if not all(isinstance(v, Num) for v in (k, st, p, dl)):
                interp.add_cost("flops", interp.unresolved(A_MODULE_FORWARD, node, f"forward of {label}: conv2d padding/stride the analysis cannot read"), count)
                return unknown_tensor("conv2d")
            outs.append(X.floordiv(size + 2 * p - dl * (k - 1) - 1, st) + 1)
        kw = {k2: margs[k2] for k2 in ("in_channels", "out_channels", "kernel_elements", "groups")}
        kw.update({"batch": numel(x.shape[:-3]), "out_positions": outs[0] * outs[1]})
        interp.add_cost("flops", X.call(label, "torch.nn.modules.conv.Conv2d", kw), count)
        return Tensor(x.shape[:-3] + (margs["out_channels"], outs[0], outs[1]), x.dtype)
    if mod.kind == "sequential":
        value: Any = x
        for child in margs["modules"]:
            if isinstance(child, ModRef):
                view = _child_view(child, ref)
                view = ModRef(view.inst, view.binding, ref.path, ref.count)
                value = interp.call_module(view, [value], {}, node)
            else:
                value = interp.call(child, [value], {}, node)
        return value
    return unknown_tensor(f"{mod.kind} module")


def module_attr(interp: Host, ref: ModRef, name: str, node: Any) -> Any:
    mod: TorchModule = ref.inst.template
    args = module_args(ref)
    if mod.kind == "linear":
        if name == "weight":
            return Tensor((args["out_features"], args["in_features"]), "model", "", True)
        if name == "bias":
            return Phi(args["bias"], Tensor((args["out_features"],), "model", "", True), None) if args["bias"] != X.TRUE else Tensor((args["out_features"],), "model", "", True)
        if name in ("in_features", "out_features"):
            return args[name]
    if mod.kind == "embedding":
        if name == "weight":
            return Tensor((args["num_embeddings"], args["embedding_dim"]), "model", "", True)
        if name in ("num_embeddings", "embedding_dim", "padding_idx"):
            return args[name]
    if mod.kind in ("layernorm", "rmsnorm"):
        if name == "weight":
            return Tensor(args["shape"], "model", "", True)
        if name == "bias":
            return Tensor(args["shape"], "model", "", True)
        if name == "normalized_shape":
            return args["shape"]
        if name in ("eps", "variance_epsilon"):
            return Unknown("eps")
    if mod.kind == "conv1d":
        if name in args:
            v = args[name]
            return (v,) if name in ("kernel_size", "stride", "padding", "dilation") else v
        if name == "weight":
            return Tensor((args["out_channels"], X.floordiv(args["in_channels"], args["groups"]), args["kernel_size"]), "model", "", True)
    if mod.kind == "elementwise" and name == "p":
        return args.get("p") or Num.const(0.0)
    if mod.kind == "sequential" and name == "__getitem__":
        return BoundMethod(ref, name)
    if name in ("training",):
        return X.FALSE
    if name == "forward":
        return ref
    return BoundMethod(ref, name)


def iterate(interp: Host, ref: ModRef, node: Any) -> Any:
    mod = ref.inst.template
    if isinstance(mod, TorchModule) and mod.kind == "sequential":
        return [_child_view(c, ref) if isinstance(c, ModRef) else c for c in mod.args["modules"]]
    return None


@brain("torch-module", prefix("nn."))
def suggest_torch_module(site: CallSite) -> Any:
    result = construct(site, site.name)
    if result is NotImplemented:
        # never a silent 0: its parameters become an unresolved term if it is registered
        return _ref(TorchModule("unknown", None, {"why": f"torch module {site.name} is not in the module table"}, None))
    return result


def external(name: str) -> External:
    return External(name)


def _what(value: Any) -> str:
    if isinstance(value, Num):
        return "number"
    reason = getattr(value, "reason", None)
    return reason if reason else type(value).__name__
