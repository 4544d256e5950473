"""Parser: precedence and associativity as AST shapes, spans, calls, and F-code diagnostics."""

from __future__ import annotations

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.formula import nodes as n
from lm_predictor.formula.parser import parse_formula


def shape(node: n.Node) -> object:
    """A compact, span-free rendering of an AST: numbers, $names and (op, left, right) tuples."""
    if isinstance(node, (n.Number, n.Bool)):
        return node.value
    if isinstance(node, n.Param):
        return f"${node.name}" if node.default is None else (f"${node.name}:-", shape(node.default))
    if isinstance(node, n.Defined):
        return ("defined", node.name)
    if isinstance(node, n.Unary):
        return (node.op, shape(node.operand))
    if isinstance(node, n.Binary):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, n.Conditional):
        return ("if", shape(node.test), shape(node.then), shape(node.otherwise))
    if isinstance(node, n.Function):
        return (node.name, *[shape(a) for a in node.args])
    if isinstance(node, n.Call):
        return ("call", node.label, node.callee, tuple((a.name, a.forwarded, shape(a.value)) for a in node.args), node.forward_all, node.metric)
    raise AssertionError(node)


SHAPES = [
    ("1 + 2 * 3", ("+", 1, ("*", 2, 3))),
    ("(1 + 2) * 3", ("*", ("+", 1, 2), 3)),
    ("10 - 4 - 3", ("-", ("-", 10, 4), 3)),                  # left-associative
    ("8 / 4 / 2", ("/", ("/", 8, 4), 2)),
    ("7 // 2 % 3", ("%", ("//", 7, 2), 3)),                  # same level, left to right
    ("2 ** 3 ** 2", ("**", 2, ("**", 3, 2))),                # right-associative
    ("-2 ** 2", ("-", ("**", 2, 2))),                        # ** binds tighter than unary minus
    ("2 ** -1", ("**", 2, ("-", 1))),                        # a signed exponent
    ("- - 3", ("-", ("-", 3))),
    ("+3", ("+", 3)),
    ("1 + 2 < 4", ("<", ("+", 1, 2), 4)),
    ("not $a and $b", ("and", ("not", "$a"), "$b")),
    ("$a or $b and $c", ("or", "$a", ("and", "$b", "$c"))),  # and binds tighter
    ("not 1 == 2", ("not", ("==", 1, 2))),
    ("if $a then 1 else if $b then 2 else 3", ("if", "$a", 1, ("if", "$b", 2, 3))),
    ("1 + (if $a then 2 else 3)", ("+", 1, ("if", "$a", 2, 3))),
    ("${a} + $b + ${c:-1 + 2}", ("+", ("+", "$a", "$b"), ("$c:-", ("+", 1, 2)))),
    ("${a:-${b:-0}}", ("$a:-", ("$b:-", 0))),
    ("defined(a)", ("defined", "a")),
    ("max(1, 2, 3)", ("max", 1, 2, 3)),
    ("ceil_div($a, 2)", ("ceil_div", "$a", 2)),
    ("1_000", 1000),
    ("1.5e3", 1500.0),
    (".5", 0.5),
    ("true", True),
    ("{x.Y}()", ("call", None, "x.Y", (), False, None)),
    ("{lbl: x.Y}(k=1, fwd, ...)", ("call", "lbl", "x.Y", (("k", False, 1), ("fwd", True, "$fwd")), True, None)),
    ("{x.Y}(..., k=$a,)", ("call", None, "x.Y", (("k", False, "$a"),), True, None)),  # trailing comma
    ("{x.Y}(k=2).param_count", ("call", None, "x.Y", (("k", False, 2),), False, "param_count")),
    ("2 * {x.Y}(k={x.Z}())", ("*", 2, ("call", None, "x.Y", (("k", False, ("call", None, "x.Z", (), False, None)),), False, None))),
    ("  1\n  +\n  2  ", ("+", 1, 2)),                       # whitespace and newlines are free
]


@pytest.mark.parametrize("text, expected", SHAPES, ids=[s[0] for s in SHAPES])
def test_shape(text: str, expected: object) -> None:
    assert shape(parse_formula(text)) == expected


