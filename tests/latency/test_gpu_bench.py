"""bench/gpu/run.py --dry-run runs on the CPU: it builds the model under fake tensors, drives the
hooked per-module pass with a stand-in clock and prints predictions (no GPU has run it yet)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu" / "run.py"


def test_dry_run(tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "gpu.json"
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--dry-run", "--models", "gpt2", "--prefill-tokens", "512", "--decode-past", "256", "--json", str(out)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "gpt2 batch=1 seq_len=512 past_len=0" in text and "TOTAL" in text
    records = json.loads(out.read_text())["records"]
    assert [(r["batch"], r["seq_len"], r["past_len"]) for r in records] == [(1, 512, 0), (1, 1, 256), (16, 1, 256)]
    paths = {m["path"] for m in records[0]["modules"]}
    # hooked module paths fold the layer index and match the breakdown paths the prediction prices
    assert {"transformer.h.attn", "transformer.h.mlp.c_fc", "lm_head"} <= paths
    assert all(m["predicted_s"] for m in records[0]["modules"] if m["path"] in {"transformer.h.attn", "lm_head"})
    assert all(r["measured_s"] is None for r in records)  # a dry run measures nothing


def test_layer_indices_fold() -> None:
    namespace = runpy.run_path(str(SCRIPT))
    assert namespace["fold"]("model.layers.31.mlp.up_proj") == "model.layers.mlp.up_proj"
    assert namespace["hardware_key"]("auto", "NVIDIA H100 80GB HBM3") == "h100-sxm"
