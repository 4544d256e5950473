"""lm_predictor/data/accepted_names.json is what the pinned sources register, for every pin.

The config checks (evaluate/config_checks.py) read the committed table, so they hold without
third_party; this test reads the vendored source with `ast` (vendor/source_names.py) wherever it is
present and fails while the table and the source disagree (regenerate:
scripts/gen_accepted_names.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.data.accepted_names import accepted, pins
from lm_predictor.data.versions import PINS
from lm_predictor.evaluate.config_checks import activations, attention_names, rope_types
from lm_predictor.vendor.source_names import TABLES, accepted_names, dict_keys

REPO = Path(__file__).resolve().parents[2]


def test_every_pin_has_a_table() -> None:
    assert pins() == sorted(PINS)


@pytest.mark.parametrize("version", sorted(PINS))
def test_the_table_matches_the_pinned_source(version: str) -> None:
    from_source = accepted_names(PINS[version].source_name, REPO)
    if from_source is None:
        pytest.skip(f"third_party/{PINS[version].source_name} is not vendored")
    assert {t: sorted(accepted(version, t)) for t in TABLES} == from_source


def test_the_reader_finds_a_dict_at_module_and_class_level(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("A = {'x': 1, 'y': 2, 3: 4}\nclass C:\n    _global_mapping: dict = {'sdpa': f}\n")
    assert dict_keys(source, "A") == ["x", "y"]  # a non-string key is no name
    assert dict_keys(source, "_global_mapping") == ["sdpa"]
    assert dict_keys(source, "B") is None


def test_the_checks_hold_without_third_party(monkeypatch: pytest.MonkeyPatch) -> None:
    """The names come from the committed table, not the source: with no source readable, a bogus name is still refused."""
    import lm_predictor.vendor.source_names as source_names
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.evaluate.config_checks import check_config, check_derived

    monkeypatch.setattr(source_names, "source_file", lambda *args, **kwargs: None)
    assert accepted_names(PINS["4.56.0"].source_name) is None  # no source here
    assert rope_types("4.56.0") == {"default", "linear", "dynamic", "yarn", "longrope", "llama3"}
    assert "proportional" in rope_types("5.23.0") and "default" in rope_types("5.23.0")  # 5.x has no "default" entry
    assert "xielu" in activations("4.56.0") and "sqrtsoftplus" not in activations("4.56.0") and "sqrtsoftplus" in activations("5.23.0")
    assert {"eager", "sdpa", "flash_attention_2"} <= attention_names("4.56.0")
    for check, raw in ((check_config, {"model_type": "llama", "hidden_act": "bogus"}),
                       (check_config, {"model_type": "llama", "attn_implementation": "bogus"}),
                       (check_derived, {"model_type": "llama", "rope_scaling": {"rope_type": "bogus"}})):
        with pytest.raises(LmPredictorError, match="C001"):
            check(raw, "4.56.0")
