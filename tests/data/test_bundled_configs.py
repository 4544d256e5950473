"""Bundled configs build the published parameter counts with transformers 4.56."""

import json
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

# From /work/shared/reference/published-numbers.md where listed; the others are the totals
# in the models' papers/cards (Pythia table 1, GPT-NeoX-20B, Gemma, Falcon, Qwen2.5).
EXPECTED = {
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "gpt2-large": 774_030_080,
    "gpt2-xl": 1_557_611_200,
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "phi-3-mini": 3_821_079_552,
    "pythia-160m": 162_322_944,
    "gpt-neox-20b": 20_554_567_680,
    "gemma-7b": 8_537_680_896,
    "falcon-7b": 6_921_720_704,
    "qwen2.5-7b": 7_615_616_512,
}


def _load(name: str) -> dict:
    """Read one bundled config.json."""
    return json.loads((CONFIGS / name / "config.json").read_text())


def test_every_bundled_config_has_an_expected_count():
    from tests.versions.test_current_configs import CURRENT_CONFIGS  # checked against the oracle there

    bundled = {p.parent.name for p in CONFIGS.glob("*/config.json")}
    assert bundled == set(EXPECTED) | set(CURRENT_CONFIGS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_is_plain_hub_json(name):
    raw = _load(name)
    assert isinstance(raw["model_type"], str)
    assert isinstance(raw["architectures"], list) and len(raw["architectures"]) == 1


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_param_count_matches_published(name):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from torch._subclasses.fake_tensor import FakeTensorMode
    from transformers import AutoConfig, AutoModelForCausalLM

    raw = _load(name)
    with FakeTensorMode(allow_non_fake_inputs=True):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**raw))
        count = sum(p.numel() for p in model.parameters())
    assert type(model).__name__ == raw["architectures"][0]
    assert count == EXPECTED[name]
