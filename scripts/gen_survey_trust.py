"""Generate lm_predictor/data/survey_trust.json from each pin's survey (bench/survey.json, bench/survey-5.23.0.json).

`.venv/bin/python scripts/gen_survey_trust.py` after `bench/survey.py`. For each pin and causal-LM
model type, it keeps what `eval` needs to say how far derived rules can be trusted: whether the
survey found them exact end to end (and how it measured), or why it could not check them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SURVEYS = {"4.56.0": REPO / "bench" / "survey.json", "5.23.0": REPO / "bench" / "survey-5.23.0.json"}
BYTES_SURVEYS = {"4.56.0": [REPO / "bench" / "sdpa_survey-456-rest.json", REPO / "bench" / "sdpa_survey-456-round7.json"]}
"""bench/sdpa_survey.py runs (four configs, prefill and decode) whose bytes results eval trusts or hides."""
OUT = REPO / "lm_predictor" / "data" / "survey_trust.json"
WORKLOADS = "the to_json_file() and the minimal config, prefill batch 2 seq 7 and decode batch 3 seq 1 after 5"


def entry(record: dict) -> dict:
    """The few fields of one survey record that a trust label needs."""
    results = [record.get("configs", {}).get(name, {}) for name in ("to_json", "minimal")]
    if record.get("exact"):
        modes = {r.get("mode") or "fake" for r in results}
        how = "real tensors on a shrunk config" if any("shrunk" in m for m in modes) else "fake tensors at the default config"
        out = {"exact": True, "checked": f"exact in the survey ({how}; {WORKLOADS})"}
        train = record.get("train") or {}
        mismatched = {m: v.split(": ", 1)[-1] for m, v in train.items() if isinstance(v, str) and v.startswith("mismatch")}
        if mismatched:  # eval --mode train leaves these out rather than print a number the survey measured wrong
            out["train_mismatch"] = mismatched
        return out
    failed = next((r for r in results if not r.get("exact")), {})
    category = failed.get("category") or record.get("crash") or "not run"
    reason = failed.get("detail") or category
    return {"exact": False, "checked": f"the survey could not check it: {category}: {reason.splitlines()[0]}"}


def bytes_mismatches(paths: list[Path]) -> dict[str, str]:
    """model_type -> the first config where a bytes survey measured its derived bytes wrong, with what it saw."""
    found: dict[str, str] = {}
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        for record in data if isinstance(data, list) else data["records"]:
            for name, result in record.get("configs", {}).items():
                if "bytes" in (result.get("category") or "") and not result.get("exact"):
                    found.setdefault(record["model_type"], f"{name} config: {result.get('detail', '').split('; ')[0]}")
    return found


def pin_table(pin: str) -> dict[str, dict]:
    """model_type -> what eval needs of the surveys of `pin`."""
    table = {r["model_type"]: entry(r) for r in json.loads(SURVEYS[pin].read_text(encoding="utf-8"))["records"]}
    for model_type, seen in bytes_mismatches(BYTES_SURVEYS.get(pin, [])).items():
        if model_type in table:  # eval leaves derived bytes out rather than print a total the bytes survey measured wrong
            table[model_type]["bytes_mismatch"] = seen
    return table


def main() -> int:
    pins = {}
    for pin in SURVEYS:
        pins[pin] = pin_table(pin)
        print(f"{pin}: {sum(e['exact'] for e in pins[pin].values())} of {len(pins[pin])} model types exact")
    payload = {"generated_by": "scripts/gen_survey_trust.py from bench/survey.json and bench/survey-5.23.0.json", "pins": pins}
    OUT.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
