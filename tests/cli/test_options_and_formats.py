"""Nothing accepted silently; sweeps as one table; CSV, Markdown and JSON; no wrapping off a terminal."""

from __future__ import annotations

import csv
import io
import json

import pytest


@pytest.mark.parametrize("args, expected", [
    (["--metrics", "flop"], "argument --metrics: unknown 'flop' (did you mean 'flops'?); choose from flops, param_count,"),
    (["--metrics", "bytes,foo"], "argument --metrics: unknown 'bytes' (did you mean 'bytes_read'?)"),
    (["--seq-len", "128,,256"], "argument --seq-len: empty item in '128,,256'"),
    (["--seq-len", "128,"], "argument --seq-len: empty item in '128,'"),
    (["--batch", "1.5"], "argument --batch: expected whole numbers separated by commas, got '1.5'"),
    (["--dtype", "bfloat"], "argument --dtype: unknown 'bfloat' (did you mean 'bfloat16'?); choose from float32, bfloat16, float16"),
    (["--dtype", "fp16"], "argument --dtype: unknown 'fp16'; choose from float32, bfloat16, float16"),
    (["--foo"], "unrecognized arguments: --foo; options are"),
    (["--sq-len", "4"], "unrecognized arguments: --sq-len (did you mean '--seq-len'?), 4; options are --attn, --batch,"),
    (["--format", "yaml"], "argument --format: invalid choice: 'yaml' (choose from"),
])
def test_bad_options_are_usage_errors_naming_the_choices(cli, args, expected):
    run = cli("eval", "gpt2", *args)
    assert run.status == 2 and run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines


def test_a_sweep_is_one_table_with_one_row_per_workload(cli):
    run = cli("eval", "gpt2", "--seq-len", "128,256", "--batch", "1,4")
    assert run.status == 0, run.err
    rows = [line for line in run.out.splitlines() if line.startswith("│")]
    assert len(rows) == 4 and run.out.count("┏") == 1
    assert "├──" not in run.out and "h ×12" not in run.out  # no module tree unless asked
    # gpt2 at batch 4, 256 tokens; the same number as --json gives
    exact = json.loads(cli("eval", "gpt2", "--seq-len", "256", "--batch", "4", "--json").out)["totals"]["flops"]
    assert f"{exact:,}" in rows[3]
    tree = cli("eval", "gpt2", "--seq-len", "128,256", "--tree")
    assert tree.out.count("h ×12 GPT2Block") == 2
    assert cli("eval", "gpt2", "--seq-len", "128,256", "--depth", "1").out.count("├── transformer GPT2Model") == 2


def test_csv_has_exact_integers_one_row_per_workload(cli):
    run = cli("eval", "llama-2-7b", "--seq-len", "128,1024", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["seq_len"], r["flops"]) for r in rows][0] == ("128", "1700001759232")  # README, calflops 1700.06 G
    assert len(rows) == 2 and rows[1]["param_count"] == "6738415616" and rows[1]["trust"] == "verified"
    assert "intermediate_bytes" not in rows[0]  # not modelled by any row: no column


def test_markdown_table(cli):
    lines = cli("eval", "llama-2-7b", "--format", "markdown").out.splitlines()
    assert lines[0].startswith("| batch | seq_len | past_len | dtype | flops |")
    assert lines[1].startswith("|---:|---:|---:|---|---:|")
    assert lines[2].startswith("| 1 | 128 | 0 | float32 | 1,700,001,759,232 |")


def test_json_alias_and_format_json_agree(cli):
    assert cli("eval", "gpt2", "--json").out == cli("eval", "gpt2", "--format", "json").out


def test_output_off_a_terminal_is_not_wrapped_nor_cut(cli):
    run = cli("eval", "mixtral-8x7b", "--batch", "1000000", "--seq-len", "16000000")
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "transformers.models.mixtral.modeling_mixtral.MixtralForCausalLM  batch=1000000 seq_len=16000000 past_len=0 dtype=float32"
    assert "…" not in run.out
    exact = json.loads(cli("eval", "mixtral-8x7b", "--batch", "1000000", "--seq-len", "16000000", "--json").out)["totals"]
    assert f"{exact['flops']:,}" in run.out and len(f"{exact['flops']:,}") > 30


def test_huge_values_get_a_prefix_that_fits():
    from lm_predictor.evaluate.report import humanise

    assert humanise("flops", 134_625_682_784_256_002_048_000_000) == "134.63 YFLOPs"  # 1.3e26 = 134.6 * 10**24
    assert humanise("kv_cache_bytes", 4_194_304_000_000_000_000) == "3.64 EiB"  # 4.19e18 / 2**60 = 3.638


def test_on_a_narrow_terminal_exact_values_fold_and_are_never_cut():
    from rich.console import Console

    from lm_predictor.evaluate.predict import predict
    from lm_predictor.evaluate.report import render

    pred = predict("mixtral-8x7b", batch=1_000_000, seq_len=16_000_000)
    out = io.StringIO()
    render(pred, 1, Console(file=out, width=40, force_terminal=True, color_system=None))
    cells = "".join(line.split("│")[3].strip() for line in out.getvalue().splitlines() if line.count("│") == 4)
    assert f"{pred.totals['flops']:,}" in cells and "…" not in cells
