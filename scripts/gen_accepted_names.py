"""Generate lm_predictor/data/accepted_names.json from the vendored transformers sources.

`.venv/bin/python scripts/gen_accepted_names.py` (after `lmpredict vendor`): for every pin, the
rope types, activations and attention implementations its source registers
(lm_predictor/vendor/source_names.py). Run it again when a pin is added or changed;
tests/data/test_accepted_names.py fails while the committed file and the source disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lm_predictor.data.versions import PINS  # noqa: E402
from lm_predictor.vendor.source_names import accepted_names  # noqa: E402

OUT = REPO / "lm_predictor" / "data" / "accepted_names.json"


def main() -> int:
    """Write the table; refuse (exit 1) where a pin's source is not vendored."""
    table = {}
    for version, pin in sorted(PINS.items()):
        names = accepted_names(pin.source_name, REPO)
        if names is None:
            print(f"gen_accepted_names: third_party/{pin.source_name} is not vendored (run `lmpredict vendor`)", file=sys.stderr)
            return 1
        table[version] = names
    OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}: {', '.join(sorted(table))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
