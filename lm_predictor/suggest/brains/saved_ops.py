"""The saved-tensor table by op name: what each op's backward keeps (after torch's
tools/autograd/derivatives.yaml), read by brains/saved.py."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest.values import Phi, Tensor, Unknown

NOTHING = frozenset({
    "add", "sub", "rsub", "neg", "cat", "concat", "concatenate", "stack", "clone", "sum", "mean", "tril", "triu",
    "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "arange", "tensor",
    "as_tensor", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "bitwise_and",
    "bitwise_or", "and", "or", "xor", "isnan", "isinf", "floor_divide", "repeat", "new_zeros", "new_ones",
    "new_full", "new_empty", "new_tensor", "linspace", "outer_no_grad", "Cache.update", "Cache.get_seq_length",
    "Cache.get_mask_sizes", "floor", "ceil", "round", "sign", "trunc", "argmax", "argmin", "long", "int", "bool", "bitwise_not",
    "cumsum", "pad", "roll", "flip",
})
"""Ops whose backward needs none of their tensors (add, cat, sum, mean, comparisons, factories)."""
INPUT = frozenset({"silu", "gelu", "sin", "cos", "log", "log1p", "erf", "softplus", "mish", "abs", "clamp", "clamp_min",
                   "clamp_max", "pow", "square", "leaky_relu", "hardtanh", "atan", "sinh", "cosh", "log2", "log10", "var", "std"})
"""Ops that keep their input (self) when it requires grad."""
OUTPUT = frozenset({"sigmoid", "tanh", "exp", "rsqrt", "sqrt", "relu", "reciprocal", "softmax", "log_softmax", "exp2", "expm1", "logsumexp",
                    "polar"})
"""Ops that keep their output when the input requires grad (logsumexp its input too: logsumexp_backward)."""
CROSS = frozenset({"mul", "matmul", "mm", "bmm", "@", "multiply"})
"""Products: each operand is kept when the other requires grad."""
ADD_PRODUCT = frozenset({"baddbmm", "addbmm", "addmm"})
"""`input + alpha * (b1 @ b2)`: the product's operands, as bmm keeps them (the added input nothing)."""
PRODUCTS = frozenset({"matmul", "mm", "bmm", "@", "einsum"}) | ADD_PRODUCT
"""Matmul-class ops: FlopCounterMode counts them, and autograd saves their operands before they run."""
CONVOLUTIONS = frozenset({"conv1d", "conv2d", "conv3d", "convolution"})
"""aten.convolution (nn.Conv1d/Conv2d, F.conv1d): its backward keeps the input and the weight."""
BINARY_PICK = frozenset({"maximum", "minimum", "fmax", "fmin", "max", "min"})
"""max(a, b) and kin of two tensors keep both (the gradient goes where each won); with a dim, the indices."""
INDICES = frozenset({"topk", "sort", "kthvalue", "median", "mode", "cummax", "cummin", "max", "min"})
"""Ops returning (values, indices) whose backward scatters the gradient through the indices."""
VIEWS = frozenset({"view", "view_as", "transpose", "permute", "unsqueeze", "squeeze", "expand", "expand_as", "t",
                   "swapaxes", "swapdims", "split", "chunk", "unbind", "narrow", "detach", "unflatten", "split_with_sizes",
                   "tensor_split", "movedim", "select", "slice_logits_to_keep", "view_as_complex", "view_as_real"})
"""Tensor methods whose results share the receiver's storage (5.x `slice_logits_to_keep`: `hidden[:, -k:, :]`)."""
KEEPS_INPUT = frozenset({"positive", "requires_grad_", "retain_grad", "cpu", "cuda", "pin_memory", "select"})
"""Ops that may hand back their input object unchanged."""
RESHAPES = frozenset({"reshape", "reshape_as", "flatten"})
CASTS = frozenset({"to", "float", "half", "bfloat16", "double", "type_as", "type", "contiguous"})
NO_GRAD_HELPERS = ("transformers.masking_utils.", "transformers.modeling_attn_mask_utils.")
"""Library helpers whose tensors never require grad (attention masks from positions)."""
TRAIN_ONLY = frozenset({"dropout", "dropout1d", "dropout2d", "alpha_dropout"})
INDEXED_WRITES = frozenset({"scatter", "scatter_add", "index_add"})
"""Writes of `src` at an index (`self.scatter_(dim, index, src)`): the backward keeps the index where src requires grad."""


