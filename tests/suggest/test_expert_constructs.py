"""MoE expert constructs that `suggest` derives, against the oracle on configs transformers writes.

Each case is a model type whose experts use one construct the analysis had to learn (issue 10):

- granitemoe / jetmoe: `inputs.split(expert_size)` with sizes read from a tensor's data
  (`.tolist()` of tokens per expert), then `F.linear(piece[i], weight[i])` per expert of a 3-D
  parameter; jetmoe also calls its grandchildren (`experts.map` / `experts.reduce`) directly;
- aria_text: `x[cumsum[e]:cumsum[e + 1]] @ weight[e]` (running totals of `torch.histc` counts);
- dbrx: a loop over a constant number of experts (unrolled), each calling a module with its tokens;
- gpt_oss: `max(...).values` and attention sinks sliced off (`probs[..., :-1]`) on mixed layers;
- phimoe: the rotary length read from `cache_position[-1] + 1`.

The config is the file `CONFIG_MAPPING[t](**overrides).to_json_file()` writes, priced with the
derived rules only (no hand-written model rules), and compared with the oracle (fake tensors;
real tensors on `shrink_config` where routing is data-dependent), total and per module.
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact

CASES = {
    "granitemoe": {},
    "jetmoe": {},
    "aria_text": {},
    "dbrx": {"attn_config": {"clip_qkv": 8}},  # the default clip_qkv=None makes 4.56 call clamp(None, None)
    "gpt_oss": {},
    "phimoe": {},
}


@lru_cache(maxsize=None)
def _library():
    from lm_predictor.rules.library import load_library
    from tests.suggest.families import base_paths

    return load_library(base_paths())


def _written(model_type: str, overrides: dict, tmp_path) -> dict:
    from transformers import CONFIG_MAPPING

    from lm_predictor.evaluate.config_source import read_config

    path = tmp_path / "config.json"
    CONFIG_MAPPING[model_type](**overrides).to_json_file(path)
    return read_config(path)


@pytest.mark.parametrize("model_type", sorted(CASES))
def test_expert_construct_is_exact(model_type: str, tmp_path) -> None:
    config = _written(model_type, CASES[model_type], tmp_path)
    for workload in (PREFILL, DECODE):
        assert_exact(config, workload, library=_library())
