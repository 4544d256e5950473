"""bench/cmp_survey.py: a verdict that turns into a mismatch is a loss, as an exact one lost is."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.util import load_script


def _survey_file(path: Path, activation: str, category: str = "exact") -> str:
    train = {"configs": {"varied_a": {"flops": "exact", "activation_bytes": activation}}}
    record = {"model_type": "t", "configs": {"to_json": {"category": category}}, "train": train}
    path.write_text(json.dumps({"records": [record]}), encoding="utf-8")
    return str(path)


def test_unavailable_to_mismatch_is_wrong_and_fails(tmp_path: Path, capsys) -> None:
    cmp = load_script("cmp_survey", "bench")
    old = _survey_file(tmp_path / "old.json", "unavailable")
    new = _survey_file(tmp_path / "new.json", "mismatch: predicted 4917588 measured 14925564")
    assert cmp.main([old, new]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("WRONG") and out[-1] == "lost-or-wrong 1 gained 0"


def test_gains_alone_pass(tmp_path: Path, capsys) -> None:
    cmp = load_script("cmp_survey", "bench")
    old = _survey_file(tmp_path / "old.json", "unavailable", category="unresolved A110")
    new = _survey_file(tmp_path / "new.json", "exact")
    assert cmp.main([old, new]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "lost-or-wrong 0 gained 2"
