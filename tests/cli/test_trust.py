"""Every prediction carries its trust level, in the header and in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.evaluate.trust import survey_table
from tests.cli.util import EXTRA, load_script

REPO = Path(__file__).resolve().parents[2]


def test_hand_written_rules_say_verified(cli):
    run = cli("eval", "gpt2", "--json")
    assert json.loads(run.out)["trust"]["level"] == "verified"
    run = cli("eval", "gpt2")
    assert "trust: verified: hand-written rules (gpt2), verified against the oracle in the tests" in run.out.splitlines()


def test_derived_rules_exact_in_the_survey(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "opt"}')  # no hand-written opt rules; the survey found opt exact
    trust = predict(str(config), breakdown=False).trust
    assert trust.level == "derived-exact" and "exact in the survey" in trust.detail


def test_derived_rules_the_survey_could_not_check(tmp_path, cli):
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "speech_to_text_2"}')  # survey: 4.56 cannot build Speech2Text2ForCausalLM (its embedding has no weight)
    run = cli("eval", str(config), "--json")
    trust = json.loads(run.out)["trust"]
    assert trust["level"] == "derived-unchecked" and "could not check it: oracle cannot run it" in trust["detail"]


def test_user_rules_are_not_called_verified(tmp_path, cli):
    rules = tmp_path / "extra.yaml"
    rules.write_text(EXTRA)
    run = cli("eval", "gpt2", "--rules", str(rules), "--json")
    assert run.status == 0, run.err
    assert json.loads(run.out)["trust"] == {"level": "user-rules", "detail": f"uses rules from {rules}; not verified here"}


@pytest.mark.parametrize("pin, survey_file", [("4.56.0", "survey.json"), ("5.23.0", "survey-5.23.0.json")])
def test_survey_table_is_generated_from_the_survey(pin, survey_file):
    survey = json.loads((REPO / "bench" / survey_file).read_text())
    assert load_script("gen_survey_trust").pin_table(pin) == survey_table(pin)
    assert set(survey_table(pin)) == {r["model_type"] for r in survey["records"]}
    # README and docs/coverage.md quote this total
    assert sum(e["exact"] for e in survey_table(pin).values()) == survey["totals"]["exact_to_json_and_minimal"]


def test_trust_reads_the_survey_of_the_pin_that_priced_it(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "qwen3_5_text", "transformers_version": "5.23.0"}')  # a 5.x-only type
    trust = predict(str(config), breakdown=False).trust
    assert "transformers 5.23.0 source" in trust.detail
    assert trust.level == ("derived-exact" if survey_table("5.23.0")["qwen3_5_text"]["exact"] else "derived-unchecked")


def test_derived_bytes_the_bytes_survey_measured_wrong_are_left_out(tmp_path, monkeypatch):
    """A derived rule's bytes that bench/sdpa_survey.py measured wrong are listed unavailable, with what it saw."""
    import lm_predictor.evaluate.predict as predict_module

    # moshi: the 4.56 bytes survey measured its derived decode at varied B one lm_head row off (flops too, as in the base survey)
    assert survey_table("4.56.0")["moshi"]["bytes_mismatch"].startswith("varied_b config: decode (total) flops")
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "opt"}')
    before = predict(str(config), breakdown=False)
    assert "bytes_read" in before.totals
    monkeypatch.setattr(predict_module, "bytes_mismatch", lambda model_type, pin: "varied_a config: wrong" if model_type == "opt" else None)
    after = predict(str(config), breakdown=True)
    assert {"bytes_read", "bytes_written"} <= set(after.unavailable) and "bytes_read" not in after.totals
    assert all("bytes_read" not in row.totals for row in after.modules)
    assert "bytes_read, bytes_written left out: the bytes survey measured them wrong for opt (varied_a config: wrong)" in after.notes
    assert after.totals["flops"] == before.totals["flops"]
    from rich.console import Console

    from lm_predictor.evaluate.report import render

    console = Console(record=True, width=200)
    render(after, 1, console)
    table = console.export_text()
    assert "unavailable: see the notes" in next(line for line in table.splitlines() if "bytes_read" in line)


def test_verify_of_a_shrunk_stand_in_says_so(cli):
    pytest.importorskip("torch")
    run = cli("verify", "mixtral-8x7b", "--seq-len", "4")
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].endswith("oracle=real (shrunk stand-in)")
    assert lines[1].startswith("trust: verified-shrunk: measured a shrunk stand-in, not this config")
    assert "exact (stand-in)" in run.out and " exact " not in run.out.replace("exact (stand-in)", "")
    assert lines[-1].startswith("36 exact, 0 mismatched on the shrunk stand-in")
    assert "{'batch'" not in run.out  # the header is not a raw dict


def test_verify_progress_on_request(cli, tmp_path):
    pytest.importorskip("torch")
    config = json.loads((REPO / "configs" / "gpt2" / "config.json").read_text())
    config.update(n_layer=1, n_embd=64, n_head=4, vocab_size=256)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    quiet = cli("verify", str(path), "--seq-len", "4")
    assert quiet.err == ""  # not a terminal, no --progress
    run = cli("verify", str(path), "--seq-len", "4,8", "--progress")
    assert run.status == 0, run.err
    progress = run.err.splitlines()
    assert progress[0] == "lmpredict verify: [1/2] batch=1 seq_len=4 past_len=0 dtype=float32: measuring GPT2LMHeadModel (auto) ..."
    assert progress[1].startswith("lmpredict verify: [1/2] batch=1 seq_len=4 past_len=0 dtype=float32: measuring GPT2LMHeadModel (auto): done in ")
    assert progress[2].startswith("lmpredict verify: [2/2] batch=1 seq_len=8")


def test_verify_turns_any_torch_error_into_one_line(cli, monkeypatch):
    pytest.importorskip("torch")
    import lm_predictor.verify.oracle as oracle

    def broken(config, workload, mode="auto"):
        import torch

        return torch.zeros(2, 3) @ torch.zeros(4, 5)  # RuntimeError from aten.mm

    monkeypatch.setattr(oracle, "measure", broken)
    run = cli("verify", "gpt2", "--seq-len", "4")
    assert run.status == 2
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0]
    assert lines[0].startswith("lmpredict verify: C012 oracle-failed: measuring GPT2LMHeadModel (")
    assert "configs/gpt2/config.json" in lines[0] and "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in lines[0]
    assert "torch.zeros(2, 3) @ torch.zeros(4, 5)" in lines[0] or "test_trust.py" in lines[0]


def test_progress_is_on_by_default_only_on_a_terminal():
    import io

    from lm_predictor.cli.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        with Progress("lmpredict verify", stream=stream).step("measuring"):
            pass
    assert tty.getvalue().splitlines()[0] == "lmpredict verify: measuring ..."
    assert tty.getvalue().splitlines()[1].startswith("lmpredict verify: measuring: done in ")
    assert pipe.getvalue() == ""
