"""docs/diagnostics.md is generated from the code registry and must be up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_diagnostics_doc_is_up_to_date() -> None:
    proc = subprocess.run([sys.executable, "scripts/gen_diagnostics_doc.py", "--check"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr + "\nrun: python scripts/gen_diagnostics_doc.py"


def test_diagnostics_doc_lists_every_code() -> None:
    from lm_predictor.diagnostics import all_codes

    text = (REPO / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code in all_codes():
        assert f"| {code.code} | `{code.symbol}` | {code.severity.value} |" in text
