"""`<ident>___m_<metric>(p0, ..., pN)`: the fast path for totals.

Parameters positional in declared order (`h_NO` when not given), declared defaults resolved on
entry, rule calls direct Python calls, exact-int arithmetic inline with a bit-size check. It never
reports an error itself: on anything unusual (a non-int where an int was assumed, a size limit, a
missing argument, division by zero) it raises, and the runtime re-runs the evaluation through the
engine, which produces the reference value or diagnostic. So a value it returns is the reference
value.
"""

from __future__ import annotations

import re
from typing import Iterable

from lm_predictor.codegen.emit_base import ARITH_HELPER, COMPARE_HELPER, ROOT_BITS, FunctionEmitter, ModuleState, requirements
from lm_predictor.codegen.literals import CodegenError, Writer, name_literal
from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import BUILTINS
from lm_predictor.limits import MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, ParamSpec, Rule

ARG_BITS = 512
"""Int arguments that might be wider are checked at the call site, so callees can assume this."""

_NATIVE_INT_OPS = ("+", "-", "*", "//", "%")
_NUMERIC = ("int", "float", "num")
_PARAM_TYPE = {"int": "int", "bool": "bool", "float": "num", "number": "num"}


class FastEmitter(FunctionEmitter):
    """Plain Python for totals: typed inline ints, direct calls; raises to hand over to the engine."""

    def __init__(self, module: ModuleState, rule: Rule, metric: str):
        super().__init__(module, rule)
        self.metric = metric
        self.index = {name: i for i, name in enumerate(rule.params)}
        self.resolved: list[int] = []  # params with a declared default, resolved on entry
        self.result_type = "any"
        self.result_bits = MAX_INT_BITS
        # Bit bounds of int operands: an int parameter has at most `param_bits` bits (callers and
        # the backend guarantee it; the runtime checks every link). An operation whose bound stays
        # within MAX_INT_BITS needs no size check; one that may exceed it gets a check.
        self.param_bits = module.param_bounds.get((rule.name, metric), ROOT_BITS)
        self.bounds: dict[str, int] = {}
        for i, spec in enumerate(rule.params.values()):
            if spec.type == "int":
                self.bounds[f"p{i}"] = self.param_bits
        self.m.use("h_Bail", "h_NO")

    def outlined_result(self, out: str, code: str, typ: str) -> None:
        self.bounds[out] = self.bits(code, typ)

    def bits(self, code: str, typ: str) -> int:
        """The bit bound of an int operand (MAX_INT_BITS when not known)."""
        if typ != "int":
            return MAX_INT_BITS
        known = self.bounds.get(code)
        if known is not None:
            return known
        try:
            return int(code.strip("()")).bit_length()
        except ValueError:
            return MAX_INT_BITS

    def bounded(self, w: Writer, code: str, bits: int) -> None:
        """Record `code`'s bound; check it at run time only if it may exceed MAX_INT_BITS."""
        if bits > MAX_INT_BITS:
            self.check_bits(w, code)
            bits = MAX_INT_BITS
        self.bounds[code] = bits

    def env_params(self) -> list[str]:
        return [f"p{i}" for i in range(len(self.rule.params))] + [f"v{i}" for i in self.resolved]

    def bail(self, w: Writer) -> None:
        w.line("raise h_Bail")

    def check_bits(self, w: Writer, code: str) -> None:
        w.line(f"if {code}.bit_length() > {MAX_INT_BITS!r}:")
        with w.block():
            self.bail(w)

    def check_type(self, w: Writer, code: str, expected: str, static: str, maybe_missing: bool = False) -> None:
        """Raise unless `code` fits a parameter of type `expected` (engine check_bindings)."""
        if expected == "int" and static == "int" or expected == "bool" and static == "bool":
            return
        if expected in ("float", "number") and static in _NUMERIC:
            return
        guard = f"{code} is not h_NO and " if maybe_missing else ""
        if expected == "int":
            self.m.use("h_type", "h_int")
            test = f"h_type({code}) is not h_int"
        elif expected == "bool":
            self.m.use("h_type", "h_bool")
            test = f"h_type({code}) is not h_bool"
        else:
            self.m.use("h_isnum")
            test = f"not h_isnum({code})"
        w.line(f"if {guard}{test}:")
        with w.block():
            self.bail(w)

    # parameters and their defaults
    def _default_order(self, names: Iterable[str]) -> tuple[list[str], set[str]]:
        """Declared-default params needed, dependencies first; and those caught in a cycle."""
        order: list[str] = []
        cyclic: set[str] = set()
        state: dict[str, int] = {}

        def deps(name: str) -> list[str]:
            spec = self.rule.params[name]
            assert spec.default is not None
            return params_needing_defaults(self.rule, spec.default.node, self.m.library)

        def visit(name: str, stack: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cyclic.update(stack[stack.index(name):])
                return
            state[name] = 1
            for dep in deps(name):
                visit(dep, stack + [dep])
            state[name] = 2
            order.append(name)

        for name in names:
            visit(name, [name])
        return order, cyclic

    def function(self, name: str, formula: Formula) -> list[str]:
        checks = requirements(self.rule)
        needed = []
        for node in [*(c.node for c in checks), formula.node]:
            needed += [p for p in params_needing_defaults(self.rule, node, self.m.library) if p not in needed]
        order, cyclic = self._default_order(needed)
        w = Writer(1)
        for pname in order:
            i = self.index[pname]
            spec = self.rule.params[pname]
            if pname in cyclic:
                w.line(f"if p{i} is h_NO:")
                with w.block():
                    self.bail(w)
                w.line(f"v{i} = p{i}")
            else:
                w.line(f"if p{i} is h_NO:")
                with w.block():
                    assert spec.default is not None
                    code, typ = self.expr(spec.default.node, w)
                    self.check_type(w, code, spec.type, typ)
                    w.line(f"v{i} = {code}")
                w.line("else:")
                with w.block():
                    w.line(f"v{i} = p{i}")
                if spec.type == "int":
                    self.bounds[f"v{i}"] = max(self.param_bits, self.bits(code, typ))
            if pname in cyclic and spec.type == "int":
                self.bounds[f"v{i}"] = self.param_bits
            self.resolved.append(i)
        for check in checks:  # the engine's requirement check: anything but True hands over
            code, _ = self.expr(check.node, w)
            w.line(f"if {code} is not True:")
            with w.block():
                self.bail(w)
        code, self.result_type = self.expr(formula.node, w)
        self.result_bits = self.bits(code, self.result_type)
        w.line(f"return {code}")
        args = ", ".join(f"p{i}" for i in range(len(self.rule.params)))
        return [f"def {name}({args}):", *w.lines]

    def param_type(self, spec: ParamSpec) -> str:
        return _PARAM_TYPE.get(spec.type, "any")

    def defined(self, node: n.Defined, w: Writer) -> tuple[str, str]:
        if node.name not in self.index:
            return "False", "bool"
        out = self.tmp()
        w.line(f"{out} = p{self.index[node.name]} is not h_NO")
        return out, "bool"

    def param(self, node: n.Param, w: Writer) -> tuple[str, str]:
        spec = self.rule.params.get(node.name)
        if spec is None:
            if node.default is None:
                self.bail(w)  # the engine reports the undefined parameter
                return "h_NO", "any"
            return self.expr(node.default, w)
        i = self.index[node.name]
        typ = self.param_type(spec)
        if spec.default is not None:
            if i not in self.resolved:  # cannot happen: every referenced default is resolved on entry
                raise CodegenError("internal: default not resolved")
            return f"v{i}", typ
        if node.default is None:
            if not spec.required:
                w.line(f"if p{i} is h_NO:")
                with w.block():
                    self.bail(w)
            return f"p{i}", typ
        out = self.tmp()
        w.line(f"if p{i} is not h_NO:")
        with w.block():
            w.line(f"{out} = p{i}")
        w.line("else:")
        with w.block():
            code, other = self.expr(node.default, w)
            w.line(f"{out} = {code}")
        if typ == other == "int":
            self.bounds[out] = max(self.bits(f"p{i}", typ), self.bits(code, other))
        return out, typ if typ == other else ("num" if typ in _NUMERIC and other in _NUMERIC else "any")

    def unary(self, node: n.Unary, w: Writer) -> tuple[str, str]:
        code, typ = self.expr(node.operand, w)
        out = self.tmp()
        if node.op == "not":
            if typ == "bool":
                w.line(f"{out} = not {code}")
            else:
                self.m.use("h_not")
                w.line(f"{out} = h_not({code})")
            return out, "bool"
        if node.op == "+":
            if typ in _NUMERIC:
                return code, typ
            self.m.use("h_pos")
            w.line(f"{out} = h_pos({code})")
            return out, "num"
        if typ == "int":
            w.line(f"{out} = -{code}")
            self.bounds[out] = self.bits(code, typ)  # -x has the bits of x
            return out, "int"
        self.m.use("h_neg")
        w.line(f"{out} = h_neg({code})")
        return out, "num"

    def binary(self, node: n.Binary, w: Writer) -> tuple[str, str]:
        op = node.op
        if op in ("and", "or"):
            left, ltyp = self.expr(node.left, w)
            if ltyp != "bool":
                self.m.use("h_and", "h_or")
                test = self.tmp()
                w.line(f"{test} = {'h_and' if op == 'and' else 'h_or'}({left})")
                left = test
            out = self.tmp()
            w.line(f"if {left}:")
            with w.block():
                self.decided(node, op, out, w, right_side=op == "and")
            w.line("else:")
            with w.block():
                self.decided(node, op, out, w, right_side=op == "or")
            return out, "bool"
        left, ltyp = self.expr(node.left, w)
        right, rtyp = self.expr(node.right, w)
        out = self.tmp()
        if op in n.COMPARISON_OPS:
            native = (ltyp in _NUMERIC and rtyp in _NUMERIC) or (ltyp == rtyp == "bool" and op in ("==", "!="))
            if native:
                w.line(f"{out} = {left} {op} {right}")
            else:
                helper = COMPARE_HELPER[op]
                self.m.use(helper)
                w.line(f"{out} = {helper}({left}, {right})")
            return out, "bool"
        if op not in ARITH_HELPER:
            raise CodegenError(f"unknown operator {op!r}")
        if ltyp == rtyp == "int" and op in _NATIVE_INT_OPS:
            w.line(f"{out} = {left} {op} {right}")
            lb, rb = self.bits(left, ltyp), self.bits(right, rtyp)
            # |a+b|, |a-b| < 2**(max+1); |a*b| < 2**(la+lb); |a//b| <= |a| and |a%b| < |b| (b != 0)
            self.bounded(w, out, {"+": max(lb, rb) + 1, "-": max(lb, rb) + 1, "*": lb + rb, "//": lb, "%": rb}[op])
            return out, "int"
        helper = ARITH_HELPER[op]
        self.m.use(helper)
        w.line(f"{out} = {helper}({left}, {right})")
        return out, "num"

    def decided(self, node: n.Binary, op: str, out: str, w: Writer, *, right_side: bool) -> None:
        """One branch of `and`/`or` once the left side is known: the right side's bool, or the constant."""
        if not right_side:
            w.line(f"{out} = {op == 'or'}")  # False once `and` has a false left side, True once `or` has a true one
            return
        right, rtyp = self.expr(node.right, w)
        if rtyp != "bool":
            helper = "h_and" if op == "and" else "h_or"
            self.m.use(helper)
            right = f"{helper}({right})"
        w.line(f"{out} = {right}")

    def conditional(self, node: n.Conditional, w: Writer) -> tuple[str, str]:
        test, ttyp = self.expr(node.test, w)
        if ttyp != "bool":
            self.m.use("h_if")
            test = f"h_if({test})"
        out = self.tmp()
        (then_code, then_type), (else_code, else_type) = self.branches(node, test, out, w)
        if then_type == else_type:
            if then_type == "int":
                self.bounds[out] = max(self.bits(then_code, "int"), self.bits(else_code, "int"))
            return out, then_type
        if then_type in _NUMERIC and else_type in _NUMERIC:
            return out, "num"
        return out, "any"

    def function_call(self, node: n.Function, w: Writer) -> tuple[str, str]:
        if node.name not in BUILTINS:
            raise CodegenError(f"unknown built-in {node.name!r}")
        args = [self.expr(a, w) for a in node.args]
        out = self.tmp()
        codes = ", ".join(code for code, _ in args)
        all_int = all(typ == "int" for _, typ in args)
        if all_int and node.name in ("min", "max", "ceil_div"):
            helper = {"min": "h_min_ii", "max": "h_max_ii", "ceil_div": "h_ceil_div_ii"}[node.name]
            self.m.use(helper)
            w.line(f"{out} = {helper}({codes})")
            # min/max pick an argument; |ceil(a/b)| <= |a| for b != 0
            arg_bits = [self.bits(code, typ) for code, typ in args]
            self.bounds[out] = arg_bits[0] if node.name == "ceil_div" else max(arg_bits)
            return out, "int"
        self.m.use("h_builtin")
        packed = "(" + codes + ("," if len(args) == 1 else "") + ")"
        w.line(f"{out} = h_builtin({name_literal(node.name)}, {packed})")
        return out, ("int" if node.name in ("ceil", "floor", "ceil_div") else "num")

    def call(self, node: n.Call, w: Writer) -> tuple[str, str]:
        given: dict[str, tuple[str, str, bool]] = {}
        for arg in node.args:
            code, typ = self.expr(arg.value, w)
            given[arg.name] = (code, typ, False)
        callee = self.m.library.get(node.callee)
        metric = node.metric or self.metric
        name_literal(node.callee)
        if callee is None or metric not in callee.metrics or any(name not in callee.params or callee.params[name].derived for name in given):
            self.bail(w)  # unknown rule, metric or keyword, or a derived parameter given: the engine reports it
            return "h_NO", "any"
        if node.forward_all:
            for pname, cspec in callee.params.items():
                if pname in given or pname not in self.rule.params or cspec.derived:
                    continue
                spec = self.rule.params[pname]
                i = self.index[pname]
                if spec.default is not None:
                    given[pname] = (f"v{i}", self.param_type(spec), False)
                else:
                    given[pname] = (f"p{i}", self.param_type(spec), not spec.required)
        args = []
        arg_bits = 0
        for pname, spec in callee.params.items():
            if pname not in given:
                if spec.required:
                    self.bail(w)
                    return "h_NO", "any"
                args.append("h_NO")
                continue
            code, typ, maybe_missing = given[pname]
            if maybe_missing and spec.required:
                w.line(f"if {code} is h_NO:")
                with w.block():
                    self.bail(w)
                maybe_missing = False
            self.check_type(w, code, spec.type, typ, maybe_missing)
            args.append(code)
            if spec.type == "int":
                bits = self.bits(code, typ)
                if bits > ARG_BITS and not maybe_missing:
                    if not re.fullmatch(r"[tpv][0-9]+", code):  # a literal: known now (a non-int one failed the type check)
                        if typ == "int":
                            self.bail(w)
                    else:
                        w.line(f"if {code}.bit_length() > {ARG_BITS!r}:")
                        with w.block():
                            self.bail(w)
                    bits = ARG_BITS
                arg_bits = max(arg_bits, bits)
        target = self.m.fast_symbol(callee, metric)
        self.m.note_args(callee, metric, arg_bits)
        out = self.tmp()
        w.line(f"{out} = {target}({', '.join(args)})")
        result_type = self.m.result_type(callee, metric)
        if result_type == "int":
            self.bounds[out] = self.m.result_bound(callee, metric)
        return out, result_type


def params_needing_defaults(rule: Rule, node: n.Node, library: RuleLibrary | None = None) -> list[str]:
    """Declared-default parameters of `rule` that evaluating `node` looks up (in first-use order).

    `${x}` and `${x:-...}` look x up when x has a declared default; `{R}(...)` forwards (looks up)
    every parameter of R that the rule declares with a default.
    """
    found: list[str] = []

    def add(name: str) -> None:
        spec = rule.params.get(name)
        if spec is not None and spec.default is not None and name not in found:
            found.append(name)

    for current in n.walk(node):
        if isinstance(current, n.Param):
            add(current.name)
        elif isinstance(current, n.Call) and current.forward_all:
            if library is None:
                for name in rule.params:  # without a library, assume every parameter is forwarded
                    add(name)
                continue
            callee = library.get(current.callee)
            if callee is not None:
                for name in callee.params:
                    if not any(a.name == name for a in current.args):
                        add(name)
    return found
