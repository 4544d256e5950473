"""Calls: functions run from source, classes instantiated, everything else handed to the brains."""

from __future__ import annotations

from typing import Any

from astroid import nodes

from lm_predictor.suggest.findings import AnalysisLimit, DeadPath
from lm_predictor.suggest.interp.frames import Frame
from lm_predictor.suggest.interp.syntax import MAX_DEPTH, grad_off_decorated
from lm_predictor.suggest.pyvalues import BoundMethod
from lm_predictor.suggest.scope import ModRef
from lm_predictor.suggest.valueops import make_phi
from lm_predictor.suggest.values import Builtin, ClassV, DictV, External, FunctionV, ObjectV, Phi, Record, Tensor, Unknown


class CallsMixin:
    """Calls: functions run from source, classes instantiated, everything else handed to the brains."""

    def call(self, callee: Any, args: list, kwargs: dict, node: Any, hint: str | None = None) -> Any:
        if isinstance(callee, Phi):
            return self.on_phi(callee, lambda c: self.call(c, args, kwargs, node, hint))
        if isinstance(callee, FunctionV) and callee.kind == "property":
            return Unknown("property call")
        if isinstance(callee, FunctionV):
            brain = self.brains.function_call(self, callee, args, kwargs, node, hint)
            if brain is not NotImplemented:
                return brain
            return self.run_function(callee, args, kwargs, node)
        if isinstance(callee, ClassV):
            return self.instantiate(callee, args, kwargs, node, hint)
        if isinstance(callee, ModRef):
            return self.call_module(callee, args, kwargs, node, hint)
        if isinstance(callee, (External, Builtin, BoundMethod)):
            return self.brains.call(self, callee, args, kwargs, node, hint)
        if callee is None or isinstance(callee, Tensor):
            raise DeadPath()  # TypeError: not callable (xlstm's `vecM_k_combine(batch_size, nh, n)`)
        if isinstance(callee, Unknown):
            for value in list(args) + list(kwargs.values()):
                if isinstance(value, Tensor):
                    return Unknown(f"result of an unknown callable ({callee.reason})")
            return Unknown(f"call of {callee.reason}")
        return self.brains.call(self, callee, args, kwargs, node, hint)

    def run_function(self, fv: FunctionV, args: list, kwargs: dict, node: Any) -> Any:
        if self.depth >= MAX_DEPTH:
            raise AnalysisLimit(f"call depth {MAX_DEPTH} reached in {fv.qualname}")
        fnode = fv.node
        if fv.bound is not None and fv.kind != "staticmethod":
            args = [fv.bound] + list(args)
        if getattr(fnode, "decorators", None) is not None:
            self.brains.before_run(self, fv, args, node)
        # a conditional argument the branch calling it decides (a cache state that is None in prefill) is its arm
        local = self.bind_params(fnode, [self.simplify(a) for a in args], {k: self.simplify(v) for k, v in kwargs.items()}, fv)
        frame = Frame(local, fv.module, fv.qualname, args[0] if args else None, fv.owner_class, fv.closure, len(self.assume))
        self.depth += 1
        saved_loc = self.current_loc
        off = int(grad_off_decorated(fnode))
        self.grad_off += off
        try:
            if isinstance(fnode, nodes.Lambda):
                return self.eval(fnode.body, frame)
            flow = self.exec_block(fnode.body, frame)
        finally:
            self.depth -= 1
            self.grad_off -= off
            self.current_loc = saved_loc
        returns = [(e.cond, e.value) for e in flow.exits if e.kind == "return"]
        if flow.falls:
            returns.append((flow.cond, None))
        if not returns:
            return Unknown(f"{fv.qualname} never returns normally")
        result = returns[-1][1]
        for cond, value in reversed(returns[:-1]):
            result = make_phi(cond, value, result)
        return result

    def bind_params(self, fnode: Any, args: list, kwargs: dict, fv: FunctionV) -> dict:
        a = fnode.args
        positional = list(a.posonlyargs or []) + list(a.args or [])
        names = [p.name for p in positional]
        defaults = list(a.defaults or [])
        first_default = len(names) - len(defaults)
        local: dict = {}
        kwargs = dict(kwargs)
        for i, name in enumerate(names):
            if i < len(args):
                local[name] = args[i]
            elif name in kwargs:
                local[name] = kwargs.pop(name)
            elif i >= first_default:
                local[name] = self.default_value(defaults[i - first_default], fv)
            else:
                local[name] = Unknown(f"missing argument {name!r}")
        if a.vararg:
            local[a.vararg] = tuple(args[len(names):])
        for i, p in enumerate(a.kwonlyargs or []):
            if p.name in kwargs:
                local[p.name] = kwargs.pop(p.name)
            else:
                d = (a.kw_defaults or [None] * len(a.kwonlyargs))[i]
                local[p.name] = self.default_value(d, fv) if d is not None else Unknown(f"missing keyword {p.name!r}")
        if a.kwarg:
            local[a.kwarg] = DictV(kwargs)
        return local

    def default_value(self, node: Any, fv: FunctionV) -> Any:
        key = ("default", id(node))
        if key not in self.globals:
            saved = self.recorder
            self.recorder = None
            try:
                self.globals[key] = self.eval(node, Frame({}, fv.module, fv.qualname))
            finally:
                self.recorder = saved
        return self.globals[key]

    def instantiate(self, cls: ClassV, args: list, kwargs: dict, node: Any, hint: str | None = None) -> Any:
        brain = self.brains.instantiate(self, cls, args, kwargs, node)
        if brain is not NotImplemented:
            return brain
        if self.is_output_class(cls):
            return self.make_record(cls, args, kwargs)
        if not self.is_module_class(cls):
            obj = ObjectV(cls)
            init = self.class_attr(cls, "__init__")
            if isinstance(init, FunctionV):
                self.run_function(FunctionV(init.node, init.module, init.qualname, None, obj, init.owner_class), args, kwargs, node)
            return obj
        return self.instantiate_module(cls, args, kwargs, node)

    def make_record(self, cls: ClassV, args: list, kwargs: dict) -> Record:
        names: list = []
        for c in reversed(self.mro(cls)):
            if isinstance(c, ClassV):
                for stmt in c.node.body:
                    if isinstance(stmt, nodes.AnnAssign) and isinstance(stmt.target, nodes.AssignName):
                        if stmt.target.name not in names:
                            names.append(stmt.target.name)
        fields = {n: None for n in names}
        for n, v in zip(names, args):
            fields[n] = v
        fields.update(kwargs)
        return Record(cls.name, fields)
