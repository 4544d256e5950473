"""`lmpredict eval --mode train`: totals by hand from the published forward, and one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.evaluate.test_eval_cli import run_cli

FORWARD_7B = 1_700_001_759_232  # Llama-2-7B, batch 1, 128 tokens (README, published by calflops)
ROTARY = 2 * 64 * 128  # inv_freq [64, 1] @ position_ids [1, 128]: no operand requires grad
LM_HEAD = 2 * 128 * 4096 * 32000


def test_train_flops_by_hand() -> None:
    plain = run_cli("eval", "llama-2-7b", "--mode", "train", "--json")
    assert plain.returncode == 0, plain.stderr
    totals = json.loads(plain.stdout)["totals"]
    # every matmul but the rotary one has two operands that require grad: backward = 2 x its forward
    assert totals["backward_flops"] == 2 * (FORWARD_7B - ROTARY)
    assert totals["flops"] == 3 * FORWARD_7B - 2 * ROTARY == 5_100_005_244_928
    ckpt = json.loads(run_cli("eval", "llama-2-7b", "--mode", "train", "--grad-checkpointing", "--json").stdout)["totals"]
    # the 32 decoder layers run their forward again: everything but lm_head and the rotary matmul
    assert ckpt["recompute_flops"] == FORWARD_7B - LM_HEAD - ROTARY
    assert ckpt["flops"] == totals["flops"] + ckpt["recompute_flops"]
    # float32: 6,738,415,616 parameters, 291 tensors; AdamW keeps exp_avg, exp_avg_sq and a step each
    assert totals["grad_bytes"] == 6_738_415_616 * 4
    assert totals["optimizer_bytes"] == 2 * 6_738_415_616 * 4 + 291 * 4


def test_zero_shares_per_gpu() -> None:
    out = run_cli("eval", "llama-2-7b", "--mode", "train", "--zero", "2", "--data-parallel", "3", "--json")
    totals = json.loads(out.stdout)["totals"]
    assert totals["grad_bytes"] == -(-6_738_415_616 * 4 // 3)  # ZeRO 2 shards gradients (ceil)
    assert totals["optimizer_bytes"] == -(-(2 * 6_738_415_616 * 4 + 291 * 4) // 3)
    assert totals["weight_bytes"] == 6_738_415_616 * 4 + 64 * 4  # parameters are sharded from stage 3 only


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--optimizer", "lion"), "C060"),
        (("--zero", "1"), "C060"),
        (("--mixed-precision",), "C060"),
        (("--past-len", "4"), "C060"),
        (("--zero", "5", "--data-parallel", "2"), "C060"),
    ],
)
def test_bad_options_are_one_line(args: tuple[str, ...], code: str) -> None:
    out = run_cli("eval", "gpt2", "--mode", "train", *args)
    assert out.returncode == 2 and code in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
