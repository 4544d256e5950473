"""docs/coverage.md: both pins side by side, and 'no ground truth' kept out of the share the issue measures."""

from __future__ import annotations

from pathlib import Path

from tests.cli.util import load_script


def _survey():
    return load_script("survey", "bench")


def _record(model_type: str, category: str, detail: str = "", **extra) -> dict:
    exact = category == "exact"
    result = {"exact": exact, "category": category, "detail": detail, "mode": "fake" if exact else None}
    return {"model_type": model_type, "configs": {n: dict(result) for n in ("to_json", "minimal", "varied_a", "varied_b")}, "exact": exact, **extra}


def _payload(records: list[dict]) -> dict:
    exact = sum(r["exact"] for r in records)
    per = {n: exact for n in ("to_json", "minimal", "varied_a", "varied_b")}
    return {"totals": {"types": len(records), "exact_to_json_and_minimal": exact, "exact_all_four": exact, "exact_per_config": per,
                       "train_exact": {}, "train_surveyed": 0}, "elapsed_seconds": 60, "records": records}


def test_no_ground_truth_is_the_models_limit_not_the_oracles() -> None:
    survey = _survey()
    assert survey.no_ground_truth(_record("a", "oracle cannot run it", "IndexError: list index out of range"))
    assert survey.no_ground_truth(_record("b", "unresolved A120", oracle_runs="TypeError: topk(): argument 'k' must be int"))
    assert not survey.no_ground_truth(_record("c", "unresolved A120", oracle_runs="yes"))
    assert not survey.no_ground_truth(_record("d", "oracle cannot run it", "OracleUnsupported: real mode needs a small config (9 parameters)"))
    assert not survey.no_ground_truth(_record("e", "exact"))


def test_both_pins_side_by_side(tmp_path: Path) -> None:
    survey = _survey()
    old = _payload([_record("llama", "exact"), _record("dbrx", "oracle cannot run it", "ValueError: clamp"), _record("zamba", "unresolved A112")])
    new = _payload([_record("llama", "exact"), _record("qwen3_5", "exact"), _record("zamba", "unresolved A120"), _record("x", "exact")])
    path = tmp_path / "coverage.md"
    survey.PIN_JSON = {"4.56.0": tmp_path / "none-1.json", "5.23.0": tmp_path / "none-2.json"}
    survey.write_markdown(path, {"4.56.0": old, "5.23.0": new})
    text = path.read_text(encoding="utf-8")
    # 4.56: 3 types, 1 exact, dbrx has no ground truth: 1 of the other 2 = 50%; 5.23: 3 of 4 = 75%
    assert "| 4.56.0 | 3 | **1** | 1 | 1 of 2 (50%) |" in text
    assert "| 5.23.0 | 4 | **3** | 0 | 3 of 4 (75%) |" in text
    assert "| dbrx | no ground truth | - |" in text
    assert "| qwen3_5 | - | exact |" in text
    assert "| zamba | unresolved A112 | unresolved A120 |" in text
    assert text.index("## transformers 4.56.0") < text.index("## transformers 5.23.0")
