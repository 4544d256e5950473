"""buffer_bytes terms of a module template (the buffers its __init__ registers, then its
children's), and its parameters that are not at the model dtype.

A buffer's bytes are its shape's element count times its dtype's size ("model": the workload's
`dtype_bytes`, since transformers builds the model with that default dtype). A buffer whose
shape or dtype the analysis cannot tell, a name it cannot read, or a child module whose
buffers are not known (a torch module outside BUFFERLESS_TORCH_KINDS) leaves the template's
buffers unknown (`Template.buffers_known` False): no `buffer_bytes` is emitted, never a guess.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, TRUE, Bool, Num
from lm_predictor.suggest.scope import ModRef, RuleRef, Template, Term, TorchModule
from lm_predictor.suggest.valueops import with_paths
from lm_predictor.suggest.values import DictV, ListV, Phi, Repeated, Tensor

ELEMENT_BYTES = {
    "float32": 4, "float64": 8, "bfloat16": 2, "float16": 2, "long": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1,
}  # fmt: skip
"""Bytes per element of each dtype tag the analysis gives a tensor ("model" is `dtype_bytes`)."""

BUFFERLESS_TORCH_KINDS = frozenset({"linear", "hf_conv1d", "embedding", "layernorm", "rmsnorm", "groupnorm", "conv1d", "conv2d", "conv_nd", "pad", "elementwise", "mha"})
"""torch.nn modules (the brains' kinds) that register no buffer; an activation the brains could
not look up (kind "elementwise", args kind "activation") is not known to be one of them."""


def register_buffers(template: Template) -> None:
    """Fill template.buffer_terms (own buffers first, then each child's call) and buffers_known;
    and the parameter dtype facts (register_param_dtypes)."""
    register_param_dtypes(template)
    for name in template.buffers:
        value = template.attrs.get(name) if name is not None else None
        if name is None or not _add_own(template, value, TRUE):
            template.buffers_known = False
    seen: set = set()
    for attr, value in template.attrs.items():
        _add_child(template, attr, value, ONE, TRUE, seen)


def _add_own(template: Template, value: Any, guard: Bool) -> bool:
    """Add the bytes of one buffer value; False where they cannot be told."""
    if isinstance(value, Phi):
        return _add_own(template, value.a, X.band(guard, value.cond)) and _add_own(template, value.b, X.band(guard, X.bnot(value.cond)))
    if value is None:
        return True  # register_buffer(name, None): no tensor
    if not isinstance(value, Tensor) or value.shape is None:
        return False
    size = Num.sym("dtype_bytes") if value.dtype == "model" else ELEMENT_BYTES.get(value.dtype)
    if size is None:
        return False
    numel = ONE
    for d in value.shape:
        numel = numel * d
    template.buffer_terms.append(Term(guard, ONE, numel * size, "buffer"))
    return True


def _bufferless(value: Any) -> bool:
    """Whether `value` is a torch module known to register no buffer."""
    if not isinstance(value, ModRef) or not isinstance(value.inst.template, TorchModule):
        return False
    module = value.inst.template
    return module.kind in BUFFERLESS_TORCH_KINDS and module.args.get("kind") != "activation"


def _add_child(template: Template, attr: str, value: Any, mult: Num, guard: Bool, seen: set) -> None:
    """The children's buffer_bytes, registered as param_count registers their parameters."""
    if isinstance(value, Phi):
        _add_child(template, attr, value.a, mult, X.band(guard, value.cond), seen)
        _add_child(template, attr, value.b, mult, X.band(guard, X.bnot(value.cond)), seen)
    elif isinstance(value, ModRef):
        if value.path != attr or id(value.inst) in seen:
            return
        seen.add(id(value.inst))
        child = value.inst.template
        if isinstance(child, TorchModule):
            parts = child.args.get("modules", []) if child.kind == "sequential" else [value]
            if not all(_bufferless(part) for part in parts):
                template.buffers_known = False
            return
        if not child.buffers_known:
            template.buffers_known = False
        elif child.buffer_terms:
            template.buffer_terms.append(Term(guard, mult * (value.count or ONE), X.call(attr, RuleRef(child), dict(value.binding), forward_all=True)))
    elif isinstance(value, Repeated):
        _add_child(template, attr, value.elem, mult * value.count, guard, seen)
    elif isinstance(value, ListV):
        if value.rep is not None:
            _add_child(template, attr, value.rep, mult, guard, seen)
        else:
            for item in value.items:  # a ModuleList filled by append() after the assignment, as param_count reads it
                if isinstance(item, ModRef) and item.path == "":
                    item = with_paths(item, attr)  # granite_swa's rotary_embs
                _add_child(template, attr, item, mult, guard, seen)
    elif isinstance(value, DictV):
        for key, item in value.items.items():
            path = item.path if isinstance(item, ModRef) and item.path == f"{attr}.{key}" else attr
            _add_child(template, path, item, mult, guard, seen)


def register_param_dtypes(template: Template) -> None:
    """template.excess_terms: for each own parameter not at the model dtype (xlnet's
    torch.FloatTensor weights, float32 in a bfloat16 model), numel * (its bytes - dtype_bytes);
    has_odd_params: it or a descendant has one; param_dtypes_known False where such a
    parameter's size or dtype is unknown."""
    for value in template.attrs.values():
        _add_odd(template, value, TRUE)
    children = [v.inst.template for _, v in template.children if isinstance(v, ModRef) and isinstance(v.inst.template, Template)]
    if not all(child.param_dtypes_known for child in children):
        template.param_dtypes_known = False
    nested = any(child.has_odd_params for child in children)
    # a module and a descendant that both have odd parameters (XLNet's mask_emb and its layers' q, k,
    # v, o, r): each rule's param_bytes prices its own, and evaluate/train.py adds the descendants'
    template.has_odd_params = nested or bool(template.excess_terms)


def _add_odd(template: Template, value: Any, guard: Bool) -> None:
    """Add the excess bytes of one own parameter value, if it is not at the model dtype."""
    if isinstance(value, Phi):
        _add_odd(template, value.a, X.band(guard, value.cond))
        _add_odd(template, value.b, X.band(guard, X.bnot(value.cond)))
    elif isinstance(value, (Repeated, ListV)):
        inner = value.elem if isinstance(value, Repeated) else (value.rep if value.rep is not None else None)
        items = [inner] if inner is not None else (value.items if isinstance(value, ListV) else [])
        if any(isinstance(v, Tensor) and v.param and v.dtype != "model" for v in items):
            template.param_dtypes_known = False  # a ParameterList of odd dtype: not priced
    elif isinstance(value, Tensor) and value.param and value.dtype != "model":
        size = ELEMENT_BYTES.get(value.dtype)
        if size is None or value.shape is None:
            template.param_dtypes_known = False
            return
        numel = ONE
        for d in value.shape:
            numel = numel * d
        template.excess_terms.append(Term(guard, ONE, numel * (Num.const(size) - Num.sym("dtype_bytes")), "parameter not at the model dtype"))
