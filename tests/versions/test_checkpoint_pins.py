"""Each pin's `checkpoint_reentrant` is what its transformers source passes to torch's checkpoint by default.

4.56 `gradient_checkpointing_enable` sets `{"use_reentrant": True}`; 5.23
`_activation_checkpointing_enable` sets `{"use_reentrant": False}` (torch then stops the recompute
early: evaluate/train.py prices a layer's recompute without its `checkpoint_tail_flops`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lm_predictor.data.versions import PINS

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = re.compile(r'checkpointing_kwargs = \{"use_reentrant": (True|False)\}')


@pytest.mark.parametrize("version", sorted(PINS))
def test_pin_checkpoint_reentrant_matches_its_source(version: str) -> None:
    source = ROOT / "third_party" / PINS[version].source_name / "transformers" / "modeling_utils.py"
    if not source.is_file():
        pytest.skip(f"{source} not vendored (lmpredict vendor)")
    found = DEFAULT.findall(source.read_text())
    assert found, "the default use_reentrant of gradient checkpointing moved: read the source again"
    assert set(found) == {str(PINS[version].checkpoint_reentrant)}


def test_pins_differ_as_read() -> None:
    # the two pins checkpoint differently, so the train flops with checkpointing differ by the tails
    assert (PINS["4.56.0"].checkpoint_reentrant, PINS["5.23.0"].checkpoint_reentrant) == (True, False)
