"""The call tree recorded by evaluate(trace=True): labels, bindings, values and multiplicity.

A record's `count` is how many times its value enters its parent's value linearly: in
`${n} * {X}(...)` the X record has count n, under a unary minus -1, and where the call does
not add linearly (inside max(), a comparison, a divisor, a keyword argument, ...) None.
Shapes are (label, rule, metric, bindings, value, count, children); both backends must agree.
"""

from __future__ import annotations

from fractions import Fraction

import pytest


def children(bench, formula: str, bindings: dict | None = None, **kw) -> list[tuple]:
    outcome = bench.agreed(formula, bindings or {}, **kw)
    assert outcome.code is None, outcome.code
    return list(outcome.tree[6])


def counts(bench, formula: str, bindings: dict | None = None) -> list:
    return [(c[0], c[4], c[5]) for c in children(bench, formula, bindings)]  # (label, value, count)


COUNT_ROWS = [
    # formula, bindings, [(label, value, count) per direct call, in evaluation order]
    ("${n} * {X: t.Sq}(a=2)", {"n": 3}, [("X", 4, 3)]),             # n copies of X: count n
    ("${n} * ${n} * {t.Sq}()", {"n": 3}, [("Sq", 9, 9)]),           # 3 * 3 copies; value 3 * 3
    ("-{t.Sq}()", {}, [("Sq", 9, -1)]),                              # unary minus: -1
    ("-(-{t.Sq}())", {}, [("Sq", 9, 1)]),                            # (-1) * (-1)
    ("{t.Sq}(a=2) - {t.Sq}(a=3)", {}, [("Sq", 4, 1), ("Sq", 9, -1)]),  # subtrahend: -1
    ("2 * (3 * {t.Sq}(a=2) + 1)", {}, [("Sq", 4, 6)]),               # 2 * 3; the +1 is no call
    ("{t.Sq}(a=2) / 4", {}, [("Sq", 4, Fraction(1, 4))]),            # divided by 4: count 1/4
    ("(1 / 2) * {t.Sq}(a=2)", {}, [("Sq", 4, Fraction(1, 2))]),
    ("max({t.Sq}(), 1)", {}, [("Sq", 9, None)]),                     # not additive: unknown
    ("4 / {t.Sq}(a=2)", {}, [("Sq", 4, None)]),                      # a call as divisor
    ("{t.Sq}(a=2) * {t.Sq}(a=3)", {}, [("Sq", 4, None), ("Sq", 9, None)]),  # call * call
    ("{t.Sq}(a=2) ** 2", {}, [("Sq", 4, None)]),
    ("{t.Sq}(a=2) // 3", {}, [("Sq", 4, None)]),
    ("{t.Sq}(a=2) % 3", {}, [("Sq", 4, None)]),
    ("{t.Sq}(a=2) * ${n} // 2", {"n": 3}, [("Sq", 4, None)]),        # // makes it unknown
    ("if ${flag} then {t.Sq}(a=2) else 0", {"flag": True}, [("Sq", 4, 1)]),  # chosen branch
    ("if ${flag} then 0 else {t.Sq}(a=2)", {"flag": True}, []),      # the branch not taken
    ("if {t.Sq}(a=2) > 3 then 1 else 0", {}, [("Sq", 4, None)]),     # a call in a condition
    ("if not ({t.Sq}(a=2) > 3) then 0 else 1", {}, [("Sq", 4, None)]),  # under `not`: unknown
    ("{t.Sq}(a={t.Sq}(a=2))", {}, [("Sq", 4, None), ("Sq", 16, 1)]),  # an argument's call first
    ("{t.Sq}(a=2) + {t.Sq}(a=2)", {}, [("Sq", 4, 1), ("Sq", 4, 1)]),  # memoised, still recorded
    ("${d3}", {}, []),                                               # calls in defaults: no terms
    ("{proj: t.Sq}()", {}, [("proj", 9, 1)]),                        # the label names the record
]


@pytest.mark.parametrize("formula, bindings, expected", COUNT_ROWS, ids=[r[0] for r in COUNT_ROWS])
def test_counts(bench, formula: str, bindings: dict, expected: list) -> None:
    got = counts(bench, formula, bindings)
    assert [(label, value) for label, value, _ in got] == [(label, value) for label, value, _ in expected]
    for (_, _, count), (_, _, want) in zip(got, expected):
        assert count == want and type(count) is type(want), (formula, got)


def test_linear_terms_add_up_to_the_value(bench) -> None:
    # 5 * Sq(2) - Sq(3) / 3 = 5 * 4 - 9 / 3 = 20 - 3 = 17; counts 5 and -1/3
    formula, bindings = "${n} * {t.Sq}(a=2) - {t.Sq}(a=3) / 3", {"n": 5}
    outcome = bench.agreed(formula, bindings)
    assert outcome.value == 17
    terms = [(c[5], c[4]) for c in outcome.tree[6]]
    assert terms == [(5, 4), (Fraction(-1, 3), 9)]
    assert sum(count * value for count, value in terms) == outcome.value


def test_root_record_and_nested_children(bench) -> None:
    outcome = bench.agreed("${n} * {outer: t.Two}(a=2)", {"n": 3})
    label, rule, metric, bindings, value, count, kids = outcome.tree
    assert (label, rule, metric, bindings, count) == ("F", "t.F", "flops", (("n", 3),), 1)
    assert value == 3 * (4 + 9)  # Two(2) = Sq(2) + Sq(3)
    (outer,) = kids
    assert outer[:6] == ("outer", "t.Two", "flops", (("a", 2),), 13, 3)
    # children of t.Two are counted relative to t.Two: once each
    assert [(c[0], c[3], c[4], c[5]) for c in outer[6]] == [("Sq", (("a", 2),), 4, 1), ("Sq", (("a", 3),), 9, 1)]


def test_records_name_the_defining_rule_and_the_metric(bench) -> None:
    (record,) = children(bench, "{t.Square}(a=2).param_count")
    assert record[:6] == ("Square", "t.Sq", "param_count", (("a", 2),), 2, 1)  # alias resolved
    (record,) = children(bench, "{t.Lin}(i=3, o=4)", metric="param_count")
    assert record[:5] == ("Lin", "t.Lin", "param_count", (("i", 3), ("o", 4)), 16)


def test_forwarded_bindings_are_recorded(bench) -> None:
    (record,) = children(bench, "{t.Tok}(...)", {"n": 5, "a": 2})
    assert record[3] == (("a", 2), ("n", 5))
    (record,) = children(bench, "{t.Dflt}(...)")
    assert record[3] == (("d1", 7),)  # the caller's declared default is forwarded


def test_walk_paths(bench) -> None:
    from lm_predictor.engine import evaluate

    library = bench.library("{outer: t.Two}(a=2)")
    tree = evaluate(library, "t.F", "flops", {}, trace=True).tree
    assert [path for path, _ in tree.walk()] == ["F", "F.outer", "F.outer.Sq", "F.outer.Sq"]


def test_no_tree_without_trace(bench) -> None:
    from lm_predictor.engine import evaluate

    assert evaluate(bench.library("{t.Sq}()"), "t.F", "flops", {}).tree is None
