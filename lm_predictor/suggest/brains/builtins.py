"""Python builtins and `math` over abstract values (len, int, getattr, isinstance, range, ...)."""

from __future__ import annotations

import math
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.base import CallSite, brain, callee, op, prefix
from lm_predictor.suggest.brains.cache import extends_library_cache
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.pyvalues import ConfigV, Enumerate, IterV, Range, Slice, Zip, hashable, set_items
from lm_predictor.suggest.scope import Instance, ModRef, Template
from lm_predictor.suggest.valueops import mentions, same_value, translate
from lm_predictor.suggest.values import Builtin, CacheV, ClassV, DictV, External, FunctionV, ListV, ObjectV, Phi, Record, Repeated, Tensor, Unknown


CACHE_TRUE = {"Cache", "DynamicCache"}


def _len(interp: Host, value: Any, node: Any) -> Any:
    if isinstance(value, (tuple, str)):
        return Num.const(len(value))
    if isinstance(value, (ListV,)):
        if value.rep is not None:
            return value.rep.count
        return Num.const(len(value.items))
    if isinstance(value, DictV):
        return Num.const(len(value.items))
    if isinstance(value, Repeated):
        return value.count
    if isinstance(value, Tensor):
        return value.shape[0] if value.shape else Unknown("len of a tensor")
    if isinstance(value, Record):
        return Num.const(sum(1 for v in value.fields.values() if v is not None))
    if isinstance(value, Phi):
        return interp.on_phi(value, lambda v: _len(interp, v, node))
    if isinstance(value, Range):
        return value.length()
    return Unknown(f"len of {type(value).__name__}")


def _int(value: Any) -> Any:
    if isinstance(value, Num):
        return X.fn("floor", value) if not X.is_integral(value) else value
    if isinstance(value, X.Bool):
        return X.ifnum(value, ONE, ZERO)
    if isinstance(value, Tensor):
        return Unknown("int of a tensor's data")
    return Unknown("int()")


def isinstance_of(interp: Host, value: Any, cls: Any, node: Any) -> X.Bool:
    if isinstance(cls, (tuple, ListV)):
        items = cls if isinstance(cls, tuple) else cls.items
        return X.bor(*(isinstance_of(interp, value, c, node) for c in items))
    if isinstance(value, Phi):
        return X.ifbool(value.cond, isinstance_of(interp, value.a, cls, node), isinstance_of(interp, value.b, cls, node))
    name = cls.name if isinstance(cls, (External, Builtin)) else (cls.qualname if isinstance(cls, ClassV) else "")
    short = name.rsplit(".", 1)[-1]
    if isinstance(value, Unknown):
        return interp.opaque_bool(node, f"isinstance of {value.reason}")
    if value is None:
        return X.bconst(short in ("NoneType",))
    if isinstance(value, X.Bool):
        return X.bconst(short in ("bool", "int"))
    if isinstance(value, Num):
        c = value.const_value()
        if short == "int":
            return X.bconst(not isinstance(c, float) if c is not None else X.is_integral(value))
        if short == "float":
            return X.bconst(isinstance(c, float))
        return X.bconst(short in ("Number", "Integral", "Real"))
    if isinstance(value, str):
        return X.bconst(short == "str")
    if isinstance(value, tuple):
        return X.bconst(short in ("tuple", "Sequence", "Iterable"))
    if isinstance(value, (ListV, Repeated)):
        return X.bconst(short in ("list", "Sequence", "Iterable", "ModuleList"))
    if isinstance(value, DictV):
        return X.bconst(short in ("dict", "Mapping", "ModuleDict"))
    if isinstance(value, Tensor):
        return X.bconst(short in ("Tensor", "FloatTensor", "LongTensor", "Parameter" if value.param else "Tensor"))
    if isinstance(value, CacheV):
        if isinstance(cls, ClassV):  # a cache class the model defines: the cache handed to decode is the one its prefill built
            own = value.own
            return X.bconst(any(isinstance(c, ClassV) and c.node is cls.node for c in interp.mro(own)) if own is not None else extends_library_cache(interp, cls))
        return X.bconst(short in CACHE_TRUE)
    if isinstance(value, Record):
        return X.bconst(short in ("ModelOutput", value.class_name, "OrderedDict"))
    if isinstance(value, ModRef):
        tmpl = value.inst.template
        if isinstance(tmpl, Template):
            if isinstance(cls, ClassV):
                return X.bconst(any(isinstance(c, ClassV) and c.node is cls.node for c in interp.mro(tmpl.cls)))
            return X.bconst(any(isinstance(c, External) and c.name.rsplit(".", 1)[-1] == short for c in interp.mro(tmpl.cls)) or short == "Module")
        return X.bconst(short in ("Module", tmpl.kind))
    if isinstance(value, ObjectV):
        if isinstance(value.cls, ClassV):
            if isinstance(cls, ClassV):
                return X.bconst(any(isinstance(c, ClassV) and c.node is cls.node for c in interp.mro(value.cls)))
            return X.bconst(any(isinstance(c, External) and c.name.rsplit(".", 1)[-1] == short for c in interp.mro(value.cls)))
        return X.FALSE
    if isinstance(value, ConfigV):
        return X.bconst("Config" in short)
    return X.FALSE


