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
    result = fit("llama-2-7b", 80 * 10**9, dtype="bfloat16", seq_len=2048)
    # (80e9 - 13,476,831,488) // (2048 * 524,288 = 1 GiB per sequence) = 61
    assert result.largest == (80 * 10**9 - WEIGHTS_7B_BF16) // (2048 * KV_PER_TOKEN) == 61
    assert result.terms == {"weight_bytes": WEIGHTS_7B_BF16, "kv_cache_bytes": 61 * 2048 * KV_PER_TOKEN}
    assert result.dominant == "kv_cache_bytes"
    assert sum(result.next_terms.values()) > 80 * 10**9  # batch 62 does not fit


def test_longest_context_by_hand() -> None:
    result = fit("llama-2-7b", 24 * 2**30, dtype="bfloat16", batch=4, search="seq_len")
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


def test_nothing_fits() -> None:
    result = fit("llama-2-7b", 10**9)  # 27 GB of float32 weights
    assert result.largest == 0


def test_boundary_search() -> None:
    assert boundary(lambda n: n <= 1000) == 1000
    assert boundary(lambda n: n <= 1) == 1
    assert boundary(lambda n: False) == 0


@pytest.mark.parametrize(("text", "value"), [("80GiB", 80 * 2**30), ("80GB", 80 * 10**9), ("81920MiB", 80 * 2**30), ("1024", 1024), ("1.5 GiB", 3 * 2**29)])
def test_parse_memory(text: str, value: int) -> None:
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["-3GiB", "0", "80 parsecs", "GiB", "nan GB"])
def test_parse_memory_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_memory(text)


def test_cli_gpu_and_errors() -> None:
    ok = run_cli("fit", "llama-2-7b", "--gpu", "h100-sxm", "--dtype", "bfloat16", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["largest"] == 61  # h100-sxm: 80 GB, as test_largest_batch_by_hand
    for args, code in [(("--gpu", "h900"), "C080"), (("--memory=-1GB",), "C062"), (("--memory", "8GB", "--mode", "train", "--optimizer", "lion"), "C060")]:
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
        fit("gpt2", 80 * 10**9, mode="train", library=default_library((rules,)))
