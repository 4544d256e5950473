"""Re-parse a generated file with `ast` and accept only the shapes the emitter produces.

A whitelist, not a blacklist: node types, operators, names, attributes, constants, imports and
comments are each checked against what emitter.py can emit. Anything else (an import of another
module, an attribute such as `__class__`, a name such as `eval`, a string that is not a plain
dotted name, a lambda, a loop, a comment outside the header) makes the file unsafe.
"""

from __future__ import annotations

import ast
import math
import re

from lm_predictor.codegen import header
from lm_predictor.codegen.helpers import HELPER_NAMES
from lm_predictor.codegen.naming import is_safe_name

HELPERS_MODULE = "lm_predictor.codegen.helpers"

ALLOWED_NODES = (
    ast.Module, ast.ImportFrom, ast.alias, ast.Assign, ast.FunctionDef, ast.arguments, ast.arg,
    ast.Return, ast.If, ast.Raise, ast.Try, ast.ExceptHandler, ast.Expr, ast.Name, ast.Load,
    ast.Store, ast.Constant, ast.Tuple, ast.Dict, ast.Call, ast.Attribute, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.BoolOp, ast.And, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.USub, ast.Not, ast.Is,
    ast.IsNot, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq,
)
ALLOWED_ATTRIBUTES = frozenset({"lookup", "has_value", "is_given", "call", "records", "bit_length"})

_LOCAL = re.compile(r"(?:[ptvm]\d+|frame|r|e)\Z")
_MODULE_CONST = re.compile(r"(?:[SC]\d+|EXPORTS|IMPORTS)\Z")
_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9_]*?___[a-z][a-z0-9]*(?:_[A-Za-z0-9_]*)?\Z", re.ASCII)


_SIMPLE_NODES = frozenset({
    ast.Load, ast.Store, ast.Return, ast.If, ast.Tuple, ast.BinOp, ast.UnaryOp, ast.Compare, ast.arguments,
    ast.alias, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.USub, ast.Not, ast.Is, ast.IsNot,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.ExceptHandler, ast.Module, ast.BoolOp, ast.And,
})
"""Allowed node types with nothing further to check (their children are checked on their own)."""


class UnsafeCode(ValueError):
    """A generated file that contains something the emitter never produces."""


def _name_ok(name: str) -> bool:
    if name.startswith("__"):
        return False
    return name in HELPER_NAMES or bool(_LOCAL.match(name) or _MODULE_CONST.match(name) or _SYMBOL.match(name))


def _check_node(node: ast.AST) -> None:
    where = f"line {getattr(node, 'lineno', '?')}"
    if not isinstance(node, ALLOWED_NODES):
        raise UnsafeCode(f"{where}: {type(node).__name__} is not allowed")
    if isinstance(node, ast.ImportFrom):
        if node.module != HELPERS_MODULE or node.level != 0:
            raise UnsafeCode(f"{where}: import from {node.module!r}")
        for alias in node.names:
            if alias.name not in HELPER_NAMES or alias.asname is not None:
                raise UnsafeCode(f"{where}: import of {alias.name!r}")
    elif isinstance(node, ast.Name):
        if not _name_ok(node.id):
            raise UnsafeCode(f"{where}: name {node.id!r}")
    elif isinstance(node, ast.Attribute):
        if node.attr not in ALLOWED_ATTRIBUTES or not isinstance(node.value, ast.Name):
            raise UnsafeCode(f"{where}: attribute {node.attr!r}")
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            if not is_safe_name(value):
                raise UnsafeCode(f"{where}: string constant that is not a plain name")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise UnsafeCode(f"{where}: non-finite float")
        elif not (value is None or isinstance(value, (bool, int))):
            raise UnsafeCode(f"{where}: constant of type {type(value).__name__}")
    elif isinstance(node, ast.FunctionDef):
        args = node.args
        if node.decorator_list or node.returns or args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs or args.kw_defaults:
            raise UnsafeCode(f"{where}: function signature")
        if not _SYMBOL.match(node.name):
            raise UnsafeCode(f"{where}: function name {node.name!r}")
        for arg in args.args:
            if arg.annotation is not None or not _LOCAL.match(arg.arg):
                raise UnsafeCode(f"{where}: parameter {arg.arg!r}")
    elif isinstance(node, ast.Call):
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise UnsafeCode(f"{where}: call with keywords or starred arguments")
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            raise UnsafeCode(f"{where}: call of a computed callable")
    elif isinstance(node, ast.Assign):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            raise UnsafeCode(f"{where}: assignment target")
    elif isinstance(node, ast.Try):
        if node.orelse or node.finalbody or len(node.handlers) != 1:
            raise UnsafeCode(f"{where}: try shape")
        handler = node.handlers[0]
        if not (isinstance(handler.type, ast.Name) and handler.type.id == "h_VE" and handler.name == "e"):
            raise UnsafeCode(f"{where}: except clause")
    elif isinstance(node, ast.Raise):
        if node.cause is not None and not (isinstance(node.cause, ast.Constant) and node.cause.value is None):
            raise UnsafeCode(f"{where}: raise ... from")
    elif isinstance(node, ast.Dict):
        if any(not isinstance(k, ast.Constant) or not isinstance(k.value, str) for k in node.keys):
            raise UnsafeCode(f"{where}: dict keys")
    elif isinstance(node, ast.Expr):
        if not isinstance(node.value, ast.Call):
            raise UnsafeCode(f"{where}: expression statement")


def check_source(text: str) -> None:
    """Raise UnsafeCode unless `text` is a generated module of the allowed shape."""
    if not text.isascii():
        raise UnsafeCode("non-ASCII character")
    try:
        head, body = header.split(text)
    except header.HeaderError as err:
        raise UnsafeCode(str(err)) from None
    try:
        tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise UnsafeCode(f"does not parse: {type(err).__name__}") from None
    for statement in tree.body:
        if not isinstance(statement, (ast.ImportFrom, ast.Assign, ast.FunctionDef)):
            raise UnsafeCode(f"line {statement.lineno}: {type(statement).__name__} at module level")
    simple = _SIMPLE_NODES
    for node in ast.walk(tree):
        kind = type(node)
        if kind in simple:
            continue
        if kind is ast.Name:
            if not _name_ok(node.id):
                raise UnsafeCode(f"line {node.lineno}: name {node.id!r}")
            continue
        _check_node(node)
    # string constants are plain names (checked above), so a '#' after the header is a comment
    if "#" in body:
        raise UnsafeCode("comment outside the header")
    del head, body


def check_file(path) -> None:
    """check_source on a file's bytes (strict ASCII)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise UnsafeCode("non-ASCII byte") from None
    check_source(text)
