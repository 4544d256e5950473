"""Rule ASTs -> Python source of one generated module. Built from the AST only.

No text of a rule file reaches the output: Python identifiers are generated (`p0`, `v3`, `t12`,
`<ident>___m_flops`), numbers are `repr` of ints and finite floats the parser already checked,
and the only string literals are rule, parameter, metric and built-in names that pass
`naming.is_dotted_name` (dotted ASCII identifiers, no keywords, no dunders). Anything else is
refused with CodegenError before a line is written; safety.py re-checks the written file.

Two functions per (rule, metric):

`<ident>___t_<metric>(frame)` — the engine Runner protocol (lm_predictor.engine.frame): it does
what the compiled closures (lm_predictor.formula.compiler) do, statement for statement: the same
checked helpers, the same guards (a value error is located at the same node's span), the same
call-record scaling. The engine runs it for traced (breakdown) and fallback evaluations, so
calls, memoisation, limits and diagnostics are the engine's own.

`<ident>___m_<metric>(p0, ..., pN)` — the fast path for totals: parameters positional in declared
order (`h_NO` when not given), declared defaults resolved on entry, rule calls direct Python
calls, exact-int arithmetic inline with a bit-size check. It never reports an error itself: on
anything unusual (a non-int where an int was assumed, a size limit, a missing argument,
division by zero) it raises, and the runtime re-runs the evaluation through the engine, which
produces the reference value or diagnostic. So a value it returns is the reference value.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Iterable

from lm_predictor.codegen import naming
from lm_predictor.codegen.header import render
from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import BUILTINS
from lm_predictor.limits import MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, ParamSpec, Rule

ROOT_BITS = 64
"""Bit size the fast path assumes for int parameters given at the root (the backend checks it)."""

ARG_BITS = 512
"""Int arguments that might be wider are checked at the call site, so callees can assume this."""

OUTLINE_DEPTH = 24
"""Blocks nested deeper than this go to a separate function (CPython allows 100 indent levels)."""

_ARITH_HELPER = {"+": "h_add", "-": "h_sub", "*": "h_mul", "/": "h_div", "//": "h_floordiv", "%": "h_mod", "**": "h_pow"}
_COMPARE_HELPER = {"==": "h_eq", "!=": "h_ne", "<": "h_lt", "<=": "h_le", ">": "h_gt", ">=": "h_ge"}
_NATIVE_INT_OPS = ("+", "-", "*", "//", "%")
_NUMERIC = ("int", "float", "num")
_PARAM_TYPE = {"int": "int", "bool": "bool", "float": "num", "number": "num"}


class CodegenError(ValueError):
    """The input cannot be turned into safe code (a name that is not a plain identifier, ...)."""


# --- literals -------------------------------------------------------------------------------


def _name_literal(text: object) -> str:
    """A rule / parameter / metric / built-in name as a string literal, after validation."""
    if not naming.is_safe_name(text):
        raise CodegenError(f"refusing to emit a name that is not a dotted ASCII identifier: {text!r}")
    return repr(text)


def _int_literal(value: object) -> str:
    if type(value) is not int:
        raise CodegenError(f"not an int: {type(value).__name__}")
    return repr(value) if value >= 0 else f"({value!r})"


def _number_literal(value: object) -> tuple[str, str]:
    if type(value) is int:
        if value.bit_length() > MAX_INT_BITS:
            raise CodegenError("integer literal too large")
        return _int_literal(value), "int"
    if type(value) is float and math.isfinite(value):
        text = repr(value)
        return (text if not text.startswith("-") else f"({text})"), "float"
    raise CodegenError(f"not a finite number literal: {type(value).__name__}")


# --- a small line writer --------------------------------------------------------------------


class _Writer:
    def __init__(self, depth: int = 1):
        self.lines: list[str] = []
        self.depth = depth

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def block(self) -> "_Indent":
        return _Indent(self)


class _Indent:
    def __init__(self, writer: _Writer):
        self.writer = writer

    def __enter__(self) -> None:
        self.writer.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.writer.depth -= 1


# --- module assembly ------------------------------------------------------------------------


@dataclass
class _ModuleState:
    library: RuleLibrary
    idents: dict[str, str]
    local_rules: set[str]
    spans: dict[tuple[int, int], str] = field(default_factory=dict)
    sites: list[str] = field(default_factory=list)
    slots: dict[tuple[str, str], str] = field(default_factory=dict)  # (callee, metric) -> slot symbol
    functions: list[list[str]] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)
    outlined: int = 0
    result_types: dict[tuple[str, str], str] = field(default_factory=dict)
    assumed: dict[tuple[str, str], str] = field(default_factory=dict)  # external (callee, metric) -> type
    param_bounds: dict[tuple[str, str], int] = field(default_factory=dict)  # analysis: int params' bits
    result_bounds: dict[tuple[str, str], int] = field(default_factory=dict)  # analysis: int results' bits
    arg_bounds: dict[tuple[str, str], int] = field(default_factory=dict)  # collected: bits of int args passed
    local_arg_bounds: dict[tuple[str, str], int] = field(default_factory=dict)
    assumed_bounds: dict[tuple[str, str], int] = field(default_factory=dict)  # external results' bits assumed

    def span(self, span: n.Span) -> str:
        key = (span.start, span.end)
        name = self.spans.get(key)
        if name is None:
            name = self.spans[key] = f"S{len(self.spans)}"
        return name

    def site(self, node: n.Call) -> str:
        label = _name_literal(node.label) if node.label is not None else "None"
        metric = _name_literal(node.metric) if node.metric is not None else "None"
        if node.label is not None and not naming.is_identifier(node.label):
            raise CodegenError(f"bad call label {node.label!r}")
        text = f"h_Site({_name_literal(node.callee)}, {label}, {bool(node.forward_all)!r}, {metric}, {self.span(node.span)}, {self.span(node.callee_span)})"
        self.sites.append(text)
        self.use("h_Site")
        return f"C{len(self.sites) - 1}"

    def use(self, *helpers: str) -> None:
        self.helpers.update(helpers)

    def fast_symbol(self, callee: Rule, metric: str) -> str:
        """The name the fast function of (callee, metric) has in this module."""
        sym = naming.symbol(self.idents[callee.name], "m", metric)
        if callee.name not in self.local_rules:
            self.slots[(callee.name, metric)] = sym
            self.assumed[(callee.name, metric)] = self.result_type(callee, metric)
            self.assumed_bounds[(callee.name, metric)] = self.result_bound(callee, metric)
        return sym

    def result_bound(self, callee: Rule, metric: str) -> int:
        """Bits of the callee's int result, as the analysis found (MAX_INT_BITS if unknown)."""
        return self.result_bounds.get((callee.name, metric), MAX_INT_BITS)

    def note_args(self, callee: Rule, metric: str, bits: int) -> None:
        key = (callee.name, metric)
        self.arg_bounds[key] = max(self.arg_bounds.get(key, 0), bits)
        if callee.name in self.local_rules:
            self.local_arg_bounds[key] = max(self.local_arg_bounds.get(key, 0), bits)

    def result_type(self, callee: Rule, metric: str) -> str:
        """The static type of what the callee's fast function returns ('any' if not inferred)."""
        return self.result_types.get((callee.name, metric), "any")

    def new_outlined(self, rule: Rule) -> str:
        self.outlined += 1
        return naming.symbol(self.idents[rule.name], f"x{self.outlined}")


