"""Attention constructs outside the usual softmax attention (issue 10, MiniMax's lightning attention).

- a loop over ceil(S / B) blocks whose slices `x[:, i*B : min(i*B + B, S)]` make every block but the
  last cost the same: summed as (n - 1) interior blocks plus the last (blocksum.py);
- a cache class the model defines on top of DynamicCache (MiniMaxCache) whose own methods store and
  load one state per layer (`set_linear_cache` / `get_linear_cache`): None in prefill, the stored
  state in decode, its bytes in kv_cache_bytes once per layer;
- `isinstance(past_key_values, MiniMaxCache)` holds for the cache decode hands back.

The oracle cases run the real model (its MoE routing calls nonzero, which fake tensors cannot run).
"""

from __future__ import annotations

import pytest

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.blocksum import block_count, split_block_sum
from lm_predictor.suggest.expr import Num
from tests.suggest.families import assert_exact_real, base_library


def _value(expr: Num, **values: int) -> int:
    return X.substitute(expr, {k: Num.const(v) for k, v in values.items()}).const_value()


def _block_len() -> Num:
    i, b, s = Num.sym("#i"), Num.sym("B"), Num.sym("S")
    return X.fn("max", X.fn("min", i * b + b, s) - X.fn("min", i * b, s), Num.const(0))


@pytest.mark.parametrize(("s", "b", "want"), [
    (7, 3, 19),  # blocks 3, 3, 1: 9 + 9 + 1 = 19
    (6, 3, 18),  # blocks 3, 3: 9 + 9 = 18
    (2, 4, 4),  # one short block of 2: 4
    (5, 1, 5),  # five blocks of 1: 5
])
def test_block_sum_is_the_sum_over_blocks(s: int, b: int, want: int) -> None:
    count = X.floordiv(Num.sym("S") + Num.sym("B") - 1, Num.sym("B"))
    with X.using(X.SymbolFacts(positive={"S", "B"}, nonneg={"#i"})):
        interior, last = split_block_sum(_block_len() * _block_len(), count, "#i")
        assert "#i" not in X.free_params(interior)
        total = (count - 1) * interior + last
    assert _value(total, S=s, B=b) == want
    assert sum(max(min(i * b + b, s) - min(i * b, s), 0) ** 2 for i in range(-(-s // b))) == want


def test_block_sum_refuses_other_loops() -> None:
    with X.using(X.SymbolFacts(positive={"S", "B"}, nonneg={"#i"})):
        # a trip count that is not ceil(S / B): the interior blocks need not be alike
        assert split_block_sum(_block_len(), X.floordiv(Num.sym("S"), Num.sym("B")) + 2, "#i") is None
        # a cost that grows with the index (a causal prefix), not only with the block's extent
        assert split_block_sum(Num.sym("#i") * Num.sym("B"), X.floordiv(Num.sym("S") + Num.sym("B") - 1, Num.sym("B")), "#i") is None
    assert block_count(Num.sym("S")) == ("S", X.ONE)


def test_a_nonnegative_difference_is_never_negative() -> None:
    with X.using(X.SymbolFacts(positive={"B"}, nonneg={"i"})):
        assert X.cmp("<", Num.sym("i") * Num.sym("B"), 0) == X.FALSE  # i * B >= 0
        assert X.cmp("<", Num.sym("i") * Num.sym("B"), 1) != X.FALSE  # i * B may be 0


pytest.importorskip("transformers")

WITH_CACHE = frozenset({"flops", "param_count", "kv_cache_bytes"})

SMALL_MINIMAX = {
    "model_type": "minimax", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
    "num_key_value_heads": 2, "num_local_experts": 4, "num_experts_per_tok": 2, "num_hidden_layers": 3,
    "layer_types": ["linear_attention", "full_attention", "linear_attention"],
    "block_size": 4,  # prefill of 7 tokens: blocks of 4 and 3
}






@pytest.mark.parametrize("workload", ["prefill", "decode", "decode of 3 tokens"])
def test_minimax_lightning_attention_is_exact(workload: str) -> None:
    from tests.families.harness import DECODE, PREFILL
    from lm_predictor.workload import Workload

    config = dict(SMALL_MINIMAX)
    if workload == "decode of 3 tokens":
        # MiniMax's own decode reads the past length from layer 0: with a linear layer there, its mask is too short
        # for more than one new token (the model raises), so this case puts full attention first
        config["layer_types"] = ["full_attention", "linear_attention", "linear_attention"]
    chosen = {"prefill": PREFILL, "decode": DECODE, "decode of 3 tokens": Workload(batch=2, seq_len=3, past_len=6)}[workload]
    assert_exact_real(config, chosen, WITH_CACHE)


# BigBird: forward calls set_attention_type("original_full") when seq_len <= (5 + 2 * num_random_blocks) * block_size
# (here (5 + 2 * 1) * 4 = 28), and the model it leaves is the one attention_type="original_full" builds.
SMALL_BIG_BIRD = {
    "model_type": "big_bird", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
    "num_hidden_layers": 2, "max_position_embeddings": 64, "block_size": 4, "num_random_blocks": 1,
}


@pytest.mark.parametrize("seq_len", [7, 28])
def test_big_bird_short_sequences_are_priced_as_full_attention(seq_len: int) -> None:
    from lm_predictor.workload import Workload

    assert_exact_real(SMALL_BIG_BIRD, Workload(batch=2, seq_len=seq_len), WITH_CACHE)  # the mode switch and its boundary


def test_big_bird_block_sparse_path_stays_unresolved() -> None:
    """Past the switch (29 > 28 tokens) the block-sparse path runs: no number, its unresolved terms and when they apply."""
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.evaluate.predict import predict

    with pytest.raises(LmPredictorError) as err:
        predict(SMALL_BIG_BIRD, library=base_library(), batch=1, seq_len=29)
    assert err.value.diagnostic.code.code == "C013"
    notes = "\n".join(err.value.diagnostic.notes)
    assert "A110" in notes and "sets attention_type='original_full' only when seq_len <= 28" in notes