def needs_grad(v: Any) -> bool:
    """Whether a tensor (or either branch of a joined value) requires grad."""
    if isinstance(v, Phi):
        return needs_grad(v.a) or needs_grad(v.b)
    return isinstance(v, Tensor) and v.requires_grad


def is_tensorish(v: Any) -> bool:
    return isinstance(v, Tensor) or isinstance(v, Phi) and (is_tensorish(v.a) or is_tensorish(v.b))


def saves_of(short: str, inputs: list, result: Any) -> list | None:
    """The tensors `short`'s backward keeps (derivatives.yaml); None: not in the table."""
    if short in NOTHING:
        return []
    # an operand the analysis could not follow (it may be a tensor that requires grad); masked_fill's value is never kept
    if any(isinstance(v, Unknown) or isinstance(v, Phi) and not all(isinstance(x, (Tensor, Num)) or x is None for x in (v.a, v.b))
           for v in (inputs[:2] if short == "masked_fill" else inputs)):
        return None
    tensors = [v for v in inputs if is_tensorish(v)]
    if not any(needs_grad(v) for v in tensors):
        return []  # nothing requires grad: autograd records no node
    a = inputs[0] if inputs else None
    b = inputs[1] if len(inputs) > 1 else None
    if short in INPUT:
        return [a] if needs_grad(a) else []
    if short in OUTPUT:
        return [a] * (short == "logsumexp") + [result] if isinstance(result, Tensor) else None
    if short in ADD_PRODUCT and len(inputs) >= 3:
        return saves_of("bmm", inputs[1:3], result)
    if short in BINARY_PICK and is_tensorish(b):
        return [v for v in (a, b) if is_tensorish(v)]
    if short in INDICES and isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Tensor):
        return [result[1]]
    if short == "logsigmoid":
        return [a, "buffer"] if needs_grad(a) else []
    if short in ("gather", "index_select", "index"):  # the indices; gather its input too
        index = [v for v in inputs[1:] if isinstance(v, Tensor)]
        if not needs_grad(a) or any(v.dtype == "bool" for v in index) or short != "index" and len(index) != 1:
            return None if needs_grad(a) else []
        return index + ([a] if short == "gather" else [])
    if short in CROSS or short == "linear":
        out = []
        if is_tensorish(a) and is_tensorish(b):
            if needs_grad(b):
                out.append(a)
            if needs_grad(a):
                out.append(b)
        return out
    if short in ("div", "true_divide"):
        if not is_tensorish(b):
            return []
        out = [b] if needs_grad(a) or needs_grad(b) else []
        return out + ([a] if needs_grad(b) and is_tensorish(a) else [])
    if short in CONVOLUTIONS:  # one formula for input, weight and bias: both kept once any requires grad
        return [v for v in inputs[:2] if is_tensorish(v)]
    if short in ("where",):
        return [a] if is_tensorish(a) else []
    if short in ("masked_fill",):
        return [b] if is_tensorish(b) and needs_grad(a) else []
    if short in INDEXED_WRITES:  # (self, dim, index, src): src's gradient gathers through the index (a scalar src: none)
        src = inputs[3] if len(inputs) > 3 else None
        index = inputs[2] if len(inputs) > 2 else None
        if not is_tensorish(src) or not needs_grad(src):
            return []
        # index_add's `grad.index_select(dim, index).expand_as(source)` keeps source too
        return ([index] + [src] * (short == "index_add")) if isinstance(index, Tensor) else None
    return None