class _FunctionEmitter:
    """Shared parts of the two variants: temporaries and outlining of deep blocks."""

    def __init__(self, module: _ModuleState, rule: Rule):
        self.m = module
        self.rule = rule
        self.temps = 0

    def tmp(self, prefix: str = "t") -> str:
        self.temps += 1
        return f"{prefix}{self.temps}"

    def env_params(self) -> list[str]:
        raise NotImplementedError

    def expr(self, node: n.Node, w: _Writer) -> tuple[str, str]:
        raise NotImplementedError

    def outline(self, node: n.Node, w: _Writer) -> tuple[str, str]:
        """Emit `node` as a module-level function of the same environment and call it."""
        name = self.m.new_outlined(self.rule)
        env = self.env_params()
        inner = _Writer(1)
        code, typ = self._expr_in(node, inner)
        inner.line(f"return {code}")
        self.m.functions.append([f"def {name}({', '.join(env)}):", *self._prologue(), *inner.lines])
        out = self.tmp()
        w.line(f"{out} = {name}({', '.join(env)})")
        self._outlined_result(out, code, typ)
        return out, typ

    def _outlined_result(self, out: str, code: str, typ: str) -> None:
        pass

    def _prologue(self) -> list[str]:
        return []

    def _expr_in(self, node: n.Node, w: _Writer) -> tuple[str, str]:
        return self.expr(node, w)


