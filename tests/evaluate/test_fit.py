"""`lmpredict fit`: the boundary is exact on the closed forms, and bad budgets are one-line errors."""

from __future__ import annotations

import json

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.fit import MemoryModel, boundary, fit, parse_memory
from lm_predictor.evaluate.train import TrainOptions, predict_train
from tests.evaluate.test_eval_cli import run_cli

# Llama-2-7B in bfloat16: 6,738,415,616 params * 2 bytes + the rotary inv_freq buffer 64 * 4 bytes
WEIGHTS_7B_BF16 = 6_738_415_616 * 2 + 64 * 4
# KV cache per sequence token: 2 (k, v) * 32 layers * 32 kv heads * 128 head_dim * 2 bytes = 524,288
KV_PER_TOKEN = 2 * 32 * 32 * 128 * 2


def test_largest_batch_by_hand() -> None:
    result = fit("llama-2-7b", 80 * 10**9, dtype="bfloat16", seq_len=2048, temporaries=False)
    # (80e9 - 13,476,831,488) // (2048 * 524,288 = 1 GiB per sequence) = 61
    assert result.largest == (80 * 10**9 - WEIGHTS_7B_BF16) // (2048 * KV_PER_TOKEN) == 61
    assert result.terms == {"weight_bytes": WEIGHTS_7B_BF16, "kv_cache_bytes": 61 * 2048 * KV_PER_TOKEN}
    assert result.dominant == "kv_cache_bytes"
    assert sum(result.next_terms.values()) > 80 * 10**9  # batch 62 does not fit


def test_longest_context_by_hand() -> None:
    result = fit("llama-2-7b", 24 * 2**30, dtype="bfloat16", batch=4, search="seq_len", temporaries=False)
    # (24 GiB - weights) // (4 * 524,288) = 5,861 tokens
    assert result.largest == (24 * 2**30 - WEIGHTS_7B_BF16) // (4 * KV_PER_TOKEN) == 5_861
    assert result.dominant == "weight_bytes"


@pytest.mark.parametrize(("config", "budget", "search"), [("gpt2", 2 * 10**9, "batch"), ("mistral-7b", 40 * 2**30, "batch"), ("pythia-160m", 10**9, "seq_len")])
def test_one_more_exceeds_the_budget(config: str, budget: int, search: str) -> None:
    """The boundary per the same formulas: largest fits, largest + 1 does not."""
    result = fit(config, budget, search=search, batch=2, seq_len=512)
    model = MemoryModel(config, "infer", "float32", TrainOptions())
    at = (lambda n: model.terms(n, 512)) if search == "batch" else (lambda n: model.terms(2, n))
    assert result.largest >= 1
    assert sum(at(result.largest).values()) <= budget < sum(at(result.largest + 1).values())


@pytest.mark.parametrize(("config", "budget", "search"), [("llama-2-7b", 80 * 10**9, "batch"), ("gpt2", 4 * 10**8, "seq_len")])
def test_inference_fit_counts_the_prefill_peak(config: str, budget: int, search: str) -> None:
    """With the rules' composed peak (exact against MemTracker, tests/families/test_peak.py), the
    boundary is on eval's own peak_bytes: largest fits, largest + 1 does not; and it is below the
    weights-plus-cache boundary, since the forward's temporaries (the eager scores) come on top."""
    from lm_predictor.evaluate.predict import predict

    result = fit(config, budget, dtype="bfloat16", search=search, batch=2, seq_len=512)
    plain = fit(config, budget, dtype="bfloat16", search=search, batch=2, seq_len=512, temporaries=False)
    shape = (lambda n: {"batch": n, "seq_len": 512}) if search == "batch" else (lambda n: {"batch": 2, "seq_len": n})
    peak = lambda n: predict(config, dtype="bfloat16", **shape(n)).totals["peak_bytes"]  # noqa: E731
    assert 1 <= result.largest < plain.largest
    assert peak(result.largest) == sum(result.terms.values()) <= budget < peak(result.largest + 1) == sum(result.next_terms.values())
    assert result.terms["temporaries_bytes"] > 0 and "peak_bytes" in result.notes[-1]


def test_seq_len_stops_at_a_learned_position_table() -> None:
    """gpt2 has 1,024 learned positions (n_positions): 2 GB would hold more, the model cannot run it."""
    from lm_predictor.evaluate.predict import predict

    result = fit("gpt2", 2 * 10**9, dtype="bfloat16", search="seq_len", batch=2)
    assert result.largest == 1024 and "position table" in result.notes[-1]
    assert sum(result.terms.values()) == predict("gpt2", dtype="bfloat16", batch=2, seq_len=1024).totals["peak_bytes"] <= 2 * 10**9
    with pytest.raises(LmPredictorError, match="C010"):  # a batch search at a context the model cannot take
        fit("gpt2", 2 * 10**9, seq_len=1025)