@brain("builtin", callee(Builtin))
def call_builtin(site: CallSite) -> Any:
    interp = site.interp
    name = site.callee.name
    args = site.args
    if name == "len":
        return _len(interp, args[0], site.node)
    if name == "int":
        return _int(args[0]) if args else ZERO
    if name == "float":
        if args and isinstance(args[0], Num):
            c = args[0].const_value()
            return Num.const(float(c)) if c is not None else args[0]
        if args and isinstance(args[0], str):
            try:
                return Num.const(float(args[0]))
            except ValueError:
                return Unknown("float()")
        return Unknown("float()")
    if name == "bool":
        return interp.truth(args[0], site.node) if args else X.FALSE
    if name == "str":
        return args[0] if args and isinstance(args[0], str) else "<str>"
    if name in ("min", "max"):
        items = list(args)
        if len(items) == 1:
            it = interp.iter_items(items[0], site.node)
            if not isinstance(it, list):
                return Unknown(f"{name} over a symbolic sequence")
            items = it
        if all(isinstance(i, Num) for i in items) and items:
            return X.fn(name, *items)
        return Unknown(f"{name} of non-numbers")
    if name == "abs":
        return X.fn("abs", args[0]) if isinstance(args[0], Num) else args[0]
    if name == "round":
        return X.fn("floor", args[0] + X.Num.const(0.5)) if isinstance(args[0], Num) else Unknown("round")
    if name == "sum":
        items = interp.iter_items(args[0], site.node)
        start = args[1] if len(args) > 1 else ZERO
        if isinstance(items, list):
            total: Any = start
            for i in items:
                total = interp.binop("+", total, i, site.node)
            return total
        count, item = items
        if isinstance(item, Num):
            return start + count * item
        return Unknown("sum over a symbolic sequence")
    if name == "isinstance":
        return isinstance_of(interp, args[0], args[1], site.node)
    if name == "issubclass":
        return X.FALSE
    if name == "getattr":
        obj, attr = args[0], args[1]
        default = args[2] if len(args) > 2 else _NO_DEFAULT
        return getattr_builtin(interp, obj, attr, default, site.node)
    if name == "hasattr":
        return hasattr_builtin(interp, args[0], args[1], site.node)
    if name == "setattr":
        interp.set_attr(args[0], args[1], args[2], site.node)
        return None
    if name == "range":
        nums = [a for a in args]
        if any(a is None for a in nums):
            raise DeadPath()  # range(None) raises TypeError: a config field left null cannot be this arm
        if not all(isinstance(a, Num) for a in nums):
            return Unknown("range of non-numbers")
        if len(nums) == 1:
            return Range(ZERO, nums[0], ONE)
        return Range(nums[0], nums[1], nums[2] if len(nums) > 2 else ONE)
    if name == "enumerate":
        start = args[1] if len(args) > 1 else site.kwargs.get("start", ZERO)
        return Enumerate(args[0], start.const_value() if isinstance(start, Num) else 0)
    if name == "zip":
        return Zip(list(args))
    if name in ("tuple", "list", "set", "frozenset", "sorted", "reversed"):
        if not args:
            return () if name == "tuple" else ListV([])
        items = interp.iter_items(args[0], site.node)
        if isinstance(items, list):
            if name == "reversed":
                items = list(reversed(items))
            if name in ("set", "frozenset"):
                items = set_items(items)
            return tuple(items) if name == "tuple" else ListV(list(items))
        if isinstance(args[0], Repeated):
            return args[0]
        index = [n for n in X.free_params(items[1]) if n.startswith("#")] if isinstance(args[0], Range) else []
        return Repeated(items[1], items[0], index[0] if len(index) == 1 else None)  # list(range(n)) keeps its index
    if name == "dict":
        out = dict(args[0].items) if args and isinstance(args[0], DictV) else {}
        out.update(site.kwargs)
        return DictV(out)
    if name in ("any", "all"):
        items = interp.iter_items(args[0], site.node)
        if isinstance(items, list):
            truths = [interp.truth(i, site.node) for i in items]
            return X.bor(*truths) if name == "any" else X.band(*truths)
        return interp.opaque_bool(site.node, f"{name}() over a symbolic sequence")
    if name == "super":
        return Unknown("super() outside a method")
    if name == "type":
        if args and args[0] is None:
            return External("builtins.NoneType")
        value = args[0] if args else None
        if isinstance(value, ModRef) and isinstance(value.inst.template, Template):
            return value.inst.template.cls
        if isinstance(value, ObjectV):
            return value.cls
        return External("builtins.type")
    if name == "iter" and len(args) == 1:
        return IterV(args[0], depth=len(interp.sym_loops))
    if name == "next" and args and isinstance(args[0], IterV):
        return next_item(interp, args[0], site.node)
    if name in ("print", "setattr", "vars", "id", "hash", "repr", "format", "open", "iter", "next", "callable", "map", "filter", "divmod", "pow", "ord", "chr", "slice"):
        if name == "callable":
            return X.bconst(isinstance(args[0], (FunctionV, ClassV, ModRef, External)))
        if name == "pow" and len(args) == 2 and all(isinstance(a, Num) for a in args):
            return X.power(args[0], args[1])
        if name == "slice":
            parts = list(args) + [None] * (3 - len(args))
            if len(args) == 1:
                return Slice(None, args[0], None)
            return Slice(*parts[:3])
        return Unknown(f"{name}()")
    # exception classes and the like
    return ObjectV(External(name), {}, kind="builtin-object")


