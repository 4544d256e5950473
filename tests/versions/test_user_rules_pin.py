"""`--rules` layers user rules over the shipped library of the pin that reads the config: the hand
rules written against 4.56 never price a config read with 5.23 (docs/transformers-versions.md)."""

from __future__ import annotations

from lm_predictor.evaluate.predict import predict
from lm_predictor.rules.library import UserRules, load_library
from tests.cli.util import EXTRA
from tests.versions.test_choice import LLAMA


def test_user_rules_over_a_5x_config_leave_the_5x_derivation(tmp_path):
    (tmp_path / "extra.yaml").write_text(EXTRA)
    user = UserRules(load_library([tmp_path / "extra.yaml"]))
    plain = predict(LLAMA, transformers="5.23.0", breakdown=True)
    layered = predict(LLAMA, transformers="5.23.0", library=user, breakdown=True)
    # the 5.23 pin has no hand-written llama rule: with or without --rules the rules are derived
    # from the 5.23 source (before the fix, --rules put the 4.56 hand rules under a 5.23 config)
    assert plain.trust.level.startswith("derived")
    assert any("transformers-5.23.0" in n for n in layered.notes), layered.notes
    assert layered.totals == plain.totals
    assert [(r.path, r.totals) for r in layered.modules] == [(r.path, r.totals) for r in plain.modules]
    # the same files over a 4.56 config: the hand-written llama rules of 4.56, as before
    old = predict(LLAMA, library=user)
    assert not any("derived" in n for n in old.notes) and old.trust.level == "user-rules"

