"""The survey's configs: a configuration class whose own defaults fail is written the way a published
file binds its sub-configs; one whose sub-configs are AutoConfig (their type named only by a file) is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.util import load_script

pytest.importorskip("transformers")


def _survey():
    return load_script("survey", "bench")


def test_phi4_multimodal_is_written_with_its_sub_configs_as_their_defaults(tmp_path: Path) -> None:
    # Phi4MultimodalConfig() raises (vision_config None is never assigned, then .items() on None);
    # vision_config={} and audio_config={} build Phi4MultimodalVisionConfig() and Phi4MultimodalAudioConfig()
    configs = _survey().build_configs("phi4_multimodal", tmp_path)
    default, why = configs["to_json"]
    assert why == "" and default["model_type"] == "phi4_multimodal"
    assert isinstance(default["vision_config"], dict) and "hidden_size" in default["vision_config"]
    assert configs["minimal"][0] == {"model_type": "phi4_multimodal", "audio_config": {}, "vision_config": {}}
    assert configs["varied_a"][0]["num_hidden_layers"] == 3


def test_musicgen_has_no_default_config_and_says_why(tmp_path: Path) -> None:
    # MusicgenConfig needs text_encoder and audio_encoder configs of other model types (AutoConfig)
    default, why = _survey().build_configs("musicgen", tmp_path)["to_json"]
    assert default is None
    assert "text_encoder, audio_encoder and decoder" in why


def test_varied_c_sets_a_pad_token_the_class_leaves_unset(tmp_path: Path) -> None:
    # LlamaConfig's pad_token_id defaults to None; published files mostly set one
    configs = _survey().build_configs("llama", tmp_path)
    assert configs["varied_a"][0].get("pad_token_id") is None
    assert configs["varied_c"][0]["pad_token_id"] == 0
