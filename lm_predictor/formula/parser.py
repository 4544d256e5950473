"""Formula text -> lark tree -> frozen AST, with limits checked and errors located."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
import os
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Code, LmPredictorError
from lm_predictor.formula import nodes as n
from lm_predictor.formula.builtins import BUILTINS
from lm_predictor.formula.source import FORMULA_ORIGIN, Origin
from lm_predictor.limits import MAX_AST_NODES, MAX_FORMULA_CHARS, MAX_LITERAL_DIGITS, MAX_NESTING_DEPTH
from lm_predictor.resources import grammar_path, user_cache_dir

KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "true", "false", "defined"})

_TOKEN_TEXT = {
    "PLUS": "'+'", "MINUS": "'-'", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'",
    "INT": "a number", "FLOAT": "a number", "NAME": "a name", "QUALNAME": "a rule name",
    "SHORT_PARAM": "'$name'", "COMMA": "','", "DOT": "'.'", "COLON": "':'", "EQUAL": "'='",
    "ADD_OP": "'+'/'-'", "MUL_OP": "an operator", "COMPARE": "a comparison", "POW": "'**'",
    "IF": "'if'", "THEN": "'then'", "ELSE": "'else'", "AND": "'and'", "OR": "'or'", "NOT": "'not'",
    "TRUE": "'true'", "FALSE": "'false'", "DEFINED": "'defined'", "$END": "end of formula",
}


@dataclass(frozen=True)
class FormulaFault(Exception):
    """A located problem found while parsing; turned into a Diagnostic with an Origin."""

    code: Code
    offset: int
    fields: tuple[tuple[str, object], ...]

    def diagnostic(self, text: str, origin: Origin) -> d.Diagnostic:
        location, line = origin.locate(text, self.offset)
        return d.make(self.code, location, line, **dict(self.fields))


def _fault(code: Code, offset: int, **fields: object) -> FormulaFault:
    return FormulaFault(code, offset, tuple(fields.items()))


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The LALR parser, built once; its tables are cached on disk (lark checks the grammar hash)."""
    grammar = grammar_path().read_text(encoding="utf-8")
    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=True)
    cache = user_cache_dir() / "formula-grammar.lark-cache"
    try:
        cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _private(cache.parent) and (not cache.exists() or _private(cache)):
            return Lark(grammar, cache=str(cache), **options)
    except OSError:  # read-only home: build in memory every time (about 0.1 s)
        pass
    return Lark(grammar, **options)


