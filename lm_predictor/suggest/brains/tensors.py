"""Tensor methods and torch functions: what each returns (creation ops, elementwise ops, the table of
methods), the shape transforms they share being in shapes.py (views, permutes, reductions, indexing).

None of these ops is counted by FlopCounterMode; they only move shapes along so that the next
matmul knows its sizes. An op this table does not know returns a tensor of unknown shape, which
becomes an unresolved term only if a later matmul needs its size.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import (
    CallSite,
    as_int,
    brain,
    broadcast,
    norm_dim,
    numel,
    prefix,
    shape_of,
    size_list,
    unknown_tensor,
)
from lm_predictor.suggest.brains.layout import UNKNOWN_LAYOUT, gap, scalar_tensor_dtype
from lm_predictor.suggest.brains.matmul import matmul
from lm_predictor.suggest.brains.opbytes import price_binop, price_function, price_method
from lm_predictor.suggest.brains.routing import hit_experts, not_an_expert, routed_indices
from lm_predictor.suggest.brains.sequences import cat, chunk, past_layer, past_shape, split, stack
from lm_predictor.suggest.brains.shapes import by_facts, expand, flatten, pad, permute, reduce, repeat, squeeze, transpose, unsqueeze, view
from lm_predictor.suggest.brains.viewsize import settled
from lm_predictor.suggest.dtype_arms import known_tag
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import BoundMethod, Range
from lm_predictor.suggest.values import INTEGER_DTYPES, Builtin, External, ListV, Repeated, Tensor, Unknown

COMPLEX_OF = {"float32": "complex64"}
"""The complex dtype tag `view_as_complex` / `polar` give a real one (another: the tag "complex", of unknown size)."""


IDENTITY_METHODS = {
    "to", "float", "half", "bfloat16", "double", "type", "type_as", "contiguous", "clone", "detach", "requires_grad_",
    "cpu", "cuda", "abs", "neg", "exp", "log", "sin", "cos", "sigmoid", "tanh", "relu", "rsqrt", "sqrt", "pow",
    "square", "reciprocal", "clamp", "clamp_", "clamp_min", "clamp_max", "masked_fill", "masked_fill_", "fill_",
    "zero_", "add", "add_", "mul", "mul_", "sub", "sub_", "div", "div_", "copy_", "softmax", "log_softmax", "cumsum",
    "tril", "triu", "tril_", "triu_", "sign", "floor", "ceil", "round", "erf", "exp_", "sigmoid_", "logical_not",
    "bool", "int", "long", "short", "byte", "char", "masked_scatter", "scatter", "scatter_", "scatter_add",
    "index_fill", "index_fill_", "index_copy", "index_copy_", "index_add", "index_add_", "scatter_add_",
    "masked_scatter_", "index_put", "index_put_", "where", "lerp", "float_power", "log1p",
    "expm1", "silu", "gelu", "relu_", "tanh_", "neg_", "rsqrt_", "sqrt_", "cumprod", "flip", "roll", "nan_to_num",
    "pin_memory", "share_memory_", "retain_grad", "maximum", "minimum", "fmod", "remainder", "bitwise_and",
    "bitwise_or", "logical_and", "logical_or", "eq", "ne", "lt", "le", "gt", "ge", "masked_fill_", "clamp_min_",
    "abs_", "pow_", "log_", "sin_", "cos_", "to_dense", "coalesce", "detach_", "float_", "sort", "argsort", "addcmul",
    "addcdiv", "addcmul_", "lerp_", "erfinv", "atan", "atan2", "asin", "acos", "sinh", "cosh", "log2", "log10",
    "exp2", "trunc", "frac", "softplus", "square_", "mish", "elu", "leaky_relu", "hardtanh", "relu6", "normal_",
    "uniform_", "bernoulli", "random_", "data_ptr", "isnan", "isinf", "isfinite", "conj", "real", "imag", "angle",
}
BOOL_METHODS = {"eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "logical_not", "bool"}
REDUCTIONS = {"sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "norm", "var", "std", "prod", "all",
              "any", "logsumexp", "count_nonzero", "median", "nansum", "nanmean"}
ELEMENTWISE_FUNCTIONS = {
    "torch.exp", "torch.log", "torch.sin", "torch.cos", "torch.sigmoid", "torch.tanh", "torch.relu", "torch.rsqrt",
    "torch.sqrt", "torch.pow", "torch.square", "torch.abs", "torch.neg", "torch.reciprocal", "torch.clamp",
    "torch.clip", "torch.erf", "torch.sign", "torch.floor", "torch.ceil", "torch.round", "torch.add", "torch.sub",
    "torch.mul", "torch.div", "torch.true_divide", "torch.maximum", "torch.minimum", "torch.tril", "torch.triu",
    "torch.softmax", "torch.log_softmax", "torch.cumsum", "torch.cumprod", "torch.masked_fill", "torch.logical_not",
    "torch.logical_and", "torch.logical_or", "torch.eq", "torch.ne", "torch.lt", "torch.le", "torch.gt", "torch.ge",
    "torch.fmod", "torch.remainder", "torch.lerp", "torch.nan_to_num", "torch.flip", "torch.roll", "torch.exp2",
    "torch.log1p", "torch.expm1", "torch.atan", "torch.atan2", "torch.erfinv", "torch.sinh", "torch.cosh",
    "torch.isnan", "torch.isinf", "torch.bitwise_and", "torch.bitwise_or", "torch.clamp_min", "torch.clamp_max",
    "torch.addcmul", "torch.addcdiv", "torch.float_power", "torch.log2", "torch.log10", "torch.sort",
    "torch.argsort", "torch.trunc", "torch.frac", "torch.bitwise_xor", "torch.bitwise_not", "torch.logical_xor",
    "torch.square_", "torch.sign_", "torch.fill", "torch.clamp_", "torch.relu_", "torch.signbit", "torch.sgn",
    "torch.special.erfinv", "torch.special.gammaln", "torch.lgamma", "torch.digamma", "torch.rsub", "torch.masked_scatter",
    "F.softmax", "F.log_softmax", "F.gelu", "F.silu", "F.relu", "F.dropout", "F.sigmoid", "F.tanh", "F.softplus",
    "F.mish", "F.elu", "F.leaky_relu", "F.hardtanh", "F.relu6", "F.normalize", "F.layer_norm", "F.rms_norm",
    "F.group_norm", "F.glu_", "F.logsigmoid", "F.softsign", "F.tanhshrink", "F.hardswish", "F.hardsigmoid",
    "F.selu", "F.celu", "F.gelu_", "F.threshold", "F.dropout1d", "F.dropout2d", "F.alpha_dropout", "F.sigmoid_",
    "torch.nn.functional.softmax", "torch.sigmoid_", "torch.special.expit", "torch.special.erf",
}
CREATION = {"torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn", "torch.full", "torch.randint"}
LEGACY_CONSTRUCTORS = {"torch.Tensor": "model", "torch.FloatTensor": "float32", "torch.DoubleTensor": "float64",
                       "torch.HalfTensor": "float16", "torch.LongTensor": "long", "torch.BoolTensor": "bool"}
LIKE = {"torch.zeros_like", "torch.ones_like", "torch.empty_like", "torch.full_like", "torch.rand_like", "torch.randn_like"}


def elementwise(a: Any, b: Any, dtype: str | None = None) -> Tensor:
    sa, sb = shape_of(a), shape_of(b)
    if sa is None and sb is None:
        return unknown_tensor("elementwise op on tensors of unknown shape")
    ta = a if isinstance(a, Tensor) else None
    out_dtype = dtype or (ta.dtype if ta is not None else (b.dtype if isinstance(b, Tensor) else "model"))
    if dtype is None and isinstance(b, Tensor) and b.dtype.startswith("complex") and not out_dtype.startswith("complex"):
        out_dtype = b.dtype if out_dtype in COMPLEX_OF or out_dtype == "model" else "complex"  # real * complex is complex
    # a mask of unknown shape broadcasts into the scores it is added to; against a number (`mask != 0`, `mask < -1`)
    # it stays a mask of unknown shape, so a saved copy of it is a gap, never a 0-dim tensor (5.x Doge's masked_fill)
    if isinstance(a, Tensor) and a.shape is None and a.dtype == "mask" and sb == ():
        return Tensor(None, "mask", a.why, no_grad=True)
    if isinstance(b, Tensor) and b.shape is None and b.dtype == "mask" and sa == ():
        return Tensor(None, "mask", b.why, no_grad=True)
    if isinstance(a, Tensor) and a.shape is None:
        return Tensor(sb, out_dtype) if a.dtype == "mask" else Tensor(None, out_dtype, a.why)
    if isinstance(b, Tensor) and b.shape is None:
        return Tensor(sa, out_dtype) if b.dtype == "mask" else Tensor(None, out_dtype, b.why)
    route = (a.route if isinstance(a, Tensor) else ()) or (b.route if isinstance(b, Tensor) else ())
    return Tensor(broadcast(sa, sb), out_dtype, route=route if route and route[0] == "mask" else ())


def tensor_binop(interp: Host, op: str, a: Any, b: Any, node: Any) -> Any:
    if op == "@":
        site = CallSite(interp, None, [a, b], {}, node, interp.label_hint, "torch.matmul")
        return matmul(site, a, b)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        t = a if isinstance(a, Tensor) else b
        gap(interp, f"operator {op} with an unknown operand")
        return Tensor(t.shape if isinstance(t, Tensor) else None, "model")
    if op in ("+", "-", "*", "/", "//", "**") and (isinstance(a, tuple) or isinstance(b, tuple)):
        raise DeadPath()  # tensor (op) tuple raises TypeError: this path does not run
    if not isinstance(a, (Tensor, Num, X.Bool)) or not isinstance(b, (Tensor, Num, X.Bool)):
        gap(interp, f"operator {op} with {type(a).__name__}")
        return unknown_tensor(f"operator {op} with {type(a).__name__}")
    if op in ("==", "!=") and not_an_expert(a, b):
        return X.bconst(op == "!=")  # an id no token is routed to: the branch is never taken
    dtype = "bool" if op in ("==", "!=", "<", "<=", ">", ">=", "&", "|") else None
    out = elementwise(a, b, dtype)
    if op == "/" and out.dtype in INTEGER_DTYPES:  # true division of integers gives the default float dtype
        out = replace(out, dtype="model")
    return price_binop(interp, op, a, b, out, node)


# ---------------------------------------------------------------------------- methods


def tensor_attr(interp: Host, t: Tensor, name: str, node: Any) -> Any:
    if name == "shape":
        if past_shape(t) is not None:
            return past_shape(t)
        return t.shape if t.shape is not None else Unknown("shape of a tensor whose shape is not known")
    if name == "dtype":
        return External(f"torch.{t.dtype}") if t.dtype not in ("model", "mask") else External("torch.<model dtype>")
    if name == "device":
        return External("torch.device")
    if name in ("ndim",):
        if t.shape is None and t.dtype == "mask" and t.why == "attention mask":
            return Num.const(4)  # the mask builders' masks are [batch, 1 or heads, q_len, kv_len]
        return Num.const(len(t.shape)) if t.shape is not None else Unknown("rank")
    if name in ("T", "mT", "H", "mH"):
        if t.shape is None:
            return t
        # a view, as the method call it stands for (its layout, bytes and storage: a parameter's `weight.T` stays the parameter's)
        if name in ("T", "H") and len(t.shape) != 2:
            return interp.call(BoundMethod(t, "permute"), [Num.const(d) for d in reversed(range(len(t.shape)))], {}, node)
        return interp.call(BoundMethod(t, "transpose"), [Num.const(-2), Num.const(-1)], {}, node)
    if name in ("is_cuda", "requires_grad", "is_meta", "is_sparse", "is_quantized"):
        return X.FALSE
    if name in ("data", "real", "imag"):
        return Tensor(t.shape, t.dtype)
    if name == "grad":
        return None
    return BoundMethod(t, name)


@brain("tensor-method", prefix("Tensor."))
def suggest_tensor_method(site: CallSite) -> Any:
    """A tensor method: its result (tensor_method) with its bytes, dtype and layout (opbytes)."""
    name = site.name.split(".", 1)[1]
    if name in ("view", "reshape"):
        site = replace(site, receiver=settled(site.interp, site.receiver))
    result = tensor_method(site)
    if name in ("matmul", "bmm", "mm", "__matmul__", "baddbmm", "addmm"):
        return result  # the matmul brain prices these
    return price_method(site, name, site.receiver, result)


def tensor_method(site: CallSite) -> Any:
    t: Tensor = site.receiver
    name = site.name.split(".", 1)[1]
    if name in ("matmul", "bmm", "mm", "__matmul__"):
        return matmul(site, t, site.arg(0, "other"))
    if name in ("view", "reshape"):
        if len(site.args) == 1 and isinstance(site.args[0], External):
            return t  # view(dtype)
        return view(t, size_list(site, 0, "shape"), site.interp, site.node)
    if name in ("view_as", "reshape_as", "expand_as", "type_as"):
        other = site.arg(0, "other")
        if name == "type_as":
            return Tensor(t.shape, other.dtype, t.why) if isinstance(other, Tensor) else t
        return Tensor(other.shape, t.dtype) if isinstance(other, Tensor) else unknown_tensor(name)
    if name in ("transpose", "swapaxes", "swapdims"):
        return transpose(t, site.arg(0, "dim0"), site.arg(1, "dim1"))
    if name == "t":
        return transpose(t, Num.const(0), Num.const(1)) if t.shape and len(t.shape) == 2 else t
    if name == "permute":
        dims = size_list(site, 0, "dims")
        return permute(t, dims) if dims is not None else unknown_tensor("permute")
    if name in ("unsqueeze", "unsqueeze_"):
        return unsqueeze(t, site.arg(0, "dim"))
    if name in ("squeeze", "squeeze_"):
        return squeeze(t, site.arg(0, "dim", None), by_facts(site.interp))
    if name == "expand":
        return expand(t, size_list(site, 0, "size"))
    if name == "repeat":
        return repeat(t, size_list(site, 0, "repeats"))
    if name == "repeat_interleave":
        reps, dim = site.arg(0, "repeats"), site.arg(1, "dim", None)
        if t.shape is None or not isinstance(reps, Num):
            return unknown_tensor("repeat_interleave")
        if dim is None:
            return Tensor((numel(t.shape) * reps,), t.dtype)
        d = norm_dim(dim, len(t.shape))
        shape = list(t.shape)
        shape[d] = shape[d] * reps
        return Tensor(tuple(shape), t.dtype)
    if name == "flatten":
        return flatten(t, site.arg(0, "start_dim", Num.const(0)), site.arg(1, "end_dim", Num.const(-1)))
    if name == "unflatten":
        dim, sizes = site.arg(0, "dim"), site.arg(1, "sizes")
        if t.shape is None or not isinstance(sizes, tuple):
            return unknown_tensor("unflatten")
        d = norm_dim(dim, len(t.shape))
        fake = Tensor(t.shape[d:d + 1], t.dtype)
        inner = view(fake, list(sizes), site.interp, site.node)
        if inner.shape is None:
            return inner
        return Tensor(t.shape[:d] + inner.shape + t.shape[d + 1:], t.dtype)
    if name in ("split", "split_with_sizes"):
        return split(t, site.arg(0, "split_size"), site.arg(1, "dim", Num.const(0)))
    if name in ("chunk", "tensor_split"):
        return chunk(t, site.arg(0, "chunks"), site.arg(1, "dim", Num.const(0)))
    if name == "unbind":
        d = norm_dim(site.arg(0, "dim", Num.const(0)), len(t.shape or ()))
        if t.shape is None or d is None or as_int(t.shape[d]) is None:
            return Unknown("unbind")
        return tuple(Tensor(t.shape[:d] + t.shape[d + 1:], t.dtype) for _ in range(as_int(t.shape[d])))
    if name == "narrow":
        d = norm_dim(site.arg(0, "dim"), len(t.shape or ()))
        length = site.arg(2, "length")
        if t.shape is None or d is None or not isinstance(length, Num):
            return unknown_tensor("narrow")
        shape = list(t.shape)
        shape[d] = length
        return Tensor(tuple(shape), t.dtype)
    if name == "size":
        dim = site.arg(0, "dim", None)
        if past_shape(t) is not None:
            d = norm_dim(dim, 4) if dim is not None else None
            return past_shape(t)[d] if d is not None else past_shape(t)
        if t.shape is None:
            return Unknown("size of a tensor whose shape is not known")
        if dim is None:
            return t.shape
        d = norm_dim(dim, len(t.shape))
        return t.shape[d] if d is not None else Unknown("size of a symbolic dim")
    if name in ("dim", "ndimension"):
        return Num.const(len(t.shape)) if t.shape is not None else Unknown("rank")
    if name in ("numel", "nelement"):
        return numel(t.shape) if t.shape is not None else Unknown("numel")
    if name == "tolist" and t.shape is not None and len(t.shape) == 1:
        return ListV([], rep=Repeated(Unknown("a tensor's data"), t.shape[0]))  # its length is known
    if name in ("item", "__index__", "__int__") and t.route[:1] == ("expert",) and t.shape is not None and all(d.const_value() == 1 for d in t.shape):
        return Tensor((), t.dtype, route=t.route)  # one hit expert's id: it indexes as the id tensor does
    if name in ("item", "tolist", "__index__", "__int__"):
        return Unknown("a tensor's data")
    if name in ("new_zeros", "new_ones", "new_empty", "new_full"):
        sizes = size_list(site, 0, "size")
        return Tensor(tuple(sizes), t.dtype) if sizes is not None else unknown_tensor(name)
    if name == "new_tensor":
        return unknown_tensor("new_tensor")
    if name in ("index_select",):
        d = norm_dim(site.arg(0, "dim"), len(t.shape or ()))
        idx = site.arg(1, "index")
        if t.shape is None or d is None or not isinstance(idx, Tensor) or not idx.shape:
            return unknown_tensor("index_select")
        shape = list(t.shape)
        shape[d] = idx.shape[0]
        return Tensor(tuple(shape), t.dtype)
    if name == "gather":
        idx = site.arg(1, "index")
        return Tensor(idx.shape, t.dtype) if isinstance(idx, Tensor) else unknown_tensor("gather")
    if name in ("topk",):
        k, dim = site.arg(0, "k"), site.arg(1, "dim", Num.const(-1))
        if k is None:
            raise DeadPath()  # topk(x, None) raises
        if t.shape is None or not isinstance(k, Num):
            return (unknown_tensor("topk"), unknown_tensor("topk", "long"))
        d = norm_dim(dim, len(t.shape))
        shape = list(t.shape)
        width = shape[d]
        shape[d] = k
        return (Tensor(tuple(shape), t.dtype), Tensor(tuple(shape), "long", route=("ids", width)))  # ids below width
    if name in REDUCTIONS:
        dim = site.arg(0, "dim", None)
        if isinstance(dim, Tensor):  # max(other): elementwise
            return elementwise(t, dim)
        out = reduce(t, dim, site.kwargs.get("keepdim", site.args[1] if len(site.args) > 1 and isinstance(site.args[1], X.Bool) else None))
        d = norm_dim(dim, len(t.shape)) if dim is not None and t.shape is not None else None
        ids = ("ids", t.shape[d]) if d is not None else ()  # indices along dim: ids below its size (a router's pick)
        if name in ("max", "min", "median") and dim is not None:
            return (out, Tensor(out.shape, "long", route=ids))
        if name in ("argmax", "argmin"):
            return Tensor(out.shape, "long", route=ids)
        if name in ("sum", "mean", "prod") and "dtype" in site.kwargs:  # accumulated and returned at dtype= (DiffLlama's lambdas)
            return replace(out, dtype=_dtype_kw(site, out.dtype))
        return out
    if name in ("scatter_", "scatter") and t.shape is not None:
        dim, index = site.arg(0, "dim"), site.arg(1, "index")
        src = site.arg(2, "value", site.kwargs.get("src"))
        d = norm_dim(dim, len(t.shape))
        if isinstance(index, Tensor) and index.shape is not None and isinstance(src, Num) and src.const_value() == 1 and d is not None:
            # ones scattered at the top-k expert ids: a routing mask with numel(index) ones
            return Tensor(t.shape, t.dtype, route=("mask", numel(index.shape), d))
        return t
    if name in ("masked_fill", "masked_fill_", "where"):
        return t
    if name == "cumsum" and t.shape is not None and len(t.shape) == 1:
        return Tensor(t.shape, t.dtype, route=("offsets",))  # running totals of counts: cut points
    if name == "sort":  # (sorted values, their indices)
        return (Tensor(t.shape, t.dtype), Tensor(t.shape, "long"))
    if name == "argsort":
        return Tensor(t.shape, "long")
    if name in IDENTITY_METHODS:
        dtype = t.dtype
        if name in BOOL_METHODS:
            dtype = "bool"
        elif name in ("long", "int"):
            dtype = "long"
        elif name in ("float", "double", "half", "bfloat16"):
            dtype = DTYPE_TAGS[name]
        elif name in ("to", "type"):
            dtype = _cast_tag(site, t)
        if name in ("add", "sub", "mul", "div", "maximum", "minimum", "add_", "mul_", "sub_", "div_") and site.args:
            return elementwise(t, site.args[0], None)
        keep = t.route if t.route and t.route[0] == "ids" and name in ("to", "long", "int", "type", "contiguous", "clone", "detach") else ()
        return Tensor(t.shape, dtype, t.why, route=keep)
    if name in ("any", "all"):
        return Tensor((), "bool")
    if name == "nonzero" and t.route:
        if t.route[0] == "slice" or site.kwargs.get("as_tuple") == X.TRUE:
            return routed_indices(t) if t.route[0] == "slice" else unknown_tensor("nonzero", "long")
        if t.route[0] == "mask" and t.shape is not None and len(t.shape) == 1:
            return hit_experts(t)
    if name in ("nonzero", "unique", "masked_select"):
        return unknown_tensor(f"{name} (data-dependent size)", "long")
    if name in ("baddbmm", "addmm"):
        return None  # handled by the matmul brain
    return unknown_tensor(f"Tensor.{name}")


# ---------------------------------------------------------------------------- torch functions


def torch_function(site: CallSite) -> Any:
    name = site.name
    interp = site.interp
    if name in ("torch.cumsum", "torch.repeat_interleave") and site.args and isinstance(site.args[0], Tensor):
        return tensor_method(CallSite(interp, None, site.args[1:], site.kwargs, site.node, site.hint, "Tensor." + name[6:], site.args[0]))
    if name == "torch.histc":  # counts in `bins` bins (tokens per expert)
        bins = site.arg(1, "bins", Num.const(100))
        return Tensor((bins,), "float32") if isinstance(bins, Num) else unknown_tensor("histc")
    if name in ("torch.arange",):
        if not all(isinstance(a, Num) for a in site.args):
            return unknown_tensor("arange with bounds the analysis cannot read", "long")
        nums = list(site.args)
        start, end, step = ZERO, None, ONE
        if len(nums) == 1:
            end = nums[0]
        elif len(nums) >= 2:
            start, end = nums[0], nums[1]
            if len(nums) >= 3:
                step = nums[2]
        for key, val in (("start", "start"), ("end", "end"), ("step", "step")):
            if key in site.kwargs and isinstance(site.kwargs[key], Num):
                if key == "start":
                    start = site.kwargs[key]
                elif key == "end":
                    end = site.kwargs[key]
                else:
                    step = site.kwargs[key]
        if end is None:
            return unknown_tensor("arange")
        return Tensor((Range(start, end, step).length(),), _dtype_kw(site, "long"), values=("arange", start, step))
    if name in CREATION:
        if any(a is None for a in site.args[:1]):
            raise DeadPath()  # torch.ones(None) raises
        sizes = size_list(site, 0, "size")
        if name == "torch.full":
            sizes = size_list(CallSite(interp, None, site.args[:1], site.kwargs, site.node, None), 0, "size")
        if name == "torch.randint":
            sizes = None
            for a in site.args:
                if isinstance(a, tuple):
                    sizes = list(a)
            if sizes is None and "size" in site.kwargs:
                sizes = list(site.kwargs["size"])
        return Tensor(tuple(sizes), _dtype_kw(site)) if sizes is not None else unknown_tensor(name)
    if name in LEGACY_CONSTRUCTORS and site.args and all(isinstance(a, Num) for a in site.args):
        # torch.FloatTensor(d_model, n_head, d_head): an uninitialised tensor of those sizes (data is a list, not ints)
        return Tensor(tuple(site.args), LEGACY_CONSTRUCTORS[name])
    if name == "torch.normal" and "size" in site.kwargs:
        sizes = size_list(CallSite(interp, None, [], {"size": site.kwargs["size"]}, site.node, None), 0, "size")
        return Tensor(tuple(sizes), "model") if sizes is not None else unknown_tensor(name)
    if name in LIKE:
        t = site.arg(0, "input")
        return Tensor(t.shape, _dtype_kw(site, t.dtype)) if isinstance(t, Tensor) else unknown_tensor(name)
    if name in ("torch.tensor", "torch.as_tensor", "torch.scalar_tensor"):
        data = site.arg(0, "data")
        if isinstance(data, (Num, X.Bool)):
            return Tensor((), _dtype_kw(site, scalar_tensor_dtype(data)))
        if isinstance(data, (tuple, ListV)):
            items = data if isinstance(data, tuple) else data.items
            return Tensor((Num.const(len(items)),), _dtype_kw(site))
        if isinstance(data, Tensor):
            return data
        if isinstance(data, Unknown) or data is None:
            return Tensor((), _dtype_kw(site))  # a scalar read from elsewhere (finfo.min, ...)
        return unknown_tensor("tensor from data")
    if name in ("torch.cat", "torch.concat", "torch.concatenate"):
        return cat(site.arg(0, "tensors"), site.arg(1, "dim", Num.const(0)))
    if name == "torch.stack":
        return stack(site.arg(0, "tensors"), site.arg(1, "dim", Num.const(0)))
    if name == "torch.where":
        if len(site.args) == 1:
            t = site.args[0]
            if isinstance(t, Tensor) and t.route and t.route[0] == "slice":
                return routed_indices(t)
            return Unknown("torch.where(cond) is data-dependent")
        c, a, b = site.arg(0, "condition"), site.arg(1, "input"), site.arg(2, "other")
        first = elementwise(a, b)
        return Tensor(broadcast(first.shape, shape_of(c)) if first.shape is not None else shape_of(c), first.dtype)
    if name in ("torch.transpose", "torch.swapaxes"):
        return transpose(site.arg(0), site.arg(1), site.arg(2))
    if name == "torch.permute":
        return permute(site.arg(0), list(site.arg(1)))
    if name in ("torch.reshape",):
        return view(site.arg(0), list(site.arg(1)), interp, site.node)
    if name == "torch.flatten":
        return flatten(site.arg(0), site.arg(1, "start_dim", Num.const(0)), site.arg(2, "end_dim", Num.const(-1)))
    if name == "torch.unsqueeze":
        return unsqueeze(site.arg(0), site.arg(1, "dim"))
    if name == "torch.squeeze":
        return squeeze(site.arg(0), site.arg(1, "dim", None), by_facts(site.interp))
    if name in ("torch.split",):
        return split(site.arg(0), site.arg(1, "split_size_or_sections"), site.arg(2, "dim", Num.const(0)))
    if name in ("torch.chunk",):
        return chunk(site.arg(0), site.arg(1, "chunks"), site.arg(2, "dim", Num.const(0)))
    if name in ("torch.sum", "torch.mean", "torch.max", "torch.min", "torch.amax", "torch.amin", "torch.argmax", "torch.norm", "torch.var", "torch.std", "torch.prod", "torch.all", "torch.any", "torch.logsumexp", "torch.argmin", "torch.count_nonzero"):
        t = site.arg(0, "input")
        if not isinstance(t, Tensor):
            return unknown_tensor(name)
        sub = CallSite(interp, None, site.args[1:], site.kwargs, site.node, site.hint, "Tensor." + name.split(".")[1], t)
        return tensor_method(sub)
    if name in ("torch.topk", "torch.repeat_interleave"):  # cohere's rotary: repeat_interleave(freqs, 2, dim=-1)
        t = site.arg(0, "input")
        sub = CallSite(interp, None, site.args[1:], site.kwargs, site.node, site.hint, "Tensor." + name.split(".")[1], t)
        return tensor_method(sub) if isinstance(t, Tensor) else unknown_tensor(name)
    if name in ("torch.greater", "torch.gt", "torch.ne", "torch.greater_equal", "torch.ge"):
        a, b = site.arg(0), site.arg(1)
        return elementwise(a, b, "bool")
    if name == "torch.nonzero":
        t = site.arg(0)
        sub = CallSite(interp, None, site.args[1:], site.kwargs, site.node, site.hint, "Tensor.nonzero", t)
        return tensor_method(sub) if isinstance(t, Tensor) else unknown_tensor(name)
    if name in ("torch.gather", "torch.index_select"):
        t = site.arg(0, "input")
        sub = CallSite(interp, None, site.args[1:], site.kwargs, site.node, site.hint, "Tensor." + name.split(".")[1], t)
        return tensor_method(sub) if isinstance(t, Tensor) else unknown_tensor(name)
    if name == "torch.outer" or name == "torch.ger":
        a, b = site.arg(0), site.arg(1)
        if isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape and b.shape:
            return Tensor((a.shape[0], b.shape[0]), a.dtype)
        return unknown_tensor("outer")
    if name == "torch.polar":  # abs * (cos(angle) + i sin(angle)): a new complex tensor
        t, angle = site.arg(0, "abs"), site.arg(1, "angle")
        if not isinstance(t, Tensor) or not isinstance(angle, Tensor):
            return unknown_tensor(name)
        return Tensor(broadcast(t.shape, angle.shape) if t.shape is not None and angle.shape is not None else None, COMPLEX_OF.get(t.dtype, "complex"))
    if name == "torch.view_as_complex":  # [..., n, 2] float32 -> [..., n] complex64, the same storage
        t = site.arg(0)
        if not isinstance(t, Tensor) or not t.shape:
            return unknown_tensor(name)
        return Tensor(t.shape[:-1], COMPLEX_OF.get(t.dtype, "complex"), layout=None if t.layout is None else UNKNOWN_LAYOUT)
    if name == "torch.view_as_real":  # [...] complex64 -> [..., 2] float32, the same storage
        t = site.arg(0)
        if not isinstance(t, Tensor) or t.shape is None:
            return unknown_tensor(name)
        real = next((r for r, c in COMPLEX_OF.items() if c == t.dtype), "real")
        return Tensor(t.shape + (Num.const(2),), real, layout=None if t.layout is None else UNKNOWN_LAYOUT)
    short = name.split(".", 1)[1] if "." in name else name
    if name.startswith("torch.") and name not in ELEMENTWISE_FUNCTIONS and short in IDENTITY_METHODS and site.args and isinstance(site.args[0], Tensor):
        sub = CallSite(interp, None, site.args[1:], site.kwargs, site.node, site.hint, "Tensor." + short, site.args[0])
        return tensor_method(sub)  # torch.clone(x) is x.clone()
    if name in ELEMENTWISE_FUNCTIONS:
        if site.args and isinstance(site.args[0], tuple):
            raise DeadPath()  # F.dropout((h, logits)): a tuple where the input tensor belongs raises TypeError
        tensors = [a for a in site.args[:2] if isinstance(a, (Tensor, Num))]
        if not tensors:
            t = site.kwargs.get("input")
            return t if isinstance(t, Tensor) else unknown_tensor(name)
        if len(tensors) == 1:
            t = tensors[0]
            return t if isinstance(t, Tensor) else Tensor((), "model")
        return elementwise(tensors[0], tensors[1])
    if name in ("F.pad",):
        return pad(site.arg(0, "input"), site.arg(1, "pad"))
    if name == "F.embedding":
        idx, w = site.arg(0, "input"), site.arg(1, "weight")
        if isinstance(idx, Tensor) and isinstance(w, Tensor) and idx.shape is not None and w.shape:
            return Tensor(idx.shape + (w.shape[-1],), w.dtype)
        return unknown_tensor("embedding")
    if name == "F.one_hot":
        t, n = site.arg(0), site.arg(1, "num_classes")
        if isinstance(t, Tensor) and t.shape is not None and isinstance(n, Num):
            # a routing mask: exactly one 1 per index, numel(t) ones in all (top-k ids: below the router's width)
            width = t.route[1:] if t.route and t.route[0] == "ids" else ()
            return Tensor(t.shape + (n,), "long", route=("mask", numel(t.shape), len(t.shape), *width))
        return unknown_tensor(name)
    if name in ("F.glu",):
        t = site.arg(0)
        d = norm_dim(site.arg(1, "dim", Num.const(-1)), len(t.shape or ()))
        if isinstance(t, Tensor) and t.shape is not None and d is not None:
            shape = list(t.shape)
            shape[d] = X.floordiv(shape[d], 2)
            return Tensor(tuple(shape), t.dtype)
        return unknown_tensor(name)
    if name in ("torch.broadcast_to",):
        return Tensor(tuple(site.arg(1)), site.arg(0).dtype) if isinstance(site.arg(1), tuple) else unknown_tensor(name)
    if name in ("torch.diff",):
        return unknown_tensor(name)
    return NotImplemented


DTYPE_TAGS = {
    "long": "long", "int64": "long", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16", "int8": "int8",
    "uint8": "uint8", "bool": "bool", "float": "float32", "float32": "float32", "float64": "float64", "double": "float64",
    "bfloat16": "bfloat16", "float16": "float16", "half": "float16", "<model dtype>": "model",
}  # fmt: skip
"""torch dtype name -> the analysis's dtype tag ("model": the dtype the model is built in)."""