def test_fit_derives_rules_for_a_type_without_hand_rules() -> None:
    """As eval does: olmo has no hand rules; its derived rules give weights and the cache (no peak)."""
    result = fit({"model_type": "olmo", "num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
                  "num_attention_heads": 4, "vocab_size": 256}, 10**7, seq_len=64)
    # float32 KV cache per sequence: 2 (k, v) * 2 layers * 64 tokens * 64 (4 heads x 16) * 4 bytes = 65,536
    assert result.terms["kv_cache_bytes"] == result.largest * 65_536
    assert any("derived" in n for n in result.notes) and "not counted" in result.notes[-1]


def test_nothing_fits() -> None:
    result = fit("llama-2-7b", 10**9)  # 27 GB of float32 weights
    assert result.largest == 0


def test_boundary_search() -> None:
    big = 1 << 40
    assert boundary(lambda n: n <= 1000, big) == 1000
    assert boundary(lambda n: n <= 1000, 700) == 700
    assert boundary(lambda n: n <= 1000, 1024) == 1000  # past the last doubling, below the limit
    assert boundary(lambda n: n <= 1, big) == 1
    assert boundary(lambda n: True, 3) == 3
    assert boundary(lambda n: False, big) == 0


@pytest.mark.parametrize(("text", "value"), [("80GiB", 80 * 2**30), ("80GB", 80 * 10**9), ("81920MiB", 80 * 2**30), ("1024", 1024), ("1.5 GiB", 3 * 2**29)])
def test_parse_memory(text: str, value: int) -> None:
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["-3GiB", "0", "80 parsecs", "GiB", "nan GB"])
def test_parse_memory_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_memory(text)


def test_cli_gpu_and_errors() -> None:
    ok = run_cli("fit", "llama-2-7b", "--gpu", "h100-sxm", "--dtype", "bfloat16", "--without-temporaries", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["largest"] == 61  # h100-sxm: 80 GB, as test_largest_batch_by_hand
    for args, code in [(("--gpu", "h900"), "C080"), (("--memory=-1GB",), "C062"), (("--memory", "8GB", "--mode", "train", "--optimizer", "lion"), "C060"), (("--memory", "8GB", "--mode", "train", "--without-temporaries"), "C060")]:
        bad = run_cli("fit", "gpt2", *args)
        assert bad.returncode == 2 and code in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_train_without_a_loss() -> None:
    with pytest.raises(LmPredictorError, match="C061"):
        fit({"model_type": "llama", "architectures": ["LlamaModel"]}, 10**12, mode="train")


def test_train_boundary_with_zero3_and_checkpointing() -> None:
    options = TrainOptions(grad_checkpointing=True, mixed_precision=True, zero=3, data_parallel=8)
    result = fit("llama-2-7b", 80 * 10**9, mode="train", dtype="bfloat16", seq_len=2048, options=options)
    model = MemoryModel("llama-2-7b", "train", "bfloat16", options)
    assert result.largest >= 1
    assert sum(model.terms(result.largest, 2048).values()) <= 80 * 10**9 < sum(model.terms(result.largest + 1, 2048).values())
    # ZeRO-3 over 8 GPUs: each holds ceil(6,738,415,616 * 2 / 8) bytes of parameters (+ the 256-byte inv_freq buffer)
    assert result.terms["weight_bytes"] == -(-6_738_415_616 * 2 // 8) + 256
    # 12 bytes per parameter (float32 master, exp_avg, exp_avg_sq) + 291 float32 steps, sharded 8 ways
    assert result.terms["optimizer_bytes"] == -(-(6_738_415_616 * 12 + 291 * 4) // 8)
    assert result.dominant == "activation_bytes"
    # the activations are the checkpointed step's, as eval --mode train --grad-checkpointing prices them
    step = predict_train("llama-2-7b", batch=result.largest, seq_len=2048, dtype="bfloat16", options=options)
    assert result.terms["activation_bytes"] == step.totals["activation_bytes"]


def test_train_fit_needs_activation_bytes(tmp_path) -> None:
    """A library whose root rule lacks activation_bytes: fit says so, it does not assume 0."""
    import shutil

    from lm_predictor.evaluate.predict import default_library
    from lm_predictor.resources import rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(rules_dir(), rules)
    gpt2 = rules / "transformers" / "models" / "gpt2" / "modeling_gpt2.yaml"
    text = gpt2.read_text()
    start = text.index("    metrics:\n      # saved for backward")  # the root's only custom metric: activation_bytes
    end = text.index("\n\n", start)
    gpt2.write_text(text[:start].rstrip("\n") + text[end:])
    with pytest.raises(LmPredictorError, match="activation_bytes"):
        fit("gpt2", 80 * 10**9, mode="train", seq_len=512, library=default_library((rules,)))


def test_search_stops_at_the_workload_limit() -> None:
    """Mistral's sliding-window cache stops growing at 4,096 tokens, so weights plus cache fit any
    context: the search ends at MAX_CONTEXT_TOKENS (limits.py) with no next step, not an internal error."""
    from lm_predictor.limits import MAX_CONTEXT_TOKENS

    ok = run_cli("fit", "mistral-7b", "--gpu", "h100-sxm", "--dtype", "bfloat16", "--search", "seq-len", "--without-temporaries", "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["largest"] == MAX_CONTEXT_TOKENS == 1 << 24 and out["next"] is None and "workload limit" in out["notes"][-1]
