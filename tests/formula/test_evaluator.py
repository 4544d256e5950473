"""Evaluator tables: (formula, bindings, expected value), arithmetic shown per row.

Every row runs through every backend (compiled closures and the reference interpreter) and
the test fails if they disagree on the value, its exact type, the error code or the call tree.
The rule under test and its helper rules are in conftest.py (t.F; t.Sq, t.Lin, t.Tok, ...).
Expected values are written from the arithmetic in the comment, never from the code's output.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

F = Fraction
E18 = 10**18

VALUE_ROWS = [
    # --- literals -----------------------------------------------------------------------
    ("42", {}, 42),
    ("1_000_000", {}, 1000000),                       # underscores separate digits
    ("2.5", {}, 2.5),
    ("1.5e3", {}, 1500.0),                            # 1.5 * 10^3, a float
    ("true", {}, True),
    ("false", {}, False),
    # --- exact integers, 10^18 and beyond -----------------------------------------------
    ("10 ** 18 * 1000", {}, 10**21),                  # 10^18 * 10^3 = 10^21, exactly
    ("10 ** 18 + 1 - 10 ** 18", {}, 1),               # via float this would be 0
    ("${a} + 1", {"a": E18 + 1}, E18 + 2),            # float(10^18 + 1) == 10^18: must stay int
    ("${a} * ${b}", {"a": E18 + 1, "b": E18 + 1}, 10**36 + 2 * E18 + 1),  # (10^18+1)^2
    ("2 * ${n} * ${a} * ${b}", {"n": 4096, "a": 8192, "b": 28672}, 2 * 4096 * 8192 * 28672),
    ("123456789012345678901234567890 + 1", {}, 123456789012345678901234567891),
    ("10 ** 18 + 1 > 10 ** 18", {}, True),            # equal as floats, not as ints
    # --- + - * --------------------------------------------------------------------------
    ("1 + 2 * 3", {}, 7),                             # * binds tighter: 1 + 6
    ("(1 + 2) * 3", {}, 9),                           # 3 * 3
    ("10 - 4 - 3", {}, 3),                            # left-assoc: (10 - 4) - 3
    ("1 + 0.5", {}, 1.5),                             # int + float is float
    ("2.0 * 3", {}, 6.0),
    ("1 / 2 + 0.5", {}, 1.0),                         # Fraction + float is float: 0.5 + 0.5
    # --- / is exact ---------------------------------------------------------------------
    ("7 / 2", {}, F(7, 2)),                           # 3.5 as an exact fraction
    ("6 / 3", {}, 2),                                 # whole fractions become ints
    ("1 / 3 + 1 / 6", {}, F(1, 2)),                   # 2/6 + 1/6 = 3/6 = 1/2
    ("1 / 3 * 3", {}, 1),                             # exact: (1/3) * 3 = 1, an int
    ("7.0 / 2", {}, 3.5),                             # a float operand gives a float
    ("-7 / 2", {}, F(-7, 2)),
    # --- // floors, % follows the sign of the divisor ------------------------------------
    ("7 // 2", {}, 3),                                # floor(3.5)
    ("-7 // 2", {}, -4),                              # floor(-3.5) = -4, not -3
    ("7 // -2", {}, -4),                              # floor(-3.5)
    ("-7 // -2", {}, 3),                              # floor(3.5)
    ("7.5 // 2", {}, 3),                              # floor(3.75); // always yields an int
    ("(7 / 2) // 1", {}, 3),                          # floor(7/2)
    ("7 % 3", {}, 1),                                 # 7 = 3*2 + 1
    ("-7 % 3", {}, 2),                                # -7 = 3*(-3) + 2
    ("7 % -3", {}, -2),                               # 7 = (-3)*(-3) + (-2)
    ("-7 % -3", {}, -1),                              # -7 = (-3)*2 + (-1)
    ("7.5 % 2", {}, 1.5),                             # 7.5 = 2*3 + 1.5
    ("(7 / 2) % 1", {}, F(1, 2)),                     # 7/2 = 1*3 + 1/2
    # --- ** -------------------------------------------------------------------------------
    ("2 ** 10", {}, 1024),
    ("2 ** -2", {}, F(1, 4)),                         # 1 / 2^2, exact
    ("(-2) ** 3", {}, -8),
    ("(-2) ** -3", {}, F(-1, 8)),                     # 1 / (-8)
    ("(2 / 3) ** 2", {}, F(4, 9)),
    ("(2 / 3) ** -2", {}, F(9, 4)),                   # (3/2)^2
    ("2 ** 2 ** 3", {}, 256),                         # right-assoc: 2^(2^3) = 2^8
    ("-2 ** 2", {}, -4),                              # ** binds tighter than unary minus: -(2^2)
    ("2 ** 0", {}, 1),
    ("4 ** 0.5", {}, 2.0),                            # a float exponent gives a float
    ("2 ** 4095", {}, 2**4095),                       # 4,096 bits: exactly MAX_INT_BITS
    # --- unary --------------------------------------------------------------------------
    ("-3", {}, -3),
    ("- -3", {}, 3),
    ("-(2 - 5)", {}, 3),                              # -(-3)
    ("+4", {}, 4),
    ("-${a}", {"a": 5}, -5),
    ("-(1 / 2)", {}, F(-1, 2)),
    # --- comparisons --------------------------------------------------------------------
    ("1 < 2", {}, True),
    ("2 <= 2", {}, True),
    ("3 > 4", {}, False),
    ("3 >= 4", {}, False),
    ("1 == 1.0", {}, True),                           # numbers compare by value
    ("1 / 2 == 0.5", {}, True),
    ("1 != 2", {}, True),
    ("true == true", {}, True),                       # bools compare with == and != only
    ("true != false", {}, True),
    # --- and / or / not, short-circuit ---------------------------------------------------
    ("true and false", {}, False),
    ("true or false", {}, True),
    ("not true", {}, False),
    ("not false and true", {}, True),                 # (not false) and true
    ("false or true and false", {}, False),           # and binds tighter: false or (true and false)
    ("not 1 < 2", {}, False),                         # not (1 < 2)
    ("false and (1 / 0 > 0)", {}, False),             # right side never evaluated: no E002
    ("true or (1 / 0 > 0)", {}, True),                # right side never evaluated
    ("defined(a) and ${a} > 2", {}, False),           # ${a} unbound but never read: no E001
    # --- conditionals -------------------------------------------------------------------
    ("if true then 1 else 2", {}, 1),
    ("if ${a} > 3 then ${a} else 0", {"a": 5}, 5),    # 5 > 3
    ("if ${a} > 3 then ${a} else 0", {"a": 2}, 0),    # 2 > 3 is false
    ("if ${a} < 0 then -1 else if ${a} == 0 then 0 else 1", {"a": -3}, -1),
    ("if ${a} < 0 then -1 else if ${a} == 0 then 0 else 1", {"a": 0}, 0),
    ("if ${a} < 0 then -1 else if ${a} == 0 then 0 else 1", {"a": 9}, 1),
    ("if ${a} > 0 then (if ${a} > 10 then 2 else 1) else 0", {"a": 5}, 1),  # 5 > 0, not > 10
    ("(if ${flag} then 2 else 3) * 10", {"flag": False}, 30),
    ("if true then 1 else 1 / 0", {}, 1),             # the other branch is never evaluated
    # --- built-ins ----------------------------------------------------------------------
    ("min(3, 1, 2)", {}, 1),
    ("max(3, 1, 2)", {}, 3),
    ("max(7)", {}, 7),
    ("min(1 / 2, 0.75)", {}, F(1, 2)),                # keeps the smallest argument as it is
    ("abs(-5)", {}, 5),
    ("abs(-1 / 3)", {}, F(1, 3)),
    ("ceil(7 / 2)", {}, 4),                           # ceil(3.5)
    ("floor(7 / 2)", {}, 3),
    ("ceil(-7 / 2)", {}, -3),                         # ceil(-3.5)
    ("floor(-7 / 2)", {}, -4),
    ("ceil(2.1)", {}, 3),
    ("ceil(10 ** 18 / 3)", {}, 333333333333333334),   # 10^18 = 3 * 333333333333333333 + 1
    ("ceil_div(7, 2)", {}, 4),                        # ceil(3.5)
    ("ceil_div(8, 2)", {}, 4),
    # jamba's 32 layers: attention at i % 8 == 4 (4, 12, 20, 28), experts at i % 2 == 1 (16 layers)
    ("residue_count(32, 8, 0, 4, 1, 2, 0, 1, 1)", {}, 0),   # attention and experts: none, the attention layers 4, 12, 20, 28 are even
    ("residue_count(32, 8, 0, 4, 1, 2, 0, 1, 0)", {}, 4),   # attention without experts: all 4 attention layers are even
    ("residue_count(32, 8, 0, 4, 0, 2, 0, 1, 1)", {}, 16),  # experts without attention: the 16 odd layers
    ("residue_count(32, 8, 0, 4, 0, 2, 0, 1, 0)", {}, 12),  # neither: 32 - 4 - 16 = 12
    ("residue_count(6, 8, 0, 4, 1)", {}, 1),                # layers 0..5: only layer 4
    ("residue_count(5, 3, 0, 3, 1)", {}, 0),                # a remainder 3 of a period 3 never occurs
    ("residue_first(5, 8, 0, 4, 1)", {}, 12),               # the first attention layer from 5 on
    ("residue_first(0, 2, 1, 0, 1)", {}, 1),                # (i + 1) % 2 == 0 first at 1
    ("ceil_div(-7, 2)", {}, -3),                      # ceil(-3.5)
    ("log2(1024)", {}, 10),                           # 2^10: exact int
    ("log2(1 / 8)", {}, -3),                          # 2^-3: exact int
    ("log2(1)", {}, 0),
    ("log2(8.0)", {}, 3.0),                           # a float argument gives a float
    # --- parameters, inline defaults, defined() ------------------------------------------
    ("${a}", {"a": 3}, 3),
    ("$a + $b", {"a": 3, "b": 4}, 7),                 # the $name shorthand
    ("${x} * 2", {"x": 1.25}, 2.5),
    ("${y} * 2", {"y": 3}, 6),                        # a `number` parameter accepts ints
    ("${y} * 2", {"y": 1.5}, 3.0),                    # ... and floats
    ("${a:-5}", {}, 5),                               # inline default: a not given
    ("${a:-5}", {"a": 2}, 2),                         # given value wins
    ("${a:-${b} * 2}", {"b": 4}, 8),                  # the inline default is a formula: 4 * 2
    ("defined(a)", {"a": 1}, True),
    ("defined(a)", {}, False),
    ("if defined(a) then ${a} else 0", {}, 0),
    # --- declared defaults --------------------------------------------------------------
    ("${d1}", {}, 7),                                 # literal default
    ("${d1}", {"d1": 1}, 1),                          # a given value overrides the default
    ("${d2}", {"a": 3}, 13),                          # default formula: 3 * 2 + d1 = 6 + 7
    ("${d2}", {"a": 3, "d1": 10}, 16),                # the default reads the given d1: 6 + 10
    ("${d3}", {}, 16),                                # default calls {t.Sq}(a=4): 4 * 4
    ("${dflag}", {}, True),
    ("defined(d1)", {}, False),                       # a declared default is not "given"
    ("${d1:-99} + ${c:-1}", {}, 8),                   # declared default wins over inline: 7 + 1
    # --- nested calls with keywords -----------------------------------------------------
    ("{t.Sq}()", {}, 9),                              # callee default a = 3: 3 * 3
    ("{t.Sq}(a=5)", {}, 25),
    ("{t.Square}(a=5)", {}, 25),                      # an alias resolves to t.Sq
    ("{sq: t.Sq}(a=2)", {}, 4),                       # a label does not change the value
    ("{t.Sq}(a=${a} + 1)", {"a": 4}, 25),             # keyword value is a formula: (4+1)^2
    ("{t.Sq}(a={t.Sq}(a=2))", {}, 16),                # inner 2*2 = 4, outer 4*4
    ("{t.Lin}(i=3, o=4, tokens=5)", {}, 120),         # 2 * 5 * 3 * 4
    ("{t.Lin}(i=3, o=4, tokens=5, bias=false)", {}, 120),
    ("{t.Two}(a=2)", {}, 13),                         # Sq(2) + Sq(3) = 4 + 9
    ("3 * {t.Sq}(a=2) + 1", {}, 13),                  # 3 * 4 + 1
    # --- metric selection ---------------------------------------------------------------
    ("{t.Lin}(i=3, o=4).param_count", {}, 16),        # 3 * 4 + 4 (bias defaults to true)
    ("{t.Lin}(i=3, o=4, bias=false).param_count", {}, 12),  # 3 * 4
    ("{t.Sq}(a=2).param_count", {}, 2),
    ("{t.Sq}(a=2).flops + {t.Sq}(a=2).param_count", {}, 6),  # 4 + 2
    # --- forwarding: `name` and `...` ----------------------------------------------------
    ("{t.Tok}(n)", {"n": 5}, 5),                      # a not passed: defined(a) is false
    ("{t.Tok}(n, a)", {"n": 5, "a": 2}, 10),          # 5 * 2
    ("{t.Tok}(...)", {"n": 5, "a": 2}, 10),           # forwards n and a: 5 * 2
    ("{t.Tok}(...)", {"n": 5}, 5),                    # a is not available here: not forwarded
    ("{t.Tok}(..., a=3)", {"n": 5, "a": 2}, 15),      # an explicit keyword wins: 5 * 3
    ("{t.Tok}(n=1, ...)", {"n": 5}, 1),               # explicit n = 1, a not available
    ("{t.Dflt}(...)", {}, 7),                         # d1 is available through its default 7
    ("{t.Dflt}()", {}, 100),                          # nothing forwarded: the callee's default
]


def _id(row: tuple) -> str:
    formula, bindings, _ = row
    return formula + (" | " + ",".join(f"{k}={v}" for k, v in bindings.items()) if bindings else "")


@pytest.mark.parametrize("formula, bindings, expected", VALUE_ROWS, ids=[_id(r) for r in VALUE_ROWS])
def test_value(bench, formula: str, bindings: dict, expected: object) -> None:
    outcome = bench.agreed(formula, bindings)
    assert outcome.code is None, f"{formula!r} raised {outcome.code}"
    assert type(outcome.value) is type(expected), f"{formula!r}: {outcome.value!r} is not a {type(expected).__name__}"
    assert outcome.value == expected


ERROR_ROWS = [
    ("1 / 0", {}, "E002"),
    ("1 // 0", {}, "E002"),
    ("1 % 0", {}, "E002"),
    ("1.0 / 0.0", {}, "E002"),
    ("0 ** -1", {}, "E002"),                          # 1 / 0^1
    ("ceil_div(1, 0)", {}, "E002"),
    ("residue_count(5, 0, 0, 0, 1)", {}, "E013"),         # a period of 0 layers
    ("residue_count(5, 2, 0, 0, 1, 3)", {}, "E005"),      # groups come in fours
    ("residue_first(0, 1048577, 0, 0, 1)", {}, "E013"),   # a period above MAX_RESIDUE_PERIOD is refused
    ("${a} // ${b}", {"a": 1, "b": 0}, "E002"),
    ("2 ** 4096", {}, "E003"),                        # 4,097 bits > 4,096
    ("2 ** 4095 * 2", {}, "E003"),                    # product of 4,096 and 2 bits is 4,097
    ("2 ** 4095 + 2 ** 4095", {}, "E003"),            # 2^4096 again
    ("(1 / 2) ** 4096", {}, "E003"),                  # the denominator 2^4096 is too big
    ("9 ** 9 ** 9", {}, "E003"),                      # 9^387420489: refused before computing
    ("${x} * 1e308", {"x": 10.0}, "E004"),            # 1e309 overflows to inf
    ("10.0 ** 400", {}, "E004"),
    ("1 + true", {}, "E005"),                         # a bool is not a number
    ("-true", {}, "E005"),
    ("if 1 then 2 else 3", {}, "E005"),               # a number is not a condition
    ("not 1", {}, "E005"),
    ("${a} and true", {"a": 1}, "E005"),
    ("true and 1", {}, "E005"),
    ("true < false", {}, "E005"),                     # bools only compare with == and !=
    ("true == 1", {}, "E005"),
    ("max(true)", {}, "E005"),
    ("ceil_div(7.5, 2)", {}, "E005"),                 # ceil_div needs ints
    ("log2(0)", {}, "E013"),
    ("log2(-1)", {}, "E013"),
    ("(-8) ** 0.5", {}, "E013"),                      # negative base, fractional exponent
    ("${c}", {}, "E001"),                             # optional, not given, no default
    ("${d2}", {}, "E001"),                            # d2's default reads ${a}, not given
    ("{t.Nope}()", {}, "E008"),
    ("{t.Sq}().bytes_read", {}, "E009"),
    ("{t.Sq}(zz=1)", {}, "E010"),
    ("{t.Lin}(i=1)", {}, "E011"),                     # o is required
    ("{t.Sq}(a=1.5)", {}, "E012"),                    # a float for an int
    ("{t.Sq}(a=true)", {}, "E012"),                   # a bool is not an int
    ("{t.Sq}(a=7 / 2)", {}, "E012"),                  # a fraction is not an int
    ("{t.Lin}(i=3, o=4)", {}, "E001"),                # t.Lin's flops needs tokens
]


@pytest.mark.parametrize("formula, bindings, code", ERROR_ROWS, ids=[_id(r) for r in ERROR_ROWS])
def test_error_code(bench, formula: str, bindings: dict, code: str) -> None:
    outcome = bench.agreed(formula, bindings)
    assert outcome.code == code, f"{formula!r} gave {outcome.value!r} / {outcome.code}, expected {code}"


def test_power_is_refused_before_computing(bench) -> None:
    import time

    start = time.perf_counter()
    assert bench.agreed("9 ** 9 ** 9 ** 9", {}).code == "E003"
    assert bench.agreed("${a} ** ${b}", {"a": 3, "b": 10**18}).code == "E003"
    assert time.perf_counter() - start < 1.0


def test_metric_is_propagated_to_calls(bench) -> None:
    # Evaluating t.F's param_count: the call asks t.Lin for the same metric.
    outcome = bench.agreed("{t.Lin}(i=3, o=4)", {}, metric="param_count")
    assert outcome.value == 3 * 4 + 4
    # ... unless the call selects one: 2 * tokens * i * o = 2 * 5 * 3 * 4
    assert bench.agreed("{t.Lin}(i=3, o=4, tokens=5).flops", {}, metric="param_count").value == 120


def test_undefined_metric_is_an_error_not_zero(bench) -> None:
    # t.F's bytes_read calls t.Sq, which defines no bytes_read
    assert bench.agreed("{t.Sq}()", {}, metric="bytes_read").code == "E009"
    # t.F defines flops only: asking it for bytes_written is an error at the root too
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.engine import evaluate

    with pytest.raises(LmPredictorError) as err:
        evaluate(bench.library("1"), "t.F", "bytes_written", {})
    assert err.value.diagnostic.code.code == "E009"


def test_bindings_are_type_checked_at_the_root(bench) -> None:
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.engine import evaluate

    library = bench.library("${a}")
    for bindings, code in [({"a": 1.5}, "E012"), ({"a": True}, "E012"), ({"a": F(1, 2)}, "E012"),
                           ({"flag": 1}, "E012"), ({"zz": 1}, "E010")]:
        with pytest.raises(LmPredictorError) as err:
            evaluate(library, "t.F", "flops", bindings)
        assert err.value.diagnostic.code.code == code, bindings
    with pytest.raises(LmPredictorError) as err:
        evaluate(library, "t.Lin", "flops", {"i": 1})
    assert err.value.diagnostic.code.code == "E011"

