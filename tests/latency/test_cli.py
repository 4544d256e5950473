"""eval's latency options end to end: JSON fields, generation output, one-line errors."""

from __future__ import annotations

import json

import pytest

from lm_predictor.cli.main import main


def _json(capsys, *argv: str) -> dict:
    assert main(["eval", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_hw_json(capsys) -> None:
    data = _json(capsys, "llama-2-7b", "--dtype", "bfloat16", "--attn", "sdpa", "--seq-len", "1", "--past-len", "512", "--hw", "h100-sxm")
    assert data["workload"]["attn"] == "sdpa" and data["workload"]["hardware"]["key"] == "h100-sxm"
    assert data["totals"]["time_s"] == pytest.approx(0.0041934, rel=1e-4)  # test_roofline derives this bound
    assert all("time_s" in m and m["bound"] in ("compute", "memory") for m in data["modules"])
    root_children = [m for m in data["modules"] if "." not in m["path"]]
    assert sum(m["time_s"] for m in root_children) == pytest.approx(data["totals"]["time_s"], rel=1e-12)


def test_eval_hw_lists_the_excess(capsys) -> None:
    """The human report names the memory-bound rows that make the step slower than flops / peak."""
    assert main(["eval", "llama-2-7b", "--dtype", "bfloat16", "--attn", "sdpa", "--seq-len", "4096", "--hw", "h100-sxm", "--depth", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    # 62,921,271,410,688 / 989.4e12 = 63.6 ms; 89.307 ms / 63.595 ms = 1.404 (test_roofline derives both)
    assert "flops / peak = 63.6 ms; this step is 1.404x that." in out
    # gate_mul: 32 * 3 * 4096 * 11008 * 2 bytes / 3.35e12 B/s = 2.58 ms, the largest
    assert "Memory-bound rows, largest first: model.layers.mlp.gate_mul 2.58 ms, model.layers.residual_add 1.92 ms" in out


def test_eval_generation_json(capsys) -> None:
    data = _json(capsys, "llama-2-7b", "--dtype", "bfloat16", "--attn", "sdpa", "--prompt", "64", "--generate", "16", "--hw", "a100-sxm-80gb")
    assert data["workload"]["prompt"] == 64 and data["workload"]["generate"] == 16
    assert data["totals"]["time_s"] == pytest.approx(data["prefill"]["time_s"] + data["decode"]["time_s"], rel=1e-12)
    assert data["decode"]["tokens_per_s"] == pytest.approx(16 / data["decode"]["time_s"])


@pytest.mark.parametrize("argv, needle", [
    (["--hw", "h1000"], "C080"),
    (["--weight-dtype", "int3"], "must be one of bf16, fp16, fp8_e4m3, fp8_e5m2, int8, int4"),
    (["--attn", "xformers"], "unknown 'xformers'; choose from eager, sdpa, flash_attention_2"),
    (["--prompt", "8"], "--prompt and --generate go together"),
    (["--weight-dtype", "int4", "--group-size", "100"], "C082"),
])
def test_bad_options_one_line(capsys, argv: list[str], needle: str) -> None:
    try:
        status = main(["eval", "llama-2-7b", *argv])
    except SystemExit as usage:  # argparse usage errors: one line, exit 2
        status = usage.code
    assert status == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_verify_flash_is_one_line(capsys) -> None:
    assert main(["verify", "gpt2", "--attn", "flash_attention_2"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