def test_spans_are_character_offsets() -> None:
    node = parse_formula("${a} + 10 * $bb")
    assert isinstance(node, n.Binary) and node.span == n.Span(0, 15)
    assert node.left.span == n.Span(0, 4)          # ${a}
    assert node.right.span == n.Span(7, 15)        # 10 * $bb
    assert node.right.right.span == n.Span(12, 15)  # $bb
    call = parse_formula("1 + {lbl: a.B}(k=2)")
    assert call.right.span == n.Span(4, 19)
    assert call.right.callee_span == n.Span(10, 13)  # a.B: where unknown-rule errors point


def test_parse_is_cached_per_text() -> None:
    text = "${a} * 3 + 7"
    assert parse_formula(text) is parse_formula(text)
    from lm_predictor.formula.compiler import compile_text

    assert compile_text(text) is compile_text(text)


def test_int_and_float_literals_stay_distinct() -> None:
    one, one_float = parse_formula("1"), parse_formula("1.0")
    assert type(one.value) is int and type(one_float.value) is float


# formula, code, offset of the caret (0-based, into the formula), a fragment of the message
ERRORS = [
    ("1 +", "F001", 3, "formula ends early"),
    ("", "F001", 0, "formula ends early"),
    ("1 2", "F001", 2, "unexpected '2'"),
    ("(1 + 2", "F001", 6, "expected"),
    ("1 + 2)", "F001", 5, "unexpected ')'"),
    ('__import__("os").system("x")', "F001", 11, "strings are not part of the formula language"),
    ("a[0]", "F001", 1, "indexing is not part of the formula language"),
    ("hidden_size * 2", "F001", 0, "write ${hidden_size} for a parameter"),
    ("2 * tokens", "F001", 4, "write ${tokens} for a parameter"),
    ("1 < 2 < 3", "F001", 6, "comparisons do not chain"),
    ("$a.b", "F001", 2, "attribute access is not part of the language"),
    ("lambda: 1", "F001", 0, "'lambda' is not a built-in function"),
    ("1 if 2 else 3", "F001", 2, "unexpected"),
    ("$", "F001", 0, "unexpected character '$'"),
    ("${a:-}", "F001", 5, "expected"),
    ("1 @ 2", "F001", 2, "unexpected character '@'"),
    ("__import__(1)", "F005", 0, "unknown function '__import__'"),
    ("sqrt(4)", "F005", 0, "unknown function 'sqrt'"),
    ("eval(1)", "F005", 0, "unknown function 'eval'"),
    ("1 + abs()", "F006", 4, "abs() takes 1 argument(s), got 0"),
    ("abs(1, 2)", "F006", 0, "abs() takes 1 argument(s), got 2"),
    ("min()", "F006", 0, "min() takes at least 1 argument(s), got 0"),
    ("ceil_div(1)", "F006", 0, "ceil_div() takes 2 argument(s), got 1"),
    ("2 * 1" + "0" * 200, "F007", 4, "201 digits"),          # 201 digits
    ("1e400", "F008", 0, "'1e400' is not finite"),
    ("{x.Y}(a=1, a=2)", "F009", 11, "keyword 'a' given twice"),
    ("{x.Y}(a, a=2)", "F009", 9, "keyword 'a' given twice"),   # forwarded and given
    ("{a.b: x.Y}()", "F010", 1, "call label 'a.b'"),
]


@pytest.mark.parametrize("text, code, offset, fragment", ERRORS, ids=[e[0][:40] or "empty" for e in ERRORS])
def test_syntax_diagnostics(text: str, code: str, offset: int, fragment: str) -> None:
    with pytest.raises(LmPredictorError) as raised:
        parse_formula(text)
    diag = raised.value.diagnostic
    assert diag.code.code == code, diag.render()
    assert fragment in diag.message
    # <formula> origin: line 1, 1-based column = offset + 1
    assert (diag.location.line, diag.location.column) == (1, offset + 1), diag.render()


def test_syntax_error_messages_name_tokens_not_grammar_internals() -> None:
    with pytest.raises(LmPredictorError) as raised:
        parse_formula("2 * * 3")
    message = raised.value.diagnostic.message
    assert "__ANON" not in message.upper() and "'${'" in message


def test_keywords_are_not_parameters() -> None:
    for text in ("if + 1", "1 + then", "and"):
        with pytest.raises(LmPredictorError) as raised:
            parse_formula(text)
        assert raised.value.diagnostic.code.code == "F001"


def test_nested_parentheses_add_no_depth() -> None:
    # parentheses only group: 9,000 of them around a literal are one Number node
    text = "(" * 9000 + "1" + ")" * 9000
    assert shape(parse_formula(text)) == 1