# --- the engine (frame protocol) variant ----------------------------------------------------


class _FrameEmitter(_FunctionEmitter):
    """Statement-for-statement the compiled closures: guards, scaling, frame calls."""

    def env_params(self) -> list[str]:
        return ["frame", "r"]

    def function(self, name: str, formula: Formula) -> list[str]:
        w = _Writer(1)
        w.line("r = frame.records")
        code, _ = self.expr(formula.node, w)
        w.line(f"return {code}")
        return [f"def {name}(frame):", *w.lines]

    # records marks and scaling (no-ops when the frame does not trace)
    def mark(self, w: _Writer) -> str:
        name = self.tmp("m")
        self.m.use("h_len")
        w.line("if r is not None:")
        with w.block():
            w.line(f"{name} = h_len(r)")
        return name

    def scale(self, w: _Writer, mark: str, factor: str) -> None:
        self.m.use("h_scale")
        w.line("if r is not None:")
        with w.block():
            w.line(f"h_scale(r, {mark}, {factor})")

    def guarded(self, w: _Writer, lines: list[str], span: n.Span) -> None:
        self.m.use("h_VE", "h_fault")
        w.line("try:")
        with w.block():
            for text in lines:
                w.line(text)
        w.line("except h_VE as e:")
        with w.block():
            w.line(f"raise h_fault(e, {self.m.span(span)}, frame) from None")

    def expr(self, node: n.Node, w: _Writer) -> tuple[str, str]:
        if w.depth >= OUTLINE_DEPTH and not isinstance(node, (n.Number, n.Bool, n.Defined)):
            return self.outline(node, w)
        if isinstance(node, n.Number):
            return _number_literal(node.value)
        if isinstance(node, n.Bool):
            return ("True" if node.value is True else "False"), "bool"
        if isinstance(node, n.Param):
            return self.param(node, w)
        if isinstance(node, n.Defined):
            out = self.tmp()
            w.line(f"{out} = frame.is_given({_name_literal(node.name)})")
            return out, "bool"
        if isinstance(node, n.Unary):
            return self.unary(node, w)
        if isinstance(node, n.Binary):
            return self.binary(node, w)
        if isinstance(node, n.Conditional):
            return self.conditional(node, w)
        if isinstance(node, n.Function):
            return self.function_call(node, w)
        if isinstance(node, n.Call):
            return self.call(node, w)
        raise CodegenError(f"not a formula node: {type(node).__name__}")

    def nonlinear(self, node: n.Node, w: _Writer) -> str:
        mark = self.mark(w)
        code, _ = self.expr(node, w)
        self.scale(w, mark, "None")
        return code

    def param(self, node: n.Param, w: _Writer) -> tuple[str, str]:
        out = self.tmp()
        name = _name_literal(node.name)
        span = self.m.span(node.span)
        if node.default is None:
            w.line(f"{out} = frame.lookup({name}, {span})")
            return out, "any"
        w.line(f"if frame.has_value({name}):")
        with w.block():
            w.line(f"{out} = frame.lookup({name}, {span})")
        w.line("else:")
        with w.block():
            code = self.nonlinear(node.default, w)
            w.line(f"{out} = {code}")
        return out, "any"

    def unary(self, node: n.Unary, w: _Writer) -> tuple[str, str]:
        out = self.tmp()
        if node.op == "not":
            code = self.nonlinear(node.operand, w)  # a call under `not` is no additive term
            self.m.use("h_not")
            self.guarded(w, [f"{out} = h_not({code})"], node.span)
            return out, "bool"
        if node.op == "+":
            code, _ = self.expr(node.operand, w)
            self.m.use("h_pos")
            self.guarded(w, [f"{out} = h_pos({code})"], node.span)
            return out, "any"
        if node.op != "-":
            raise CodegenError(f"unknown unary operator {node.op!r}")
        mark = self.mark(w)
        code, _ = self.expr(node.operand, w)
        self.m.use("h_neg")
        self.guarded(w, [f"{out} = h_neg({code})"], node.span)
        self.scale(w, mark, "(-1)")
        return out, "any"

    def binary(self, node: n.Binary, w: _Writer) -> tuple[str, str]:
        op = node.op
        out = self.tmp()
        if op in ("and", "or"):
            helper = "h_and" if op == "and" else "h_or"
            self.m.use(helper)
            mark = self.mark(w)
            left, _ = self.expr(node.left, w)
            test = self.tmp()
            self.guarded(w, [f"{test} = {helper}({left})"], node.span)
            w.line(f"if {test}:" if op == "and" else f"if not {test}:")
            with w.block():
                right, _ = self.expr(node.right, w)
                self.guarded(w, [f"{out} = {helper}({right})"], node.span)
            w.line("else:")
            with w.block():
                w.line(f"{out} = {'False' if op == 'and' else 'True'}")
            self.scale(w, mark, "None")
            return out, "bool"
        if op in n.COMPARISON_OPS:
            helper = _COMPARE_HELPER[op]
            self.m.use(helper)
            mark = self.mark(w)
            left, _ = self.expr(node.left, w)
            right, _ = self.expr(node.right, w)
            self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
            self.scale(w, mark, "None")
            return out, "bool"
        if op not in _ARITH_HELPER:
            raise CodegenError(f"unknown operator {op!r}")
        helper = _ARITH_HELPER[op]
        self.m.use(helper)
        if op in ("+", "-"):
            left, _ = self.expr(node.left, w)
            if op == "-":
                mark = self.mark(w)
                right, _ = self.expr(node.right, w)
                self.scale(w, mark, "(-1)")
            else:
                right, _ = self.expr(node.right, w)
            self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
            return out, "any"
        if op in ("*", "/"):
            left_calls, right_calls = n.contains_call(node.left), n.contains_call(node.right)
            if not (left_calls or right_calls):
                left, _ = self.expr(node.left, w)
                right, _ = self.expr(node.right, w)
                self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
                return out, "any"
            if right_calls and (left_calls or op == "/"):
                mark = self.mark(w)
                left, _ = self.expr(node.left, w)
                right, _ = self.expr(node.right, w)
                self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
                self.scale(w, mark, "None")
                return out, "any"
            mark = self.mark(w)
            left, _ = self.expr(node.left, w)
            right, _ = self.expr(node.right, w)
            if op == "*":
                factor = right if left_calls else left
            else:
                self.m.use("h_recip")
                factor = f"h_recip({right})"
            self.m.use("h_scale")
            self.guarded(w, [f"{out} = {helper}({left}, {right})", "if r is not None:", f"    h_scale(r, {mark}, {factor})"], node.span)
            return out, "any"
        mark = self.mark(w)  # //, %, **: not linear in a call
        left, _ = self.expr(node.left, w)
        right, _ = self.expr(node.right, w)
        self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
        self.scale(w, mark, "None")
        return out, "any"

    def conditional(self, node: n.Conditional, w: _Writer) -> tuple[str, str]:
        out = self.tmp()
        test = self.nonlinear(node.test, w)
        chosen = self.tmp()
        self.m.use("h_if")
        self.guarded(w, [f"{chosen} = h_if({test})"], node.test.span)
        w.line(f"if {chosen}:")
        with w.block():
            code, _ = self.expr(node.then, w)
            w.line(f"{out} = {code}")
        w.line("else:")
        with w.block():
            code, _ = self.expr(node.otherwise, w)
            w.line(f"{out} = {code}")
        return out, "any"

    def function_call(self, node: n.Function, w: _Writer) -> tuple[str, str]:
        if node.name not in BUILTINS:
            raise CodegenError(f"unknown built-in {node.name!r}")
        out = self.tmp()
        mark = self.mark(w)
        args = [self.expr(a, w)[0] for a in node.args]
        self.m.use("h_builtin")
        packed = "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")"
        self.guarded(w, [f"{out} = h_builtin({_name_literal(node.name)}, {packed})"], node.span)
        self.scale(w, mark, "None")
        return out, "any"

    def call(self, node: n.Call, w: _Writer) -> tuple[str, str]:
        values = []
        for arg in node.args:
            code = self.nonlinear(arg.value, w)
            values.append(f"{_name_literal(arg.name)}: {code}")
        site = self.m.site(node)
        out = self.tmp()
        w.line(f"{out} = frame.call({site}, {{{', '.join(values)}}})")
        return out, "any"


