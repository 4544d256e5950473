"""Frozen AST nodes of the formula language, each with its source span."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant written in the formula; only its subclasses occur in a tree."""

    value: int | float | bool
    span: Span


class Number(Literal):
    """An int or finite float literal."""

    __slots__ = ()


class Bool(Literal):
    """`true` or `false`."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Param:
    """`${name}`, `$name`, or `${name:-default}`."""

    name: str
    default: "Node | None"
    span: Span


@dataclass(frozen=True, slots=True)
class Defined:
    """`defined(name)`: true when the caller gave the parameter."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    """`-x`, `+x`, `not x`."""

    op: str  # "-" or "+" or "not"
    operand: "Node"
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic (+ - * / // % **), comparisons, and the short-circuit `and`/`or`."""

    op: str
    left: "Node"
    right: "Node"
    span: Span


@dataclass(frozen=True, slots=True)
class Conditional:
    """`if test then a else b`."""

    test: "Node"
    then: "Node"
    otherwise: "Node"
    span: Span


@dataclass(frozen=True, slots=True)
class Function:
    """A call to a built-in from the closed table."""

    name: str
    args: tuple["Node", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Argument:
    """`name=expr` in a rule call; `forwarded` marks the shorthand `name`."""

    name: str
    value: "Node"
    forwarded: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """`{label: qualified.Name}(args, ...).metric` — evaluates another rule."""

    callee: str
    label: str | None
    args: tuple[Argument, ...]
    forward_all: bool
    metric: str | None
    span: Span
    callee_span: Span

    @property
    def display_label(self) -> str:
        return self.label or self.callee.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class Span:
    """Character offsets [start, end) into the formula text."""

    start: int
    end: int


Node = Union[Number, Bool, Param, Defined, Unary, Binary, Conditional, Function, Call]

ARITHMETIC_OPS = ("+", "-", "*", "/", "//", "%", "**")
COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=")
BOOLEAN_OPS = ("and", "or")


def children(node: Node) -> tuple[Node, ...]:
    """Direct sub-expressions of a node, in evaluation order."""
    if isinstance(node, Param):
        return (node.default,) if node.default is not None else ()
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Conditional):
        return (node.test, node.then, node.otherwise)
    if isinstance(node, Function):
        return node.args
    if isinstance(node, Call):
        return tuple(a.value for a in node.args)
    return ()


def walk(node: Node):
    """Every node of a tree, pre-order, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def contains_call(node: Node) -> bool:
    """Whether a rule call occurs anywhere under `node`."""
    return any(isinstance(n, Call) for n in walk(node))
