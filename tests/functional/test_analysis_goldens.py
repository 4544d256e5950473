"""Golden cases for the source-analysis (A) codes: a Python snippet analysed as `suggest` does.

Each `analysis_cases/<CODE>_<symbol>[_<variant>].py` has its expected output next to it
(`.expected`): the findings, rendered by the one diagnostic renderer, then the formulas of the
rules drafted from the snippet (analysis_run.py says how a case is run). `pytest
--update-goldens` rewrites them; review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.functional.analysis_run import run

from lm_predictor.diagnostics import all_codes
from lm_predictor.suggest.findings import BrainError


CASES = Path(__file__).resolve().parent / "analysis_cases"
CASE_NAME = re.compile(r"(?P<code>A\d{3})_(?P<symbol>[a-z0-9-]+)(?:_(?P<variant>[a-z0-9-]+))?\Z")
ANALYSIS_CASES = sorted(CASES.glob("*.py"))


def case_code(path: Path) -> tuple[str, str]:
    match = CASE_NAME.match(path.stem)
    assert match, f"case name {path.stem!r} must be CODE_symbol[_variant]"
    return match["code"], match["symbol"]


@pytest.mark.parametrize("case", ANALYSIS_CASES, ids=[c.stem for c in ANALYSIS_CASES])
def test_analysis_golden(case: Path, update_goldens: bool) -> None:
    output = run(case)
    expected_path = case.with_suffix(".expected")
    if update_goldens:
        expected_path.write_text(output, encoding="utf-8")
    else:
        assert expected_path.exists(), f"no golden for {case.stem}: run pytest --update-goldens and review it"
        assert output == expected_path.read_text(encoding="utf-8"), f"{case.stem}: output differs from {expected_path.name}"
    code, symbol = case_code(case)
    # independent of the golden text: the case shows its own code, with its registered symbol
    assert re.search(rf"(^|: ){code} {re.escape(symbol)}: ", output, re.M), output
    assert {c.code: c.symbol for c in all_codes()}[code] == symbol


def test_a_raising_brain_fails_loudly_under_test() -> None:
    """Without `# brain-errors: report`, the suite's LMPREDICT_BRAIN_ERRORS=raise applies: no silent unknown."""
    text = (CASES / "A170_brain-error.py").read_text(encoding="utf-8").replace("# brain-errors: report\n", "")
    case = CASES.parent / "analysis_cases_tmp_A170.py"
    try:
        case.write_text(text, encoding="utf-8")
        with pytest.raises(BrainError, match="brain 'torch-function' raised on F.glu: AttributeError"):
            run(case)
    finally:
        case.unlink()
