"""Strings, nested mappings and lists of a config reach rules as derived bool/int params."""

from __future__ import annotations

from lm_predictor.evaluate.binding import bind
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.workload import Workload

RULE = """
rules:
  demo.Model:
    doc: exercises derived config facts
    params:
      batch: {type: int, doc: workload}
      hidden_act__gelu_new: {type: bool, default: false, doc: string fact}
      hidden_act__silu: {type: bool, default: true, doc: string fact}
      rope_scaling__factor: {type: float, default: 1.0, doc: nested number}
      rope_scaling__rope_type__longrope: {type: bool, default: false, doc: nested string}
      layer_types__count__sliding_attention: {type: int, default: 0, doc: list count}
      layer_types__count__chunked: {type: int, default: 7, doc: list count of a value not present}
      layer_types__len: {type: int, default: 0, doc: list length}
      dtype__float16: {type: bool, default: false, doc: workload dtype}
      absent__thing: {type: bool, default: true, doc: field not in the config}
    flops: 0
"""


def _rule(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(RULE)
    library = RuleLibrary()
    library.load_file(path)
    assert not library.diagnostics
    return library.get("demo.Model")


def test_derived_facts_bind_by_name(tmp_path):
    config = {
        "hidden_act": "gelu_new",
        "rope_scaling": {"rope_type": "LongRoPE", "factor": 8.0},
        "layer_types": ["full_attention", "sliding_attention", "sliding_attention"],
    }
    values = bind(_rule(tmp_path), config, Workload(batch=2, seq_len=3, dtype="float16"))
    assert values == {
        "batch": 2,
        "hidden_act__gelu_new": True,
        "hidden_act__silu": False,  # the field is present with another value
        "rope_scaling__factor": 8.0,
        "rope_scaling__rope_type__longrope": True,  # folded to lowercase
        "layer_types__count__sliding_attention": 2,
        "layer_types__count__chunked": 0,  # the list is given, the value does not occur
        "layer_types__len": 3,
        "dtype__float16": True,
        # absent__thing: unbound, so its declared default applies
    }


def test_missing_fields_leave_defaults(tmp_path):
    values = bind(_rule(tmp_path), {}, Workload(batch=1, seq_len=1))
    assert values == {"batch": 1, "dtype__float16": False}


def test_literal_config_keys_cannot_forge_derived_names(tmp_path):
    config = {"dtype__float16": True, "hidden_act__gelu_new": True, "hidden_act": "silu"}
    values = bind(_rule(tmp_path), config, Workload(batch=1, seq_len=1, dtype="float32"))
    assert values["dtype__float16"] is False
    assert values["hidden_act__gelu_new"] is False


SIZES = """
rules:
  demo.Sizes:
    doc: size fields
    params:
      hidden_size: {type: int, doc: never 0}
      shared_intermediate_size: {type: int, default: 1, doc: 0 switches the shared MLP off}
    flops: 0
"""


def test_a_size_may_be_zero_where_a_model_switches_a_part_off(tmp_path) -> None:
    import pytest

    from lm_predictor.diagnostics import LmPredictorError

    path = tmp_path / "sizes.yaml"
    path.write_text(SIZES)
    library = RuleLibrary()
    library.load_file(path)
    rule = library.get("demo.Sizes")
    # granitemoeshared writes shared_intermediate_size: 0 (no shared MLP); transformers builds it
    values = bind(rule, {"hidden_size": 8, "shared_intermediate_size": 0}, Workload(batch=1, seq_len=1))
    assert values["shared_intermediate_size"] == 0
    with pytest.raises(LmPredictorError, match="'shared_intermediate_size' must be zero or more, got -1"):
        bind(rule, {"hidden_size": 8, "shared_intermediate_size": -1}, Workload(batch=1, seq_len=1))
    with pytest.raises(LmPredictorError, match="'hidden_size' must be positive, got 0"):
        bind(rule, {"hidden_size": 0}, Workload(batch=1, seq_len=1))


def test_a_config_key_never_binds_a_derived_parameter(tmp_path):
    """suggest's shared sub-expressions (`derived: true`) are computed by the rule; a config
    that happens to carry a key of that name must not replace them."""
    from lm_predictor.engine.evaluate import evaluate

    path = tmp_path / "shared.yaml"
    path.write_text(
        "rules:\n  demo.Shared:\n    params:\n      hidden_size: int\n"
        "      let_abc123_1: {type: int, default: \"2 * $hidden_size\", derived: true}\n"
        "    flops: $let_abc123_1 + $let_abc123_1\n"
    )
    library = RuleLibrary()
    library.load_file(path)
    assert not library.diagnostics
    rule = library.get("demo.Shared")
    values = bind(rule, {"hidden_size": 8, "let_abc123_1": 1000}, Workload(batch=1, seq_len=4))
    assert values == {"hidden_size": 8}
    assert evaluate(library, "demo.Shared", "flops", values).value == 32  # 2 * (2 * 8)
