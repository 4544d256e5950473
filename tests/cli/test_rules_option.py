"""--rules adds to the shipped library (and wins on a clash, with a note); --rules-only replaces it."""

from __future__ import annotations

import json

from tests.cli.util import EXTRA
from tests.versions.test_choice import LLAMA

CONV1D_X2 = """\
rules:
  transformers.pytorch_utils.Conv1D:
    params:
      nf: int
      nx: int
      tokens: {type: int, optional: true}
      dtype_bytes: {type: int, default: 4}
    flops: 4 * ${tokens} * ${nx} * ${nf}
    param_count: ${nx} * ${nf} + ${nf}
    bytes_read: (${nf} + ${tokens} * ${nx} + ${nx} * ${nf}) * ${dtype_bytes}
    bytes_written: ${tokens} * ${nf} * ${dtype_bytes}
"""


def flops(run) -> int:
    assert run.status == 0, run.err
    return json.loads(run.out)["totals"]["flops"]


def test_rules_add_to_the_library_and_win_a_clash_with_a_note(cli, tmp_path):
    rules = tmp_path / "conv1d.yaml"
    rules.write_text(CONV1D_X2)
    shipped = flops(cli("eval", "gpt2", "--json"))
    doubled = flops(cli("eval", "gpt2", "--json", "--rules", str(rules)))
    # gpt2's Conv1Ds per token: c_attn 3h*h + c_proj h*h + c_fc 4h*h + c_proj h*4h = 12 h^2 MACs,
    # 2 FLOPs each; 12 layers, 128 tokens, h = 768. Doubling them adds that once more.
    assert doubled - shipped == 12 * 128 * 2 * 12 * 768 * 768 == 21_743_271_936
    table = cli("eval", "gpt2", "--rules", str(rules))
    assert f"note: {rules}:2:3: rule transformers.pytorch_utils.Conv1D replaces the shipped one (" in table.out


def test_several_paths_repeatable_and_comma_lists(cli, tmp_path):
    (tmp_path / "a.yaml").write_text(CONV1D_X2)
    (tmp_path / "b.yaml").write_text(EXTRA)
    both = [f"{tmp_path}/a.yaml,{tmp_path}/b.yaml"], ["--rules", f"{tmp_path}/b.yaml"]
    assert flops(cli("eval", "gpt2", "--json", "--rules", *both[0])) == flops(cli("eval", "gpt2", "--json", "--rules", f"{tmp_path}/a.yaml", *both[1]))


def test_missing_paths_are_one_line_each(cli, tmp_path):
    run = cli("eval", "gpt2", "--rules", "a,b")
    assert run.status == 2 and "internal error" not in run.err
    assert run.err.splitlines() == [
        "lmpredict eval: C014 rules-not-found: --rules a: no such file or directory",
        "lmpredict eval: C014 rules-not-found: --rules b: no such file or directory",
    ]


def test_rules_only_replaces_the_library(cli, tmp_path):
    (tmp_path / "b.yaml").write_text(EXTRA)
    run = cli("eval", "gpt2", "--rules-only", str(tmp_path / "b.yaml"))
    # no gpt2 rules and no Conv1D rule left: the rules derived for gpt2 call a rule nobody defines
    assert run.status == 2 and "internal error" not in run.err
    assert " E008 unknown-rule-at-eval: no rule named 'transformers.pytorch_utils.Conv1D'" in run.err.splitlines()[0]


def test_a_broken_rule_file_keeps_its_positions(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  my.Broken:\n    params:\n      h: int\n    flops: 2 * ${h} * (((\n")
    run = cli("eval", "gpt2", "--rules", str(broken))
    assert run.status == 2
    first = run.err.splitlines()[0]
    assert first.startswith(f"lmpredict eval: {broken}:5:") and " F001 syntax-error: " in first
    assert "<formula>" not in run.err and "C001" not in run.err


def test_an_incompatible_override_is_one_positioned_line(cli, tmp_path):
    rules = tmp_path / "mlp.yaml"  # the interface suggest writes for GPT2MLP alone (batch, seq_len; no tokens)
    rules.write_text(
        "rules:\n  transformers.models.gpt2.modeling_gpt2.GPT2MLP:\n    params:\n      hidden_size: int\n"
        "      intermediate_size: int\n    flops: 2 * ${hidden_size} * ${intermediate_size}\n"
    )
    run = cli("eval", "gpt2", "--rules", str(rules))
    assert run.status == 2
    lines = run.err.splitlines()
    assert len(lines) == 1 and " E010 unexpected-keyword: " in lines[0] and "C001" not in run.err


def test_rules_that_suggest_wrote_for_a_whole_model_evaluate(cli, tmp_path):
    """The user report: a file from `suggest --recursive` calls torch rules it does not define."""
    path = tmp_path / "gpt2.yaml"
    wrote = cli("suggest", "transformers.models.gpt2.modeling_gpt2.GPT2LMHeadModel", "--recursive", "-o", str(path))
    assert wrote.status == 0, wrote.err
    derived = json.loads(cli("eval", "gpt2", "--json", "--rules", str(path)).out)
    shipped = json.loads(cli("eval", "gpt2", "--json").out)
    assert derived["trust"]["level"] == "user-rules"
    for metric in ("flops", "param_count", "kv_cache_bytes"):  # both agree with the oracle on gpt2
        assert derived["totals"][metric] == shipped["totals"][metric]


def test_rules_over_a_5x_config_are_layered_on_the_5x_library(cli, tmp_path):
    """The 4.56 hand rules never price a config read with 5.23 (tests/versions/test_user_rules_pin.py)."""
    (tmp_path / "extra.yaml").write_text(EXTRA)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(LLAMA))
    run = cli("eval", str(config), "--json", "--transformers", "5.23.0", "--rules", str(tmp_path / "extra.yaml"))
    assert run.status == 0, run.err
    assert any("transformers-5.23.0" in n for n in json.loads(run.out)["notes"])
