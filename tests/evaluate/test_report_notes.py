"""`report.render` marks a left-out metric as explained only where a note names it as a whole word."""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.evaluate.predict import Prediction
from lm_predictor.evaluate.report import explains, render
from lm_predictor.workload import Workload

GOLDEN = Path(__file__).parent / "report_cases" / "unavailable.expected"


@pytest.mark.parametrize(
    ("note", "metric", "named"),
    [
        ("forward_peak_bytes: the forward's peak is not modelled with dropout on", "peak_bytes", False),
        ("forward_peak_bytes: the forward's peak is not modelled with dropout on", "forward_peak_bytes", True),
        ("bytes_read, bytes_written left out: the bytes survey measured them wrong", "bytes_written", True),
        ("bytes_read, bytes_written left out: measured wrong", "bytes", False),
        ("the layers' {layers: X}.activation_bytes are unknown", "activation_bytes", True),
        ("train_activation_bytes_total is a different metric", "activation_bytes", False),
    ],
)
def test_a_note_names_a_metric_as_a_whole_word(note: str, metric: str, named: bool) -> None:
    assert explains(note, metric) is named


def test_unavailable_rows_golden(update_goldens: bool) -> None:
    """peak_bytes is not explained by a note about forward_peak_bytes (it was, by substring)."""
    from rich.console import Console

    prediction = Prediction(
        "transformers.models.opt.modeling_opt.OPTForCausalLM", Workload(batch=2, seq_len=7), {"flops": 1_234_567}, [],
        unavailable=["forward_peak_bytes", "peak_bytes", "bytes_read", "bytes_written"],
        source="opt.json",
        notes=["forward_peak_bytes: the training forward's peak is not modelled with dropout on",
               "bytes_read, bytes_written left out: the bytes survey measured them wrong for opt (varied_a config: wrong)"],
    )
    console = Console(record=True, width=120, color_system=None)
    render(prediction, 1, console)
    actual = console.export_text()
    if update_goldens or not GOLDEN.exists():
        GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == GOLDEN.read_text(encoding="utf-8")
