"""`F.apply(*args)` of a `torch.autograd.Function` subclass: what its forward costs and what autograd keeps.

torch runs a custom Function's `forward(ctx, *args)` with grad mode off (`Function.apply` records one
node for the whole call), so the ops inside save nothing of their own; what backward gets is exactly
the tensors the forward hands to `ctx.save_for_backward(...)`, and the outputs require grad when an
input does (BLOOM's training GeLU, `GeLUFunction.apply(x)`, keeps `x` alone where the inference
`bloom_gelu_forward(x)` keeps six tensors).

Backward FLOPs are the custom `backward`'s, which the analysis does not run: they are 0 (as the
forward's elementwise ops' are) only where neither `forward` nor `backward` (nor a function of the
same module either one calls by name) names a matmul-class op; otherwise the call is unknown.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from astroid import nodes

from lm_predictor.suggest.brains import saved as _saved
from lm_predictor.suggest.brains.transformers_lib import BrainFunc
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import External, FunctionV, ObjectV, Tensor, Unknown

AUTOGRAD_FUNCTIONS = ("torch.autograd.Function", "torch.autograd.function.Function")
CTX_KIND = "autograd-ctx"
SAVED = "__saved_for_backward__"
MATMUL_NAMES = frozenset({"matmul", "bmm", "mm", "baddbmm", "addmm", "addbmm", "addmv", "mv", "einsum", "linear", "bilinear",
                          "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "scaled_dot_product_attention"})
"""Names of the ops FlopCounterMode counts (a custom backward calling one has FLOPs the analysis does not price)."""


def is_function_class(interp: Host, cls: Any) -> bool:
    """Whether `cls` (a class of the analysed tree) subclasses torch.autograd.Function."""
    return any(isinstance(c, External) and c.name in AUTOGRAD_FUNCTIONS for c in interp.mro(cls))


def _names_matmul(fnode: Any, seen: set) -> bool:
    """Whether the function `fnode`, or a function of its module it calls by name, uses `@` or a matmul-class op."""
    if fnode is None or id(fnode) in seen:
        return False
    seen.add(id(fnode))
    for n in fnode.nodes_of_class((nodes.BinOp, nodes.AugAssign, nodes.Call)):
        if isinstance(n, nodes.BinOp) and n.op == "@" or isinstance(n, nodes.AugAssign) and n.op == "@=":
            return True
        if isinstance(n, nodes.Call):
            func = n.func
            name = func.attrname if isinstance(func, nodes.Attribute) else func.name if isinstance(func, nodes.Name) else None
            if name in MATMUL_NAMES:
                return True
            if isinstance(func, nodes.Name):
                _, found = func.lookup(func.name)
                if any(isinstance(f, nodes.FunctionDef) and _names_matmul(f, seen) for f in found):
                    return True
    return False


def autograd_apply(interp: Host, cls: Any) -> Any:
    """`F.apply(*args)`: F's forward(ctx, *args) with grad mode off and a ctx that records
    `save_for_backward` (None: F has no forward of its own)."""
    forward = interp.class_attr(cls, "forward")
    if not isinstance(forward, FunctionV):
        return None
    backward = interp.class_attr(cls, "backward")
    seen: set = set()
    priced = not _names_matmul(forward.node, seen) and not (isinstance(backward, FunctionV) and _names_matmul(backward.node, seen))
    run = replace(forward, bound=None)  # a @staticmethod: ctx comes first

    def apply(i: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
        if not priced:
            return Unknown(f"{cls.qualname}: a custom autograd backward with matmul-class ops (its FLOPs are not analysed)")
        ctx = ObjectV(External("torch.autograd.function.FunctionCtx"), {SAVED: []}, kind=CTX_KIND)
        i.grad_off += 1
        try:
            result = i.run_function(run, [ctx, *args], kwargs, node)
        finally:
            i.grad_off -= 1
        for t in ctx.attrs[SAVED]:
            _saved.save(i, t, f"{cls.qualname}.forward: ctx.save_for_backward")
        grad = any(isinstance(v, Tensor) and v.requires_grad for v in [*args, *kwargs.values()])
        return _with_grad(i, result) if grad else result

    return BrainFunc(f"{cls.qualname}.apply", apply, saves_itself=True)


def _with_grad(interp: Host, result: Any) -> Any:
    """The Function's outputs: float tensors require grad when an input does (their storage is the forward's)."""
    if isinstance(result, Tensor) and result.no_grad and not result.param:
        out = replace(result, no_grad=False)
        _saved.same(interp, out, result)
        return out
    if isinstance(result, tuple):
        return tuple(_with_grad(interp, v) for v in result)
    return result


def ctx_attr(obj: ObjectV, name: str) -> Any:
    """`ctx.save_for_backward(*tensors)` records them (autograd.Function's ctx); other ctx attributes: None."""
    if obj.kind != CTX_KIND:
        return None
    if name == "save_for_backward":
        def save_for_backward(i: Host, recv: Any, args: list, kw: dict, n: Any) -> None:
            obj.attrs[SAVED].extend(a for a in args if a is not None)  # torch accepts None there and keeps nothing
        return BrainFunc("save_for_backward", save_for_backward)
    if name == "mark_non_differentiable" or name == "set_materialize_grads":
        return Unknown(f"ctx.{name}: outputs without a gradient are not modelled")
    return None