def next_item(interp: Host, it: IterV, node: Any) -> Any:
    """next(iter(source)): the item taken. Inside a loop of symbolic length over as many items as the
    source has, an item that depends on its index is the one at the loop's index (zamba's
    `next(mamba_layers)` once per layer); the loop checks at its end that every iteration takes one."""
    source = it.source.rep if isinstance(it.source, ListV) and it.source.rep is not None else it.source
    if isinstance(source, (tuple, ListV)):
        items = list(source if isinstance(source, tuple) else source.items)
        if interp.sym_loops:
            return items[0] if items and all(same_value(items[0], x) for x in items[1:]) else Unknown("next() of a list in a loop of symbolic length")
        if it.taken >= len(items):
            raise DeadPath()  # StopIteration
        it.taken += 1
        return items[it.taken - 1]
    if not isinstance(source, Repeated):
        return Unknown(f"next() of {type(source).__name__}")
    if not source.index or not mentions(source.elem, source.index):
        return _one_of(source.elem)  # every item is alike
    if not interp.sym_loops:
        it.taken += 1
        return _one_of(translate(source.elem, {source.index: Num.const(it.taken - 1)}, None))
    loop = interp.sym_loops[-1]
    if loop["index"] is None or it.taken or it.depth != len(interp.sym_loops) - 1:
        return Unknown("next() of a list whose items differ, taken where the analysis cannot tell which")
    guard = X.band(*interp.assume[loop["start"]:])
    loop.setdefault("nexts", {}).setdefault(id(it), (node, []))[1].append(guard)
    return _one_of(translate(source.elem, {source.index: Num.sym(loop["index"])}, None))


def _one_of(item: Any) -> Any:
    """One item of a Repeated of modules: an instance of its own (the Repeated's instance stands for one per
    item), so that handing it to a constructor is not handing the same module again."""
    if isinstance(item, ModRef):
        return ModRef(Instance(item.inst.template, item.inst.binding, loop_depth=item.inst.loop_depth), item.binding, item.path, item.count)
    if isinstance(item, Phi):
        return Phi(item.cond, _one_of(item.a), _one_of(item.b))
    return item


_NO_DEFAULT = object()


def dict_fromkeys(interp: Host, recv: Any, args: list, kwargs: dict, node: Any) -> Any:
    """`dict.fromkeys(keys, value=None)` over a concrete sequence (the distinct layer types, in order)."""
    items = interp.iter_items(args[0], node) if args else []
    if not isinstance(items, list):
        return Unknown("dict.fromkeys over a symbolic sequence")
    value = args[1] if len(args) > 1 else kwargs.get("value")
    return DictV({hashable(k): value for k in items})


def getattr_builtin(interp: Host, obj: Any, attr: Any, default: Any, node: Any) -> Any:
    if not isinstance(attr, str):
        return Unknown("getattr with a computed name")
    if isinstance(obj, Phi):
        return interp.on_phi(obj, lambda o: getattr_builtin(interp, o, attr, default, node))
    if isinstance(obj, ConfigV) and obj.layer is not None:  # one layer's view: its overrides over the config's value
        if default is _NO_DEFAULT or any(attr in values for values in obj.overrides.values()):
            return interp.getattr(obj, attr, node)
        return obj.model.getattr_default(interp, attr, default, node)
    if isinstance(obj, ConfigV):
        if default is _NO_DEFAULT:
            return obj.model.get(interp, attr, node)
        return obj.model.getattr_default(interp, attr, default, node)
    value = interp.getattr(obj, attr, node)
    if default is not _NO_DEFAULT and isinstance(value, Unknown):
        if isinstance(obj, ModRef) and _module_lacks(interp, obj, attr):
            return default
        if isinstance(obj, (ObjectV, Record, ClassV)):
            return default
    return value