# --- the fast variant -----------------------------------------------------------------------


class _FastEmitter(_FunctionEmitter):
    """Plain Python for totals: typed inline ints, direct calls; raises to hand over to the engine."""

    def __init__(self, module: _ModuleState, rule: Rule, metric: str):
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

    def _outlined_result(self, out: str, code: str, typ: str) -> None:
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

    def bounded(self, w: _Writer, code: str, bits: int) -> None:
        """Record `code`'s bound; check it at run time only if it may exceed MAX_INT_BITS."""
        if bits > MAX_INT_BITS:
            self.check_bits(w, code)
            bits = MAX_INT_BITS
        self.bounds[code] = bits

    def env_params(self) -> list[str]:
        return [f"p{i}" for i in range(len(self.rule.params))] + [f"v{i}" for i in self.resolved]

    def bail(self, w: _Writer) -> None:
        w.line("raise h_Bail")

    def check_bits(self, w: _Writer, code: str) -> None:
        w.line(f"if {code}.bit_length() > {MAX_INT_BITS!r}:")
        with w.block():
            self.bail(w)

    def check_type(self, w: _Writer, code: str, expected: str, static: str, maybe_missing: bool = False) -> None:
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
            return _params_needing_defaults(self.rule, spec.default.node, self.m.library)

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
            needed += [p for p in _params_needing_defaults(self.rule, node, self.m.library) if p not in needed]
        order, cyclic = self._default_order(needed)
        w = _Writer(1)
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

    def expr(self, node: n.Node, w: _Writer) -> tuple[str, str]:
        if w.depth >= OUTLINE_DEPTH and isinstance(node, (n.Binary, n.Conditional, n.Param, n.Unary, n.Function, n.Call)):
            return self.outline(node, w)
        if isinstance(node, n.Number):
            return _number_literal(node.value)
        if isinstance(node, n.Bool):
            return ("True" if node.value is True else "False"), "bool"
        if isinstance(node, n.Param):
            return self.param(node, w)
        if isinstance(node, n.Defined):
            if node.name not in self.index:
                return "False", "bool"
            out = self.tmp()
            w.line(f"{out} = p{self.index[node.name]} is not h_NO")
            return out, "bool"
        if isinstance(node, n.Unary):
            return self.unary(node, w)
        if isinstance(node, n.Binary):
            return self.binary(node, w)
        if isinstance(node, n.Conditional):
            return self.conditional(node, w)
        if isinstance(node, n.Function):
            return self.function_call(node, w)
        if isinstance(node, n.Call):
            return self.call(node, w)
        raise CodegenError(f"not a formula node: {type(node).__name__}")

    def param(self, node: n.Param, w: _Writer) -> tuple[str, str]:
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

    def unary(self, node: n.Unary, w: _Writer) -> tuple[str, str]:
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

    def binary(self, node: n.Binary, w: _Writer) -> tuple[str, str]:
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
                if op == "and":
                    right, rtyp = self.expr(node.right, w)
                    if rtyp != "bool":
                        self.m.use("h_and")
                        right = f"h_and({right})"
                    w.line(f"{out} = {right}")
                else:
                    w.line(f"{out} = True")
            w.line("else:")
            with w.block():
                if op == "or":
                    right, rtyp = self.expr(node.right, w)
                    if rtyp != "bool":
                        self.m.use("h_or")
                        right = f"h_or({right})"
                    w.line(f"{out} = {right}")
                else:
                    w.line(f"{out} = False")
            return out, "bool"
        left, ltyp = self.expr(node.left, w)
        right, rtyp = self.expr(node.right, w)
        out = self.tmp()
        if op in n.COMPARISON_OPS:
            native = (ltyp in _NUMERIC and rtyp in _NUMERIC) or (ltyp == rtyp == "bool" and op in ("==", "!="))
            if native:
                w.line(f"{out} = {left} {op} {right}")
            else:
                helper = _COMPARE_HELPER[op]
                self.m.use(helper)
                w.line(f"{out} = {helper}({left}, {right})")
            return out, "bool"
        if op not in _ARITH_HELPER:
            raise CodegenError(f"unknown operator {op!r}")
        if ltyp == rtyp == "int" and op in _NATIVE_INT_OPS:
            w.line(f"{out} = {left} {op} {right}")
            lb, rb = self.bits(left, ltyp), self.bits(right, rtyp)
            # |a+b|, |a-b| < 2**(max+1); |a*b| < 2**(la+lb); |a//b| <= |a| and |a%b| < |b| (b != 0)
            self.bounded(w, out, {"+": max(lb, rb) + 1, "-": max(lb, rb) + 1, "*": lb + rb, "//": lb, "%": rb}[op])
            return out, "int"
        helper = _ARITH_HELPER[op]
        self.m.use(helper)
        w.line(f"{out} = {helper}({left}, {right})")
        return out, "num"

    def conditional(self, node: n.Conditional, w: _Writer) -> tuple[str, str]:
        test, ttyp = self.expr(node.test, w)
        if ttyp != "bool":
            self.m.use("h_if")
            test = f"h_if({test})"
        out = self.tmp()
        w.line(f"if {test}:")
        with w.block():
            then_code, then_type = self.expr(node.then, w)
            w.line(f"{out} = {then_code}")
        w.line("else:")
        with w.block():
            else_code, else_type = self.expr(node.otherwise, w)
            w.line(f"{out} = {else_code}")
        if then_type == else_type:
            if then_type == "int":
                self.bounds[out] = max(self.bits(then_code, "int"), self.bits(else_code, "int"))
            return out, then_type
        if then_type in _NUMERIC and else_type in _NUMERIC:
            return out, "num"
        return out, "any"

    def function_call(self, node: n.Function, w: _Writer) -> tuple[str, str]:
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
        w.line(f"{out} = h_builtin({_name_literal(node.name)}, {packed})")
        return out, ("int" if node.name in ("ceil", "floor", "ceil_div") else "num")

    def call(self, node: n.Call, w: _Writer) -> tuple[str, str]:
        given: dict[str, tuple[str, str, bool]] = {}
        for arg in node.args:
            code, typ = self.expr(arg.value, w)
            given[arg.name] = (code, typ, False)
        callee = self.m.library.get(node.callee)
        metric = node.metric or self.metric
        _name_literal(node.callee)
        if callee is None or metric not in callee.metrics or any(name not in callee.params for name in given):
            self.bail(w)  # unknown rule, metric or keyword: the engine reports it
            return "h_NO", "any"
        if node.forward_all:
            for pname in callee.params:
                if pname in given or pname not in self.rule.params:
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


