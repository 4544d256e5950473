"""Expressions (dispatched by node type) and the operators over abstract values."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

from astroid import nodes

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import FALSE, ONE, TRUE, ZERO, Bool, Num
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.interp.frames import Frame
from lm_predictor.suggest.interp.syntax import MAX_UNROLL, closure_of, handler, index_name, repeated_index
from lm_predictor.suggest.interp.train_arms import training_test
from lm_predictor.suggest.layers import count_where
from lm_predictor.suggest.pyvalues import Lazy, Slice, force, hashable, set_items
from lm_predictor.suggest.valueops import arithmetic_progression, make_phi, plain_eq, translate
from lm_predictor.suggest.values import TRAINING, UNDEF, ClassV, DictV, External, FunctionV, ListV, ObjectV, Phi, Record, Repeated, SuperV, Tensor, Unknown


class ExpressionsMixin:
    """Expressions (dispatched by node type) and the operators over abstract values."""

    def eval(self, node: Any, frame: Frame) -> Any:
        method = handler(self, "eval_", node)
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
        """An f-string whose parts are all known strings or integers is that string (olmo3's
        `setattr(self, f"{layer_type}_inv_freq", ...)` per layer type); otherwise "<f-string>"."""
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, nodes.Const) and isinstance(value.value, str):
                parts.append(value.value)
                continue
            if not isinstance(value, nodes.FormattedValue) or value.format_spec is not None or value.conversion not in (-1, None):
                return "<f-string>"
            part = self.eval(value.value, frame)
            if isinstance(part, Num) and _whole(part.const_value()):
                part = str(int(part.const_value()))
            if not isinstance(part, str) or part == "<f-string>":
                return "<f-string>"
            parts.append(part)
        return "".join(parts)

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
        return ListV(set_items(self.eval_elts(node.elts, frame)))

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
            items[hashable(self.eval(key, frame))] = self.eval(value, frame)
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
                return self.brains.tensor_unary(self, node.op, v, node)
            return Unknown(f"unary {node.op} on {type(v).__name__}")

        return self.on_phi(value, apply)

    def eval_BoolOp(self, node: nodes.BoolOp, frame: Frame) -> Any:
        values = node.values

        def chain(i: int) -> Any:
            value = self.eval(values[i], frame)
            if i == len(values) - 1:
                return value
            t = self.truth(value, values[i])
            short = node.op == "or"  # `or` stops at a true operand, `and` at a false one
            decided = self.decide(t)
            if decided is short:
                return value
            if decided is (not short):
                return chain(i + 1)
            self.assume.append(X.bnot(t) if short else t)  # the next operand runs where this one does not stop
            try:
                rest = chain(i + 1)
            finally:
                self.assume.pop()
            if isinstance(value, Bool) and isinstance(rest, Bool):
                return X.bor(value, rest) if short else X.band(value, rest)
            return make_phi(t, value, rest) if short else make_phi(t, rest, value)

        return chain(0)

    def eval_Compare(self, node: nodes.Compare, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = TRUE
        for op, right_node in node.ops:
            right = self.eval(right_node, frame)
            r = self.compare(op, left, right, node)
            if isinstance(r, Tensor) or isinstance(r, Phi) and len(node.ops) == 1:
                return r
            result = X.band(result, r)
            left = right
        return result

    def eval_IfExp(self, node: nodes.IfExp, frame: Frame) -> Any:
        polarity = training_test(node.test)
        if polarity is not None and (known := self.decide(X.bsym(TRAINING))) is not None:
            # on a path the fact decides (a train step's `use_cache=None`): that arm, whatever it holds
            return self.eval(node.body if known == polarity else node.orelse, frame)
        rate = self.training_rate(node, frame)
        if rate is not None:
            return rate
        then_fn, else_fn = (lambda: self.eval(node.body, frame)), (lambda: self.eval(node.orelse, frame))
        return self.branch(node.test, frame, then_fn, else_fn, lambda cond: self.on_phi(Phi(cond, Lazy(then_fn), Lazy(else_fn)), force))

    def training_rate(self, node: nodes.IfExp, frame: Frame) -> Num | None:
        """`p if self.training else q` (or `q if not self.training else p`) of two numbers: p where the
        workload fact `training` holds (eval --mode train binds it: the dropout rates of a train
        step), else q. Statements that branch on `self.training` keep reading it as False (LayerDrop's
        random layer skip, noise injection: the inference path)."""
        test, negated = node.test, False
        if isinstance(test, nodes.UnaryOp) and test.op == "not":
            test, negated = test.operand, True
        if not (isinstance(test, nodes.Attribute) and test.attrname == "training" and isinstance(test.expr, nodes.Name) and test.expr.name == "self"):
            return None
        train, infer = (node.orelse, node.body) if negated else (node.body, node.orelse)
        if not all(isinstance(n, (nodes.Const, nodes.Attribute, nodes.Name)) for n in (train, infer)):
            return None  # evaluated both ways only where that runs no op
        a, b = self.eval(train, frame), self.eval(infer, frame)
        if not all(isinstance(v, (int, float, Num)) and not isinstance(v, bool) for v in (a, b)):
            return None
        a, b = (v if isinstance(v, Num) else Num.const(v) for v in (a, b))
        return a if a == b else X.ifnum(X.bsym(TRAINING), a, b)

    def branch(self, test: Any, frame: Frame, then_fn: Callable[[], Any], else_fn: Callable[[], Any], both_fn: Callable[[Bool], Any]) -> Any:
        """then_fn() or else_fn() where the assumptions decide `test`; both_fn(condition) where they do not."""
        cond = self.truth(self.eval(test, frame), test)
        decided = self.decide(cond)
        if decided is None:
            return both_fn(cond)
        return then_fn() if decided else else_fn()

    def eval_Subscript(self, node: nodes.Subscript, frame: Frame) -> Any:
        obj = self.eval(node.value, frame)
        index = self.eval(node.slice, frame)
        return self.getitem(obj, index, node)

    def eval_Slice(self, node: nodes.Slice, frame: Frame) -> Any:
        def part(n: Any) -> Any:
            return None if n is None else self.eval(n, frame)

        return Slice(part(node.lower), part(node.upper), part(node.step))

    def eval_Starred(self, node: nodes.Starred, frame: Frame) -> Any:
        return self.eval(node.value, frame)

    def eval_NamedExpr(self, node: Any, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    def eval_Lambda(self, node: nodes.Lambda, frame: Frame) -> Any:
        return FunctionV(node, frame.pm, f"{frame.func}.<lambda>", closure=closure_of(frame))

    def eval_ListComp(self, node: Any, frame: Frame) -> Any:
        return self.comprehension(node, frame, "list")

    def eval_GeneratorExp(self, node: Any, frame: Frame) -> Any:
        return self.comprehension(node, frame, "list")

    def eval_SetComp(self, node: Any, frame: Frame) -> Any:
        result = self.comprehension(node, frame, "list")
        return ListV(set_items(result.items)) if isinstance(result, ListV) else result

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
            iterable = self.eval(gen.iter, inner)
            items = self.iter_items(iterable, gen.iter)
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
                index = repeated_index(iterable) or index_name(item)
                before = len(results)
                # a forward's comprehension runs its body `count` times: its costs are multiplied as a loop's
                # (stablelm's per-head LayerNorms); __init__ builds modules, whose costs the ModuleList counts
                scaled = self.in_init is None
                if scaled:
                    self.mults.append(count)
                try:
                    walk(i + 1)
                finally:
                    if scaled:
                        self.mults.pop()
                produced = results[before:]
                del results[before:]
                elem = produced[0] if produced else Unknown("empty")
                if kind == "dict" and i == len(node.generators) - 1 and isinstance(elem, tuple) and isinstance(elem[0], Num) and elem[0].sym_name() == index:
                    elem = elem[1]  # {i: v for i in range(n)} is read like a list: d[i] is v at i
                fresh = isinstance(elem, Tensor) and not elem.param and not elem.buffer and not any(elem is v for v in frame.locals.values())
                symbolic.append(Repeated(elem, count, index, fresh))

        walk(0)
        if symbolic:
            if len(symbolic) == 1 and not results and isinstance(symbolic[0], Repeated):
                return symbolic[0]
            return Unknown("comprehension with a symbolic length")
        if kind == "dict":
            return DictV({hashable(k): v for k, v in results})
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
        if isinstance(a, ListV) and isinstance(b, ListV) and op == "+" and a.rep is None and b.rep is None:
            return ListV(a.items + b.items)
        if op == "+" and any(isinstance(v, Repeated) or (isinstance(v, ListV) and v.rep is not None) for v in (a, b)):
            joined = self.concatenate(a, b, node)
            if joined is not None:
                return joined
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

    def concatenate(self, a: Any, b: Any, node: Any) -> Repeated | None:
        """`a + b` where a part has a symbolic length (zamba's `["mamba", "mamba", "hybrid"] + [... for i in
        range(n - 3)]`): one Repeated whose item at a fresh index i is a's item i where i < len(a), else
        b's item i - len(a)."""
        parts = []
        for v in (a, b):
            rep = v.rep if isinstance(v, ListV) and v.rep is not None else v
            if isinstance(rep, Repeated):
                parts.append(rep)
            elif isinstance(v, (tuple, ListV)):
                parts.append(list(v if isinstance(v, tuple) else v.items))
            else:
                return None
        idx = Num.sym(f"#i{next(self._index_ids)}")
        counts = [Num.const(len(p)) if isinstance(p, list) else p.count for p in parts]

        def item(part: Any, at: Num) -> Any:
            if isinstance(part, list):
                return self.getitem(ListV(part), at, node)
            return translate(part.elem, {part.index: at}, None) if part.index else part.elem

        first, second = item(parts[0], idx), item(parts[1], idx - counts[0])
        return Repeated(make_phi(X.cmp("<", idx, counts[0]), first, second), counts[0] + counts[1], idx.sym_name())

    def compare(self, op: str, a: Any, b: Any, node: Any) -> Any:
        if op in ("is", "is not"):
            r = self.is_same(a, b, node)
            return r if op == "is" else X.bnot(r)
        if isinstance(a, Phi) or isinstance(b, Phi):
            res = self.on_phi(a, lambda x: self.on_phi(b, lambda y: self.compare(op, x, y, node)))
            if isinstance(res, Phi) and (not _tensor_arms(res) or len(getattr(node, "ops", ())) != 1):
                return self.truth(res, node)
            return res  # a comparison of tensors is a tensor in each arm (XLM's `mask == 0` on its causal or padding mask)
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
            return X.bconst(a is b or (type(a) is type(b) and plain_eq(a, b)))
        if op == "!=":
            return X.bconst(not (a is b or (type(a) is type(b) and plain_eq(a, b))))
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
            key = hashable(item)
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
        rep = container.rep if isinstance(container, ListV) else container
        progression = arithmetic_progression(rep)
        if progression is not None and isinstance(item, Num):
            start, step = progression
            inside = X.band(X.cmp(">=", item, start), X.cmp("<", item, start + step * rep.count))
            if step == ONE:  # `i in list(range(a, b))` (lfm2's default layers)
                return inside
            # `i in list(range(a, b, s))` (llama4's default moe_layers); range() refuses s == 0
            return X.band(inside, X.cmp("==", X.mod(item - start, step), 0))
        if isinstance(rep, Repeated) and rep.index:
            # `"sliding_attention" in config.layer_types`: some layer i < count has that entry
            same = self.compare("==", item, rep.elem, node)
            count = count_where(same, rep.index, rep.count) if isinstance(same, Bool) else None
            if count is not None:
                return X.cmp(">", count, 0)
        return self.opaque_bool(node, f"membership in {type(container).__name__}")


def _whole(value: Any) -> bool:
    """Whether a constant is a whole number that an f-string prints as digits (an int, or a Fraction n/1; not a float)."""
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, Fraction) and value.denominator == 1


def _tensor_arms(v: Phi) -> bool:
    """Whether every arm of a branch-dependent value is a tensor."""
    return all(_tensor_arms(x) if isinstance(x, Phi) else isinstance(x, Tensor) for x in (v.a, v.b))
