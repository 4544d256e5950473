"""Workload limits come from the model: learned position tables, trained context, limits.py."""

from __future__ import annotations

import pytest

from lm_predictor.diagnostics import LmPredictorError
from tests.cli.util import load_script
from lm_predictor.evaluate.positions import learned_tables
from lm_predictor.evaluate.predict import predict


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_gpt2_refuses_past_its_1024_positions(cli):
    run = cli("eval", "gpt2", "--seq-len", "5000")
    assert run.status == 2 and run.out == ""
    line = one_line(run.err)
    assert " C010 past-position-table: " in line and "5,000 tokens" in line and "1,024" in line


def test_gpt2_limit_is_exactly_n_positions():
    predict("gpt2", seq_len=1, past_len=1023, breakdown=False)  # 1023 + 1 = 1024 = n_positions: runs
    with pytest.raises(LmPredictorError) as err:
        predict("gpt2", seq_len=1, past_len=1024, breakdown=False)  # 1025 positions: wpe has 1024 rows
    assert err.value.diagnostic.code.code == "C010"


def test_roberta_style_ids_reserve_the_rows_up_to_pad_token_id():
    # RoBERTa position ids run from pad_token_id + 1: 514 rows - (1 + 1) = 512 usable positions
    config = {"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 1, "is_decoder": True}
    from lm_predictor.evaluate.positions import check_positions
    from lm_predictor.workload import Workload

    assert check_positions(config, Workload(seq_len=512), "RobertaForCausalLM") == []
    with pytest.raises(LmPredictorError) as err:
        check_positions(config, Workload(seq_len=513), "RobertaForCausalLM")
    assert "learned positions for 512" in err.value.diagnostic.message


def test_rope_model_past_trained_context_warns_with_the_number(cli):
    run = cli("eval", "llama-2-7b", "--seq-len", "5000", "--format", "csv")
    assert run.status == 0
    line = one_line(run.err)
    assert "warning: C011 past-trained-context" in line and "5,000 tokens" in line and "4,096" in line
    pred = predict("llama-2-7b", seq_len=4096, breakdown=False)
    assert pred.warnings == []  # 4096 = max_position_embeddings: no warning


def test_absurd_sizes_are_c_errors(cli):
    for value in ("1e12", "1000000000000"):
        run = cli("eval", "gpt2", "--seq-len", value)
        assert run.status == 2
        assert " C003 bad-workload: " in one_line(run.err) and "MAX_CONTEXT_TOKENS" in run.err
    run = cli("eval", "llama-2-7b", "--batch", "1e7")
    assert " C003 " in one_line(run.err) and "MAX_BATCH" in run.err


def test_verify_refuses_before_torch_runs(cli):
    run = cli("verify", "gpt2", "--seq-len", "1", "--past-len", "2000")
    assert run.status == 2
    assert " C010 " in one_line(run.err) and "internal error" not in run.err


def test_position_table_matches_the_pinned_source():
    gen = load_script("gen_position_limits")
    if not gen.SOURCE.is_dir():
        pytest.skip("pinned sources not vendored")
    assert gen.learned_positions() == learned_tables()
    assert learned_tables()["gpt2"]["field"] == "max_position_embeddings"  # n_positions is its alias
    assert "llama" not in learned_tables()  # rotary: no table


def test_the_oracle_fails_exactly_past_the_table():
    """The real model agrees with the limit: 64 positions run, 65 raise (small GPT-2, fake tensors)."""
    pytest.importorskip("torch")
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.verify.oracle import measure
    from lm_predictor.workload import Workload

    config = dict(load_config("gpt2")[0], n_layer=1, n_embd=64, n_head=4, vocab_size=256, n_positions=64)
    measure(config, Workload(seq_len=1, past_len=63))
    with pytest.raises(Exception):
        measure(config, Workload(seq_len=1, past_len=64))
    with pytest.raises(LmPredictorError):
        predict(config, seq_len=1, past_len=64)
