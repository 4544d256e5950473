"""The documented Python API: typed predict(), sweep() over lists and ranges, rows, to_pandas()."""

from __future__ import annotations

import inspect
import sys
import types

import pytest

import lm_predictor
from lm_predictor import LmPredictorError


def test_predict_has_a_typed_signature_and_a_docstring():
    sig = inspect.signature(lm_predictor.predict)
    assert list(sig.parameters)[:5] == ["config", "batch", "seq_len", "past_len", "dtype"]
    assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values())
    assert sig.return_annotation in ("Prediction", lm_predictor.Prediction)
    assert "sweep()" in lm_predictor.predict.__doc__ and "dtype" in lm_predictor.predict.__doc__


def test_predict_points_lists_to_sweep():
    with pytest.raises(LmPredictorError) as err:
        lm_predictor.predict("gpt2", seq_len=[128, 256])
    assert err.value.diagnostic.code.code == "C003" and "lm_predictor.sweep()" in err.value.diagnostic.message


def test_sweep_takes_lists_and_ranges_and_returns_rows():
    rows = lm_predictor.sweep("gpt2", batch=[1, 4], seq_len=range(128, 385, 128))
    assert [(r["batch"], r["seq_len"]) for r in rows] == [(1, 128), (1, 256), (1, 384), (4, 128), (4, 256), (4, 384)]
    one = lm_predictor.predict("gpt2", batch=4, seq_len=384, breakdown=False)
    assert rows[5]["flops"] == one.totals["flops"] and rows[5]["trust"] == "verified"
    assert rows.columns[:4] == ["batch", "seq_len", "past_len", "dtype"]
    with pytest.raises(LmPredictorError):
        lm_predictor.sweep("gpt2", seq_len=[])


def test_to_pandas_builds_a_frame_from_the_rows(monkeypatch):
    made = {}
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda data, columns: made.update(data=data, columns=columns) or "frame"
    monkeypatch.setitem(sys.modules, "pandas", fake)
    rows = lm_predictor.sweep("gpt2", seq_len=[128, 256])
    assert rows.to_pandas() == "frame"
    assert made["columns"] == rows.columns and [r["seq_len"] for r in made["data"]] == [128, 256]


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        lm_predictor.sweep("gpt2").to_pandas()
