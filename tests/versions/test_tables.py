"""The committed config-defaults table of the 5.23.0 pin is what its generator writes in that pin's venv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lm_predictor.data.versions import PINS
from lm_predictor.verify.pinned_env import env_python

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_5_23_table_is_current():
    table = ROOT / "lm_predictor" / "data" / PINS["5.23.0"].table_file
    cmd = [str(env_python("5.23.0")), "scripts/gen_transformers_table.py", "--check", "--out", str(table)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-500:]


def test_5_23_table_is_deterministic_json():
    text = (ROOT / "lm_predictor" / "data" / PINS["5.23.0"].table_file).read_text()
    assert text == json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert " at 0x" not in text  # no object reprs with addresses (5.x per-layer views)
