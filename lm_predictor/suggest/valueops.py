"""Operations on abstract values: merging under a condition, translating between rule namespaces, signatures."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.dtype_arms import cond_dtype
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num
from lm_predictor.suggest.pyvalues import ConfigV
from lm_predictor.suggest.scope import ModRef, TorchModule
from lm_predictor.suggest.values import MIXED_DTYPE_LAYOUT, Builtin, CacheV, ClassV, CondLayout, DictV, External, FunctionV, ListV, Phi, Record, Repeated, Tensor, Unknown


def plain_eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (Num, Bool, Tensor, str, type(None))) and type(a) is type(b):
        return a == b
    if isinstance(a, ModRef) and isinstance(b, ModRef):
        return a.inst is b.inst and a.binding == b.binding
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, External) and isinstance(b, External):
        return a.name == b.name
    if isinstance(a, FunctionV) and isinstance(b, FunctionV):
        return a.node is b.node and same_value(a.bound, b.bound)
    if isinstance(a, ConfigV) and isinstance(b, ConfigV):
        return a.model is b.model
    if isinstance(a, CacheV) and isinstance(b, CacheV):
        return a.past == b.past
    return False


JOIN_HOOKS: list = []
"""Called as hook(cond, a, b, joined) after each merge of two values (suggest/liveness.py: the joined value comes from both arms)."""


def make_phi(cond: Bool, a: Any, b: Any) -> Any:
    """Merge two values: numbers and same-rank tensors merge dimension-wise."""
    joined = _make_phi(cond, a, b)
    for hook in JOIN_HOOKS:
        hook(cond, a, b, joined)
    return joined



def _cache_size(cond: Any, a: tuple | None, b: tuple | None) -> tuple | None:
    """The (where, n) layer count of a cache given on one arm and built on the other (brains/cache.py)."""
    if a is None and b is None:
        return None
    (wa, na), (wb, nb) = a or (X.FALSE, None), b or (X.FALSE, None)
    return X.ifbool(cond, wa, wb), nb if na is None else na if nb is None else X.ifnum(cond, na, nb)

def _make_phi(cond: Bool, a: Any, b: Any) -> Any:
    """make_phi without the hooks."""
    value = X.bool_value(cond)
    if value is not None:
        return a if value else b
    a = _under(a, cond, True)
    b = _under(b, cond, False)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a is not b and a == b:
        # alike but two tensors (gemma3's local and global rotary pairs): one value, both storages
        return replace(a, merged=(cond, a, b))
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and _two_alike(a, b):
        return tuple(make_phi(cond, x, y) for x, y in zip(a, b))
    if same_value(a, b):
        return a
    if isinstance(a, Num) and isinstance(b, Num):
        return X.ifnum(cond, a, b)
    if isinstance(a, Bool) and isinstance(b, Bool):
        return X.ifbool(cond, a, b)
    if isinstance(a, Num) and isinstance(b, Bool):
        return X.ifnum(cond, a, X.ifnum(b, ONE, ZERO))
    if isinstance(a, Bool) and isinstance(b, Num):
        return X.ifnum(cond, X.ifnum(a, ONE, ZERO), b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape is not None and b.shape is not None and len(a.shape) == len(b.shape):
        # the arms' layouts join into a conditional layout; different dtypes leave bytes unknown
        layout = a.layout if a.layout == b.layout else CondLayout(cond, a.layout, b.layout)
        # two float dtypes join into a conditional one (dtype_arms.py: mamba's residual_in_fp32); others leave bytes unknown
        dtype = cond_dtype(cond, a.dtype, b.dtype)
        if dtype is None:
            dtype, layout = "model", MIXED_DTYPE_LAYOUT
        # it needs no gradient only if neither arm does (xlnet's pos_emb, built from aranges with or without bi_data)
        return Tensor(tuple(X.ifnum(cond, x, y) for x, y in zip(a.shape, b.shape)), dtype, "", a.param and b.param,
                      no_grad=a.no_grad and b.no_grad, layout=layout, merged=(cond, a, b))
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(make_phi(cond, x, y) for x, y in zip(a, b))
    if isinstance(a, CacheV) and isinstance(b, CacheV):
        return CacheV(X.ifnum(cond, a.past, b.past), a.layers, a.own or b.own, a.stores_first or b.stores_first, _cache_size(cond, a.size, b.size))
    if isinstance(a, Record) and isinstance(b, Record) and a.class_name == b.class_name:
        keys = list(a.fields) + [k for k in b.fields if k not in a.fields]
        return Record(a.class_name, {k: make_phi(cond, a.fields.get(k), b.fields.get(k)) for k in keys})
    if isinstance(a, Phi) and a.cond == cond:
        return make_phi(cond, a.a, b)
    if isinstance(b, Phi) and b.cond == cond:
        return make_phi(cond, a, b.b)
    return Phi(cond, a, b)


def _two_alike(a: tuple, b: tuple) -> bool:
    """Whether two tuples hold, at one place, two tensor objects alike in every field (a cos, sin pair each)."""
    return any(x is not y and x == y if isinstance(x, Tensor) and isinstance(y, Tensor) else
               isinstance(x, tuple) and isinstance(y, tuple) and len(x) == len(y) and _two_alike(x, y) for x, y in zip(a, b))


def under(value: Any, cond: Bool) -> Any:
    """A value of branches where `cond` (or each part of an `and`) holds: the arms it rules out dropped."""
    return _under(value, cond, True)


def _under(value: Any, cond: Bool, truth: bool) -> Any:
    """A Phi simplified where its condition is `cond` (or its negation) with a known truth."""
    if isinstance(value, Phi):
        if value.cond == cond:
            return _under(value.a if truth else value.b, cond, truth)
        if value.cond == X.bnot(cond):
            return _under(value.b if truth else value.a, cond, truth)
        lits = set(cond.args) if (truth and cond.kind == "and") else ({X.bnot(x) for x in cond.args} if (not truth and cond.kind == "or") else set())
        if value.cond in lits:
            return _under(value.a, cond, truth)
        if X.bnot(value.cond) in lits:
            return _under(value.b, cond, truth)
        a, b = _under(value.a, cond, truth), _under(value.b, cond, truth)
        if a is not value.a or b is not value.b:
            return make_phi(value.cond, a, b)
    return value


def with_paths(value: Any, name: str) -> Any:
    if isinstance(value, ModRef):
        if value.path == "":
            value.inst.attr = value.inst.attr or name
            return ModRef(value.inst, value.binding, name, value.count)
        return value
    if isinstance(value, Repeated):
        return Repeated(with_paths(value.elem, name), value.count, value.index)
    if isinstance(value, ListV):
        out = ListV([with_paths(v, name) for v in value.items])
        out.rep = with_paths(value.rep, name) if value.rep is not None else None
        return out
    if isinstance(value, DictV):
        return DictV({k: with_paths(v, f"{name}.{k}") for k, v in value.items.items()})
    if isinstance(value, Phi):
        return Phi(value.cond, with_paths(value.a, name), with_paths(value.b, name))
    return value


def translate(value: Any, mapping: dict, path: str | None) -> Any:
    """A value of one rule's namespace in another's: names substituted, module paths prefixed."""
    if isinstance(value, (Num, Bool)):
        return X.substitute(value, mapping) if mapping else value
    if isinstance(value, Tensor):
        if value.shape is None or not mapping:
            return value
        route = (value.route[0], X.substitute(value.route[1], mapping)) if value.route[:1] in (("ids",), ("expert",)) else ()
        data = value.values[:1] + tuple(X.substitute(v, mapping) for v in value.values[1:])
        return Tensor(tuple(X.substitute(d, mapping) for d in value.shape), value.dtype, value.why, value.param, route, no_grad=value.no_grad, values=data,
                      layout=_translate_layout(value.layout, mapping))
    if isinstance(value, tuple):
        return tuple(translate(v, mapping, path) for v in value)
    if isinstance(value, ListV):
        rep = translate(value.rep, mapping, path) if value.rep is not None else None
        return ListV([translate(v, mapping, path) for v in value.items], rep)
    if isinstance(value, DictV):
        return DictV({k: translate(v, mapping, path) for k, v in value.items.items()})
    if isinstance(value, Record):
        return Record(value.class_name, {k: translate(v, mapping, path) for k, v in value.fields.items()})
    if isinstance(value, ModRef):
        binding = {k: X.substitute(v, mapping) if isinstance(v, (Num, Bool)) else v for k, v in value.binding.items()}
        if isinstance(value.inst.template, TorchModule):
            for k, v in mapping.items():
                binding.setdefault(k, v)
        new_path = value.path if path is None else (f"{path}.{value.path}" if path and value.path else (path or value.path))
        count = X.substitute(value.count, mapping) if value.count is not None else None
        return ModRef(value.inst, binding, new_path, count)
    if isinstance(value, Repeated):
        return Repeated(translate(value.elem, mapping, path), X.substitute(value.count, mapping), value.index)
    if isinstance(value, Phi):
        return make_phi(X.substitute(value.cond, mapping), translate(value.a, mapping, path), translate(value.b, mapping, path))
    if isinstance(value, CacheV):
        return replace(value, past=X.substitute(value.past, mapping))
    return value


def signature(value: Any, order: list | None = None) -> str:
    """A canonical text of a localised argument structure (the memo key of an analysis).

    Parameter names allocated for this call are replaced by their allocation order, so two
    calls of the same shape share an analysis whatever the callers named their values.
    """
    out: list = []
    canon = {name: Num.sym(f"p{i}") for i, name in enumerate(order or [])}
    _sig(value, out, canon)
    return "".join(out)


def _canon(value: Any, canon: dict) -> Any:
    if not canon:
        return value
    if isinstance(value, Bool):
        bools = {k: X.bsym(v.sym_name()) for k, v in canon.items()}
        return X.substitute(value, bools)
    return X.substitute(value, canon)


def _sig(value: Any, out: list, canon: dict | None = None) -> None:
    canon = canon or {}
    if isinstance(value, (Num, Bool)):
        out.append(X.render(_canon(value, canon)))
    elif isinstance(value, Tensor):
        out.append("T" + ("?" if value.shape is None else "[" + ",".join(X.render(_canon(d, canon)) for d in value.shape) + "]") + value.dtype)
        if value.layout is not None:  # a callee sees its input's memory layout: one analysis per layout
            out.append("L" + _layout_sig(value.layout, canon))
    elif isinstance(value, (tuple, list)):
        out.append("(")
        for v in value:
            _sig(v, out, canon)
            out.append(",")
        out.append(")")
    elif isinstance(value, dict):
        out.append("{")
        for k in sorted(value, key=str):
            out.append(f"{k}:")
            _sig(value[k], out, canon)
            out.append(",")
        out.append("}")
    elif isinstance(value, ListV):
        out.append("L")
        _sig(value.items, out, canon)
    elif isinstance(value, DictV):
        out.append("D")
        _sig({str(k): v for k, v in value.items.items()}, out, canon)
    elif isinstance(value, Record):
        out.append("R" + value.class_name)
        _sig(value.fields, out, canon)
    elif isinstance(value, CacheV):
        out.append("C")
        _sig(value.past, out, canon)
    elif isinstance(value, Phi):
        out.append("P(")
        _sig((value.cond, value.a, value.b), out, canon)
        out.append(")")
    elif isinstance(value, ModRef):
        out.append(f"M{id(value.inst.template)}")
        _sig(value.binding, out, canon)
    elif isinstance(value, ConfigV):
        out.append("cfg")
    elif isinstance(value, (External, Builtin)):
        out.append("E" + value.name)
    elif isinstance(value, (ClassV, FunctionV)):
        out.append("F" + value.qualname)
    elif isinstance(value, Unknown):
        out.append("?")
    elif isinstance(value, Repeated):
        out.append("Rep(")
        _sig((value.elem, value.count), out, canon)
        out.append(")")
    else:
        out.append(repr(value) if isinstance(value, (str, int, float, type(None))) else type(value).__name__)


def decide_in(b: Bool, lits: set) -> bool | None:
    """Whether `b` follows from a set of literals that hold (True), contradicts them (False), or neither (None)."""
    if b in lits:
        return True
    if X.bnot(b) in lits:
        return False
    if b.kind in ("and", "or"):
        short = b.kind == "or"  # one part with this value decides the whole
        parts = [decide_in(x, lits) for x in b.args]
        if any(p is short for p in parts):
            return short
        if all(p is (not short) for p in parts):
            return not short
    if b.kind == "not":
        inner = decide_in(b.args[0], lits)
        return None if inner is None else not inner
    return None


def known_value(v: Any) -> Num | None:
    """A number, or the value of a 0-d tensor whose data is known."""
    if isinstance(v, Num):
        return v
    return v.values[1] if isinstance(v, Tensor) and v.values and v.values[0] == "scalar" else None


def compare_known(op: str, a: Any, b: Any) -> Bool | None:
    """`cache_position[0] > 0` where both sides are known numbers (an arange's element); else None."""
    if op not in ("==", "!=", "<", "<=", ">", ">=") or known_value(a) is None or known_value(b) is None:
        return None
    return X.cmp(op, known_value(a), known_value(b))


def known_element(t: Tensor, index: Any) -> Tensor | None:
    """Element k (a constant >= 0) of a tensor built by torch.arange: a 0-d tensor of known value."""
    k = index.const_value() if isinstance(index, Num) else None
    if t.shape is None or not t.values or t.values[0] != "arange" or len(t.shape) != 1 or not isinstance(k, int) or k < 0:
        return None
    return Tensor((), t.dtype, values=("scalar", t.values[1] + k * t.values[2]))


def arithmetic_progression(rep: Any) -> tuple | None:
    """(start, step) when a Repeated's element is `start + step * i` in its index i (list(range(a, b, s)));
    None otherwise, or when the step is a constant <= 0."""
    if not isinstance(rep, Repeated) or not rep.index or not isinstance(rep.elem, Num):
        return None
    start = X.substitute(rep.elem, {rep.index: ZERO})
    step = X.substitute(rep.elem, {rep.index: ONE}) - start
    if rep.index in X.free_params(start) or rep.index in X.free_params(step) or rep.elem != start + step * Num.sym(rep.index):
        return None
    c = step.const_value()
    return None if c is not None and c <= 0 else (start, step)


def mentions(value: Any, name: str) -> bool:
    """Whether a value reads the symbol `name` (in numbers, shapes, module bindings, conditions)."""
    if isinstance(value, (Num, Bool)):
        return name in X.free_params(value)
    if isinstance(value, Tensor):
        return value.shape is not None and any(name in X.free_params(d) for d in value.shape)
    if isinstance(value, (tuple, list)):
        return any(mentions(v, name) for v in value)
    if isinstance(value, ListV):
        return mentions(value.items, name) or (value.rep is not None and mentions(value.rep, name))
    if isinstance(value, Repeated):
        return mentions(value.elem, name) or mentions(value.count, name)
    if isinstance(value, ModRef):
        return any(mentions(v, name) for v in value.binding.values()) or (value.count is not None and mentions(value.count, name))
    if isinstance(value, Phi):
        return mentions(value.cond, name) or mentions(value.a, name) or mentions(value.b, name)
    return False


def _layout_sig(layout: Any, canon: dict) -> str:
    """A layout as signature text (a conditional layout's condition in canonical names)."""
    if isinstance(layout, CondLayout):
        return f"({X.render_bool(_canon(layout.cond, canon))}?{_layout_sig(layout.a, canon)}:{_layout_sig(layout.b, canon)})"
    return repr(layout)


def _translate_layout(layout: Any, mapping: dict) -> Any:
    """A returned tensor's layout in the caller's names (a conditional layout's condition substituted)."""
    if isinstance(layout, CondLayout):
        return CondLayout(X.substitute(layout.cond, mapping), _translate_layout(layout.a, mapping), _translate_layout(layout.b, mapping))
    return layout