def _params_needing_defaults(rule: Rule, node: n.Node, library: RuleLibrary | None = None) -> list[str]:
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


# --- modules --------------------------------------------------------------------------------


def requirements(rule: Rule) -> tuple[Formula, ...]:
    """The rule's `requires:` conditions (checked by the engine before any metric formula)."""
    return tuple(getattr(rule, "requires", ()) or ())


def rule_interface(rule: Rule) -> list:
    """What the fast path of a caller assumes about a callee."""
    params = [[p.name, p.type, p.default is not None, bool(p.optional)] for p in rule.params.values()]
    return [rule.name, params, sorted(rule.metrics)]


def _formulas(rule: Rule) -> list[Formula]:
    return [*rule.metrics.values(), *(p.default for p in rule.params.values() if p.default is not None), *requirements(rule)]


def deps_hash(library: RuleLibrary, rules: list[Rule]) -> str:
    """sha256 of the interfaces of every rule called from `rules` (as resolved in `library`)."""
    entries: dict[str, list] = {}
    for rule in rules:
        for formula in _formulas(rule):
            for node in n.walk(formula.node):
                if isinstance(node, n.Call) and node.callee not in entries:
                    callee = library.get(node.callee)
                    entries[node.callee] = [node.callee, rule_interface(callee) if callee is not None else None]
    text = json.dumps([entries[k] for k in sorted(entries)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def static_calls(library: RuleLibrary, rule: Rule, metric: str) -> list[tuple[str, str]]:
    """(callee, metric) of every call a (rule, metric) evaluation can make, defaults included."""
    formulas = [rule.metrics[metric], *(p.default for p in rule.params.values() if p.default is not None), *requirements(rule)]
    out = []
    for formula in formulas:
        for node in n.walk(formula.node):
            if isinstance(node, n.Call):
                callee = library.get(node.callee)
                m = node.metric or metric
                if callee is not None and m in callee.metrics:
                    out.append((callee.name, m))
    return out


@dataclass
class Analysis:
    """Library-wide facts the fast functions are specialised on (each checked again at link time)."""

    types: dict[tuple[str, str], str]  # static type of each fast function's result
    param_bits: dict[tuple[str, str], int]  # bits its int parameters may have (callers guarantee)
    result_bits: dict[tuple[str, str], int]  # bits its int result may have


def analyse(library: RuleLibrary, idents: dict[str, str], rounds: int = 30) -> Analysis:
    """Result types and bit bounds of every fast function, to a fixed point over the call graph.

    Types: callees first (a callee on a call cycle counts as 'any'). Bounds: an int parameter may
    have ROOT_BITS bits when the rule is evaluated at the root (the backend checks) and as many
    as any caller passes; results follow from the parameters. Bounds only grow and are capped at
    MAX_INT_BITS, so this converges; if it did not within `rounds`, every bound is MAX_INT_BITS.
    Each module records what it assumed, and the runtime refuses a link that breaks it.
    """
    succ = {(r.name, m): static_calls(library, r, m) for r in library for m in r.metrics}
    order: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for start in succ:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(succ[start]))]
        while stack:
            key, edges = stack[-1]
            for nxt in edges:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(succ[nxt])))
                    break
            else:
                stack.pop()
                order.append(key)
    result = Analysis({}, {key: ROOT_BITS for key in order}, {})

    def one_round() -> tuple[bool, dict[tuple[str, str], int]]:
        changed = False
        passed: dict[tuple[str, str], int] = {}
        for key in order:  # callees first
            rule = library.rules[key[0]]
            state = _ModuleState(
                library, idents, {rule.name}, result_types=result.types, param_bounds=result.param_bits, result_bounds=result.result_bits
            )
            emitter = _FastEmitter(state, rule, key[1])
            try:
                emitter.function("dry___m_x", rule.metrics[key[1]])
            except CodegenError:
                continue
            if result.types.get(key) != emitter.result_type or result.result_bits.get(key) != emitter.result_bits:
                changed = True
                result.types[key] = emitter.result_type
                result.result_bits[key] = emitter.result_bits
            for callee, bits in state.arg_bounds.items():
                passed[callee] = max(passed.get(callee, 0), bits)
        for key, bits in passed.items():
            bits = min(max(bits, ROOT_BITS), MAX_INT_BITS)
            if bits > result.param_bits.get(key, ROOT_BITS):
                result.param_bits[key] = bits
                changed = True
        return changed, passed

    for _ in range(rounds):
        changed, _ = one_round()
        if not changed:
            return result
    result.param_bits = {key: MAX_INT_BITS for key in order}  # no fixed point: assume nothing
    result.result_bits = {}
    for _ in range(rounds):
        changed, _ = one_round()
        if not changed:
            return result
    raise CodegenError("internal: the bound analysis does not converge")


