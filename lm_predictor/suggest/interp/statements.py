"""Statements: blocks, branches (forked under an assumption), loops, assignment."""

from __future__ import annotations

from typing import Any

from astroid import nodes

from lm_predictor.diagnostics import A_BREAK, A_LOOP_CONDITIONAL, A_LOOP_SHAPE, A_LOOP_UNKNOWN, A_RETURN_IN_LOOP, A_WHILE
from lm_predictor.suggest import expr as X
from lm_predictor.suggest import liveness
from lm_predictor.suggest.expr import FALSE, TRUE, ZERO, Bool, Num
from lm_predictor.suggest.interp.frames import Exit, Flow, Frame
from lm_predictor.suggest.interp.train_arms import apply_receivers, checkpoint_test, training_test
from lm_predictor.suggest.interp.syntax import GRAD_OFF, MAX_UNROLL, TRACE, as_load, closure_of, handler, index_name, repeated_index, target_hint, trace_assigned
from lm_predictor.suggest.pyvalues import ConfigV, Enumerate, Range, Zip, hashable
from lm_predictor.suggest.resolve import absolute_module
from lm_predictor.suggest.scope import ModRef, Template, TorchModule
from lm_predictor.suggest.valueops import make_phi, same_value, translate, with_paths
from lm_predictor.suggest.values import TRAINING, UNDEF, ClassV, DictV, FunctionV, ListV, ObjectV, Phi, Record, Repeated, Tensor, Unknown


