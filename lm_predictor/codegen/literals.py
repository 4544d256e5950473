"""Safe pieces of generated code: validated name, int and number literals, and a line writer."""

from __future__ import annotations

import math

from lm_predictor.codegen import naming
from lm_predictor.limits import MAX_INT_BITS


class CodegenError(ValueError):
    """The input cannot be turned into safe code (a name that is not a plain identifier, ...)."""


def name_literal(text: object) -> str:
    """A rule / parameter / metric / built-in name as a string literal, after validation."""
    if not naming.is_safe_name(text):
        raise CodegenError(f"refusing to emit a name that is not a dotted ASCII identifier: {text!r}")
    return repr(text)


def int_literal(value: object) -> str:
    """An exact int as Python source (negative ones parenthesised)."""
    if type(value) is not int:
        raise CodegenError(f"not an int: {type(value).__name__}")
    return repr(value) if value >= 0 else f"({value!r})"


def number_literal(value: object) -> tuple[str, str]:
    """(source, static type) of a formula's int or finite float literal."""
    if type(value) is int:
        if value.bit_length() > MAX_INT_BITS:
            raise CodegenError("integer literal too large")
        return int_literal(value), "int"
    if type(value) is float and math.isfinite(value):
        text = repr(value)
        return (text if not text.startswith("-") else f"({text})"), "float"
    raise CodegenError(f"not a finite number literal: {type(value).__name__}")


class Writer:
    """Lines of Python source at a current indentation depth."""

    def __init__(self, depth: int = 1):
        self.lines: list[str] = []
        self.depth = depth

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def block(self) -> "Indent":
        return Indent(self)


class Indent:
    """`with writer.block():` one level deeper."""

    def __init__(self, writer: Writer):
        self.writer = writer

    def __enter__(self) -> None:
        self.writer.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.writer.depth -= 1
