"""Symbolic execution of module `__init__` / `forward()` over astroid trees.

The interpreter runs Python source with abstract values (values.py): numbers are symbolic
expressions of rule parameters, tensors carry symbolic shapes, modules are templates whose
parameters are bound at each call. Branches whose condition is symbolic run both arms under an
assumption and join their variables with `if … then … else …`; a condition on a runtime value
that is not represented (data-dependent) runs both arms too, and a cost that differs between
them becomes an unresolved term. torch and transformers specifics live in `brains/`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from astroid import nodes

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import FALSE, ONE, TRUE, ZERO, Bool, Num
from lm_predictor.suggest.resolve import absolute_module, module_symbols, star_imports
from lm_predictor.suggest.scope import Instance, ModRef, ParamInfo, RuleDraft, RuleRef, Template, Term, TorchModule
from lm_predictor.suggest.sources import ParsedModule, SourceTree
from lm_predictor.suggest.values import (
    UNDEF,
    Builtin,
    CacheV,
    ClassV,
    DictV,
    External,
    FunctionV,
    ListV,
    Loc,
    ObjectV,
    Phi,
    Record,
    Repeated,
    SuperV,
    Tensor,
    Unknown,
)

MAX_DEPTH = 48
import os as _os

_TRACE = _os.environ.get("LMPREDICT_SUGGEST_TRACE", "")


def _summary(value: Any) -> str:
    if isinstance(value, (Num, Bool)):
        return X.render(value)[:120]
    if isinstance(value, Tensor):
        return "T" + ("?" + value.why[:80] if value.shape is None else str([X.render(d) for d in value.shape]))
    if isinstance(value, Phi):
        return f"Phi({X.render_bool(value.cond)[:60]}, {_summary(value.a)}, {_summary(value.b)})"
    if isinstance(value, tuple):
        return "(" + ", ".join(_summary(v) for v in value) + ")"
    if isinstance(value, Unknown):
        return f"Unknown({value.reason[:100]})"
    return type(value).__name__
MAX_UNROLL = 64


class AnalysisLimit(Exception):
    """Recursion or size limit of the analysis reached."""


class DeadPath(Exception):
    """This path would raise at run time (calling None, ...): the branch cannot be taken."""


@dataclass
class Finding:
    """A source-analysis diagnostic: where, code, message."""

    code: str
    loc: Loc | None
    message: str
    slug: str = ""

    def render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        try:
            from lm_predictor.diagnostics import lookup

            symbol = lookup(self.code).symbol
        except KeyError:
            symbol = ""
        return f"{where}{self.code}{' ' + symbol if symbol else ''}: {self.message}"


@dataclass
class Frame:
    locals: dict
    pm: ParsedModule
    func: str = ""
    self_value: Any = None
    cls: ClassV | None = None
    closure: dict | None = None
    entry: int = 0  # assumption-stack depth at entry


@dataclass
class Exit:
    kind: str  # return | break | continue
    cond: Bool  # relative to the function entry
    value: Any = None
    env: dict | None = None


@dataclass
class Flow:
    exits: list = field(default_factory=list)
    falls: bool = True
    cond: Bool = TRUE  # condition under which control falls through (relative)


@dataclass(eq=False)
class BoundMethod:
    receiver: Any
    name: str


@dataclass(eq=False)
class ModuleNS:
    pm: ParsedModule


@dataclass(eq=False)
class ConfigV:
    model: Any  # config.ConfigModel


class Recorder:
    """Where cost terms go while one rule (or template) is analysed."""

    def __init__(self, draft: RuleDraft | None = None, template: Template | None = None):
        self.draft = draft
        self.template = template
        self.labels: dict[str, Any] = {}
        self.reserved: set = set(template.attrs) if template is not None else set()

    def add(self, metric: str, term: Term) -> None:
        if metric == "param_count":
            if self.template is not None:
                self.template.param_terms.append(term)
        elif self.draft is not None:
            (self.draft.flops_terms if metric == "flops" else self.draft.kv_terms).append(term)

    def label(self, hint: str, key: Any = None) -> str:
        """A label unique within the rule (ops never reuse a submodule's attribute name)."""
        base = hint or "op"
        name, i = base, 2
        while (name in self.labels and self.labels[name] is not key) or name in self.reserved:
            name = f"{base}_{i}"
            i += 1
        self.labels[name] = key
        return name


class Interpreter:
    """One analysis run: source tree, config model, brains, diagnostics, rule drafts."""

    def __init__(self, tree: SourceTree, library=None):
        from lm_predictor.suggest import brains

        self.tree = tree
        self.library = library
        self.brains = brains
        self.findings: list[Finding] = []
        self._finding_keys: set = set()
        self.assume: list[Bool] = []
        self.facts: list[Bool] = []  # what must hold for the code not to raise (never a cost guard)
        self.mults: list[Num] = []
        self.recorder: Recorder | None = None
        self.templates: dict = {}
        self.drafts: list[RuleDraft] = []
        self.globals: dict = {}
        self.depth = 0
        self.label_hint: str | None = None
        self.config: ConfigV | None = None
        self.opaque: dict[str, Finding] = {}
        self._opaque_ids = itertools.count(1)
        self._index_ids = itertools.count(1)
        self.current_loc: Loc | None = None
        self.in_init: Template | None = None
        self.module_classes: dict = {}
        self.variants: dict[str, int] = {}
        self.touched_modules: set[str] = set()
        self.config_model_building = None
        self.init_depth = 0
        self.sym_loops: list = []

    # ------------------------------------------------------------------ diagnostics

    def loc(self, node: Any, pm: ParsedModule | None = None) -> Loc | None:
        if node is None:
            return self.current_loc
        try:
            root = node.root()
            path = root.file or ""
            name = root.name
        except Exception:  # noqa: BLE001
            return self.current_loc
        base = str(self.tree.package_dir.parent) + "/"
        rel = path[len(base):] if path.startswith(base) else path
        return Loc(rel, getattr(node, "lineno", 0) or 0, name)

    def report(self, code: str, node: Any, message: str) -> Finding:
        loc = self.loc(node)
        key = (code, loc, message)
        slug = f"{code}_{(loc.module.rsplit('.', 1)[-1] if loc else 'unknown')}_L{loc.line if loc else 0}"
        finding = Finding(code, loc, message, slug)
        if key not in self._finding_keys:
            self._finding_keys.add(key)
            self.findings.append(finding)
        return finding

    def unresolved(self, code: str, node: Any, message: str) -> Num:
        finding = self.report(code, node, message)
        return X.unresolved(finding.slug)

    def opaque_bool(self, node: Any, reason: str) -> Bool:
        name = f"?{next(self._opaque_ids)}"
        self.opaque[name] = Finding("A120", self.loc(node), f"branch on a runtime value ({reason}) changes the cost")
        return X.bsym(name)

    # ------------------------------------------------------------------ assumptions

    def decide(self, b: Bool) -> bool | None:
        value = X.bool_value(b)
        if value is not None:
            return value
        lits: set = set()
        for a in self.assume + self.facts:
            lits.update(a.args if a.kind == "and" else (a,))
        return _decide_in(b, lits)

    def guard(self, start: int = 0) -> Bool:
        return X.band(*self.assume[start:])

    def mult(self) -> Num:
        out = ONE
        for m in self.mults:
            out = out * m
        return out

    def add_cost(self, metric: str, expr: Num, mult: Num = ONE, note: str = "") -> None:
        if self.recorder is None:
            return
        routed = X.find_routed(expr) + X.find_routed(mult)
        if routed:
            # a cost inside a loop over experts, sized by the tokens each expert gets: summed over
            # the loop, those tokens are the routing total (the cost is linear in them)
            if not self.mults:
                expr = self.unresolved("A160", None, "tokens routed to one expert used outside a loop over experts")
            else:
                total = routed[0].args[0]
                expr = X.replace_atoms(expr, routed[0], total)
                mult = X.replace_atoms(mult, routed[0], total)
                outer = ONE
                for m in self.mults[:-1]:
                    outer = outer * m
                self.recorder.add(metric, Term(self.guard(), outer * mult, expr, note or "summed over experts"))
                return
        self.recorder.add(metric, Term(self.guard(), self.mult() * mult, expr, note))

    def phi(self, cond: Bool, a: Any, b: Any) -> Any:
        decided = self.decide(cond)
        if decided is True:
            return a
        if decided is False:
            return b
        return make_phi(cond, a, b)

    def on_phi(self, value: Any, fn) -> Any:
        if isinstance(value, Phi):
            decided = self.decide(value.cond)
            if decided is True:
                return self.on_phi(value.a, fn)
            if decided is False:
                return self.on_phi(value.b, fn)
            self.assume.append(value.cond)
            dead_a = dead_b = False
            try:
                ra = self.on_phi(value.a, fn)
            except DeadPath:
                dead_a, ra = True, None
            finally:
                self.assume.pop()
            self.assume.append(X.bnot(value.cond))
            try:
                rb = self.on_phi(value.b, fn)
            except DeadPath:
                dead_b, rb = True, None
            finally:
                self.assume.pop()
            if dead_a and dead_b:
                raise DeadPath()
            if dead_a:
                self.facts.append(X.bnot(value.cond))
                return rb
            if dead_b:
                self.facts.append(value.cond)
                return ra
            return make_phi(value.cond, ra, rb)
        return fn(value)

    # ------------------------------------------------------------------ globals

    def global_value(self, pm: ParsedModule, name: str, node: Any = None) -> Any:
        key = (pm.name, name)
        if key in self.globals:
            return self.globals[key]
        qual = f"{pm.name}.{name}"
        brain = self.brains.global_value(self, qual)
        if brain is not None:
            self.globals[key] = brain
            return brain
        self.globals[key] = Unknown(f"{qual} (being evaluated)")
        value = self._global_value(pm, name, node)
        self.globals[key] = value
        return value

    def _global_value(self, pm: ParsedModule, name: str, node: Any) -> Any:
        symbols = module_symbols(pm)
        stmt = symbols.get(name)
        if stmt is None:
            for star in star_imports(pm):
                target = absolute_module(pm, star)
                tpm = self.tree.parse(target)
                if tpm is not None and name in module_symbols(tpm):
                    return self.global_value(tpm, name, node)
            if name in BUILTIN_NAMES:
                return Builtin(name)
            return Unknown(f"name {name!r} not found in {pm.name}")
        if isinstance(stmt, nodes.ClassDef):
            return ClassV(stmt, pm, f"{pm.name}.{name}")
        if isinstance(stmt, nodes.FunctionDef):
            return FunctionV(stmt, pm, f"{pm.name}.{name}")
        if isinstance(stmt, nodes.ImportFrom):
            target = absolute_module(pm, stmt)
            orig = name
            for n, asname in stmt.names:
                if (asname or n) == name:
                    orig = n
            return self.import_name(target, orig)
        if isinstance(stmt, nodes.Import):
            for n, asname in stmt.names:
                if asname == name:
                    return self.import_module(n)
                if n.split(".")[0] == name and asname is None:
                    return self.import_module(name)
            return Unknown(f"import of {name}")
        if isinstance(stmt, (nodes.Assign, nodes.AnnAssign)):
            if stmt.value is None:
                return Unknown(f"annotation-only {name}")
            frame = Frame({}, pm, func=f"{pm.name}.<module>")
            saved = self.recorder
            self.recorder = None
            try:
                return self.eval(stmt.value, frame)
            except AnalysisLimit:
                raise
            except Exception as err:  # noqa: BLE001 - a module-level value we cannot evaluate
                return Unknown(f"{pm.name}.{name}: {type(err).__name__}: {err}")
            finally:
                self.recorder = saved
        return Unknown(f"{name} in {pm.name}")

    def import_module(self, modname: str) -> Any:
        if modname.split(".")[0] == "transformers":
            pm = self.tree.parse(modname)
            if pm is not None:
                self.touched_modules.add(modname)
                return ModuleNS(pm)
            return Unknown(f"module {modname} not in the source tree")
        return External(modname)

    def import_name(self, modname: str, name: str) -> Any:
        if modname.split(".")[0] != "transformers":
            return External(f"{modname}.{name}")
        brain = self.brains.global_value(self, f"{modname}.{name}")
        if brain is not None:
            return brain
        sub = f"{modname}.{name}"
        if self.tree.has_module(sub) and not self._defines(modname, name):
            return self.import_module(sub)
        pm = self.tree.parse(modname)
        if pm is None:
            return Unknown(f"module {modname} not in the source tree")
        self.touched_modules.add(modname)
        return self.global_value(pm, name)

    def _defines(self, modname: str, name: str) -> bool:
        pm = self.tree.parse(modname)
        return pm is not None and name in module_symbols(pm)

    def resolve_qualname(self, qualname: str) -> Any:
        from lm_predictor.suggest.resolve import find_public

        found = find_public(self.tree, qualname)
        if found is None:
            return None
        modname, name = found
        pm = self.tree.parse(modname)
        self.touched_modules.add(modname)
        return self.global_value(pm, name)

    # ------------------------------------------------------------------ classes

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
            getters = [f for f in found if not (isinstance(f, nodes.FunctionDef) and _decorator_names(f) & {"setter", "deleter"})]
            defn = (getters or found)[-1]
            if isinstance(defn, nodes.FunctionDef):
                fv = FunctionV(defn, c.module, f"{c.qualname}.{name}", owner_class=c)
                decos = _decorator_names(defn)
                if "staticmethod" in decos:
                    fv.is_static = True
                if "property" in decos:
                    return _Property(fv)
                if "classmethod" in decos:
                    return _ClassMethod(fv, cls)
                return fv
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

    # ------------------------------------------------------------------ statements

    def exec_block(self, stmts: list, frame: Frame) -> Flow:
        exits: list = []
        pushed = 0
        conds: list = []
        try:
            for stmt in stmts:
                res = self.exec_stmt(stmt, frame)
                if res is None:
                    continue
                exits.extend(res.exits)
                if not res.falls:
                    return Flow(exits, False, FALSE)
                if res.cond != TRUE:
                    self.assume.append(res.cond)
                    conds.append(res.cond)
                    pushed += 1
            return Flow(exits, True, X.band(*conds))
        finally:
            if pushed:
                del self.assume[len(self.assume) - pushed:]

    def exec_stmt(self, stmt: Any, frame: Frame) -> Flow | None:
        self.current_loc = self.loc(stmt)
        if _TRACE and _TRACE in frame.func:
            print(f"trace {frame.func}:{stmt.lineno} {type(stmt).__name__}")
            result = self._exec_stmt(stmt, frame)
            if isinstance(stmt, (nodes.Assign, nodes.AnnAssign, nodes.AugAssign)):
                targets = stmt.targets if isinstance(stmt, nodes.Assign) else [stmt.target]
                for t in targets:
                    for name in [n.name for n in t.nodes_of_class(nodes.AssignName)]:
                        print(f"trace {frame.func}:{stmt.lineno} {name} = {_summary(frame.locals.get(name))}")
            return result
        return self._exec_stmt(stmt, frame)

    def _exec_stmt(self, stmt: Any, frame: Frame) -> Flow | None:
        if isinstance(stmt, nodes.Assign):
            self.label_hint = _target_hint(stmt.targets[0])
            try:
                value = self.eval(stmt.value, frame)
            finally:
                self.label_hint = None
            for target in stmt.targets:
                self.assign(target, value, frame)
            return None
        if isinstance(stmt, nodes.AnnAssign):
            if stmt.value is not None:
                self.label_hint = _target_hint(stmt.target)
                try:
                    value = self.eval(stmt.value, frame)
                finally:
                    self.label_hint = None
                self.assign(stmt.target, value, frame)
            return None
        if isinstance(stmt, nodes.AugAssign):
            self.label_hint = _target_hint(stmt.target)
            try:
                current = self.eval(_as_load(stmt.target), frame)
                value = self.binop(stmt.op.rstrip("="), current, self.eval(stmt.value, frame), stmt)
            finally:
                self.label_hint = None
            self.assign(stmt.target, value, frame)
            return None
        if isinstance(stmt, nodes.Expr):
            value = self.eval(stmt.value, frame)
            call = stmt.value
            if (isinstance(call, nodes.Call) and isinstance(call.func, nodes.Attribute) and call.func.attrname.endswith("_")
                    and isinstance(call.func.expr, nodes.Name) and isinstance(value, Tensor)):
                frame.locals[call.func.expr.name] = value  # an in-place op (x.scatter_(...)) updates x
            return None
        if isinstance(stmt, nodes.Return):
            value = self.eval(stmt.value, frame) if stmt.value is not None else None
            return Flow([Exit("return", self.guard(frame.entry), value)], False, FALSE)
        if isinstance(stmt, nodes.If):
            return self.exec_if(stmt, frame)
        if isinstance(stmt, nodes.For):
            return self.exec_for(stmt, frame)
        if isinstance(stmt, nodes.While):
            return self.exec_while(stmt, frame)
        if isinstance(stmt, nodes.Raise):
            return Flow([], False, FALSE)
        if isinstance(stmt, nodes.With):
            for item, var in stmt.items:
                value = self.eval(item, frame)
                if var is not None:
                    self.assign(var, value, frame)
            return self.exec_block(stmt.body, frame)
        if isinstance(stmt, nodes.Try):
            flow = self.exec_block(stmt.body, frame)
            if flow.falls and stmt.orelse:
                more = self.exec_block(stmt.orelse, frame)
                flow = Flow(flow.exits + more.exits, more.falls, X.band(flow.cond, more.cond))
            if getattr(stmt, "finalbody", None):
                self.exec_block(stmt.finalbody, frame)
            return flow
        if isinstance(stmt, nodes.FunctionDef):
            fv = FunctionV(stmt, frame.pm, f"{frame.func}.{stmt.name}", closure=_closure(frame))
            frame.locals[stmt.name] = fv
            return None
        if isinstance(stmt, nodes.ClassDef):
            frame.locals[stmt.name] = ClassV(stmt, frame.pm, f"{frame.func}.{stmt.name}")
            return None
        if isinstance(stmt, nodes.ImportFrom):
            target = absolute_module(frame.pm, stmt)
            for name, asname in stmt.names:
                if name != "*":
                    frame.locals[asname or name] = self.import_name(target, name)
            return None
        if isinstance(stmt, nodes.Import):
            for name, asname in stmt.names:
                frame.locals[asname or name.split(".")[0]] = self.import_module(name if asname else name.split(".")[0])
            return None
        if isinstance(stmt, nodes.Break):
            return Flow([Exit("break", self.guard(frame.entry), env=dict(frame.locals))], False, FALSE)
        if isinstance(stmt, nodes.Continue):
            return Flow([Exit("continue", self.guard(frame.entry), env=dict(frame.locals))], False, FALSE)
        if isinstance(stmt, nodes.Assert):
            return None
        if isinstance(stmt, nodes.Delete):
            for target in stmt.targets:
                if isinstance(target, nodes.DelName):
                    frame.locals.pop(target.name, None)
            return None
        return None  # Pass, Global, Nonlocal, ...

    def exec_if(self, stmt: nodes.If, frame: Frame) -> Flow:
        cond = self.truth(self.eval(stmt.test, frame), stmt.test)
        decided = self.decide(cond)
        if decided is True:
            return self.exec_block(stmt.body, frame)
        if decided is False:
            return self.exec_block(stmt.orelse, frame)
        return self.fork(cond, lambda: self.exec_block(stmt.body, frame), lambda: self.exec_block(stmt.orelse, frame), frame)

    def fork(self, cond: Bool, then_fn, else_fn, frame: Frame) -> Flow:
        env0 = frame.locals
        frame.locals = dict(env0)
        self.assume.append(cond)
        try:
            fa = then_fn()
        except DeadPath:
            fa = Flow([], False, FALSE)
        finally:
            self.assume.pop()
        env_a = frame.locals
        frame.locals = dict(env0)
        self.assume.append(X.bnot(cond))
        try:
            fb = else_fn()
        except DeadPath:
            fb = Flow([], False, FALSE)
        finally:
            self.assume.pop()
        env_b = frame.locals
        exits = fa.exits + fb.exits
        if fa.falls and fb.falls:
            frame.locals = self.join(env_a, env_b, cond)
            fall = X.bor(X.band(cond, fa.cond), X.band(X.bnot(cond), fb.cond))
            return Flow(exits, True, _simplify_or(fall, cond))
        if fa.falls:
            frame.locals = env_a
            if not fb.exits:  # the other arm raises: a fact about valid inputs, not a branch
                self.facts.append(cond)
                X.note_fact(cond)
                return Flow(exits, True, fa.cond)
            return Flow(exits, True, X.band(cond, fa.cond))
        if fb.falls:
            frame.locals = env_b
            if not fa.exits:
                self.facts.append(X.bnot(cond))
                X.note_fact(X.bnot(cond))
                return Flow(exits, True, fb.cond)
            return Flow(exits, True, X.band(X.bnot(cond), fb.cond))
        frame.locals = env0
        return Flow(exits, False, FALSE)

    def join(self, a: dict, b: dict, cond: Bool) -> dict:
        out = {}
        for key in list(a) + [k for k in b if k not in a]:
            va, vb = a.get(key, UNDEF), b.get(key, UNDEF)
            if va is vb:
                out[key] = va
            elif va is UNDEF:
                out[key] = vb
            elif vb is UNDEF:
                out[key] = va
            else:
                out[key] = make_phi(cond, va, vb)
        return out

    def exec_while(self, stmt: nodes.While, frame: Frame) -> Flow:
        cond = self.truth(self.eval(stmt.test, frame), stmt.test)
        if self.decide(cond) is False:
            return self.exec_block(stmt.orelse, frame)
        count = self.unresolved("A131", stmt, "while loop: the number of iterations is not known statically")
        self.mults.append(count)
        try:
            self.exec_block(stmt.body, frame)
        finally:
            self.mults.pop()
        return Flow()

    def exec_for(self, stmt: nodes.For, frame: Frame) -> Flow:
        iterable = self.eval(stmt.iter, frame)
        items = self.iter_items(iterable, stmt.iter)
        if isinstance(items, list):
            exits: list = []
            conds: list = []
            pushed = 0
            try:
                for item in items:
                    self.assign(stmt.target, item, frame)
                    flow = self.exec_block(stmt.body, frame)
                    returns = [e for e in flow.exits if e.kind == "return"]
                    exits.extend(returns)
                    broke = [e for e in flow.exits if e.kind == "break"]
                    if broke:
                        if len(broke) == 1 and not flow.falls and broke[0].cond == self.guard(frame.entry):
                            frame.locals = broke[0].env
                            return Flow(exits, True, X.band(*conds))
                        self.report("A132", stmt, "break under a symbolic condition; later iterations are assumed to run")
                    if not flow.falls and not [e for e in flow.exits if e.kind == "continue"]:
                        return Flow(exits, False, FALSE)
                    if flow.cond != TRUE:
                        self.assume.append(flow.cond)
                        conds.append(flow.cond)
                        pushed += 1
                if stmt.orelse:
                    more = self.exec_block(stmt.orelse, frame)
                    exits.extend(more.exits)
                return Flow(exits, True, X.band(*conds))
            finally:
                if pushed:
                    del self.assume[len(self.assume) - pushed:]
        # symbolic loop: run the body once, multiply its costs by the trip count
        count, item = items
        self.assign(stmt.target, item, frame)
        before = dict(frame.locals)
        self.mults.append(count)
        self.sym_loops.append({"count": count, "index": _index_name(item), "start": len(self.assume), "appends": {}})
        try:
            flow = self.exec_block(stmt.body, frame)
        finally:
            self.mults.pop()
            loop = self.sym_loops.pop()
        for lst, appended in loop["appends"].values():
            # a list appended to once per iteration becomes `count` copies of the (index-dependent) value
            value = appended[-1][1]
            for guard, v in reversed(appended[:-1]):
                value = make_phi(guard, v, value)
            lst.rep = Repeated(value, count, loop["index"])
            if self.in_init is not None:  # a ModuleList attribute filled by appends: its entries get its path
                for attr_name, attr_value in self.in_init.attrs.items():
                    if attr_value is lst:
                        lst.rep = _with_paths(lst.rep, attr_name)
        if any(e.kind == "return" for e in flow.exits):
            self.report("A133", stmt, "return inside a repeated loop body; treated as if the loop ran to the end")
        for name, old in before.items():
            new = frame.locals.get(name)
            if isinstance(old, Tensor) and isinstance(new, Tensor) and old.shape != new.shape:
                self.report("A134", stmt, f"loop-carried tensor {name!r} changes shape between iterations")
        if stmt.orelse:
            self.exec_block(stmt.orelse, frame)
        return Flow()

    def iter_items(self, value: Any, node: Any) -> Any:
        """A concrete list of items, or (count, item) for a symbolic repetition."""
        if isinstance(value, Phi):
            decided = self.decide(value.cond)
            if decided is not None:
                return self.iter_items(value.a if decided else value.b, node)
            a, b = self.iter_items(value.a, node), self.iter_items(value.b, node)
            if isinstance(a, tuple) and isinstance(b, tuple) and _same(a[1], b[1]):
                return (X.ifnum(value.cond, a[0], b[0]), a[1])
            if isinstance(a, list) and isinstance(b, list) and not a:
                return (X.ifnum(value.cond, ZERO, len(b)), b[0]) if len(set(map(id, b))) == 1 else b
            if isinstance(b, list) and not b and isinstance(a, tuple):
                return (X.ifnum(value.cond, a[0], ZERO), a[1])
            if isinstance(a, list) and not a and isinstance(b, tuple):
                return (X.ifnum(value.cond, ZERO, b[0]), b[1])
            return (self.unresolved("A135", node, "loop over a value that depends on a condition"), Unknown("loop item"))
        if isinstance(value, (tuple, list)):
            return list(value)
        if isinstance(value, ListV):
            if value.rep is not None:
                return self.iter_items(value.rep, node)
            return list(value.items)
        if isinstance(value, DictV):
            return list(value.items.keys())
        if isinstance(value, Repeated):
            return (value.count, self.repeated_elem(value, node))
        if isinstance(value, _Range):
            n = value.length()
            c = n.const_value()
            if c is not None and isinstance(c, int) and 0 <= c <= MAX_UNROLL:
                return [value.start + value.step * i for i in range(c)]
            idx = X.Num.sym(f"#i{next(self._index_ids)}")
            return (n, value.start + value.step * idx)
        if isinstance(value, _Enumerate):
            inner = self.iter_items(value.inner, node)
            if isinstance(inner, list):
                return [(Num.const(i + value.start), v) for i, v in enumerate(inner)]
            idx = X.Num.sym(f"#i{next(self._index_ids)}")
            return (inner[0], (idx, inner[1]))
        if isinstance(value, _Zip):
            parts = [self.iter_items(v, node) for v in value.inners]
            if all(isinstance(p, list) for p in parts):
                return [tuple(t) for t in zip(*parts)]
            counts = [p[0] if isinstance(p, tuple) else Num.const(len(p)) for p in parts]
            items = [p[1] if isinstance(p, tuple) else (p[0] if p else Unknown("zip item")) for p in parts]
            return (counts[0], tuple(items))
        if isinstance(value, Tensor):
            if value.route and value.route[0] == "mask" and value.shape is not None and len(value.shape) == 1:
                return (value.shape[0], X.routed(value.route[1]))  # tokens per expert, one count each
            if value.shape:
                n = value.shape[0]
                c = n.const_value()
                item = Tensor(value.shape[1:], value.dtype)
                if c is not None and isinstance(c, int) and c <= MAX_UNROLL:
                    return [item] * c
                return (n, item)
        if isinstance(value, ModRef):
            got = self.brains.iterate_module(self, value, node)
            if got is not None:
                return got
        if isinstance(value, Unknown):
            return (self.unresolved("A136", node, f"loop over an unknown value ({value.reason})"), Unknown("loop item"))
        return (self.unresolved("A136", node, f"loop over {type(value).__name__}"), Unknown("loop item"))

    def repeated_elem(self, rep: Repeated, node: Any) -> Any:
        return rep.elem

    # ------------------------------------------------------------------ assignment

    def simplify(self, value: Any) -> Any:
        """A Phi whose condition the current assumptions decide, replaced by its arm."""
        if isinstance(value, Phi) and self.assume:
            decided = self.decide(value.cond)
            if decided is True:
                return self.simplify(value.a)
            if decided is False:
                return self.simplify(value.b)
            a, b = self.simplify(value.a), self.simplify(value.b)
            if a is not value.a or b is not value.b:
                return make_phi(value.cond, a, b)
        elif isinstance(value, tuple) and self.assume:
            return tuple(self.simplify(v) for v in value)
        return value

    def guarded_write(self, old: Any, new: Any, start: int) -> Any:
        """An attribute written on a branch: the new value where the branch runs, else the old."""
        if len(self.assume) <= start:
            return new
        return make_phi(self.guard(start), new, old)

    def assign(self, target: Any, value: Any, frame: Frame) -> None:
        value = self.simplify(value)
        if isinstance(target, nodes.AssignName):
            frame.locals[target.name] = value
        elif isinstance(target, nodes.AssignAttr):
            obj = self.eval(target.expr, frame)
            self.set_attr(obj, target.attrname, value, target)
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            elts = target.elts
            star = [i for i, e in enumerate(elts) if isinstance(e, nodes.Starred)]
            items = self.unpack(value, len(elts), target, star[0] if star else None)
            for elt, item in zip(elts, items):
                if isinstance(elt, nodes.Starred):
                    self.assign(elt.value, item, frame)
                else:
                    self.assign(elt, item, frame)
        elif isinstance(target, nodes.Subscript):
            obj = self.eval(target.value, frame)
            key = self.eval(target.slice, frame)
            if isinstance(obj, DictV):
                obj.items[_hashable(key)] = value
            elif isinstance(obj, ListV):
                c = key.const_value() if isinstance(key, Num) else None
                if isinstance(c, int) and -len(obj.items) <= c < len(obj.items):
                    obj.items[c] = value
            # tensor slice assignment: an elementwise copy, no matmul
        elif isinstance(target, nodes.Starred):
            self.assign(target.value, value, frame)

    def unpack(self, value: Any, n: int, node: Any, star: int | None = None) -> list:
        if isinstance(value, Phi):
            a = self.unpack(value.a, n, node, star)
            b = self.unpack(value.b, n, node, star)
            return [make_phi(value.cond, x, y) for x, y in zip(a, b)]
        if isinstance(value, ListV):
            value = tuple(value.items)
        if isinstance(value, Record):
            value = tuple(v for v in value.fields.values() if v is not None)
        if isinstance(value, tuple):
            if star is not None and len(value) >= n - 1:
                k = len(value) - (n - 1)
                return list(value[:star]) + [tuple(value[star:star + k])] + list(value[star + k:])
            if len(value) == n:
                return list(value)
        if isinstance(value, Tensor) and value.shape and value.shape[0].const_value() == n:
            return [Tensor(value.shape[1:], value.dtype)] * n
        if isinstance(value, (_Range, Repeated)):
            items = self.iter_items(value, node)
            if isinstance(items, list) and len(items) == n:
                return items
        return [Unknown(f"unpacking {type(value).__name__}")] * n

    def set_attr(self, obj: Any, name: str, value: Any, node: Any) -> None:
        if isinstance(obj, ModRef):
            tmpl = obj.inst.template
            if isinstance(tmpl, Template) and self.in_init is tmpl and obj.path == "":
                if isinstance(value, ModRef) and value.path == "":
                    value = ModRef(value.inst, value.binding, name, value.count)
                    value.inst.attr = value.inst.attr or name
                elif isinstance(value, (Repeated, ListV, DictV, Phi)):
                    value = _with_paths(value, name)
                tmpl.attrs[name] = self.guarded_write(tmpl.attrs.get(name), value, self.init_depth)
            elif isinstance(tmpl, TorchModule) and self.in_init is not None and name == "bias" and value is None and "bias" in tmpl.args:
                tmpl.args["bias"] = FALSE  # `self.norm.bias = None`: the parameter is dropped
            elif isinstance(tmpl, TorchModule) and self.in_init is not None and name in ("bias", "weight") and isinstance(value, Tensor) and value.param:
                # `self.decoder.bias = self.bias`: the parameter belongs to its first owner
                # (the module assigning it), so the torch module no longer counts it
                tmpl.args[name + "_shared"] = True
                if name == "bias" and "bias" in tmpl.args:
                    tmpl.args["bias"] = FALSE
            # attribute writes in forward() (caches of cos/sin, ...) do not change costs
        elif isinstance(obj, ObjectV):
            amap = getattr(obj, "attribute_map", None) or {}
            key = amap.get(name, name)
            obj.attrs[key] = self.guarded_write(obj.attrs.get(key), value, getattr(obj, "assume_base", 0))
        elif isinstance(obj, Phi):
            self.set_attr(obj.a, name, value, node)
            self.set_attr(obj.b, name, value, node)
        elif isinstance(obj, ConfigV):
            model = obj.model
            model.build(self)
            key = model.attribute_map.get(name, name)
            model.attrs[key] = self.guarded_write(model.attrs.get(key), value, 0)

    # ------------------------------------------------------------------ expressions

    def eval(self, node: Any, frame: Frame) -> Any:
        method = getattr(self, "eval_" + type(node).__name__, None)
        if method is None:
            return Unknown(f"unsupported syntax {type(node).__name__}")
        return method(node, frame)

    def eval_Const(self, node: nodes.Const, frame: Frame) -> Any:
        v = node.value
        if isinstance(v, bool):
            return X.bconst(v)
        if isinstance(v, (int, float)):
            return Num.const(v)
        return v

    def eval_JoinedStr(self, node: Any, frame: Frame) -> Any:
        return "<f-string>"

    def eval_Name(self, node: nodes.Name, frame: Frame) -> Any:
        return self.lookup_name(node.name, frame, node)

    def lookup_name(self, name: str, frame: Frame, node: Any = None) -> Any:
        if name in frame.locals:
            value = frame.locals[name]
            return Unknown(f"{name} is unbound on some path") if value is UNDEF else value
        closure = frame.closure
        if closure is not None and name in closure:
            return closure[name]
        if name == "__name__":
            return frame.pm.name
        return self.global_value(frame.pm, name, node)

    def eval_Attribute(self, node: nodes.Attribute, frame: Frame) -> Any:
        obj = self.eval(node.expr, frame)
        return self.getattr(obj, node.attrname, node)

    def eval_Tuple(self, node: nodes.Tuple, frame: Frame) -> Any:
        return tuple(self.eval_elts(node.elts, frame))

    def eval_List(self, node: nodes.List, frame: Frame) -> Any:
        return ListV(self.eval_elts(node.elts, frame))

    def eval_Set(self, node: Any, frame: Frame) -> Any:
        return ListV(self.eval_elts(node.elts, frame))

    def eval_elts(self, elts: list, frame: Frame) -> list:
        out: list = []
        for elt in elts:
            if isinstance(elt, nodes.Starred):
                value = self.eval(elt.value, frame)
                items = self.iter_items(value, elt)
                if isinstance(items, list):
                    out.extend(items)
                else:
                    out.append(Unknown("starred repetition"))
            else:
                out.append(self.eval(elt, frame))
        return out

    def eval_Dict(self, node: nodes.Dict, frame: Frame) -> Any:
        items: dict = {}
        for key, value in node.items:
            if isinstance(key, nodes.DictUnpack):
                inner = self.eval(value, frame)
                if isinstance(inner, DictV):
                    items.update(inner.items)
                continue
            items[_hashable(self.eval(key, frame))] = self.eval(value, frame)
        return DictV(items)

    def eval_BinOp(self, node: nodes.BinOp, frame: Frame) -> Any:
        return self.binop(node.op, self.eval(node.left, frame), self.eval(node.right, frame), node)

    def eval_UnaryOp(self, node: nodes.UnaryOp, frame: Frame) -> Any:
        value = self.eval(node.operand, frame)

        def apply(v: Any) -> Any:
            if node.op == "not":
                return X.bnot(self.truth(v, node))
            if isinstance(v, Bool):
                v = X.ifnum(v, ONE, ZERO)
            if isinstance(v, Num):
                return -v if node.op == "-" else (v if node.op == "+" else -v - 1)
            if isinstance(v, Tensor):
                return v
            return Unknown(f"unary {node.op} on {type(v).__name__}")

        return self.on_phi(value, apply)

    def eval_BoolOp(self, node: nodes.BoolOp, frame: Frame) -> Any:
        values = node.values

        def chain(i: int) -> Any:
            value = self.eval(values[i], frame)
            if i == len(values) - 1:
                return value
            t = self.truth(value, values[i])
            decided = self.decide(t)
            if node.op == "or":
                if decided is True:
                    return value
                if decided is False:
                    return chain(i + 1)
                self.assume.append(X.bnot(t))
                try:
                    rest = chain(i + 1)
                finally:
                    self.assume.pop()
                if isinstance(value, Bool) and isinstance(rest, Bool):
                    return X.bor(value, rest)
                return make_phi(t, value, rest)
            if decided is False:
                return value
            if decided is True:
                return chain(i + 1)
            self.assume.append(t)
            try:
                rest = chain(i + 1)
            finally:
                self.assume.pop()
            if isinstance(value, Bool) and isinstance(rest, Bool):
                return X.band(value, rest)
            return make_phi(t, rest, value)

        return chain(0)

    def eval_Compare(self, node: nodes.Compare, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = TRUE
        for op, right_node in node.ops:
            right = self.eval(right_node, frame)
            r = self.compare(op, left, right, node)
            if isinstance(r, Tensor):
                return r
            result = X.band(result, r)
            left = right
        return result

    def eval_IfExp(self, node: nodes.IfExp, frame: Frame) -> Any:
        cond = self.truth(self.eval(node.test, frame), node.test)
        decided = self.decide(cond)
        if decided is True:
            return self.eval(node.body, frame)
        if decided is False:
            return self.eval(node.orelse, frame)
        return self.on_phi(Phi(cond, _Lazy(lambda: self.eval(node.body, frame)), _Lazy(lambda: self.eval(node.orelse, frame))), _force)

    def eval_Subscript(self, node: nodes.Subscript, frame: Frame) -> Any:
        obj = self.eval(node.value, frame)
        index = self.eval(node.slice, frame)
        return self.getitem(obj, index, node)

    def eval_Slice(self, node: nodes.Slice, frame: Frame) -> Any:
        def part(n: Any) -> Any:
            return None if n is None else self.eval(n, frame)

        return _Slice(part(node.lower), part(node.upper), part(node.step))

    def eval_Starred(self, node: nodes.Starred, frame: Frame) -> Any:
        return self.eval(node.value, frame)

    def eval_NamedExpr(self, node: Any, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    def eval_Lambda(self, node: nodes.Lambda, frame: Frame) -> Any:
        return FunctionV(node, frame.pm, f"{frame.func}.<lambda>", closure=_closure(frame))

    def eval_ListComp(self, node: Any, frame: Frame) -> Any:
        return self.comprehension(node, frame, "list")

    def eval_GeneratorExp(self, node: Any, frame: Frame) -> Any:
        return self.comprehension(node, frame, "list")

    def eval_SetComp(self, node: Any, frame: Frame) -> Any:
        return self.comprehension(node, frame, "list")

    def eval_DictComp(self, node: Any, frame: Frame) -> Any:
        return self.comprehension(node, frame, "dict")

    def comprehension(self, node: Any, frame: Frame, kind: str) -> Any:
        inner = Frame(dict(frame.locals), frame.pm, frame.func, frame.self_value, frame.cls, frame.closure, frame.entry)
        results: list = []
        symbolic: list = []

        def produce() -> Any:
            if kind == "dict":
                return (self.eval(node.key, inner), self.eval(node.value, inner))
            return self.eval(node.elt, inner)

        def walk(i: int) -> None:
            if i == len(node.generators):
                results.append(produce())
                return
            gen = node.generators[i]
            items = self.iter_items(self.eval(gen.iter, inner), gen.iter)
            if isinstance(items, list):
                for item in items:
                    self.assign(gen.target, item, inner)
                    keep = TRUE
                    for cond in gen.ifs:
                        keep = X.band(keep, self.truth(self.eval(cond, inner), cond))
                    decided = self.decide(keep)
                    if decided is False:
                        continue
                    if decided is None:
                        symbolic.append(Unknown("filtered comprehension"))
                        continue
                    walk(i + 1)
            else:
                count, item = items
                self.assign(gen.target, item, inner)
                if gen.ifs:
                    symbolic.append(Unknown("filtered comprehension over a symbolic range"))
                    return
                index = _index_name(item)
                before = len(results)
                walk(i + 1)
                produced = results[before:]
                del results[before:]
                symbolic.append(Repeated(produced[0] if produced else Unknown("empty"), count, index))

        walk(0)
        if symbolic:
            if len(symbolic) == 1 and not results and isinstance(symbolic[0], Repeated):
                return symbolic[0]
            return Unknown("comprehension with a symbolic length")
        if kind == "dict":
            return DictV({_hashable(k): v for k, v in results})
        return ListV(results)

    def eval_Call(self, node: nodes.Call, frame: Frame) -> Any:
        if isinstance(node.func, nodes.Name) and node.func.name == "super" and node.func.name not in frame.locals:
            if node.args and len(node.args) == 2:
                cls = self.eval(node.args[0], frame)
                inst = self.eval(node.args[1], frame)
                return SuperV(inst, cls if isinstance(cls, ClassV) else frame.cls)
            return SuperV(frame.self_value, frame.cls)
        callee = self.eval(node.func, frame)
        args = self.eval_elts(node.args, frame)
        kwargs: dict = {}
        for kw in node.keywords or []:
            value = self.eval(kw.value, frame)
            if kw.arg is None:
                if isinstance(value, DictV):
                    kwargs.update({k: v for k, v in value.items.items() if isinstance(k, str)})
                elif isinstance(value, Record):
                    kwargs.update({k: v for k, v in value.fields.items()})
            else:
                kwargs[kw.arg] = value
        hint = self.label_hint
        self.label_hint = None
        try:
            return self.call(callee, args, kwargs, node, hint)
        finally:
            self.label_hint = hint

    # ------------------------------------------------------------------ operators

    def truth(self, value: Any, node: Any) -> Bool:
        if isinstance(value, Bool):
            return value
        if isinstance(value, Num):
            return X.cmp("!=", value, 0)
        if value is None:
            return FALSE
        if isinstance(value, str):
            return X.bconst(bool(value))
        if isinstance(value, (tuple, list)):
            return X.bconst(bool(value))
        if isinstance(value, ListV):
            if value.rep is not None:
                return X.cmp(">", value.rep.count, 0)
            return X.bconst(bool(value.items))
        if isinstance(value, DictV):
            return X.bconst(bool(value.items))
        if isinstance(value, Phi):
            return X.ifbool(value.cond, self.truth(value.a, node), self.truth(value.b, node))
        if isinstance(value, Repeated):
            return X.cmp(">", value.count, 0)
        if isinstance(value, Tensor):
            if value.shape is not None and value.shape != () and any(d.const_value() == 0 for d in value.shape):
                return FALSE
            return self.opaque_bool(node, "a tensor's data")
        if isinstance(value, Unknown):
            return self.opaque_bool(node, value.reason)
        if isinstance(value, External):
            brain = self.brains.external_truth(value.name)
            if brain is not None:
                return X.bconst(brain)
        return TRUE

    def binop(self, op: str, a: Any, b: Any, node: Any) -> Any:
        if isinstance(a, Phi) or isinstance(b, Phi):
            return self.on_phi(a, lambda x: self.on_phi(b, lambda y: self.binop(op, x, y, node)))
        if (a is None or b is None) and op not in ("==", "!="):
            raise DeadPath()  # arithmetic on None raises TypeError: this path does not run
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return self.brains.tensor_binop(self, op, a, b, node)
        if isinstance(a, Bool) and isinstance(b, Bool) and op in ("&", "|", "^"):
            return {"&": X.band(a, b), "|": X.bor(a, b), "^": X.bnot(X.bool_eq(a, b))}[op]
        if isinstance(a, Bool):
            a = X.ifnum(a, ONE, ZERO)
        if isinstance(b, Bool):
            b = X.ifnum(b, ONE, ZERO)
        if isinstance(a, Num) and isinstance(b, Num):
            try:
                if op == "+":
                    return a + b
                if op == "-":
                    return a - b
                if op == "*":
                    return a * b
                if op == "/":
                    return X.truediv(a, b)
                if op == "//":
                    return X.floordiv(a, b)
                if op == "%":
                    return X.mod(a, b)
                if op == "**":
                    return X.power(a, b)
            except (ZeroDivisionError, OverflowError, TypeError):
                return Unknown(f"arithmetic {op}")
            return Unknown(f"operator {op} on numbers")
        if isinstance(a, tuple) and isinstance(b, tuple) and op == "+":
            return a + b
        if isinstance(a, ListV) and isinstance(b, ListV) and op == "+":
            return ListV(a.items + b.items)
        if isinstance(b, (tuple, ListV)) and isinstance(a, Num) and op == "*":
            a, b = b, a
        if isinstance(a, (tuple, ListV)) and isinstance(b, Num) and op == "*":
            n = b.const_value()
            items = a if isinstance(a, tuple) else a.items
            if isinstance(n, int) and 0 <= n <= 4 * MAX_UNROLL:
                return items * n if isinstance(a, tuple) else ListV(list(items) * n)
            if len(items) == 1:
                return Repeated(items[0], b)
        if isinstance(a, str) and isinstance(b, str) and op == "+":
            return a + b
        if isinstance(a, str) and op == "%":
            return "<formatted>"
        return Unknown(f"operator {op} on {type(a).__name__} and {type(b).__name__}")

    def compare(self, op: str, a: Any, b: Any, node: Any) -> Any:
        if op in ("is", "is not"):
            r = self.is_same(a, b, node)
            return r if op == "is" else X.bnot(r)
        if isinstance(a, Phi) or isinstance(b, Phi):
            res = self.on_phi(a, lambda x: self.on_phi(b, lambda y: self.compare(op, x, y, node)))
            if isinstance(res, Phi):
                return self.truth(res, node)
            return res
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            if op in ("in", "not in"):
                return self.opaque_bool(node, "membership test on a tensor")
            return self.brains.tensor_binop(self, op, a, b, node)
        if op in ("in", "not in"):
            r = self.contains(b, a, node)
            return r if op == "in" else X.bnot(r)
        if isinstance(a, Bool) and isinstance(b, Bool):
            if op == "==":
                return X.bool_eq(a, b)
            if op == "!=":
                return X.bnot(X.bool_eq(a, b))
        if isinstance(a, Bool):
            a = X.ifnum(a, ONE, ZERO)
        if isinstance(b, Bool):
            b = X.ifnum(b, ONE, ZERO)
        if isinstance(a, Num) and isinstance(b, Num):
            return X.cmp(op, a, b)
        if isinstance(a, (str, type(None))) and isinstance(b, (str, type(None))):
            return X.bconst({"==": a == b, "!=": a != b}.get(op, False)) if op in ("==", "!=") else X.bconst(False)
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            return self.opaque_bool(node, "comparison with an unknown value")
        if isinstance(a, tuple) and isinstance(b, tuple) and op in ("==", "!="):
            if len(a) != len(b):
                return X.bconst(op == "!=")
            parts = [self.compare("==", x, y, node) for x, y in zip(a, b)]
            parts = [p if isinstance(p, Bool) else self.opaque_bool(node, "tuple comparison") for p in parts]
            eq = X.band(*parts)
            return eq if op == "==" else X.bnot(eq)
        if op == "==":
            return X.bconst(a is b or (type(a) is type(b) and _plain_eq(a, b)))
        if op == "!=":
            return X.bconst(not (a is b or (type(a) is type(b) and _plain_eq(a, b))))
        return self.opaque_bool(node, f"comparison {op} of {type(a).__name__}")

    def is_same(self, a: Any, b: Any, node: Any) -> Bool:
        if isinstance(a, Phi):
            return X.ifbool(a.cond, self.is_same(a.a, b, node), self.is_same(a.b, b, node))
        if isinstance(b, Phi):
            return X.ifbool(b.cond, self.is_same(a, b.a, node), self.is_same(a, b.b, node))
        if b is None:
            if a is None:
                return TRUE
            if isinstance(a, Unknown):
                return self.opaque_bool(node, f"whether {a.reason} is None")
            return FALSE
        if a is None:
            return self.is_same(b, a, node)
        if isinstance(a, Bool) and isinstance(b, Bool):
            return X.bool_eq(a, b)
        if a is b:
            return TRUE
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            return self.opaque_bool(node, "identity of an unknown value")
        if isinstance(a, External) and isinstance(b, External):
            return X.bconst(a.name == b.name)
        if isinstance(a, (str, ClassV)) or isinstance(b, (str, ClassV)):
            return X.bconst(a == b)
        return FALSE

    def contains(self, container: Any, item: Any, node: Any) -> Bool:
        if isinstance(container, Phi):
            return X.ifbool(container.cond, self.contains(container.a, item, node), self.contains(container.b, item, node))
        if isinstance(item, Phi):
            return X.ifbool(item.cond, self.contains(container, item.a, node), self.contains(container, item.b, node))
        if isinstance(container, DictV):
            key = _hashable(item)
            if key in container.items:
                return TRUE
            if isinstance(key, (str, int)) or key is None:
                return FALSE
            return self.opaque_bool(node, "membership of an unknown key")
        if isinstance(container, ObjectV) and isinstance(item, str):
            return X.bconst(item in container.attrs)
        if isinstance(container, (tuple, ListV)):
            items = container if isinstance(container, tuple) else container.items
            result = FALSE
            for x in items:
                r = self.compare("==", item, x, node)
                if not isinstance(r, Bool):
                    return self.opaque_bool(node, "membership test")
                result = X.bor(result, r)
            return result
        if isinstance(container, str) and isinstance(item, str):
            return X.bconst(item in container)
        if isinstance(container, External):
            return FALSE
        return self.opaque_bool(node, f"membership in {type(container).__name__}")

    # ------------------------------------------------------------------ attributes and items

    def getattr(self, obj: Any, name: str, node: Any) -> Any:
        if isinstance(obj, Phi):
            return self.on_phi(obj, lambda o: self.getattr(o, name, node))
        if obj is None:
            raise DeadPath()  # AttributeError on None
        if isinstance(obj, ModRef):
            return self.module_attr(obj, name, node)
        if isinstance(obj, ConfigV):
            return obj.model.get(self, name, node)
        if isinstance(obj, Tensor):
            return self.brains.tensor_attr(self, obj, name, node)
        if isinstance(obj, External):
            return self.brains.external_attr(self, obj, name)
        if isinstance(obj, ModuleNS):
            self.touched_modules.add(obj.pm.name)
            sub = f"{obj.pm.name}.{name}"
            if self.tree.has_module(sub) and name not in module_symbols(obj.pm):
                return self.import_module(sub)
            return self.global_value(obj.pm, name, node)
        if isinstance(obj, ObjectV):
            if name in obj.attrs:
                return obj.attrs[name]
            if isinstance(obj.cls, ClassV):
                attr = self.class_attr(obj.cls, name)
                if attr is not None:
                    return self.bind_attr(attr, obj, node)
            brain = self.brains.object_attr(self, obj, name, node)
            if brain is not None:
                return brain
            return Unknown(f"attribute {name} of {getattr(obj.cls, 'qualname', obj.kind)}")
        if isinstance(obj, ClassV):
            attr = self.class_attr(obj, name)
            if attr is None:
                return Unknown(f"attribute {name} of class {obj.qualname}")
            if isinstance(attr, _ClassMethod):
                return FunctionV(attr.fv.node, attr.fv.module, attr.fv.qualname, bound=obj, owner_class=attr.fv.owner_class)
            if isinstance(attr, _Property):
                return attr.fv
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
            if attr.is_static:
                return attr
            return FunctionV(attr.node, attr.module, attr.qualname, attr.closure, receiver, attr.owner_class)
        if isinstance(attr, _Property):
            fv = attr.fv
            return self.run_function(FunctionV(fv.node, fv.module, fv.qualname, None, receiver, fv.owner_class), [], {}, node)
        if isinstance(attr, _ClassMethod):
            fv = attr.fv
            return FunctionV(fv.node, fv.module, fv.qualname, None, attr.cls, fv.owner_class)
        if isinstance(attr, BoundMethod) and attr.receiver is None:
            return BoundMethod(receiver, attr.name)
        from lm_predictor.suggest.brains.transformers_lib import BrainFunc

        if isinstance(attr, BrainFunc) and attr.bound is None:
            return BrainFunc(attr.name, attr.fn, receiver)
        return attr

    def instance_class(self, inst: Any) -> ClassV | None:
        if isinstance(inst, ModRef) and isinstance(inst.inst.template, Template):
            return inst.inst.template.cls
        if isinstance(inst, ObjectV) and isinstance(inst.cls, ClassV):
            return inst.cls
        return None

    def module_attr(self, ref: ModRef, name: str, node: Any) -> Any:
        tmpl = ref.inst.template
        if isinstance(tmpl, TorchModule):
            return self.brains.torch_module_attr(self, ref, name, node)
        if name in tmpl.attrs:
            return self.view(tmpl.attrs[name], ref)
        attr = self.class_attr(tmpl.cls, name)
        if attr is not None:
            return self.bind_attr(attr, ref, node)
        brain = self.brains.module_attr_default(self, ref, name, node)
        if brain is not None:
            return brain
        return Unknown(f"attribute {name} of {tmpl.qualname}")

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
            return self.on_phi(index, lambda i: self.getitem(obj, i, node))
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
                if c is None and items and all(_same(items[0], x) for x in items[1:]):
                    return items[0]
                if c is None and items and all(isinstance(x, (str, type(None))) or (isinstance(x, Num) and x.is_const()) for x in items):
                    # a concrete list read at a symbolic index (a layer's type): a chain of conditions
                    result = items[-1]
                    for i in range(len(items) - 2, -1, -1):
                        if _same(items[i], result):
                            continue
                        cond = X.bor(*(X.cmp("==", index, j) for j in range(len(items)) if _same(items[j], items[i])))
                        result = make_phi(cond, items[i], result)
                    return result
                return Unknown("index out of range or symbolic")
            if isinstance(index, _Slice):
                bounds = [None if p is None else (p.const_value() if isinstance(p, Num) else "x") for p in (index.start, index.stop, index.step)]
                if all(b is None or isinstance(b, int) for b in bounds):
                    sub = items[slice(*bounds)]
                    return tuple(sub) if isinstance(obj, tuple) else ListV(list(sub))
                return Unknown("symbolic slice of a sequence")
            return Unknown("sequence index")
        if isinstance(obj, Repeated):
            if isinstance(index, _Slice):
                return self.brains.slice_repeated(self, obj, index, node)
            if obj.index and isinstance(index, Num):
                return translate(obj.elem, {obj.index: index}, None)
            return obj.elem
        if isinstance(obj, DictV):
            key = _hashable(index)
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
            if isinstance(index, _Slice):
                present = tuple(v for v in obj.fields.values() if v is not None)
                return self.getitem(present, index, node)
            return Unknown("record index")
        if isinstance(obj, External):
            return self.brains.external_getitem(self, obj, index, node)
        if isinstance(obj, ModRef):
            return self.brains.module_getitem(self, obj, index, node)
        return self.brains.value_getitem(self, obj, index, node)

    # ------------------------------------------------------------------ calls

    def call(self, callee: Any, args: list, kwargs: dict, node: Any, hint: str | None = None) -> Any:
        if isinstance(callee, Phi):
            return self.on_phi(callee, lambda c: self.call(c, args, kwargs, node, hint))
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
        if isinstance(callee, _Property):
            return Unknown("property call")
        if callee is None:
            raise DeadPath()
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
        if fv.bound is not None and not fv.is_static:
            args = [fv.bound] + list(args)
        local = self.bind_params(fnode, args, kwargs, fv)
        frame = Frame(local, fv.module, fv.qualname, args[0] if args else None, fv.owner_class, fv.closure, len(self.assume))
        self.depth += 1
        saved_loc = self.current_loc
        try:
            if isinstance(fnode, nodes.Lambda):
                return self.eval(fnode.body, frame)
            flow = self.exec_block(fnode.body, frame)
        finally:
            self.depth -= 1
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

    # ------------------------------------------------------------------ module instances

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

    def instantiate_module(self, cls: ClassV, args: list, kwargs: dict, node: Any) -> ModRef:
        init = self.class_attr(cls, "__init__")
        from lm_predictor.suggest.brains.transformers_lib import BrainFunc

        if not isinstance(init, (FunctionV, BrainFunc)):
            init = None
        hints = _param_names(init.node)[1:] if isinstance(init, FunctionV) else self.brains.init_hints(init)
        binding: dict = {}
        namer = _Namer(set(), prefer_hint=True)
        loc_args = [self.localize(v, _hint(hints, i), binding, namer) for i, v in enumerate(args)]
        loc_kwargs = {k: self.localize(v, k, binding, namer) for k, v in kwargs.items()}
        sig = signature((loc_args, loc_kwargs), namer.order)
        key = (cls.qualname, sig)
        template = self.templates.get(key)
        if template is not None:
            binding = _remap(binding, namer.order, template.names)
        if template is None:
            template = Template(cls, cls.qualname, sig, _scope_for(cls.qualname, binding, namer, loc_args, loc_kwargs))
            template.variant = self._next_variant(cls.qualname)
            self.templates[key] = template
            template.binding_info = {k: _param_info_for(k, v, namer.docs.get(k, "")) for k, v in binding.items()}
            template.scope.params.update(template.binding_info)
            template.first_binding = dict(binding)
            template.names = list(namer.order)
            template.caller = self.recorder.template if self.recorder is not None else None
            template.caller_draft = self.recorder.draft if self.recorder is not None else None
            self.run_init(template, init, loc_args, loc_kwargs, node)
        inst = Instance(template, binding)
        return ModRef(inst, binding, "")

    def _next_variant(self, qualname: str) -> int:
        n = self.variants.get(qualname, 0) + 1
        self.variants[qualname] = n
        return n

    def run_init(self, template: Template, init: Any, args: list, kwargs: dict, node: Any) -> None:
        self_ref = ModRef(Instance(template, {}), {}, "")
        saved = (self.recorder, self.assume, self.mults, self.in_init, self.facts)
        self.recorder = Recorder(template=template)
        self.assume, self.mults, self.in_init, self.facts = [], [], template, []
        self.init_depth = 0
        try:
            try:
                if isinstance(init, FunctionV):
                    self.run_function(FunctionV(init.node, init.module, init.qualname, None, self_ref, init.owner_class), args, kwargs, node)
                elif init is not None:
                    init.fn(self, self_ref, args, kwargs, node)
            except DeadPath:
                where = template.cls.node if template.cls is not None else None
                template.param_terms.append(Term(TRUE, ONE, self.unresolved("A103", where, f"{template.qualname}.__init__ raises on every path the analysis followed")))
            self.brains.after_init(self, template, self_ref)
            self.register_children(template)
        finally:
            self.recorder, self.assume, self.mults, self.in_init, self.facts = saved

    def register_children(self, template: Template) -> None:
        """param_count terms: own nn.Parameters, then each submodule (first owner of a shared one)."""
        seen: set = set()
        for attr, value in template.attrs.items():
            self._register(template, attr, value, ONE, TRUE, seen)
        for out_path, in_path, tie, numel in template.tied:
            self.apply_tie(template, out_path, in_path, tie)

    def apply_tie(self, template: Template, out_path: str, in_path: str, tie: Bool) -> None:
        """The output embedding's weight is the input embedding's when `tie`: the parameter count
        of the (possibly nested) output module drops its weight; a bias it has stays."""
        owner = template
        segments = out_path.split(".")
        for seg in segments[:-1]:
            value = owner.attrs.get(seg)
            if not isinstance(value, ModRef) or not isinstance(value.inst.template, Template):
                self.report("A153", template.cls.node if template.cls else None, f"tied output embedding {out_path}: cannot follow {seg}")
                return
            owner = value.inst.template
        last = segments[-1]
        for i, term in enumerate(owner.param_terms):
            atom = term.expr.single_atom()
            if isinstance(atom, X.Op) and atom.kind == "call" and atom.args[0] == last and isinstance(atom.args[1], str):
                kwargs = dict(atom.args[2])
                if kwargs.get("bias") == FALSE:
                    tied = ZERO
                elif "in_features" in kwargs:
                    tied = X.call(last, atom.args[1], {**kwargs, "in_features": ZERO})  # the bias alone
                else:
                    return
                owner.param_terms[i] = Term(term.guard, term.mult, X.ifnum(tie, tied, term.expr), f"{out_path} tied to {in_path}")
                return

    def _register(self, template: Template, attr: str, value: Any, mult: Num, guard: Bool, seen: set) -> None:
        if isinstance(value, Phi):
            self._register(template, attr, value.a, mult, X.band(guard, value.cond), seen)
            self._register(template, attr, value.b, mult, X.band(guard, X.bnot(value.cond)), seen)
            return
        if isinstance(value, Tensor) and value.param:
            numel = ONE
            for d in value.shape or ():
                numel = numel * d
            if value.shape is None:
                numel = self.unresolved("A140", None, f"parameter {attr} of {template.qualname} has an unknown shape")
            template.param_terms.append(Term(guard, mult, numel, f"parameter {attr}"))
            return
        if isinstance(value, ModRef):
            if value.path != attr or id(value.inst) in seen:
                return
            seen.add(id(value.inst))
            template.children.append((attr, value))
            term = self.param_call(value, attr)
            if term is not None:
                template.param_terms.append(Term(guard, mult * (value.count or ONE), term))
            return
        if isinstance(value, Repeated):
            self._register(template, attr, value.elem, mult * value.count, guard, seen)
            return
        if isinstance(value, ListV):
            if value.rep is not None:
                self._register(template, attr, value.rep, mult, guard, seen)
                return
            for item in value.items:
                self._register(template, attr, item, mult, guard, seen)
            return
        if isinstance(value, DictV):
            for key, item in value.items.items():
                if isinstance(item, ModRef) and item.path == f"{attr}.{key}":
                    self._register(template, item.path, item, mult, guard, seen)
                else:
                    self._register(template, attr, item, mult, guard, seen)

    def param_call(self, ref: ModRef, label: str) -> Num | None:
        tmpl = ref.inst.template
        if isinstance(tmpl, TorchModule):
            return self.brains.torch_module_params(self, ref, label)
        return X.call(label, RuleRef(tmpl), dict(ref.binding), forward_all=True)

    def call_module(self, ref: ModRef, args: list, kwargs: dict, node: Any, hint: str | None = None, root: bool = False) -> Any:
        tmpl = ref.inst.template
        if isinstance(tmpl, TorchModule):
            return self.brains.call_torch_module(self, ref, args, kwargs, node)
        forward = self.class_attr(tmpl.cls, "forward")
        from lm_predictor.suggest.brains.transformers_lib import BrainFunc

        if isinstance(forward, BrainFunc) and forward.name.endswith(".forward"):
            forward = FunctionV(None, None, forward.name, owner_class=forward)
        if not isinstance(forward, FunctionV):
            brain = self.brains.module_call_default(self, ref, args, kwargs, node)
            if brain is not NotImplemented:
                return brain
            return Unknown(f"{tmpl.qualname} has no forward()")
        if ref.path == "" and self.recorder is not None and self.recorder.template is tmpl and forward.node is not None:
            # a module calling itself through __call__ of another method: run inline
            return self.run_function(FunctionV(forward.node, forward.module, forward.qualname, None, ref, forward.owner_class), args, kwargs, node)
        hints = _param_names(forward.node)[1:] if forward.node is not None else ["input"]
        fbind: dict = {}
        namer = _Namer({k for k in tmpl.scope.params}, dedupe=True)
        if root:  # the model itself: its inputs are the workload parameters, by name
            loc_args, loc_kwargs = list(args), dict(kwargs)
        else:
            loc_args = [self.localize(v, _hint(hints, i), fbind, namer) for i, v in enumerate(args)]
            loc_kwargs = {k: self.localize(v, k, fbind, namer) for k, v in kwargs.items()}
        sig = signature((loc_args, loc_kwargs), namer.order)
        draft = tmpl.rules.get(sig)
        if draft is not None:
            fbind = _remap(fbind, namer.order, draft.names)
        if draft is None:
            draft = RuleDraft(tmpl.qualname, tmpl, sig)
            draft.variant = tmpl.variant if not tmpl.rules else self._next_variant(tmpl.qualname)
            draft.fwd_params = {k: _param_info_for(k, v, namer.docs.get(k, "")) for k, v in fbind.items()}
            draft.first_binding = dict(ref.binding)
            draft.first_binding.update(fbind)
            draft.caller = self.recorder.draft if self.recorder is not None else None
            draft.names = list(namer.order)
            tmpl.rules[sig] = draft
            self.drafts.append(draft)
            self.run_forward(draft, forward, loc_args, loc_kwargs, node)
        draft.called = True
        mapping = dict(ref.binding)
        mapping.update(fbind)
        label = ref.path or (hint or tmpl.cls.name.lower())
        if self.recorder is not None and ref.path == "":
            label = self.recorder.label(label, ref.inst)
        term = X.call(label, RuleRef(draft), mapping, forward_all=True)
        self.add_cost("flops", term, ref.count or ONE)
        if draft.kv_terms or draft.has_kv:
            self.add_cost("kv_cache_bytes", term, ref.count or ONE)
        return translate(draft.ret, mapping, None)

    def run_forward(self, draft: RuleDraft, forward: FunctionV, args: list, kwargs: dict, node: Any) -> None:
        self_ref = ModRef(Instance(draft.template, {}), {}, "")
        saved = (self.recorder, self.assume, self.mults, self.in_init, self.facts)
        self.recorder = Recorder(draft=draft, template=None)
        self.recorder.reserved = set(draft.template.attrs)
        self.assume, self.mults, self.in_init, self.facts = [], [], None, []
        try:
            if False:
                pass
            elif forward.node is None:  # a torch base class's forward (brain)
                draft.ret = forward.owner_class.fn(self, self_ref, args, kwargs, node)
            else:
                draft.ret = self.run_function(FunctionV(forward.node, forward.module, forward.qualname, None, self_ref, forward.owner_class), args, kwargs, node)
        except DeadPath:
            draft.ret = Unknown("forward() raises on every path the analysis followed")
            draft.flops_terms.append(Term(TRUE, ONE, self.unresolved("A102", forward.node, f"{draft.qualname}.forward raises on every path the analysis followed")))
        finally:
            self.recorder, self.assume, self.mults, self.in_init, self.facts = saved

    def localize(self, value: Any, hint: str, binding: dict, namer: "_Namer") -> Any:
        """The callee's view of a caller value: its symbolic numbers become callee parameters."""
        if isinstance(value, Num):
            if value.is_const():
                return value
            if namer.dedupe and ("n", value) in namer.seen:
                return Num.sym(namer.seen[("n", value)])
            name = value.sym_name()
            use_caller = name and not name.startswith(("#", "?")) and not (namer.prefer_hint and not hint.startswith("arg"))
            new = namer.fresh("@" + (name.lstrip("@") if use_caller else hint))
            namer.seen[("n", value)] = new
            namer.docs[new] = hint
            binding[new] = value
            if not X._integral(value):
                X.FLOATS.add(new)
            sign = X.num_sign(value)
            if sign == "pos":
                X.POSITIVE.add(new)
            elif sign == "nonneg":
                X.NONNEG.add(new)
            return Num.sym(new)
        if isinstance(value, Bool):
            if X.bool_value(value) is not None:
                return value
            if namer.dedupe and value.kind == "cmp":  # past_len > 0 stays a comparison of the callee's names
                op, a, b = value.args
                return X.cmp(op, self.localize(a, hint + "_lhs", binding, namer), self.localize(b, hint + "_rhs", binding, namer))
            if namer.dedupe and ("b", value) in namer.seen:
                return X.bsym(namer.seen[("b", value)])
            base = value.args[0].lstrip("@") if value.kind == "sym" and not value.args[0].startswith("?") else hint
            new = namer.fresh("@" + base)
            namer.seen[("b", value)] = new
            namer.docs[new] = hint
            binding[new] = value
            return X.bsym(new)
        if isinstance(value, Tensor):
            if value.shape is None:
                return value
            dims = tuple(self.localize(d, f"{hint}_{i}", binding, namer) for i, d in enumerate(value.shape))
            return Tensor(dims, value.dtype, value.why, value.param)
        if isinstance(value, tuple):
            return tuple(self.localize(v, f"{hint}{i}", binding, namer) for i, v in enumerate(value))
        if isinstance(value, ListV):
            return ListV([self.localize(v, f"{hint}{i}", binding, namer) for i, v in enumerate(value.items)])
        if isinstance(value, DictV):
            return DictV({k: self.localize(v, f"{hint}_{k}" if isinstance(k, str) else hint, binding, namer) for k, v in value.items.items()})
        if isinstance(value, Record):
            return Record(value.class_name, {k: self.localize(v, k, binding, namer) for k, v in value.fields.items()})
        if isinstance(value, CacheV):
            return CacheV(self.localize(value.past, "past_len", binding, namer), value.layers)
        if isinstance(value, Phi):
            cond = self.localize(value.cond, hint + "_present", binding, namer)
            return Phi(cond, self.localize(value.a, hint, binding, namer), self.localize(value.b, hint, binding, namer))
        if isinstance(value, Repeated):
            return Repeated(self.localize(value.elem, hint, binding, namer), self.localize(value.count, hint + "_count", binding, namer), value.index)
        if isinstance(value, ModRef):
            # a module handed to another module: its own bindings move into the callee
            new_binding = {k: self.localize(v, f"{hint}_{k.lstrip('@')}", binding, namer) for k, v in value.binding.items()}
            return ModRef(value.inst, new_binding, "", value.count)
        return value

    def is_global_param(self, name: str) -> bool:
        return not name.startswith(("@", "#", "?"))


# ---------------------------------------------------------------------------- helpers


@dataclass(eq=False)
class _Lazy:
    thunk: Any


def _force(value: Any) -> Any:
    return value.thunk() if isinstance(value, _Lazy) else value


@dataclass(eq=False)
class _Property:
    fv: FunctionV


@dataclass(eq=False)
class _ClassMethod:
    fv: FunctionV
    cls: Any


@dataclass(frozen=True)
class _Slice:
    start: Any
    stop: Any
    step: Any


@dataclass(eq=False)
class _Range:
    start: Num
    stop: Num
    step: Num

    def length(self) -> Num:
        step = self.step.const_value()
        if step == 1:
            return X.fn("max", self.stop - self.start, ZERO) if not (self.stop - self.start).is_const() else Num.const(max((self.stop - self.start).const_value(), 0))
        if isinstance(step, int) and step > 0:
            return X.fn("ceil_div", self.stop - self.start, self.step)
        return X.fn("ceil_div", self.stop - self.start, self.step)


@dataclass(eq=False)
class _Enumerate:
    inner: Any
    start: int = 0


@dataclass(eq=False)
class _Zip:
    inners: list


class _Namer:
    def __init__(self, taken: set, prefer_hint: bool = False, dedupe: bool = False):
        self.taken = set(taken)
        self.seen: dict = {}
        self.docs: dict = {}
        self.order: list = []
        self.prefer_hint = prefer_hint
        self.dedupe = dedupe  # forward calls: one name per caller value

    def fresh(self, base: str) -> str:
        base = "@" + _ident(base.lstrip("@"))
        name, i = base, 2
        while name in self.taken:
            name = f"{base}_{i}"
            i += 1
        self.taken.add(name)
        self.order.append(name)
        return name


def _remap(binding: dict, new_order: list, old_order: list) -> dict:
    """A binding whose names were allocated for this call, renamed to the memoised analysis's names."""
    rename = dict(zip(new_order, old_order))
    return {rename.get(k, k): v for k, v in binding.items()}


def _ident(text: str) -> str:
    out = "".join(ch if (ch.isalnum() or ch == "_") else "_" for ch in text).strip("_") or "arg"
    return ("p_" + out) if out[0].isdigit() else out


def _param_info_for(name: str, value: Any, doc: str = "") -> ParamInfo:
    if isinstance(value, Bool):
        typ = "bool"
    elif isinstance(value, Num) and X._integral(value):
        typ = "int"
    else:
        typ = "number"
    return ParamInfo(name, "input", typ, doc)


def _scope_for(qualname: str, binding: dict, namer: _Namer, args: list, kwargs: dict):
    from lm_predictor.suggest.scope import Scope

    scope = Scope(qualname)
    for name, value in binding.items():
        scope.params[name] = _param_info_for(name, value)
    scope.reserved = set(namer.taken)
    return scope


def _hint(names: list, i: int) -> str:
    return names[i] if i < len(names) else f"arg{i}"


def _param_names(fnode: Any) -> list:
    a = fnode.args
    return [p.name for p in list(a.posonlyargs or []) + list(a.args or [])]


def _decorator_names(fnode: Any) -> set:
    out = set()
    if fnode.decorators is None:
        return out
    for d in fnode.decorators.nodes:
        if isinstance(d, nodes.Name):
            out.add(d.name)
        elif isinstance(d, nodes.Attribute):
            out.add(d.attrname)
    return out


def _target_hint(target: Any) -> str | None:
    if isinstance(target, nodes.AssignName):
        return target.name
    if isinstance(target, nodes.AssignAttr):
        return target.attrname
    if isinstance(target, (nodes.Tuple, nodes.List)) and target.elts:
        return _target_hint(target.elts[0])
    if isinstance(target, nodes.Starred):
        return _target_hint(target.value)
    return None


def _as_load(target: Any) -> Any:
    """An AugAssign target re-read as an expression."""
    if isinstance(target, nodes.AssignName):
        node = nodes.Name(target.name, target.lineno, target.col_offset, target.parent, end_lineno=None, end_col_offset=None)
        return node
    if isinstance(target, nodes.AssignAttr):
        node = nodes.Attribute(target.attrname, target.lineno, target.col_offset, target.parent, end_lineno=None, end_col_offset=None)
        node.expr = target.expr
        return node
    return target


def _closure(frame: Frame) -> dict:
    merged = dict(frame.closure or {})
    merged.update(frame.locals)
    return merged


def _index_name(item: Any) -> str | None:
    if isinstance(item, Num):
        for atom in item.atoms():
            if isinstance(atom, X.Sym) and atom.name.startswith("#"):
                return atom.name
    if isinstance(item, tuple):
        for x in item:
            found = _index_name(x)
            if found:
                return found
    return None


def _hashable(key: Any) -> Any:
    if isinstance(key, Num):
        c = key.const_value()
        return c if c is not None else key
    if isinstance(key, Bool):
        v = X.bool_value(key)
        return v if v is not None else key
    try:
        hash(key)
        return key
    except TypeError:
        return id(key)


def _plain_eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (Num, Bool, Tensor, str, type(None))) and type(a) is type(b):
        return a == b
    if isinstance(a, ModRef) and isinstance(b, ModRef):
        return a.inst is b.inst and a.binding == b.binding
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, External) and isinstance(b, External):
        return a.name == b.name
    if isinstance(a, FunctionV) and isinstance(b, FunctionV):
        return a.node is b.node and _same(a.bound, b.bound)
    if isinstance(a, ConfigV) and isinstance(b, ConfigV):
        return a.model is b.model
    if isinstance(a, CacheV) and isinstance(b, CacheV):
        return a.past == b.past
    return False


def make_phi(cond: Bool, a: Any, b: Any) -> Any:
    """Merge two values: numbers and same-rank tensors merge dimension-wise."""
    value = X.bool_value(cond)
    if value is not None:
        return a if value else b
    a = _under(a, cond, True)
    b = _under(b, cond, False)
    if _same(a, b):
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
        return Tensor(tuple(X.ifnum(cond, x, y) for x, y in zip(a.shape, b.shape)), a.dtype if a.dtype == b.dtype else "model", "", a.param and b.param)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(make_phi(cond, x, y) for x, y in zip(a, b))
    if isinstance(a, CacheV) and isinstance(b, CacheV):
        return CacheV(X.ifnum(cond, a.past, b.past), a.layers)
    if isinstance(a, Record) and isinstance(b, Record) and a.class_name == b.class_name:
        keys = list(a.fields) + [k for k in b.fields if k not in a.fields]
        return Record(a.class_name, {k: make_phi(cond, a.fields.get(k), b.fields.get(k)) for k in keys})
    if isinstance(a, Phi) and a.cond == cond:
        return make_phi(cond, a.a, b)
    if isinstance(b, Phi) and b.cond == cond:
        return make_phi(cond, a, b.b)
    return Phi(cond, a, b)


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


def replace_count(ref: ModRef, count: Num) -> ModRef:
    return ModRef(ref.inst, ref.binding, ref.path, count if ref.count is None else ref.count * count)


def _with_paths(value: Any, name: str) -> Any:
    if isinstance(value, ModRef):
        if value.path == "":
            value.inst.attr = value.inst.attr or name
            return ModRef(value.inst, value.binding, name, value.count)
        return value
    if isinstance(value, Repeated):
        return Repeated(_with_paths(value.elem, name), value.count, value.index)
    if isinstance(value, ListV):
        out = ListV([_with_paths(v, name) for v in value.items])
        out.rep = _with_paths(value.rep, name) if value.rep is not None else None
        return out
    if isinstance(value, DictV):
        return DictV({k: _with_paths(v, f"{name}.{k}") for k, v in value.items.items()})
    if isinstance(value, Phi):
        return Phi(value.cond, _with_paths(value.a, name), _with_paths(value.b, name))
    return value


def translate(value: Any, mapping: dict, path: str | None) -> Any:
    """A value of one rule's namespace in another's: names substituted, module paths prefixed."""
    if isinstance(value, (Num, Bool)):
        return X.substitute(value, mapping) if mapping else value
    if isinstance(value, Tensor):
        if value.shape is None or not mapping:
            return value
        return Tensor(tuple(X.substitute(d, mapping) for d in value.shape), value.dtype, value.why, value.param)
    if isinstance(value, tuple):
        return tuple(translate(v, mapping, path) for v in value)
    if isinstance(value, ListV):
        return ListV([translate(v, mapping, path) for v in value.items])
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
        return CacheV(X.substitute(value.past, mapping), value.layers)
    return value


def signature(value: Any, order: list | None = None) -> str:
    """A canonical text of a localised argument structure (the memo key of an analysis).

    Parameter names allocated for this call are replaced by their allocation order, so two
    calls of the same shape share an analysis whatever the callers named their values.
    """
    out: list = []
    canon = {}
    for i, name in enumerate(order or []):
        canon[name] = X.bsym(f"p{i}") if False else Num.sym(f"p{i}")
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


def _decide_in(b: Bool, lits: set) -> bool | None:
    if b in lits:
        return True
    if X.bnot(b) in lits:
        return False
    if b.kind == "and":
        parts = [_decide_in(x, lits) for x in b.args]
        if any(p is False for p in parts):
            return False
        if all(p is True for p in parts):
            return True
    if b.kind == "or":
        parts = [_decide_in(x, lits) for x in b.args]
        if any(p is True for p in parts):
            return True
        if all(p is False for p in parts):
            return False
    if b.kind == "not":
        inner = _decide_in(b.args[0], lits)
        return None if inner is None else not inner
    return None


def _simplify_or(fall: Bool, cond: Bool) -> Bool:
    return fall


BUILTIN_NAMES = {
    "len", "int", "float", "bool", "str", "tuple", "list", "dict", "set", "range", "enumerate", "zip", "min", "max",
    "sum", "abs", "isinstance", "issubclass", "getattr", "hasattr", "setattr", "super", "type", "print", "any", "all",
    "map", "filter", "sorted", "reversed", "iter", "next", "round", "divmod", "pow", "callable", "id", "hash", "repr",
    "ValueError", "TypeError", "RuntimeError", "NotImplementedError", "KeyError", "AttributeError", "ImportError",
    "Exception", "object", "property", "staticmethod", "classmethod", "frozenset", "slice", "vars", "format", "ord",
    "chr", "open", "NotImplemented", "Ellipsis", "AssertionError", "IndexError", "StopIteration", "DeprecationWarning",
    "FutureWarning", "UserWarning", "Warning",
}
