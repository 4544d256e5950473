"""eval's derive cache keys a derived rule by exactly what the analysis folded (suggest/specialise.py).

Two configs that differ only in a config number the analysis folded into a constant (a value) or
whose sign it asked must not share a derived rule; two that differ only in a number that stays a
rule parameter must. Expected numbers: the oracles (param_count = sum(p.numel()) of the real
module, activation_bytes from train_oracle), quoted at each case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import predict
from lm_predictor.suggest.specialise import SIGN, VALUE, key_values, sign_of, spec_of

DERIVED = "derived with `lmpredict suggest --recursive`"
REUSED = "using rules derived"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LMPREDICT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _how(notes: list) -> str:
    """'derived' or 'reused': what the derive cache did for one prediction."""
    if any(DERIVED in n for n in notes):
        return "derived"
    assert any(REUSED in n for n in notes), notes
    return "reused"


def test_key_values_keep_a_value_or_only_its_sign() -> None:
    spec = spec_of({"block_size": 64}, {"dropout": "> 0", "block_size": "> 0"})
    assert spec == {"block_size": VALUE, "dropout": SIGN}  # a value folded wins over its sign
    assert key_values(spec, {"block_size": 64, "dropout": 0.1}) == key_values(spec, {"block_size": 64, "dropout": 0.3})
    assert key_values(spec, {"block_size": 64, "dropout": 0.1}) != key_values(spec, {"block_size": 64, "dropout": 0.0})
    assert key_values(spec, {"block_size": 64, "dropout": 0.1}) != key_values(spec, {"block_size": 16, "dropout": 0.1})
    assert [sign_of(v) for v in (3, 0, -1, 0.5, 0.0, True, None)] == ["> 0", "== 0", "< 0", "> 0", "== 0", "True", "None"]


# a flag the analysis folds (RobertaLayer builds `crossattention` when config.add_cross_attention):
# sum(p.numel()) of RobertaForCausalLM at this config is 92,224 without it and 125,760 with it
ROBERTA = {"model_type": "roberta", "num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
           "vocab_size": 256, "max_position_embeddings": 64, "is_decoder": True}


def test_a_folded_flag_is_not_shared() -> None:
    seen = []
    for flag, params in ((False, 92_224), (True, 125_760), (False, 92_224)):
        got = predict({**ROBERTA, "add_cross_attention": flag}, batch=1, seq_len=8)
        seen.append(_how(got.notes))
        assert got.totals["param_count"] == params
    assert seen == ["derived", "derived", "reused"]


def test_a_folded_int_is_not_shared() -> None:
    """BigBird switches to full attention when seq_len <= (5 + 2 * num_random_blocks) * block_size, a
    condition the analysis writes with the config's numbers put in: (5 + 2 * 3) * 64 = 704, so 256
    tokens are priced with full attention; at block_size 16 the bound is 176, and 256 tokens take the
    block-sparse path, whose terms are unresolved (an error, not the 64-block rules' number)."""
    config = {"model_type": "big_bird", "num_hidden_layers": 2}
    first = predict({**config, "block_size": 64}, batch=1, seq_len=256)
    assert any("when seq_len <= 704" in n for n in first.notes)
    with pytest.raises(LmPredictorError) as info:
        predict({**config, "block_size": 16}, batch=1, seq_len=256)
    assert info.value.diagnostic.code.code == "C013"
    assert predict({**config, "block_size": 16}, batch=1, seq_len=128).totals  # 128 <= 176: full attention again


OPT = {"model_type": "opt", "num_hidden_layers": 2, "hidden_size": 64, "ffn_dim": 128, "num_attention_heads": 4,
       "vocab_size": 256, "max_position_embeddings": 64, "word_embed_proj_dim": 64}


def test_a_float_whose_sign_was_asked_is_keyed_by_its_sign() -> None:
    """OPT's dropout: the analysis starts from the sign of the given rates, so `p != 0` folds to true at
    0.1; the rule holds for any positive rate, not at 0. train_oracle activation_bytes at batch 2,
    7 tokens, float32: 117,828 at rates 0.1 and 0.2 and hidden 64, 196,676 at 0.1 and hidden 128;
    97,220 at rate 0 and hidden 64, 161,732 at rate 0 and hidden 128."""
    from lm_predictor.evaluate.train import predict_train

    seen = []
    for p, hidden, measured in ((0.1, 64, 117_828), (0.0, 64, 97_220), (0.2, 64, 117_828), (0.1, 128, 196_676), (0.0, 128, 161_732)):
        config = {**OPT, "dropout": p, "attention_dropout": p, "hidden_size": hidden, "word_embed_proj_dim": hidden}
        got = predict_train(config, batch=2, seq_len=7, survey_checked=False)
        seen.append(_how(got.notes))
        assert got.totals["activation_bytes"] == measured
        assert any(f"dropout {'> 0' if p else '== 0'}" in n for n in got.notes)
    # a rate that stays positive and a hidden size (a rule parameter) share the first derivation
    assert seen == ["derived", "derived", "reused", "reused", "reused"]


def test_a_number_that_stays_symbolic_is_shared() -> None:
    """Qwen3's sizes are rule parameters: one derivation prices both configs. The oracle (fake tensors,
    eager, batch 1, 4 tokens): 3,399,808 flops and 551,680 parameters at the first config,
    3,674,240 flops and 521,984 parameters at the second."""
    config = {"model_type": "qwen3", "num_hidden_layers": 2, "hidden_size": 128, "intermediate_size": 256,
              "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 1000}
    first = predict(config, batch=1, seq_len=4)
    second = predict({**config, "intermediate_size": 384, "vocab_size": 500}, batch=1, seq_len=4)
    assert [_how(first.notes), _how(second.notes)] == ["derived", "reused"]
    assert (first.totals["flops"], first.totals["param_count"]) == (3_399_808, 551_680)
    assert (second.totals["flops"], second.totals["param_count"]) == (3_674_240, 521_984)


# rwkv's `rescale_every: 0` is valid (no rescaling) though the class default is 6: the analysis must
# take the sign from the config, not from the default, so `rescale_every > 0` guards the rescaling
# (and its `num_hidden_layers // rescale_every` count) instead of folding to true and dividing by 0.
RWKV = {"model_type": "rwkv", "num_hidden_layers": 7, "hidden_size": 32, "vocab_size": 50}


@pytest.mark.parametrize("every, read, written", [
    # lmpredict verify (fake-tensor oracle), batch 2, seq_len 4, transformers 4.56.0
    (0, 1_112_256, 537_024),
    # rescale_every 3 adds, read and written each: the weight div_ of attention.output (32 * 32) and
    # feed_forward.value (4 * 32 * 32) in 7 layers, 4 * 7 * 5,120 = 143,360, and hidden_states / 2
    # after layers 3 and 6 (7 // 3 = 2), 2 * 4 * (2 * 4 * 32) = 2,048: 145,408 more
    (3, 1_112_256 + 145_408, 537_024 + 145_408),
])
def test_a_number_set_to_zero_keeps_its_sign_against_a_positive_default(every: int, read: int, written: int) -> None:
    got = predict({**RWKV, "rescale_every": every}, batch=2, seq_len=4)
    assert got.totals["bytes_read"] == read
    assert got.totals["bytes_written"] == written
    assert got.totals["flops"] == 1_516_544  # the oracle's, the same at both: a division is not a FLOP to FlopCounterMode