def _module_lacks(interp: Host, ref: ModRef, attr: str) -> bool:
    tmpl = ref.inst.template
    if isinstance(tmpl, Template):
        return attr not in tmpl.attrs and interp.class_attr(tmpl.cls, attr) is None
    return True


def hasattr_builtin(interp: Host, obj: Any, attr: Any, node: Any) -> X.Bool:
    if not isinstance(attr, str):
        return interp.opaque_bool(node, "hasattr with a computed name")
    if isinstance(obj, Phi):
        return X.ifbool(obj.cond, hasattr_builtin(interp, obj.a, attr, node), hasattr_builtin(interp, obj.b, attr, node))
    if isinstance(obj, ConfigV):
        model = obj.model
        model.build(interp)
        if model.has(attr) or attr in model.resolved or any(attr in values for values in (obj.overrides or {}).values()):
            return X.TRUE
        model.declare_extra(attr, "number")
        return X.defined(attr)
    if isinstance(obj, ModRef):
        tmpl = obj.inst.template
        if isinstance(tmpl, Template) and interp.in_init is None and interp.has_state(obj, attr):
            return interp.state_present(obj, attr)
        if isinstance(tmpl, Template) and attr in tmpl.present and interp.class_attr(tmpl.cls, attr) is None:
            return interp.view(tmpl.present[attr], obj)  # an attribute __init__ sets under a branch only
        if isinstance(tmpl, Template):
            return X.bconst(attr in tmpl.attrs or interp.class_attr(tmpl.cls, attr) is not None)
        return X.bconst(not isinstance(interp.getattr(obj, attr, node), Unknown))
    if isinstance(obj, ObjectV):
        return X.bconst(attr in obj.attrs or (isinstance(obj.cls, ClassV) and interp.class_attr(obj.cls, attr) is not None))
    if isinstance(obj, Record):
        return X.bconst(attr in obj.fields)
    if isinstance(obj, Tensor):
        return X.bconst(attr in ("shape", "dtype", "device", "size", "view"))
    if isinstance(obj, Unknown):
        return interp.opaque_bool(node, f"hasattr on {obj.reason}")
    return X.bconst(not isinstance(interp.getattr(obj, attr, node), Unknown))


# ---------------------------------------------------------------------------- math


@brain("math", prefix("math."), op("numpy.sqrt", "numpy.log", "numpy.exp", "numpy.log2"))
def call_math(site: CallSite) -> Any:
    """math's functions of numbers, and numpy's that the models apply to a Python number (CTRL's
    `np.sqrt(self.d_model_size)`: a numpy float64, a Python float to torch)."""
    name = site.callee.name.split(".", 1)[1]
    args = site.args
    if not args or not all(isinstance(a, Num) for a in args):
        return Unknown(f"math.{name}")
    a = args[0]
    if name == "sqrt":
        return X.power(a, Num.const(0.5))
    if name == "ceil":
        return X.fn("ceil", a)
    if name == "floor":
        return X.fn("floor", a)
    if name == "log2":
        c = a.const_value()
        if c is not None and c > 0:
            return Num.const(math.log2(c))
        return X.fn("log2", a)
    if name in ("log", "exp", "cos", "sin", "tanh", "atan", "erf", "log10", "pow", "isqrt", "gcd", "prod"):
        c = a.const_value()
        if c is not None:
            try:
                return Num.const(getattr(math, name)(*[x.const_value() for x in args]))
            except (ValueError, TypeError, OverflowError):
                pass
        if name in OPAQUE_FLOATS:
            return opaque_number(name, args)
        return Unknown(f"math.{name} of a symbolic value")
    return Unknown(f"math.{name}")


OPAQUE_FLOATS = frozenset({"log", "exp", "cos", "sin", "tanh", "atan", "erf", "log10"})
"""math functions whose value of a symbolic argument the formulas cannot write: an opaque number."""


def opaque_number(name: str, args: list) -> Num:
    """`math.exp(-0.3 * layer_idx)` (DiffLlama's lambda_init): a Python float the formulas cannot write,
    held as a runtime symbol (`?exp(...)`, one per function and argument, so equal calls are one
    value). A cost term that reads it is reported as depending on a runtime value, never priced;
    a tensor op that only scales by it (`(1 - lambda_init) * x`) keeps its shape, dtype and saves."""
    return Num.sym(f"?{name}({', '.join(X.render(a) for a in args)})")
