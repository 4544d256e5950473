"""Limits and helpers over astroid syntax nodes (names, hints, targets) shared by the interpreter's parts."""

from __future__ import annotations

import os
from typing import Any

from astroid import nodes

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool, Num
from lm_predictor.suggest.interp.frames import Frame
from lm_predictor.suggest.values import Phi, Repeated, Tensor, Unknown


MAX_DEPTH = 48
MAX_UNROLL = 64
TRACE = os.environ.get("LMPREDICT_SUGGEST_TRACE", "")
BUILTIN_NAMES = {
    "len", "int", "float", "bool", "str", "tuple", "list", "dict", "set", "range", "enumerate", "zip", "min", "max",
    "sum", "abs", "isinstance", "issubclass", "getattr", "hasattr", "setattr", "super", "type", "print", "any", "all",
    "map", "filter", "sorted", "reversed", "iter", "next", "round", "divmod", "pow", "callable", "id", "hash", "repr",
    "ValueError", "TypeError", "RuntimeError", "NotImplementedError", "KeyError", "AttributeError", "ImportError",
    "Exception", "object", "property", "staticmethod", "classmethod", "frozenset", "slice", "vars", "format", "ord",
    "chr", "open", "NotImplemented", "Ellipsis", "AssertionError", "IndexError", "StopIteration", "DeprecationWarning",
    "FutureWarning", "UserWarning", "Warning",
}


def summary(value: Any) -> str:
    if isinstance(value, (Num, Bool)):
        return X.render(value)[:120]
    if isinstance(value, Tensor):
        return "T" + ("?" + value.why[:80] if value.shape is None else str([X.render(d) for d in value.shape]))
    if isinstance(value, Phi):
        return f"Phi({X.render_bool(value.cond)[:60]}, {summary(value.a)}, {summary(value.b)})"
    if isinstance(value, tuple):
        return "(" + ", ".join(summary(v) for v in value) + ")"
    if isinstance(value, Unknown):
        return f"Unknown({value.reason[:100]})"
    return type(value).__name__


def arg_hint(names: list, i: int) -> str:
    return names[i] if i < len(names) else f"arg{i}"


def param_names(fnode: Any) -> list:
    a = fnode.args
    return [p.name for p in list(a.posonlyargs or []) + list(a.args or [])]


def decorator_names(fnode: Any) -> set:
    out = set()
    if fnode.decorators is None:
        return out
    for d in fnode.decorators.nodes:
        if isinstance(d, nodes.Name):
            out.add(d.name)
        elif isinstance(d, nodes.Attribute):
            out.add(d.attrname)
    return out


GRAD_OFF = frozenset({"torch.no_grad", "torch.inference_mode"})
"""Context managers (and decorators) under which autograd records nothing."""


def grad_off_decorated(fnode: Any) -> bool:
    """Whether a function is decorated `@torch.no_grad()` / `@torch.inference_mode()` (called or not)."""
    for d in getattr(fnode, "decorators", None).nodes if getattr(fnode, "decorators", None) is not None else ():
        d = d.func if isinstance(d, nodes.Call) else d
        if isinstance(d, nodes.Attribute) and d.attrname in ("no_grad", "inference_mode") and isinstance(d.expr, nodes.Name) and d.expr.name == "torch":
            return True
    return False


def target_hint(target: Any) -> str | None:
    if isinstance(target, nodes.AssignName):
        return target.name
    if isinstance(target, nodes.AssignAttr):
        return target.attrname
    if isinstance(target, (nodes.Tuple, nodes.List)) and target.elts:
        return target_hint(target.elts[0])
    if isinstance(target, nodes.Starred):
        return target_hint(target.value)
    return None


def as_load(target: Any) -> Any:
    """An AugAssign target re-read as an expression."""
    if isinstance(target, nodes.AssignName):
        node = nodes.Name(target.name, target.lineno, target.col_offset, target.parent, end_lineno=None, end_col_offset=None)
        return node
    if isinstance(target, nodes.AssignAttr):
        node = nodes.Attribute(target.attrname, target.lineno, target.col_offset, target.parent, end_lineno=None, end_col_offset=None)
        node.expr = target.expr
        return node
    return target


def closure_of(frame: Frame) -> dict:
    merged = dict(frame.closure or {})
    merged.update(frame.locals)
    return merged


def index_name(item: Any) -> str | None:
    if isinstance(item, Num):
        for atom in item.atoms():
            if isinstance(atom, X.Sym) and atom.name.startswith("#"):
                return atom.name
    if isinstance(item, tuple):
        for x in item:
            found = index_name(x)
            if found:
                return found
    return None


def repeated_index(value: Any) -> str | None:
    """The index symbol of a Repeated (or a list built as one): its items, iterated, depend on it."""
    rep = getattr(value, "rep", None) if not isinstance(value, Repeated) else value
    return rep.index if isinstance(rep, Repeated) else None


_HANDLERS: dict = {}


def handler(owner: Any, prefix: str, node: Any) -> Any:
    """owner's `<prefix><NodeType>` method for a node, found along the node class's MRO (cached per class)."""
    key = (type(owner), prefix, type(node))
    if key not in _HANDLERS:
        _HANDLERS[key] = next((getattr(type(owner), prefix + k.__name__) for k in type(node).__mro__ if hasattr(type(owner), prefix + k.__name__)), None)
    found = _HANDLERS[key]
    return None if found is None else found.__get__(owner)


def trace_assigned(stmt: Any, frame: Any) -> None:
    """LMPREDICT_SUGGEST_TRACE: the values an assignment statement wrote."""
    if isinstance(stmt, (nodes.Assign, nodes.AnnAssign, nodes.AugAssign)):
        targets = stmt.targets if isinstance(stmt, nodes.Assign) else [stmt.target]
        for t in targets:
            for name in [n.name for n in t.nodes_of_class(nodes.AssignName)]:
                print(f"trace {frame.func}:{stmt.lineno} {name} = {summary(frame.locals.get(name))}")
