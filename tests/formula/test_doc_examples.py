"""The examples and the limits table in docs/formula-language.md are checked against the code."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from lm_predictor import limits
from lm_predictor.diagnostics import all_codes

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "formula-language.md"
TEXT = DOC.read_text(encoding="utf-8")


def _rows(marker: str) -> list[list[str]]:
    rows = []
    for block in re.findall(rf"<!-- {marker} -->\n(.*?)<!-- end {marker} -->", TEXT, re.S):
        for line in block.strip().splitlines()[2:]:  # skip the header and the --- row
            rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    return rows


def show(outcome) -> str:
    """A value as the docs write it: 7, 7/2, 1.5, true; an error as its code."""
    if outcome.code is not None:
        return outcome.code
    value = outcome.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return repr(value) if isinstance(value, float) else str(value)


def _bindings(text: str) -> dict:
    out = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, value = pair.split("=")
        out[name.strip()] = {"true": True, "false": False}.get(value.strip(), None)
        if out[name.strip()] is None:
            out[name.strip()] = int(value)
    return out


EXAMPLES = _rows("examples")


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 30


@pytest.mark.parametrize("formula, bindings, value", EXAMPLES, ids=[r[0] for r in EXAMPLES])
def test_doc_example(bench, formula: str, bindings: str, value: str) -> None:
    binds = _bindings(bindings)  # the test rule t.F declares n, a, tokens, ... (tests/formula/conftest.py)
    assert show(bench.agreed(formula, binds)) == value


def test_limits_table_matches_limits_py() -> None:
    rows = {name: (value, code) for name, value, code, _ in _rows("limits")}
    names = {name for name in vars(limits) if name.startswith("MAX_")}
    assert set(rows) == names, "docs/formula-language.md must list every limit"
    registered = {c.code for c in all_codes()}
    for name, (value, code) in rows.items():
        assert int(value) == getattr(limits, name), name
        assert code in registered, (name, code)
