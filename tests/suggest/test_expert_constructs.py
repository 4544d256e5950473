"""MoE expert constructs that `suggest` derives, against the oracle on configs transformers writes.

Each case is a model type whose experts use one construct the analysis had to learn (issue 10):

- granitemoe / jetmoe: `inputs.split(expert_size)` with sizes read from a tensor's data
  (`.tolist()` of tokens per expert), then `F.linear(piece[i], weight[i])` per expert of a 3-D
  parameter; jetmoe also calls its grandchildren (`experts.map` / `experts.reduce`) directly;
- aria_text: `x[cumsum[e]:cumsum[e + 1]] @ weight[e]` (running totals of `torch.histc` counts);
- dbrx: a loop over a constant number of experts (unrolled), each calling a module with its tokens;
- gpt_oss: `max(...).values` and attention sinks sliced off (`probs[..., :-1]`) on mixed layers;
- phimoe: the rotary length read from `cache_position[-1] + 1`;
- dots1: experts built over `range(config.n_routed_experts)`, a field whose class default is None
  (the None arm raises, so it is not a second loop count).

The config is the file `CONFIG_MAPPING[t](**overrides).to_json_file()` writes, priced with the
derived rules only (no hand-written model rules), and compared with the oracle (fake tensors;
real tensors on `shrink_config` where routing is data-dependent), total and per module.
"""

from __future__ import annotations

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact, written_config
from tests.suggest.families import base_library

CASES = {
    "granitemoe": {},
    "jetmoe": {},
    "aria_text": {},
    "dbrx": {"attn_config": {"clip_qkv": 8}},  # the default clip_qkv=None makes 4.56 call clamp(None, None)
    "gpt_oss": {},
    "phimoe": {},
    "dots1": {"n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 1},  # the defaults are None
}


@pytest.mark.parametrize("model_type", sorted(CASES))
def test_expert_construct_is_exact(model_type: str, tmp_path) -> None:
    config = written_config(model_type, CASES[model_type], tmp_path)
    for workload in (PREFILL, DECODE):
        assert_exact(config, workload, library=base_library())


def test_a_field_the_config_leaves_null_is_named_in_one_line() -> None:
    # NemotronConfig() leaves num_key_value_heads None, and NemotronAttention divides by it:
    # transformers cannot build that model; eval says which field needs a value
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.evaluate.predict import predict

    with pytest.raises(LmPredictorError) as err:
        predict({"model_type": "nemotron"}, library=base_library(), batch=1, seq_len=4)
    assert err.value.diagnostic.headline() == (
        "C001 bad-config: config field 'num_key_value_heads' is null (its class default), and "
        "transformers.models.nemotron.modeling_nemotron.NemotronAttention computes with it: "
        "give it a value (the model code reads it without a fallback)")
