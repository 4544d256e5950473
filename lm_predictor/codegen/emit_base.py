"""What the two emitters share: module-wide state, temporaries, outlining, and the node dispatch."""

from __future__ import annotations

from dataclasses import dataclass, field

from lm_predictor.codegen import naming
from lm_predictor.codegen.literals import CodegenError, Writer, name_literal, number_literal
from lm_predictor.formula import nodes as n
from lm_predictor.formula.visitor import Visitor
from lm_predictor.limits import MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, Rule

ROOT_BITS = 64
"""Bit size the fast path assumes for int parameters given at the root (the backend checks it)."""

OUTLINE_DEPTH = 24
"""Blocks nested deeper than this go to a separate function (CPython allows 100 indent levels)."""

ARITH_HELPER = {"+": "h_add", "-": "h_sub", "*": "h_mul", "/": "h_div", "//": "h_floordiv", "%": "h_mod", "**": "h_pow"}
COMPARE_HELPER = {"==": "h_eq", "!=": "h_ne", "<": "h_lt", "<=": "h_le", ">": "h_gt", ">=": "h_ge"}


def requirements(rule: Rule) -> tuple[Formula, ...]:
    """The rule's `requires:` conditions (checked by the engine before any metric formula)."""
    return tuple(getattr(rule, "requires", ()) or ())


@dataclass
class ModuleState:
    """What one generated module collects while its functions are emitted (spans, call sites, slots, bounds)."""

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
        label = name_literal(node.label) if node.label is not None else "None"
        metric = name_literal(node.metric) if node.metric is not None else "None"
        if node.label is not None and not naming.is_identifier(node.label):
            raise CodegenError(f"bad call label {node.label!r}")
        text = f"h_Site({name_literal(node.callee)}, {label}, {bool(node.forward_all)!r}, {metric}, {self.span(node.span)}, {self.span(node.callee_span)})"
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


LEAVES = (n.Number, n.Bool, n.Defined)
"""Nodes that emit no block, so never need outlining."""


class FunctionEmitter(Visitor):
    """Shared parts of the two variants: temporaries, outlining of deep blocks, and the node dispatch.

    `expr(node, w)` emits the statements computing `node` into `w` and returns (code, static type);
    each variant overrides only the node methods whose code differs."""

    def __init__(self, module: ModuleState, rule: Rule):
        self.m = module
        self.rule = rule
        self.temps = 0

    def tmp(self, prefix: str = "t") -> str:
        self.temps += 1
        return f"{prefix}{self.temps}"

    def env_params(self) -> list[str]:
        raise NotImplementedError

    def expr(self, node: n.Node, w: Writer) -> tuple[str, str]:
        """(code, static type) of `node`; a block nested too deep goes to its own function."""
        if w.depth >= OUTLINE_DEPTH and not isinstance(node, LEAVES):
            return self.outline(node, w)
        return self.visit(node, w)

    def __default__(self, node: object, w: Writer) -> tuple[str, str]:
        raise CodegenError(f"not a formula node: {type(node).__name__}")

    def number(self, node: n.Number, w: Writer) -> tuple[str, str]:
        return number_literal(node.value)

    def boolean(self, node: n.Bool, w: Writer) -> tuple[str, str]:
        return ("True" if node.value is True else "False"), "bool"

    def branches(self, node: n.Conditional, test: str, out: str, w: Writer) -> tuple[tuple[str, str], tuple[str, str]]:
        """`if test: out = <then> else: out = <otherwise>`; the (code, type) of each branch."""
        w.line(f"if {test}:")
        with w.block():
            then = self.expr(node.then, w)
            w.line(f"{out} = {then[0]}")
        w.line("else:")
        with w.block():
            otherwise = self.expr(node.otherwise, w)
            w.line(f"{out} = {otherwise[0]}")
        return then, otherwise

    def outline(self, node: n.Node, w: Writer) -> tuple[str, str]:
        """Emit `node` as a module-level function of the same environment and call it."""
        name = self.m.new_outlined(self.rule)
        env = self.env_params()
        inner = Writer(1)
        code, typ = self.expr(node, inner)
        inner.line(f"return {code}")
        self.m.functions.append([f"def {name}({', '.join(env)}):", *inner.lines])
        out = self.tmp()
        w.line(f"{out} = {name}({', '.join(env)})")
        self.outlined_result(out, code, typ)
        return out, typ

    def outlined_result(self, out: str, code: str, typ: str) -> None:
        """Hook: what a variant records about an outlined block's result."""
