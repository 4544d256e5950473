"""Bounds the analysis knows beyond signs (expr.bounded_sign, expr.floordiv_sign), and xlstm priced with them.

xlstm's own mLSTM kernels (is_xlstm_available() is false where the oracle runs) process
`n = seq_len // chunk_size` chunks in a loop, slicing `x[..., i * c:(i + 1) * c]`, then the remaining
`seq_len - c * n` tokens step by step. The slice has length c only with 0 <= i <= n - 1, and
`min(seq_len, c * (seq_len // c))` is `c * (seq_len // c)` only with `seq_len // c <= seq_len / c`.
In 4.56 the chunk path then calls a tensor (`vecM_k_combine(batch_size, nh, n)`: TypeError), so a
model run reaches it only where seq_len < chunk_size (64 by default): the analysis takes that path as
one that raises, and `seq_len // chunk_size` as possibly 0 (a quotient of a token count; one of two
config sizes stays >= 1).
"""

from __future__ import annotations

import pytest

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from tests.suggest.families import base_library


def _facts() -> X.SymbolFacts:
    return X.SymbolFacts(positive={"x", "c", "h", "k"}, nonneg={"i"}, counts={"x"})


def test_slice_of_a_loop_index_has_the_chunk_length() -> None:
    with X.using(_facts()) as facts:
        x, c, i = Num.sym("x"), Num.sym("c"), Num.sym("i")
        n = X.floordiv(x, c)
        facts.upper["i"] = n - 1  # for i in range(x // c)
        total = c * n
        # stop: min((i + 1) * c, c * n); c * n - (i + 1) * c at i = n - 1 is 0, and its slope in i is -c <= 0
        assert X.fn("min", (i + 1) * c, total) == (i + 1) * c
        assert X.fn("min", i * c, total) == i * c
        assert X.fn("max", (i + 1) * c - i * c, X.ZERO) == c  # the slice length


def test_unbounded_index_stays_undecided() -> None:
    with X.using(_facts()):
        c, i, n = Num.sym("c"), Num.sym("i"), Num.sym("h")
        # no bound on i: (i + 1) * c may exceed n * c
        assert X.fn("min", (i + 1) * c, n * c) != (i + 1) * c


def test_floor_quotient_times_divisor_is_at_most_the_dividend() -> None:
    with X.using(_facts()):
        x, c = Num.sym("x"), Num.sym("c")
        kept = c * X.floordiv(x, c)  # 7 tokens, chunks of 64: 0 kept
        assert X.fn("min", x, kept) == kept
        assert X.cmp(">=", x - kept, 0) == X.TRUE  # x % c >= 0


def test_quotient_of_a_token_count_may_be_zero() -> None:
    with X.using(_facts()):
        x, c, h, k = Num.sym("x"), Num.sym("c"), Num.sym("h"), Num.sym("k")
        assert X.cmp(">", X.floordiv(x, c), 0) not in (X.TRUE, X.FALSE)  # 7 // 64 == 0
        assert X.cmp(">", X.floordiv(h, k), 0) == X.TRUE  # head_dim = hidden // heads: a size


def test_nonnegative_is_never_negative() -> None:
    with X.using(_facts()):
        i, c = Num.sym("i"), Num.sym("c")
        assert X.cmp("<", i * c, 0) == X.FALSE  # i >= 0, c >= 1: i * c >= 0


pytest.importorskip("transformers")

SMALL_XLSTM = {"model_type": "xlstm", "num_hidden_layers": 2, "hidden_size": 128, "num_heads": 4, "vocab_size": 256}
PARAMS = 494_480  # sum(p.numel()) of the model built from SMALL_XLSTM

# (batch, seq_len, past_len) -> FlopCounterMode total (fake tensors, eager). Decode: a prefill of
# past_len tokens, then one token with cache_params=<the prefill's cache> (the oracle passes
# past_key_values, which xlstm does not take); the step's shapes are a fresh one-token call's.
MEASURED_FLOPS = {
    (2, 7, 0): 13_135_360,  # 7 < chunk_size 64: no chunk, 7 recurrent steps
    (3, 1, 5): 2_814_720,  # decode: the one-step kernel
}




@pytest.mark.parametrize("workload", sorted(MEASURED_FLOPS))
def test_xlstm_chunked_kernels(workload: tuple) -> None:
    from lm_predictor.evaluate.predict import predict

    batch, seq_len, past_len = workload
    p = predict(SMALL_XLSTM, library=base_library(), transformers="4.56.0", batch=batch, seq_len=seq_len, past_len=past_len)
    assert p.totals["flops"] == MEASURED_FLOPS[workload]
    assert p.totals["param_count"] == PARAMS
