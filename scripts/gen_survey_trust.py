"""Generate lm_predictor/data/survey_trust.json from bench/survey.json.

`.venv/bin/python scripts/gen_survey_trust.py` after `bench/survey.py`. For each causal-LM model
type, it keeps what `eval` needs to say how far derived rules can be trusted: whether the
survey found them exact end to end (and how it measured), or why it could not check them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SURVEY = REPO / "bench" / "survey.json"
OUT = REPO / "lm_predictor" / "data" / "survey_trust.json"
WORKLOADS = "prefill batch 2 seq 7 and decode batch 3 seq 1 after 5"


def entry(record: dict) -> dict:
    """The few fields of one survey record that a trust label needs."""
    if record.get("exact"):
        mode = record.get("mode") or "fake"
        how = "real tensors on a shrunk config" if "shrunk" in mode else "fake tensors at the default config"
        return {"exact": True, "checked": f"exact in the survey ({how}; {WORKLOADS})"}
    reason = record.get("detail") or record.get("category") or "not run"
    return {"exact": False, "checked": f"the survey could not check it: {record.get('category')}: {reason.splitlines()[0]}"}


def main() -> int:
    records = json.loads(SURVEY.read_text(encoding="utf-8"))
    table = {r["model_type"]: entry(r) for r in records}
    payload = {"generated_by": "scripts/gen_survey_trust.py from bench/survey.json", "model_types": table}
    OUT.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(REPO)}: {sum(e['exact'] for e in table.values())} of {len(table)} model types exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
