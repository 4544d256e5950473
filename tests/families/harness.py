"""Shared oracle check for rule families: predict() must equal the measured model exactly."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.verify.compare import compare
from lm_predictor.workload import Workload

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.verify.oracle import OracleUnsupported, measure, shrink_config  # noqa: E402

PREFILL = Workload(batch=2, seq_len=7)
DECODE = Workload(batch=3, seq_len=1, past_len=5)


def written_config(model_type: str, overrides: dict, tmp_path) -> dict:
    """The config.json `CONFIG_MAPPING[model_type](**overrides).to_json_file()` writes, read back as eval reads it."""
    from transformers import CONFIG_MAPPING

    from lm_predictor.evaluate.config_source import read_config

    CONFIG_MAPPING[model_type](**overrides).to_json_file(tmp_path / "config.json")
    return read_config(tmp_path / "config.json")


def assert_exact(config: dict, workload: Workload, *, library=None) -> None:
    """Measure (fake tensors, else real on a shrunken config) and compare every row."""
    try:
        measurement = measure(config, workload, mode="auto")
    except OracleUnsupported:
        config = shrink_config(config)
        measurement = measure(config, workload, mode="real")
    prediction = predict(config, library=library, **asdict(workload))
    rows = compare(prediction, measurement.totals, measurement.module_flops, measurement.module_params, measurement.module_bytes)
    assert rows, "nothing was compared"
    assert {"flops", "param_count"} <= {r.metric for r in rows if r.path == ""}
    bad = [f"{r.path or '(total)'} {r.metric}: predicted {r.predicted} measured {r.measured}" for r in rows if not r.exact]
    assert not bad, "\n".join(bad)


def assert_bytes_per_module(config: dict, workload: Workload, *, min_compared: int) -> None:
    """Fake-mode bytes_read/bytes_written at every module path the prediction names, exactly."""
    from lm_predictor.verify.compare import aggregate

    measured = measure(config, workload, mode="fake")
    rows = {row.path: row for row in predict(config, **asdict(workload)).modules}
    bad, compared = [], 0
    for metric in ("bytes_read", "bytes_written"):
        for path, value in aggregate({p: v[metric] for p, v in measured.module_bytes.items()}).items():
            if path and path in rows:
                compared += 1
                if rows[path].totals.get(metric) != value:
                    bad.append(f"{path} {metric}: predicted {rows[path].totals.get(metric)} measured {value}")
    assert compared > min_compared
    assert not bad, "\n".join(bad)