def _private(path: Path) -> bool:
    """Owned by us and not writable by others: lark unpickles its cache, so trust only that."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _token_text(name: str) -> str:
    """How a terminal is shown in messages; anonymous ones (`${`, `:-`, `...`) by their text."""
    if name in _TOKEN_TEXT:
        return _TOKEN_TEXT[name]
    if name.startswith("__ANON"):
        try:
            return f"'{_lark().get_terminal(name).pattern.value}'"
        except KeyError:
            pass
    return name.strip('"').lower()


def _expected_text(expected: set[str]) -> str:
    names = sorted({_token_text(e) for e in expected})
    return ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")


def _syntax_fault(text: str, err: UnexpectedInput) -> FormulaFault:
    offset = getattr(err, "pos_in_stream", None) or 0
    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream]
        hint = ""
        if ch in "\"'":
            hint = "; strings are not part of the formula language"
        elif ch == "[":
            hint = "; indexing is not part of the formula language"
        detail = f"unexpected character {ch!r}{hint}"
        return _fault(d.F_SYNTAX, err.pos_in_stream, detail=detail)
    if isinstance(err, UnexpectedEOF):
        return _fault(d.F_SYNTAX, len(text), detail=f"formula ends early; expected {_expected_text(set(err.expected))}")
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    offset = tok.start_pos if tok.start_pos is not None else len(text)
    if set(err.expected) == {"LPAR"}:  # after a bare name: almost always a parameter without '$'
        bare = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\Z", text[:offset] if tok.type != "$END" else text)
        if bare is not None and bare[1] not in BUILTINS:
            name = bare[1]
            return _fault(d.F_SYNTAX, bare.start(1), detail=f"'{name}' is not a built-in function; write ${{{name}}} for a parameter")
    if tok.type == "$END":
        return _fault(d.F_SYNTAX, len(text), detail=f"formula ends early; expected {_expected_text(err.expected)}")
    hint = ""
    if tok.type == "NAME" and not text[tok.end_pos:].lstrip().startswith("("):
        hint = f"; write ${{{tok}}} for a parameter"
    elif tok.type == "NAME" and str(tok).startswith("__"):
        hint = "; only built-in functions can be called"
    elif tok.type == "DOT":
        hint = "; attribute access is not part of the language (only {Rule}(...).metric)"
    elif tok.type == "COMPARE":
        hint = "; comparisons do not chain, use 'and'"
    return _fault(d.F_SYNTAX, offset, detail=f"unexpected {str(tok)!r}, expected {_expected_text(err.expected)}{hint}")


def _check_shape(tree: Tree) -> None:
    """Refuse trees nested too deeply, without recursion (before the recursive AST builder runs).

    The node limit is checked on the built AST (see `_parse_cached`): lark trees also hold
    tokens and wrapper trees, so counting them here would refuse formulas of half the size.
    """
    stack: list[tuple[Tree | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Tree):
            if depth > MAX_NESTING_DEPTH:
                raise _fault(d.F_TOO_DEEP, node.meta.start_pos if not node.meta.empty else 0, n=f"more than {MAX_NESTING_DEPTH}", limit=MAX_NESTING_DEPTH)
            stack.extend((c, depth + 1) for c in node.children if c is not None)


def _span(item: Tree | Token) -> n.Span:
    if isinstance(item, Token):
        return n.Span(item.start_pos or 0, item.end_pos or 0)
    return n.Span(item.meta.start_pos, item.meta.end_pos)


class _Builder:
    """Turns a checked lark tree into frozen AST nodes (one method per grammar alias)."""

    def build(self, item: Tree | Token) -> n.Node:
        if isinstance(item, Token):  # a lone token cannot be an expression in this grammar
            raise _fault(d.F_SYNTAX, item.start_pos or 0, detail=f"unexpected {str(item)!r}")
        method = getattr(self, "_" + str(item.data))
        return method(item, *item.children)

    def _int_literal(self, tree: Tree, tok: Token) -> n.Node:
        digits = str(tok).replace("_", "")
        if len(digits) > MAX_LITERAL_DIGITS:
            raise _fault(d.F_LITERAL_TOO_LARGE, tok.start_pos, n=len(digits), limit=MAX_LITERAL_DIGITS)
        return n.Number(int(digits), _span(tree))

    def _float_literal(self, tree: Tree, tok: Token) -> n.Node:
        text = str(tok).replace("_", "")
        if len(text) > MAX_LITERAL_DIGITS:
            raise _fault(d.F_LITERAL_TOO_LARGE, tok.start_pos, n=len(text), limit=MAX_LITERAL_DIGITS)
        value = float(text)
        if not math.isfinite(value):
            raise _fault(d.F_BAD_FLOAT, tok.start_pos, text=text)
        return n.Number(value, _span(tree))

    def _true_literal(self, tree: Tree) -> n.Node:
        return n.Bool(True, _span(tree))

    def _false_literal(self, tree: Tree) -> n.Node:
        return n.Bool(False, _span(tree))

    def _param(self, tree: Tree, name: Token, default: Tree | None) -> n.Node:
        return n.Param(str(name), self.build(default) if default is not None else None, _span(tree))

    def _short_param(self, tree: Tree, tok: Token) -> n.Node:
        return n.Param(str(tok)[1:], None, _span(tree))

    def _defined(self, tree: Tree, name: Token) -> n.Node:
        return n.Defined(str(name), _span(tree))

    def _neg(self, tree: Tree, operand: Tree) -> n.Node:
        return n.Unary("-", self.build(operand), _span(tree))

    def _pos(self, tree: Tree, operand: Tree) -> n.Node:
        return n.Unary("+", self.build(operand), _span(tree))

    def _not_op(self, tree: Tree, operand: Tree) -> n.Node:
        return n.Unary("not", self.build(operand), _span(tree))

    def _binary(self, tree: Tree, left: Tree, op: Token, right: Tree) -> n.Node:
        return n.Binary(str(op), self.build(left), self.build(right), _span(tree))

    _compare = _binary

    def _power(self, tree: Tree, left: Tree, op: Token, right: Tree) -> n.Node:
        return n.Binary("**", self.build(left), self.build(right), _span(tree))

    def _and_op(self, tree: Tree, left: Tree, right: Tree) -> n.Node:
        return n.Binary("and", self.build(left), self.build(right), _span(tree))

    def _or_op(self, tree: Tree, left: Tree, right: Tree) -> n.Node:
        return n.Binary("or", self.build(left), self.build(right), _span(tree))

    def _conditional(self, tree: Tree, test: Tree, then: Tree, otherwise: Tree) -> n.Node:
        return n.Conditional(self.build(test), self.build(then), self.build(otherwise), _span(tree))

    def _function(self, tree: Tree, name: Token, *args: Tree | None) -> n.Node:
        fname = str(name)
        entry = BUILTINS.get(fname)
        if entry is None:
            raise _fault(d.F_UNKNOWN_FUNCTION, name.start_pos, name=fname, known=", ".join(sorted(BUILTINS)) + ", defined")
        built = tuple(self.build(a) for a in args if a is not None)
        if len(built) < entry.min_args or (entry.max_args is not None and len(built) > entry.max_args):
            raise _fault(d.F_ARITY, name.start_pos, name=fname, expected=entry.arity_text(), got=len(built))
        return n.Function(fname, built, _span(tree))

    def _call(self, tree: Tree, first: Token, second: Token | None, *arg_items: Tree | None) -> n.Call:
        label, callee, callee_tok = (None, str(first), first) if second is None else (str(first), str(second), second)
        if label is not None and "." in label:
            raise _fault(d.F_BAD_LABEL, first.start_pos, name=label)
        args: list[n.Argument] = []
        seen: set[str] = set()
        forward_all = False
        for item in arg_items:
            if item is None:
                continue
            if item.data == "forward_all":
                forward_all = True
                continue
            name_tok = item.children[0]
            name = str(name_tok)
            if name in seen:
                raise _fault(d.F_DUPLICATE_KEYWORD, name_tok.start_pos, name=name, callee=callee)
            seen.add(name)
            if item.data == "forward_arg":
                value: n.Node = n.Param(name, None, _span(name_tok))
                args.append(n.Argument(name, value, True, _span(item)))
            else:
                args.append(n.Argument(name, self.build(item.children[1]), False, _span(item)))
        return n.Call(callee, label, tuple(args), forward_all, None, _span(tree), _span(callee_tok))

    def _metric_select(self, tree: Tree, call: Tree, metric: Token) -> n.Node:
        base = self._call(call, *call.children)
        return n.Call(base.callee, base.label, base.args, base.forward_all, str(metric), _span(tree), base.callee_span)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> n.Node | FormulaFault:
    """Parse one formula text once per process (the template cache); faults are cached too."""
    if len(text) > MAX_FORMULA_CHARS:
        return _fault(d.F_TOO_LONG, 0, n=len(text), limit=MAX_FORMULA_CHARS)
    try:
        tree = _lark().parse(text)
        _check_shape(tree)
        node = _Builder().build(tree)
        count = sum(1 for _ in n.walk(node))
        if count > MAX_AST_NODES:
            return _fault(d.F_TOO_MANY_NODES, 0, n=count, limit=MAX_AST_NODES)
        return node
    except UnexpectedInput as err:
        return _syntax_fault(text, err)
    except FormulaFault as fault:
        return fault


def parse_formula(text: str, origin: Origin = FORMULA_ORIGIN) -> n.Node:
    """Parse formula text to an AST, raising LmPredictorError located through `origin`."""
    result = _parse_cached(text)
    if isinstance(result, FormulaFault):
        raise LmPredictorError(result.diagnostic(text, origin))
    return result