def infer_result_types(library: RuleLibrary, idents: dict[str, str]) -> dict[tuple[str, str], str]:
    """The static result type of every fast function (see `analyse`)."""
    return analyse(library, idents).types


def emit_body(library: RuleLibrary, idents: dict[str, str], rules: list[Rule], analysis: Analysis | None = None) -> str:
    """The Python body (without header) of the module for `rules` (one rule file)."""
    if analysis is None:
        analysis = analyse(library, idents)
    state = _ModuleState(
        library,
        idents,
        {r.name for r in rules},
        result_types=analysis.types,
        param_bounds=analysis.param_bits,
        result_bounds=analysis.result_bits,
    )
    exports = []
    for rule in rules:
        _name_literal(rule.name)
        ident = idents[rule.name]
        for pname in rule.params:
            _name_literal(pname)
        metric_entries = []
        for metric, formula in rule.metrics.items():
            _name_literal(metric)
            fast = naming.symbol(ident, "m", metric)
            frame_fn = naming.symbol(ident, "t", metric)
            fast_emitter = _FastEmitter(state, rule, metric)
            state.functions.append(fast_emitter.function(fast, formula))
            state.functions.append(_FrameEmitter(state, rule).function(frame_fn, formula))
            metric_entries.append(
                f"({_name_literal(metric)}, {fast}, {frame_fn}, {_name_literal(fast_emitter.result_type)}, "
                f"{_int_literal(fast_emitter.param_bits)}, {_int_literal(fast_emitter.result_bits)})"
            )
        default_entries = []
        for pname, spec in rule.params.items():
            if spec.default is None:
                continue
            fn = naming.symbol(ident, "d", pname)
            state.functions.append(_FrameEmitter(state, rule).function(fn, spec.default))
            default_entries.append(f"({_name_literal(pname)}, {fn})")
        check_entries = []
        for i, check in enumerate(requirements(rule)):
            fn = naming.symbol(ident, f"q{i}")
            state.functions.append(_FrameEmitter(state, rule).function(fn, check))
            check_entries.append(fn)
        params = "(" + "".join(f"{_name_literal(p)}, " for p in rule.params) + ")"
        exports.append(
            f"    ({_name_literal(rule.name)}, {params}, ({''.join(e + ', ' for e in metric_entries)}), "
            f"({''.join(e + ', ' for e in default_entries)}), ({''.join(e + ', ' for e in check_entries)})),"
        )
    for key, bits in state.local_arg_bounds.items():  # calls inside the module: checked here
        if bits > analysis.param_bits.get(key, ROOT_BITS):
            raise CodegenError(f"internal: a call passes {bits}-bit ints to {key[0]} ({key[1]}), which assumes fewer")
    if state.slots:
        state.use("h_unlinked")
    if state.spans:
        state.use("h_Span")
    lines: list[str] = []
    for (start, end), name in state.spans.items():
        lines.append(f"{name} = h_Span({_int_literal(start)}, {_int_literal(end)})")
    for i, text in enumerate(state.sites):
        lines.append(f"C{i} = {text}")
    for slot in sorted(set(state.slots.values())):
        lines.append(f"{slot} = h_unlinked")
    for fn in state.functions:
        lines.append("")
        lines.append("")
        lines.extend(fn)
    lines.append("")
    lines.append("")
    lines.append("EXPORTS = (")
    lines.extend(exports)
    lines.append(")")
    lines.append("IMPORTS = (")
    for (callee, metric), slot in sorted(state.slots.items()):
        assumed = _name_literal(state.assumed[(callee, metric)])
        passed = _int_literal(state.arg_bounds.get((callee, metric), 0))
        assumed_bits = _int_literal(state.assumed_bounds[(callee, metric)])
        lines.append(f"    ({_name_literal(callee)}, {_name_literal(metric)}, {_name_literal(slot)}, {assumed}, {passed}, {assumed_bits}),")
    lines.append(")")
    if state.helpers:
        imports = ["from lm_predictor.codegen.helpers import (", *(f"    {h}," for h in sorted(state.helpers)), ")", ""]
        lines = imports + lines
    return "\n".join(lines) + "\n"