def dtype_tag(value: Any, default: str) -> str:
    """The dtype tag of a `dtype=` argument (torch.float32, torch.long, other.dtype; a Python type as
    torch maps it: bool, int, float -> torch.bool, int64, float64), else `default`."""
    if isinstance(value, External):
        name = value.name.rsplit(".", 1)[-1]
        return DTYPE_TAGS.get(name) or known_tag(name) or default
    return {"bool": "bool", "int": "long", "float": "float64"}.get(value.name, default) if isinstance(value, Builtin) else default


def _dtype_kw(site: CallSite, default: str = "model") -> str:
    return dtype_tag(site.kwargs.get("dtype"), default)


def _cast_tag(site: CallSite, t: Tensor) -> str:
    """The dtype of `t.to(...)` / `t.type(...)`: a dtype given by keyword or position, another
    tensor's dtype, or t's own (a device move)."""
    if "dtype" in site.kwargs:
        return dtype_tag(site.kwargs["dtype"], "?")
    for arg in site.args:
        if isinstance(arg, Tensor):
            return arg.dtype
        if isinstance(arg, External) and arg.name.rsplit(".", 1)[-1] in DTYPE_TAGS:
            return dtype_tag(arg, "?")
    return t.dtype


@brain("torch-function", prefix("torch.", "F."))
def suggest_torch_function(site: CallSite) -> Any:
    result = torch_function(site)
    if result is NotImplemented:
        return Unknown(f"{site.name} is not in the op table")
    return price_function(site, result)

