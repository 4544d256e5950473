"""`<ident>___t_<metric>(frame)`: the engine Runner protocol (lm_predictor.engine.frame).

It does what the compiled closures (lm_predictor.formula.compiler) do, statement for statement:
the same checked helpers, the same guards (a value error is located at the same node's span), the
same call-record scaling. The engine runs it for traced (breakdown) and fallback evaluations, so
calls, memoisation, limits and diagnostics are the engine's own.
"""

from __future__ import annotations

from lm_predictor.codegen.emit_base import ARITH_HELPER, COMPARE_HELPER, FunctionEmitter
from lm_predictor.codegen.literals import CodegenError, Writer, name_literal
from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import BUILTINS
from lm_predictor.rules.model import Formula


class FrameEmitter(FunctionEmitter):
    """Statement-for-statement the compiled closures: guards, scaling, frame calls."""

    def env_params(self) -> list[str]:
        return ["frame", "r"]

    def function(self, name: str, formula: Formula) -> list[str]:
        w = Writer(1)
        w.line("r = frame.records")
        code, _ = self.expr(formula.node, w)
        w.line(f"return {code}")
        return [f"def {name}(frame):", *w.lines]

    # records marks and scaling (no-ops when the frame does not trace)
    def mark(self, w: Writer) -> str:
        name = self.tmp("m")
        self.m.use("h_len")
        w.line("if r is not None:")
        with w.block():
            w.line(f"{name} = h_len(r)")
        return name

    def scale(self, w: Writer, mark: str, factor: str) -> None:
        self.m.use("h_scale")
        w.line("if r is not None:")
        with w.block():
            w.line(f"h_scale(r, {mark}, {factor})")

    def guarded(self, w: Writer, lines: list[str], span: n.Span) -> None:
        self.m.use("h_VE", "h_fault")
        w.line("try:")
        with w.block():
            for text in lines:
                w.line(text)
        w.line("except h_VE as e:")
        with w.block():
            w.line(f"raise h_fault(e, {self.m.span(span)}, frame) from None")

    def defined(self, node: n.Defined, w: Writer) -> tuple[str, str]:
        out = self.tmp()
        w.line(f"{out} = frame.is_given({name_literal(node.name)})")
        return out, "bool"

    def nonlinear(self, node: n.Node, w: Writer) -> str:
        mark = self.mark(w)
        code, _ = self.expr(node, w)
        self.scale(w, mark, "None")
        return code

    def param(self, node: n.Param, w: Writer) -> tuple[str, str]:
        out = self.tmp()
        name = name_literal(node.name)
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

    def unary(self, node: n.Unary, w: Writer) -> tuple[str, str]:
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

    def binary(self, node: n.Binary, w: Writer) -> tuple[str, str]:
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
            self.applied(node, out, COMPARE_HELPER[op], w, nonlinear=True)
            return out, "bool"
        if op not in ARITH_HELPER:
            raise CodegenError(f"unknown operator {op!r}")
        helper = ARITH_HELPER[op]
        if op in ("+", "-"):
            self.m.use(helper)
            left, _ = self.expr(node.left, w)
            if op == "-":
                mark = self.mark(w)
                right, _ = self.expr(node.right, w)
                self.scale(w, mark, "(-1)")
            else:
                right, _ = self.expr(node.right, w)
            self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
            return out, "any"
        left_calls, right_calls = n.contains_call(node.left), n.contains_call(node.right)
        if op not in ("*", "/") or right_calls and (left_calls or op == "/"):  # //, %, **, or calls on both sides
            self.applied(node, out, helper, w, nonlinear=True)
        elif not (left_calls or right_calls):
            self.applied(node, out, helper, w, nonlinear=False)
        else:  # calls on one side only: scaled by the other side
            self.m.use(helper, "h_scale")
            mark = self.mark(w)
            left, _ = self.expr(node.left, w)
            right, _ = self.expr(node.right, w)
            if op == "*":
                factor = right if left_calls else left
            else:
                self.m.use("h_recip")
                factor = f"h_recip({right})"
            self.guarded(w, [f"{out} = {helper}({left}, {right})", "if r is not None:", f"    h_scale(r, {mark}, {factor})"], node.span)
        return out, "any"

    def applied(self, node: n.Binary, out: str, helper: str, w: Writer, *, nonlinear: bool) -> None:
        """`out = helper(left, right)`, guarded at the node; `nonlinear`: calls under it get count None."""
        self.m.use(helper)
        mark = self.mark(w) if nonlinear else ""
        left, _ = self.expr(node.left, w)
        right, _ = self.expr(node.right, w)
        self.guarded(w, [f"{out} = {helper}({left}, {right})"], node.span)
        if nonlinear:
            self.scale(w, mark, "None")

    def conditional(self, node: n.Conditional, w: Writer) -> tuple[str, str]:
        out = self.tmp()
        test = self.nonlinear(node.test, w)
        chosen = self.tmp()
        self.m.use("h_if")
        self.guarded(w, [f"{chosen} = h_if({test})"], node.test.span)
        self.branches(node, chosen, out, w)
        return out, "any"

    def function_call(self, node: n.Function, w: Writer) -> tuple[str, str]:
        if node.name not in BUILTINS:
            raise CodegenError(f"unknown built-in {node.name!r}")
        out = self.tmp()
        mark = self.mark(w)
        args = [self.expr(a, w)[0] for a in node.args]
        self.m.use("h_builtin")
        packed = "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")"
        self.guarded(w, [f"{out} = h_builtin({name_literal(node.name)}, {packed})"], node.span)
        self.scale(w, mark, "None")
        return out, "any"

    def call(self, node: n.Call, w: Writer) -> tuple[str, str]:
        values = []
        for arg in node.args:
            code = self.nonlinear(arg.value, w)
            values.append(f"{name_literal(arg.name)}: {code}")
        site = self.m.site(node)
        out = self.tmp()
        w.line(f"{out} = frame.call({site}, {{{', '.join(values)}}})")
        return out, "any"
