"""Constructs of transformers 5.23 sources that the analysis follows without running transformers (issue 11):

- cohere2_moe's config calls PreTrainedConfig.standardize_rope_params in its own __post_init__: the brain moves
  `rope_theta` into `rope_parameters` with rope_type "default", as a default Cohere2MoeConfig() holds
  ({'rope_type': 'default', 'rope_theta': 10000.0});
- nemotron_h's eager experts take `expert_idx.item()` of a hit expert's id before indexing the routing mask: the
  id stays an index the analysis follows, so `token_idx.numel() == 0` is known false (a hit expert has tokens).
"""

from __future__ import annotations

import pytest

from lm_predictor.suggest.values import DictV


def _analysis(model_type: str):
    from lm_predictor.data.versions import reading
    from lm_predictor.suggest.analysis import analyse_model
    from lm_predictor.suggest.sources import SourceError, open_tree

    with reading("5.23.0"):
        try:
            tree = open_tree("pinned", version="5.23.0")
        except SourceError as err:
            pytest.skip(str(err))
        return analyse_model(tree, model_type, {}, None)


def _runtime_branches(analysis) -> list:
    """Branches on values the analysis cannot read (each becomes A120 where its arms cost differently)."""
    return [f for f in list(analysis.interp.findings) + list(analysis.interp.opaque.values()) if f.code.code == "A120"]


def test_standardize_rope_params_fills_rope_parameters() -> None:
    analysis = _analysis("cohere2_moe")
    rope = analysis.config.attrs.get("rope_parameters")
    assert isinstance(rope, DictV)
    assert rope.items["rope_type"] == "default"
    assert rope.items["rope_theta"] is analysis.config.attrs["rope_theta"]
    assert not _runtime_branches(analysis)


def test_item_of_a_hit_expert_id_keeps_the_routing() -> None:
    analysis = _analysis("nemotron_h")
    assert not _runtime_branches(analysis)


def test_per_layer_config_given_empty_reaches_post_init_as_a_keyword() -> None:
    """gemma4's `__post_init__` sets full layers' head_dim to `global_head_dim` (512) only where
    `"per_layer_config" not in kwargs`; PreTrainedConfig pops it from **kwargs, so a config.json that
    gives `{}` (what Gemma4TextConfig(global_head_dim=head_dim) writes) keeps every layer at head_dim.
    It had been read as a field and dropped from the keywords: at 4 layers of 64, [s, s, s, f], the
    full layer was priced at 512 (weight_bytes 35,683,064 against torch's 34,153,400; now equal)."""
    from lm_predictor.data.versions import reading
    from lm_predictor.suggest import expr as X
    from lm_predictor.suggest.analysis import analyse_model
    from lm_predictor.suggest.sources import SourceError, open_tree

    layer_types = ["sliding_attention"] * 3 + ["full_attention"]
    with reading("5.23.0"):
        try:
            tree = open_tree("pinned", version="5.23.0")
        except SourceError as err:
            pytest.skip(str(err))
        given = analyse_model(tree, "gemma4_text", {"num_hidden_layers": 4, "layer_types": layer_types, "per_layer_config": {}}, None)
        default = analyse_model(tree, "gemma4_text", {"num_hidden_layers": 4, "layer_types": layer_types}, None)
    assert given.config.layer_overrides() == {}
    assert default.config.layer_overrides() == {3: {"head_dim": X.Num.const(512)}}