def emit_module(
    library: RuleLibrary,
    idents: dict[str, str],
    rules: list[Rule],
    *,
    source_sha: str,
    relpath: str,
    analysis: Analysis | None = None,
) -> str:
    """The complete text (header + body) of one generated module."""
    body = emit_body(library, idents, rules, analysis)
    return render(body, source_sha=source_sha, source_path=relpath, deps_sha=deps_hash(library, rules))


def emit_package_marker() -> str:
    """An `__init__.py` of a generated package."""
    return render("", source_sha=None, source_path=None, deps_sha=None)


def frame_function_source(formula: Formula) -> str:
    """A checked-module source with one frame function `formula___t_` for a single formula."""
    from types import SimpleNamespace

    state = _ModuleState(RuleLibrary(), {"formula": "formula"}, {"formula"})
    rule = SimpleNamespace(name="formula")
    lines = _FrameEmitter(state, rule).function("formula___t_", formula)  # type: ignore[arg-type]
    state.functions.append(lines)
    if state.spans:
        state.use("h_Span")
    body = ["from lm_predictor.codegen.helpers import (", *(f"    {h}," for h in sorted(state.helpers)), ")", ""] if state.helpers else []
    body += [f"{name} = h_Span({_int_literal(s)}, {_int_literal(e)})" for (s, e), name in state.spans.items()]
    body += [f"C{i} = {text}" for i, text in enumerate(state.sites)]
    for fn in state.functions:
        body += ["", "", *fn]
    return render("\n".join(body) + "\n", source_sha=None, source_path=None, deps_sha=None)
