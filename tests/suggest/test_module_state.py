"""Module state carried through a call and from prefill into decode (suggest/interp/module_state.py).

recurrent_gemma keeps its decode state on its modules, not in past_key_values: the model's forward
calls `_setup_cache` in prefill (`key_states` / `value_states` of the window on each attention,
`conv1d_state` and `rg_lru.recurrent_states` on each recurrent block), the blocks overwrite them,
and a one-token step reads them. The oracle's decode (which passes the prefill's past_key_values)
finds none, so bench/survey.py checks prefill only; the decode numbers below were measured the way
the model decodes: a prefill of past_len tokens, then one counted step on the same model
(`model(input_ids=ids(past_len), use_cache=True)`, then `model(input_ids=ids(1), use_cache=True)`
inside FlopCounterMode, fake tensors, eager attention). Its layer kinds
come from `layers_block_type`, a 300-entry repetition of (recurrent, recurrent, attention) read at
the layer index: `i % 3 != 2`.
"""

from __future__ import annotations

import pytest

from tests.suggest.families import base_library

pytest.importorskip("transformers")

SMALL_RECURRENT_GEMMA = {
    "model_type": "recurrent_gemma", "num_hidden_layers": 5, "hidden_size": 64, "lru_width": 64,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 256,
    "attention_window_size": 4,  # shorter than the 7-token prefill and the 5-token past: both _update_cache arms
}
PARAMS = 152_000  # sum(p.numel()) of the model built from SMALL_RECURRENT_GEMMA

# (batch, seq_len, past_len) -> FlopCounterMode total of the counted call (fake tensors)
MEASURED_FLOPS = {
    (2, 7, 0): 4_184_120,  # prefill longer than the window: keys are the last 4 of 7
    (2, 3, 0): 1_800_216,  # prefill shorter than the window: keys are the whole window (zeros past 3)
    (3, 1, 5): 887_816,  # decode after 5 tokens: attention over the window, conv over the kept 3 + 1 inputs
    (3, 1, 3): 887_816,  # decode after 3: the same shapes (the window and the conv state do not grow)
}




@pytest.mark.parametrize("workload", sorted(MEASURED_FLOPS))
def test_recurrent_gemma_state_on_modules(workload: tuple) -> None:
    from lm_predictor.evaluate.predict import predict

    batch, seq_len, past_len = workload
    p = predict(SMALL_RECURRENT_GEMMA, library=base_library(), transformers="4.56.0", batch=batch, seq_len=seq_len, past_len=past_len)
    assert p.totals["flops"] == MEASURED_FLOPS[workload]
    assert p.totals["param_count"] == PARAMS


def test_periodic_list_at_symbolic_index() -> None:
    """A list that repeats a pattern, read at a symbolic index, is read at index % period."""
    from lm_predictor.suggest.layers import list_period

    assert list_period(["r", "r", "a"] * 100) == 3
    assert list_period(["r", "r", "a"] * 100 + ["r"]) == 3  # a cut repetition (num_hidden_layers not a multiple)
    assert list_period(["a", "b", "c"]) == 3  # no repetition: the list itself
