"""Attribute and item access: classes and their MRO, instances, modules, sequences."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from astroid import nodes

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.findings import AnalysisLimit, DeadPath
from lm_predictor.suggest.interp.frames import Frame
from lm_predictor.suggest.interp.syntax import decorator_names
from lm_predictor.suggest.layers import list_period
from lm_predictor.suggest.pyvalues import BoundMethod, BrainFunc, ConfigV, Slice, hashable
from lm_predictor.suggest.resolve import module_symbols
from lm_predictor.suggest.sources import ParsedModule
from lm_predictor.suggest.scope import ModRef, Template, TorchModule
from lm_predictor.suggest.valueops import make_phi, same_value, translate
from lm_predictor.suggest.values import ClassV, DictV, External, FunctionV, ListV, ObjectV, Phi, Record, Repeated, SuperV, Tensor, Unknown

DECLARED_KINDS = ("staticmethod", "classmethod", "property")
"""The decorators that change how a class's function is bound (FunctionV.kind)."""


class AttributesMixin:
    """Attribute and item access: classes and their MRO, instances, modules, sequences."""

    def class_bases(self, cls: ClassV) -> list:
        key = ("bases", id(cls.node))
        cached = self.globals.get(key)
        if cached is not None:
            return cached
        frame = Frame({}, cls.module, func=cls.qualname)
        bases = []
        for base in cls.node.bases:
            try:
                bases.append(self.eval(base, frame))
            except AnalysisLimit:
                raise
            except Exception:  # noqa: BLE001
                bases.append(Unknown("base class"))
        self.globals[key] = bases
        return bases

    def mro(self, cls: ClassV) -> list:
        """Classes to search for attributes: a depth-first left-to-right walk, deduplicated."""
        out: list = []
        seen: set = set()

        def walk(c: Any) -> None:
            if isinstance(c, ClassV):
                if id(c.node) in seen:
                    return
                seen.add(id(c.node))
                out.append(c)
                for b in self.class_bases(c):
                    walk(b)
            elif isinstance(c, External):
                if c.name not in seen:
                    seen.add(c.name)
                    out.append(c)

        walk(cls)
        return out

    def is_module_class(self, cls: ClassV) -> bool:
        key = cls.qualname
        if key in self.module_classes:
            return self.module_classes[key]
        result = any(isinstance(c, External) and self.brains.is_module_base(c.name) for c in self.mro(cls))
        self.module_classes[key] = result
        return result

    def is_output_class(self, cls: ClassV) -> bool:
        return any(isinstance(c, External) and c.name.endswith("ModelOutput") for c in self.mro(cls)) or any(
            isinstance(c, ClassV) and c.name == "ModelOutput" for c in self.mro(cls)
        )

    def class_attr(self, cls: ClassV, name: str, start_after: ClassV | None = None) -> Any:
        """An attribute found on the class or its bases (functions unbound), else None."""
        chain = self.mro(cls)
        if start_after is not None:
            for i, c in enumerate(chain):
                if isinstance(c, ClassV) and c.node is start_after.node:
                    chain = chain[i + 1:]
                    break
        for c in chain:
            if isinstance(c, External):
                brain = self.brains.base_attr(self, c.name, name)
                if brain is not None:
                    return brain
                continue
            found = c.node.locals.get(name)
            if not found:
                continue
            # a property's setter / deleter share its name: the getter is the definition to read
            getters = [f for f in found if not (isinstance(f, nodes.FunctionDef) and decorator_names(f) & {"setter", "deleter"})]
            defn = (getters or found)[-1]
            if isinstance(defn, nodes.FunctionDef):
                kind = next((k for k in DECLARED_KINDS if k in decorator_names(defn)), "function")
                # a classmethod is bound to the class it was read from as soon as it is found
                return FunctionV(defn, c.module, f"{c.qualname}.{name}", bound=cls if kind == "classmethod" else None, owner_class=c, kind=kind)
            if isinstance(defn, nodes.AssignName):
                stmt = defn.parent
                value_node = getattr(stmt, "value", None)
                if value_node is None:
                    continue
                key = ("classattr", id(defn))
                if key not in self.globals:
                    frame = Frame({}, c.module, func=c.qualname)
                    saved = self.recorder
                    self.recorder = None
                    try:
                        self.globals[key] = self.eval(value_node, frame)
                    except AnalysisLimit:
                        raise
                    except Exception:  # noqa: BLE001
                        self.globals[key] = Unknown(f"class attribute {name}")
                    finally:
                        self.recorder = saved
                return self.globals[key]
            if isinstance(defn, nodes.ClassDef):
                return ClassV(defn, c.module, f"{c.qualname}.{name}")
        return None

    def getattr(self, obj: Any, name: str, node: Any) -> Any:
        if isinstance(obj, Phi):
            return self.on_phi(obj, lambda o: self.getattr(o, name, node))
        if obj is None:
            raise DeadPath()  # AttributeError on None
        if isinstance(obj, ModRef):
            return self.module_attr(obj, name, node)
        if isinstance(obj, ConfigV):
            if obj.layer is not None:
                return self.brains.layer_config_attr(self, obj, name, node)
            return obj.model.get(self, name, node)
        if isinstance(obj, Tensor):
            return self.brains.tensor_attr(self, obj, name, node)
        if isinstance(obj, External):
            return self.brains.external_attr(self, obj, name)
        if isinstance(obj, ParsedModule):  # a transformers module used as a namespace (`modeling_utils.X`)
            self.touched_modules.add(obj.name)
            sub = f"{obj.name}.{name}"
            if self.tree.has_module(sub) and name not in module_symbols(obj):
                return self.import_module(sub)
            return self.global_value(obj, name, node)
        if isinstance(obj, ObjectV):
            if obj.kind == "config":  # 5.x per-layer views of a nested config
                found = self.brains.nested_config_attr(self, obj, name)
                if found is not NotImplemented:
                    return found
            if name in obj.attrs:
                return obj.attrs[name]
            found = self.class_or_brain_attr(obj.cls, obj, name, node, self.brains.object_attr)
            if found is not None:
                return found
            return Unknown(f"attribute {name} of {getattr(obj.cls, 'qualname', obj.kind)}")
        if isinstance(obj, ClassV):
            attr = self.class_attr(obj, name)
            if attr is None:
                attr = self.brains.class_method(self, obj, name)  # PreTrainedModel._from_config & co
            if attr is None:
                return Unknown(f"attribute {name} of class {obj.qualname}")
            if isinstance(attr, FunctionV) and attr.kind == "classmethod":
                return replace(attr, bound=obj)
            if isinstance(attr, FunctionV) and attr.kind == "property":
                return replace(attr, kind="function")  # the getter, unbound
            return attr
        if isinstance(obj, SuperV):
            inst = obj.instance
            cls = obj.after
            owner = self.instance_class(inst)
            if owner is None or cls is None:
                return self.brains.super_attr(self, inst, name, node)
            attr = self.class_attr(owner, name, start_after=cls)
            if attr is None:
                return self.brains.super_attr(self, inst, name, node)
            return self.bind_attr(attr, inst, node)
        if isinstance(obj, Record):
            if name in obj.fields:
                return obj.fields[name]
            return None
        if isinstance(obj, Unknown):
            return Unknown(obj.reason)
        if isinstance(obj, FunctionV):
            if name == "__name__":
                return obj.node.name
            return Unknown(f"attribute {name} of a function")
        return self.brains.value_attr(self, obj, name, node)

    def bind_attr(self, attr: Any, receiver: Any, node: Any) -> Any:
        if isinstance(attr, FunctionV):
            if attr.kind in ("staticmethod", "classmethod"):
                return attr
            bound = FunctionV(attr.node, attr.module, attr.qualname, attr.closure, receiver, attr.owner_class)
            return self.run_function(bound, [], {}, node) if attr.kind == "property" else bound
        if isinstance(attr, BoundMethod) and attr.receiver is None:
            return BoundMethod(receiver, attr.name)
        if isinstance(attr, BrainFunc) and attr.bound is None:
            return BrainFunc(attr.name, attr.fn, receiver, attr.saves_itself)
        return attr

    def instance_class(self, inst: Any) -> ClassV | None:
        if isinstance(inst, ModRef) and isinstance(inst.inst.template, Template):
            return inst.inst.template.cls
        if isinstance(inst, ObjectV) and isinstance(inst.cls, ClassV):
            return inst.cls
        return None

    def module_attr(self, ref: ModRef, name: str, node: Any) -> Any:
        tmpl = ref.inst.template
        if self.in_init is None:
            ref.inst.used = True
            ref.inst.grad_used = ref.inst.grad_used or not self.grad_off
        if isinstance(tmpl, TorchModule):
            return self.brains.torch_module_attr(self, ref, name, node)
        if self.in_init is None and self.has_state(ref, name):
            return self.state_read(ref, name)
        if name in tmpl.attrs:
            if self.in_init is None and not self.grad_off:  # read under torch.no_grad(): no gradient
                tmpl.read_attrs.add(name)
                return self.brains.module_tensor(self, (id(tmpl), name), self.view(tmpl.attrs[name], ref), name in tmpl.buffers)
            return self.view(tmpl.attrs[name], ref)
        found = self.class_or_brain_attr(tmpl.cls, ref, name, node, self.brains.module_attr_default)
        if found is not None:
            return found
        return Unknown(f"attribute {name} of {tmpl.qualname}")

    def class_or_brain_attr(self, cls: Any, receiver: Any, name: str, node: Any, brain: Callable) -> Any:
        """An attribute of the receiver's class, bound to it; else what the brain hook says (None: none)."""
        attr = self.class_attr(cls, name) if isinstance(cls, ClassV) else None
        if attr is not None:
            return self.bind_attr(attr, receiver, node)
        return brain(self, receiver, name, node)

    def view(self, value: Any, ref: ModRef) -> Any:
        """A value stored on a module instance, as seen through `ref` (names translated)."""
        if not ref.binding and not ref.path:
            return value
        return translate(value, ref.binding, ref.path)

    def getitem(self, obj: Any, index: Any, node: Any) -> Any:
        if isinstance(obj, Phi):
            return self.on_phi(obj, lambda o: self.getitem(o, index, node))
        if obj is None:
            raise DeadPath()  # TypeError: None is not subscriptable
        if isinstance(index, Phi) and not isinstance(obj, Tensor):
            return self.on_phi(index, lambda i: self.getitem(_present(obj, i), i, node))
        if isinstance(obj, Tensor):
            return self.brains.tensor_getitem(self, obj, index, node)
        if isinstance(obj, ListV) and obj.rep is not None:
            return self.getitem(obj.rep, index, node)
        if isinstance(obj, (tuple, ListV)):
            items = obj if isinstance(obj, tuple) else obj.items
            if isinstance(index, Num):
                c = index.const_value()
                if isinstance(c, int) and -len(items) <= c < len(items):
                    return items[c]
                if c is None and items and all(same_value(items[0], x) for x in items[1:]):
                    return items[0]
                if c is None and items and all(isinstance(x, (str, type(None))) or (isinstance(x, Num) and x.is_const()) for x in items):
                    # a concrete list read at a symbolic index (a layer's type): a chain of conditions
                    period = n_items = len(items)
                    period = list_period(items)
                    if period < n_items:  # a repeating pattern (recurrent_gemma's layers_block_type): index % period
                        items, index = items[:period], X.mod(index, period)
                    result = items[-1]
                    for i in range(len(items) - 2, -1, -1):
                        if same_value(items[i], result):
                            continue
                        same = [j for j in range(len(items)) if same_value(items[j], items[i])]
                        last = [j for j in range(len(items)) if same_value(items[j], items[-1])]
                        if period < n_items and len(same) + len(last) == len(items) and len(last) == 1:
                            cond = X.cmp("!=", index, last[0])  # two kinds, one residue of the last: `i % p != r`
                        else:
                            cond = X.bor(*(X.cmp("==", index, j) for j in same))
                        result = make_phi(cond, items[i], result)
                    return result
                return Unknown("index out of range or symbolic")
            if isinstance(index, Slice):
                bounds = [None if p is None else (p.const_value() if isinstance(p, Num) else "x") for p in (index.start, index.stop, index.step)]
                if all(b is None or isinstance(b, int) for b in bounds):
                    sub = items[slice(*bounds)]
                    return tuple(sub) if isinstance(obj, tuple) else ListV(list(sub))
                return Unknown("symbolic slice of a sequence")
            return Unknown("sequence index")
        if isinstance(obj, Repeated):
            if isinstance(index, Slice):
                return self.brains.slice_repeated(self, obj, index, node)
            if obj.index and isinstance(index, Num):
                return translate(obj.elem, {obj.index: index}, None)
            return obj.elem
        if isinstance(obj, DictV):
            key = hashable(index)
            if key in obj.items:
                return obj.items[key]
            return Unknown(f"key {key!r} not in dict")
        if isinstance(obj, Record):
            if isinstance(index, str):
                return obj.fields.get(index)
            if isinstance(index, Num):
                present = [v for v in obj.fields.values() if v is not None]
                c = index.const_value()
                if isinstance(c, int) and -len(present) <= c < len(present):
                    return present[c]
            if isinstance(index, Slice):
                present = tuple(v for v in obj.fields.values() if v is not None)
                return self.getitem(present, index, node)
            return Unknown("record index")
        if isinstance(obj, External):
            return self.brains.external_getitem(self, obj, index, node)
        if isinstance(obj, ModRef):
            return self.brains.module_getitem(self, obj, index, node)
        return self.brains.value_getitem(self, obj, index, node)


def _present(obj: Any, key: Any) -> Any:
    """obj, where one arm of a conditional key reads it; a dict without that string key raises KeyError there.

    (`SELF_ATTENTION_CLASSES[config._attn_implementation]` with only an "eager" entry: the sdpa
    arm cannot run, as transformers refuses sdpa for that model.)"""
    if isinstance(obj, DictV) and isinstance(key, str) and key not in obj.items:
        raise DeadPath()
    return obj
