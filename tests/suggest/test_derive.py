"""`eval` for an architecture with no rule: rules derived with suggest --recursive, cached, exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import predict

QWEN3 = {"model_type": "qwen3", "num_hidden_layers": 2, "hidden_size": 128, "intermediate_size": 256,
         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 1000}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LMPREDICT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_derived_once_then_cached(private_cache: Path) -> None:
    first = predict(QWEN3, batch=2, seq_len=7)
    assert first.model == "transformers.models.qwen3.modeling_qwen3.Qwen3ForCausalLM"
    assert any("derived with `lmpredict suggest --recursive`" in n for n in first.notes)
    second = predict(QWEN3, batch=2, seq_len=7)
    assert any("using rules derived" in n for n in second.notes)
    assert second.totals == first.totals
    entries = [p for p in (private_cache / "derived").glob("*.json") if json.loads(p.read_text())["text"]]
    assert len(entries) == 1  # and the request's index of specialisations (specialise.py), with no text


def test_corrupted_entry_is_rebuilt(private_cache: Path) -> None:
    good = predict(QWEN3, batch=1, seq_len=3).totals
    (entry,) = [p for p in (private_cache / "derived").glob("*.json") if json.loads(p.read_text())["text"]]
    data = json.loads(entry.read_text())
    data["text"] = data["text"].replace("q_proj", "bad_proj", 1)  # hash no longer matches
    entry.write_text(json.dumps(data))
    again = predict(QWEN3, batch=1, seq_len=3)
    assert any("derived with" in n for n in again.notes)
    assert again.totals == good
    # the loaded .yaml next to the entry is rewritten when it differs from the entry
    yaml_file = entry.with_suffix(".yaml")
    yaml_file.write_text("garbage: [")
    assert predict(QWEN3, batch=1, seq_len=3).totals == good


def test_an_unknown_architecture_name_is_still_an_error() -> None:
    with pytest.raises(LmPredictorError) as info:
        predict({**QWEN3, "architectures": ["EvilForCausalLM"]})
    assert info.value.diagnostic.code.code == "C002"
    with pytest.raises(LmPredictorError) as info:
        predict({"model_type": "nonexistent"})
    assert info.value.diagnostic.code.code == "C002"


def test_unresolved_terms_get_their_own_code_and_one_note_each() -> None:
    with pytest.raises(LmPredictorError) as info:
        # BigBird past its switch to full attention ((5 + 2 * 3) * 64 = 704 tokens): block-sparse attention, unresolved
        predict({"model_type": "big_bird", "num_hidden_layers": 2}, seq_len=1024)
    diag = info.value.diagnostic
    assert diag.code.code == "C013" and "unresolved term" in diag.message
    assert "\n" not in diag.headline()
    assert any("A110" in note and "modeling_big_bird.py" in note for note in diag.notes)
    assert all("\n" not in note for note in diag.notes)


def test_eval_does_not_import_torch_or_transformers(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "config.json"
    config.write_text(json.dumps(QWEN3))
    code = (
        "import sys, json\n"
        "from lm_predictor.evaluate.predict import predict\n"
        f"p = predict({str(config)!r}, batch=2, seq_len=7)\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, sorted(m for m in sys.modules if m.startswith(('torch', 'transformers')))\n"
        "print(p.totals['flops'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**__import__('os').environ, "LMPREDICT_CACHE": str(tmp_path / "c")})
    assert proc.returncode == 0, proc.stderr


def test_derived_rules_are_exact() -> None:
    pytest.importorskip("torch")
    from tests.families.harness import DECODE, PREFILL, assert_exact

    assert_exact(QWEN3, PREFILL)
    assert_exact(QWEN3, DECODE)
