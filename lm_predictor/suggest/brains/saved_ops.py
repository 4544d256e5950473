"""The saved-tensor table by op name: what each op's backward keeps (after torch's
tools/autograd/derivatives.yaml), read by brains/saved.py."""

from __future__ import annotations

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
OUTPUT = frozenset({"sigmoid", "tanh", "exp", "rsqrt", "sqrt", "relu", "reciprocal", "softmax", "log_softmax", "exp2", "expm1", "logsumexp"})
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
                   "tensor_split", "movedim", "select", "slice_logits_to_keep"})
"""Tensor methods whose results share the receiver's storage (5.x `slice_logits_to_keep`: `hidden[:, -k:, :]`)."""
KEEPS_INPUT = frozenset({"positive", "requires_grad_", "retain_grad", "cpu", "cuda", "pin_memory", "select"})
"""Ops that may hand back their input object unchanged."""
RESHAPES = frozenset({"reshape", "reshape_as", "flatten"})
CASTS = frozenset({"to", "float", "half", "bfloat16", "double", "type_as", "type", "contiguous"})
NO_GRAD_HELPERS = ("transformers.masking_utils.", "transformers.modeling_attn_mask_utils.")
"""Library helpers whose tensors never require grad (attention masks from positions)."""
TRAIN_ONLY = frozenset({"dropout", "dropout1d", "dropout2d", "alpha_dropout"})
