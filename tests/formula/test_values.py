"""Checked value operations (lm_predictor.formula.values) used by every backend."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from lm_predictor.formula.values import (
    ValueFault,
    arithmetic,
    compare,
    is_number,
    logical_not,
    negate,
    normalise,
    require_bool,
    require_number,
    type_name,
)
from lm_predictor.limits import MAX_INT_BITS


def kind_of(fn, *args) -> str:
    with pytest.raises(ValueFault) as raised:
        fn(*args)
    return raised.value.kind


def test_bool_is_not_a_number() -> None:
    assert not is_number(True) and not is_number(False)
    assert is_number(1) and is_number(Fraction(1, 2)) and is_number(0.5)
    assert kind_of(require_number, True, "+") == "type"
    assert kind_of(require_bool, 1, "if") == "type"
    assert [type_name(v) for v in (True, 1, Fraction(1, 2), 0.5)] == ["bool", "int", "fraction", "float"]


def test_normalise_turns_whole_fractions_into_ints() -> None:
    assert type(normalise(Fraction(4, 2))) is int and normalise(Fraction(4, 2)) == 2
    assert normalise(Fraction(1, 3)) == Fraction(1, 3)


def test_normalise_bounds_ints_and_fractions() -> None:
    assert normalise(2**MAX_INT_BITS - 1) == 2**MAX_INT_BITS - 1          # MAX_INT_BITS bits
    assert kind_of(normalise, 2**MAX_INT_BITS) == "int-size"               # one bit more
    assert kind_of(normalise, -(2**MAX_INT_BITS)) == "int-size"            # magnitude counts
    assert kind_of(normalise, Fraction(1, 2**MAX_INT_BITS)) == "int-size"  # so does a denominator
    assert kind_of(normalise, float("inf")) == "float"
    assert kind_of(normalise, float("nan")) == "float"


def test_product_is_refused_before_multiplying() -> None:
    big = 2**4000  # 4,001 bits
    start = time.perf_counter()
    assert kind_of(arithmetic, "*", big, big) == "int-size"
    assert time.perf_counter() - start < 0.1
    assert arithmetic("*", 2**4095, 1) == 2**4095  # 4,096 bits * 1 bit: fits


@pytest.mark.parametrize("base, exponent", [
    (9, 9**9),                      # 9 ** 387420489
    (3, 10**18),
    (-3, 10**18 + 1),
    (Fraction(1, 3), 10**9),        # the denominator grows: 3 ** 10^9
    (Fraction(-2, 3), 10**9),
    (Fraction(3, 2), 10**9),
    (2, MAX_INT_BITS + 1),
])
def test_power_is_refused_before_computing(base, exponent) -> None:
    start = time.perf_counter()
    assert kind_of(arithmetic, "**", base, exponent) == "int-size"
    assert time.perf_counter() - start < 0.1  # computing any of these would take minutes


@pytest.mark.parametrize("base, exponent, expected", [
    (1, 10**18, 1),                 # 1 ** anything
    (-1, 10**18 + 1, -1),           # odd power of -1
    (0, 10**18, 0),
    (2, MAX_INT_BITS - 1, 2**(MAX_INT_BITS - 1)),   # MAX_INT_BITS bits exactly
    (Fraction(1, 2), 3, Fraction(1, 8)),
    (2, -3, Fraction(1, 8)),
    (Fraction(2, 3), -2, Fraction(9, 4)),
])
def test_power_values(base, exponent, expected) -> None:
    start = time.perf_counter()
    result = arithmetic("**", base, exponent)
    assert result == expected and type(result) is type(expected)
    assert time.perf_counter() - start < 0.1


def test_division_faults() -> None:
    for op in ("/", "//", "%"):
        assert kind_of(arithmetic, op, 1, 0) == "zero"
        assert kind_of(arithmetic, op, 1.0, 0.0) == "zero"
    assert kind_of(arithmetic, "**", 0, -1) == "zero"
    assert kind_of(arithmetic, "**", 0.0, -1.0) == "zero"


def test_float_faults() -> None:
    assert kind_of(arithmetic, "*", 1e308, 10) == "float"
    assert kind_of(arithmetic, "**", 10.0, 400) == "float"
    assert kind_of(arithmetic, "**", -8, 0.5) == "domain"


def test_comparisons() -> None:
    assert compare("==", True, True) is True
    assert compare("!=", True, False) is True
    assert kind_of(compare, "<", True, False) == "type"
    assert kind_of(compare, "==", True, 1) == "type"
    assert compare("<", Fraction(1, 3), 0.34) is True  # 0.333... < 0.34


def test_unary() -> None:
    assert negate(Fraction(1, 2)) == Fraction(-1, 2)
    assert kind_of(negate, True) == "type"
    assert logical_not(False) is True
    assert kind_of(logical_not, 0) == "type"