class StatementsMixin:
    """Statements: blocks, branches (forked under an assumption), loops, assignment."""

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
        """Run one statement through its `exec_<NodeType>` method; statements without one do nothing."""
        self.current_loc = self.loc(stmt)
        tracing = TRACE and TRACE in frame.func
        if tracing:
            print(f"trace {frame.func}:{stmt.lineno} {type(stmt).__name__}")
        method = handler(self, "exec_", stmt)
        result = method(stmt, frame) if method is not None else None
        if tracing:
            trace_assigned(stmt, frame)
        return result

    def eval_hinted(self, value: Any, target: Any, frame: Frame) -> Any:
        """Evaluate an assigned value with the target's name as the label hint of the ops it records."""
        self.label_hint = target_hint(target)
        try:
            return self.eval(value, frame)
        finally:
            self.label_hint = None

    def exec_Assign(self, stmt: nodes.Assign, frame: Frame) -> None:
        value = self.eval_hinted(stmt.value, stmt.targets[0], frame)
        for target in stmt.targets:
            self.assign(target, value, frame)

    def exec_AnnAssign(self, stmt: nodes.AnnAssign, frame: Frame) -> None:
        if stmt.value is not None:
            self.assign(stmt.target, self.eval_hinted(stmt.value, stmt.target, frame), frame)

    def exec_AugAssign(self, stmt: nodes.AugAssign, frame: Frame) -> None:
        self.label_hint = target_hint(stmt.target)
        try:
            current = self.eval(as_load(stmt.target), frame)
            value = self.binop(stmt.op.rstrip("="), current, self.eval(stmt.value, frame), stmt)
        finally:
            self.label_hint = None
        self.assign(stmt.target, value, frame)

    def exec_Expr(self, stmt: nodes.Expr, frame: Frame) -> None:
        value = self.eval(stmt.value, frame)
        call = stmt.value
        if (isinstance(call, nodes.Call) and isinstance(call.func, nodes.Attribute) and call.func.attrname.endswith("_")
                and isinstance(call.func.expr, nodes.Name) and isinstance(value, Tensor)):
            frame.locals[call.func.expr.name] = value  # an in-place op (x.scatter_(...)) updates x

    def exec_Assert(self, stmt: nodes.Assert, frame: Frame) -> None:
        """An assert's test runs (its tensor ops move bytes: XLM's `assert lengths.max().item() <= slen`); a test
        without a call computes nothing and is skipped."""
        if any(isinstance(n, nodes.Call) for n in stmt.test.nodes_of_class(nodes.Call)):
            self.eval(stmt.test, frame)

    def exec_Return(self, stmt: nodes.Return, frame: Frame) -> Flow:
        value = self.eval(stmt.value, frame) if stmt.value is not None else None
        return Flow([Exit("return", self.guard(frame.entry), value)], False, FALSE)

    def exec_Raise(self, stmt: nodes.Raise, frame: Frame) -> Flow:
        return Flow([], False, FALSE)

    def exec_With(self, stmt: nodes.With, frame: Frame) -> Flow:
        off = 0
        for item, var in stmt.items:
            value = self.eval(item, frame)
            if self.brains.grad_off_context(self, value, GRAD_OFF):
                off += 1  # `with torch.no_grad():` parameters read inside get no gradient
            if var is not None:
                self.assign(var, value, frame)
        self.grad_off += off
        try:
            return self.exec_block(stmt.body, frame)
        finally:
            self.grad_off -= off

    def exec_Try(self, stmt: nodes.Try, frame: Frame) -> Flow:
        flow = self.exec_block(stmt.body, frame)
        if flow.falls and stmt.orelse:
            more = self.exec_block(stmt.orelse, frame)
            flow = Flow(flow.exits + more.exits, more.falls, X.band(flow.cond, more.cond))
        if getattr(stmt, "finalbody", None):
            self.exec_block(stmt.finalbody, frame)
        return flow

    def exec_FunctionDef(self, stmt: nodes.FunctionDef, frame: Frame) -> None:
        frame.locals[stmt.name] = FunctionV(stmt, frame.pm, f"{frame.func}.{stmt.name}", closure=closure_of(frame))

    def exec_ClassDef(self, stmt: nodes.ClassDef, frame: Frame) -> None:
        frame.locals[stmt.name] = ClassV(stmt, frame.pm, f"{frame.func}.{stmt.name}")

    def exec_ImportFrom(self, stmt: nodes.ImportFrom, frame: Frame) -> None:
        target = absolute_module(frame.pm, stmt)
        for name, asname in stmt.names:
            if name != "*":
                frame.locals[asname or name] = self.import_name(target, name)

    def exec_Import(self, stmt: nodes.Import, frame: Frame) -> None:
        for name, asname in stmt.names:
            frame.locals[asname or name.split(".")[0]] = self.import_module(name if asname else name.split(".")[0])

    def exec_Break(self, stmt: nodes.Break, frame: Frame) -> Flow:
        return Flow([Exit("break", self.guard(frame.entry), env=dict(frame.locals))], False, FALSE)

    def exec_Continue(self, stmt: nodes.Continue, frame: Frame) -> Flow:
        return Flow([Exit("continue", self.guard(frame.entry), env=dict(frame.locals))], False, FALSE)

    def exec_Delete(self, stmt: nodes.Delete, frame: Frame) -> None:
        for target in stmt.targets:
            if isinstance(target, nodes.DelName):
                frame.locals.pop(target.name, None)

    def exec_If(self, stmt: nodes.If, frame: Frame) -> Flow:
        then_fn, else_fn = (lambda: self.exec_block(stmt.body, frame)), (lambda: self.exec_block(stmt.orelse, frame))
        training = self.trains_through_function(stmt, frame)
        if training is not None:
            return self.fork(training, then_fn, else_fn, frame)
        rest = checkpoint_test(stmt)
        if rest is not None:  # `self.gradient_checkpointing and self.training and ...` (interp/train_arms.py)
            self.checkpoint_asked = True
            if self.checkpointing:  # a derivation for a checkpointed step: the test is its other operands
                cond = X.band(*(self.truth(self.eval(value, frame), value) for value in rest))
                decided = self.decide(cond)
                if decided is None:
                    return self.fork(cond, then_fn, else_fn, frame)
                return then_fn() if decided else else_fn()
        return self.branch(stmt.test, frame, then_fn, else_fn, lambda cond: self.fork(cond, then_fn, else_fn, frame))

    def trains_through_function(self, stmt: nodes.If, frame: Frame) -> Bool | None:
        """The condition `training` (or its negation) where `stmt` tests `self.training` and its training
        arm calls a torch.autograd.Function (interp/train_arms.py); None: read the test as usual."""
        polarity = training_test(stmt.test)
        if polarity is None:
            return None
        for receiver in apply_receivers(stmt.body if polarity else stmt.orelse):
            cls = self.eval(receiver, frame)
            if isinstance(cls, ClassV) and self.brains.is_autograd_function(self, cls):
                return X.bsym(TRAINING) if polarity else X.bnot(X.bsym(TRAINING))
        return None

    def fork(self, cond: Bool, then_fn, else_fn, frame: Frame) -> Flow:
        env0 = frame.locals
        frame.locals = dict(env0)
        fa = self.under(cond, then_fn, Flow([], False, FALSE))
        env_a = frame.locals
        frame.locals = dict(env0)
        fb = self.under(X.bnot(cond), else_fn, Flow([], False, FALSE))
        env_b = frame.locals
        exits = fa.exits + fb.exits
        if fa.falls and fb.falls:
            frame.locals = self.join(env_a, env_b, cond)
            fall = X.bor(X.band(cond, fa.cond), X.band(X.bnot(cond), fb.cond))
            return Flow(exits, True, fall)
        if fa.falls or fb.falls:  # one arm falls through
            live, other, env, arm = (fa, fb, env_a, cond) if fa.falls else (fb, fa, env_b, X.bnot(cond))
            frame.locals = env
            if not other.exits:  # the other arm raises: a fact about valid inputs, not a branch
                if self.learn(arm) == arm:  # exact division known only from an unconditional fact
                    X.note_fact(arm)
                return Flow(exits, True, live.cond)
            return Flow(exits, True, X.band(arm, live.cond))
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

    def exec_While(self, stmt: nodes.While, frame: Frame) -> Flow:
        cond = self.truth(self.eval(stmt.test, frame), stmt.test)
        if self.decide(cond) is False:
            return self.exec_block(stmt.orelse, frame)
        count = self.unresolved(A_WHILE, stmt, "while loop: the number of iterations is not known statically")
        self.mults.append(count)
        try:
            self.exec_block(stmt.body, frame)
        finally:
            self.mults.pop()
        return Flow()

    def exec_For(self, stmt: nodes.For, frame: Frame) -> Flow:
        iterable = self.eval(stmt.iter, frame)
        items = self.iter_items(iterable, stmt.iter)
        if isinstance(items, list):
            exits: list = []
            conds: list = []
            pushed = 0
            self.unrolled.append(len(items))
            try:
                for item in items:
                    self.assign(stmt.target, item, frame)
                    base = self.guard(frame.entry)
                    flow = self.exec_block(stmt.body, frame)
                    returns = [e for e in flow.exits if e.kind == "return"]
                    exits.extend(returns)
                    broke = [e for e in flow.exits if e.kind == "break"]
                    if broke:
                        if len(broke) == 1 and not flow.falls and broke[0].cond == self.guard(frame.entry):
                            frame.locals = broke[0].env
                            return Flow(exits, True, X.band(*conds))
                        self.report(A_BREAK, stmt, "break under a symbolic condition; later iterations are assumed to run")
                    if not flow.falls and not [e for e in flow.exits if e.kind == "continue"]:
                        return Flow(exits, False, FALSE)
                    flow = Flow(flow.exits, True, _next_iteration(flow, base))
                    if flow.cond != TRUE:
                        self.assume.append(flow.cond)
                        conds.append(flow.cond)
                        pushed += 1
                if stmt.orelse:
                    more = self.exec_block(stmt.orelse, frame)
                    exits.extend(more.exits)
                return Flow(exits, True, X.band(*conds))
            finally:
                self.unrolled.pop()
                if pushed:
                    del self.assume[len(self.assume) - pushed:]
        # symbolic loop: run the body once, multiply its costs by the trip count
        count, item = items
        self.assign(stmt.target, item, frame)
        before = dict(frame.locals)
        self.mults.append(count)
        # "items": the layer index of a ModuleList's modules the loop walks (their own layer_idx)
        self.sym_loops.append({"count": count, "index": index_name(item), "items": repeated_index(iterable), "start": len(self.assume), "appends": {}})
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
                        lst.rep = with_paths(lst.rep, attr_name)
        self.brains.saved_after_loop(self, loop, before, frame.locals)
        for node, guards in loop.get("nexts", {}).values():
            # next() at the loop index is right only if each iteration takes exactly one item
            once = X.bor(*guards) == TRUE and all(X.band(g, h) == FALSE for k, g in enumerate(guards) for h in guards[k + 1:])
            if not once:
                self.report(A_LOOP_UNKNOWN, node, "next() is not called exactly once per iteration; the items taken are not known")
        if any(e.kind == "return" for e in flow.exits):
            self.report(A_RETURN_IN_LOOP, stmt, "return inside a repeated loop body; treated as if the loop ran to the end")
        for name, old in before.items():
            new = frame.locals.get(name)
            if isinstance(old, Tensor) and isinstance(new, Tensor) and old.shape != new.shape:
                self.report(A_LOOP_SHAPE, stmt, f"loop-carried tensor {name!r} changes shape between iterations")
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
            if isinstance(a, tuple) and isinstance(b, tuple) and isinstance(a[1], Num) and isinstance(b[1], Num):
                ia, ib = index_name(a[1]), index_name(b[1])
                if ia and ib and ia != ib and same_value(a[1], translate(b[1], {ib: Num.sym(ia)}, None)):
                    # range(n if c else m): one loop of either count, at one index
                    count = X.ifnum(value.cond, a[0], b[0])
                    bound_index(Num.sym(ia), count)
                    return (count, a[1])
            if isinstance(a, tuple) and isinstance(b, tuple) and same_value(a[1], b[1]):
                return (X.ifnum(value.cond, a[0], b[0]), a[1])
            if isinstance(a, list) and isinstance(b, list) and not a:
                return (X.ifnum(value.cond, ZERO, len(b)), b[0]) if len(set(map(id, b))) == 1 else b
            if isinstance(b, list) and not b and isinstance(a, tuple):
                return (X.ifnum(value.cond, a[0], ZERO), a[1])
            if isinstance(a, list) and not a and isinstance(b, tuple):
                return (X.ifnum(value.cond, ZERO, b[0]), b[1])
            return (self.unresolved(A_LOOP_CONDITIONAL, node, "loop over a value that depends on a condition"), Unknown("loop item"))
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
        if isinstance(value, Range):
            n = value.length()
            c = n.const_value()
            if c is not None and isinstance(c, int) and 0 <= c <= MAX_UNROLL:
                return [value.start + value.step * i for i in range(c)]
            idx = X.Num.sym(f"#i{next(self._index_ids)}")
            bound_index(idx, n)
            return (n, value.start + value.step * idx)
        if isinstance(value, Enumerate):
            inner = self.iter_items(value.inner, node)
            if isinstance(inner, list):
                return [(Num.const(i + value.start), v) for i, v in enumerate(inner)]
            rep = value.inner.rep if isinstance(value.inner, ListV) else value.inner
            if isinstance(rep, Repeated) and rep.index and value.start == 0:
                # enumerate(self.layers[:n]) over layers built by [Layer(config, i) for i in range(N)]: the
                # position is the layer's own index (5.x reads config.layer_types[i] at it)
                return (inner[0], (X.Num.sym(rep.index), inner[1]))
            idx = X.Num.sym(f"#i{next(self._index_ids)}")
            bound_index(idx, inner[0])
            own = repeated_index(value.inner)  # the items of a Repeated are read at the new index
            item = translate(inner[1], {own: idx}, None) if own else inner[1]
            return (inner[0], (idx + value.start, item))
        if isinstance(value, Zip):
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
                item = Tensor(value.shape[1:], value.dtype, route=value.route if value.route[:1] == ("expert",) else ())
                if c is not None and isinstance(c, int) and c <= MAX_UNROLL:
                    return [item] * c
                return (n, item)
        if isinstance(value, ModRef):
            got = self.brains.iterate_module(self, value, node)
            if got is not None:
                return got
        if isinstance(value, Unknown):
            return (self.unresolved(A_LOOP_UNKNOWN, node, f"loop over an unknown value ({value.reason})"), Unknown("loop item"))
        return (self.unresolved(A_LOOP_UNKNOWN, node, f"loop over {type(value).__name__}"), Unknown("loop item"))

    def repeated_elem(self, rep: Repeated, node: Any) -> Any:
        return rep.elem

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
            liveness.unpacked(self, value, items)
            for elt, item in zip(elts, items):
                if isinstance(elt, nodes.Starred):
                    self.assign(elt.value, item, frame)
                else:
                    self.assign(elt, item, frame)
        elif isinstance(target, nodes.Subscript):
            obj = self.eval(target.value, frame)
            key = self.eval(target.slice, frame)
            if not isinstance(obj, Tensor):
                liveness.escape(self, value)  # into a container a later read may find
            if isinstance(obj, DictV):
                obj.items[hashable(key)] = value
            elif isinstance(obj, ListV):
                c = key.const_value() if isinstance(key, Num) else None
                if isinstance(c, int) and -len(obj.items) <= c < len(obj.items):
                    obj.items[c] = value
            elif isinstance(obj, Tensor):
                # tensor subscript assignment: index_put_, fill_ or copy_ (no FLOPs), priced or a bytes gap
                self.brains.tensor_setitem(self, obj, key, value, target)
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
        if isinstance(value, (Range, Repeated)):
            items = self.iter_items(value, node)
            if isinstance(items, list) and len(items) == n:
                return items
        if isinstance(value, Repeated) and star is None and not value.index and value.count.const_value() is None:
            # `rot, rest = torch.chunk(x, int(1 / partial_rotary_factor))`: the count is n, or the unpacking raises
            self.learn(X.cmp("==", value.count, n))
            return [value.elem] * n
        return [Unknown(f"unpacking {type(value).__name__}")] * n

    def note_buffer(self, obj: Any, name: str | None) -> None:
        """`obj.register_buffer(name, ...)` in the __init__ being run: the template keeps the name
        (None: a name the analysis cannot read, so the module's buffers are unknown)."""
        if isinstance(obj, ModRef) and isinstance(obj.inst.template, Template) and self.in_init is obj.inst.template and obj.path == "":
            if name is not None and not name.isidentifier():  # a placeholder for a name built at run time (f-string)
                name = None
            if name not in obj.inst.template.buffers:
                obj.inst.template.buffers.append(name)
        elif isinstance(self.in_init, Template) and isinstance(obj, ModRef):
            # a buffer registered on another module (falcon_h1's parent gives each layer's mixer its
            # mup_vector): not priced yet, so the buffers of the module being built are unknown
            self.in_init.buffers_known = False

    def set_attr(self, obj: Any, name: str, value: Any, node: Any) -> None:
        if self.in_init is None:
            liveness.escape(self, value)  # written to a module or an object: a later read may find it
        if isinstance(obj, ModRef):
            tmpl = obj.inst.template
            if isinstance(tmpl, Template) and self.in_init is tmpl and obj.path == "":
                if isinstance(value, ModRef) and value.path == "":
                    value = ModRef(value.inst, value.binding, name, value.count)
                    value.inst.attr = value.inst.attr or name
                elif isinstance(value, (Repeated, ListV, DictV, Phi)):
                    value = with_paths(value, name)
                elif isinstance(value, Tensor) and value.buffer:  # `self.x = nn.Buffer(...)`
                    self.note_buffer(obj, name)
                where = self.guard(self.init_depth) if len(self.assume) > self.init_depth else TRUE
                before = tmpl.present.get(name, TRUE if name in tmpl.attrs else FALSE)
                if before != TRUE:  # set under a branch only (llama4's `if use_qk_norm: self.qk_norm = ...`): hasattr is that branch
                    tmpl.present[name] = X.bor(before, where)
                tmpl.attrs[name] = self.guarded_write(tmpl.attrs.get(name), value, self.init_depth)
            elif isinstance(tmpl, TorchModule) and self.in_init is not None and name == "bias" and value is None and "bias" in tmpl.args:
                tmpl.args["bias"] = FALSE  # `self.norm.bias = None`: the parameter is dropped
            elif isinstance(tmpl, TorchModule) and self.in_init is not None and name in ("bias", "weight") and isinstance(value, Tensor) and value.param:
                # `self.decoder.bias = self.bias`: the parameter belongs to its first owner
                # (the module assigning it), so the torch module no longer counts it; the owner's
                # forward need not read it: the child does (it gets a gradient)
                tmpl.args[name + "_shared"] = True
                self.in_init.read_attrs.update(a for a, v in self.in_init.attrs.items() if v is value)
                if name == "bias" and "bias" in tmpl.args:
                    tmpl.args["bias"] = FALSE
            elif isinstance(tmpl, Template) and self.in_init is None:
                self.state_write(obj, name, value)  # module state (interp/module_state.py)
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


def bound_index(idx: Num, count: Any) -> None:
    """The index of a loop of `count` trips lies in [0, count - 1] (expr.bounded_sign reads it)."""
    facts = X.symbol_facts()
    if isinstance(count, Num) and isinstance(facts.upper, dict):
        facts.nonneg.add(idx.sym_name())
        facts.upper[idx.sym_name()] = count - 1


def _next_iteration(flow: Flow, base: Bool) -> Bool:
    """The condition (relative to the iteration's start, whose guard is `base`) under which an
    unrolled loop goes on to its next iteration: the body fell through, or it ran a `continue`
    (5.23 beam's rotary `__init__`: `if rope_params is None: continue` on the first layer type
    had left every later iteration under a false guard, so its buffers were never set)."""
    known = set(base.args) if base.kind == "and" else {base}
    went_on = [X.band(*(c for c in (e.cond.args if e.cond.kind == "and" else (e.cond,)) if c not in known)) for e in flow.exits if e.kind == "continue"]
    return X.bor(flow.cond if flow.falls else FALSE, *went_on)
