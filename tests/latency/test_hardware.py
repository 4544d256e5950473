"""Hardware presets and user hardware files (lm_predictor/hardware.py, lm_predictor/data/hardware.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.hardware import PEAK_DTYPES, load_hardware, preset_names, presets

NAMES = ["a100-sxm-80gb", "h100-sxm", "h200", "b200", "mi300x", "l40s", "rtx-4090"]


def test_every_named_preset_exists() -> None:
    assert preset_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_preset_fields_and_sources(name: str) -> None:
    hw = presets()[name]
    assert set(hw.peak_tflops) == set(PEAK_DTYPES)
    assert all(v is None or v > 0 for v in hw.peak_tflops.values())
    assert hw.memory_bandwidth_gbps > 0 and hw.memory_gb > 0
    # every figure has a stated source
    assert {"peak_tflops", "memory_bandwidth_gbps", "memory_gb", "interconnect"} <= set(hw.sources)
    assert all(len(text) > 20 for text in hw.sources.values())


def test_dense_peaks_not_sparsity() -> None:
    # H100 SXM datasheet: BF16 1,979 TFLOPS "with sparsity"; dense is half: 1979 / 2 = 989.5 ~ 989.4
    h100 = presets()["h100-sxm"]
    assert h100.peak_flops("bfloat16") == 989.4e12
    # A100 datasheet: BF16 312 dense (624 with sparsity); float32 matmuls run at fp32 (19.5), not tf32
    a100 = presets()["a100-sxm-80gb"]
    assert a100.peak_flops("bfloat16") == 312e12 and a100.peak_flops("float32") == 19.5e12
    assert a100.peak_tflops["fp8"] is None  # Ampere has no fp8 tensor cores
    # 3.35 TB/s = 3.35e12 bytes/s; 80 GB = 80e9 bytes
    assert h100.bandwidth == 3.35e12 and h100.memory_bytes == 80_000_000_000


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gpu.yaml"
    path.write_text(text)
    return str(path)


GOOD = """name: my-gpu
peak_tflops: {fp32: 60, tf32: 400, bf16: 800, fp16: 800, fp8: null, int8: 1600}
memory_bandwidth_gbps: 3000
memory_gb: 80
interconnect: {name: NVLink, bandwidth_gbps: 900}
"""


def test_user_file(tmp_path: Path) -> None:
    hw = load_hardware(_write(tmp_path, GOOD))
    assert hw.name == "my-gpu" and hw.peak_flops("bfloat16") == 800e12 and hw.bandwidth == 3000e9


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD.replace("memory_gb: 80\n", ""), "lacks memory_gb"),
        (GOOD.replace("memory_bandwidth_gbps: 3000", "memory_bandwidth_gbps: -3000"), "memory_bandwidth_gbps must be positive"),
        (GOOD.replace("bf16: 800", "bf16: -1"), "peak_tflops.bf16 must be positive"),
        (GOOD.replace("bf16: 800", "bf16: fast"), "peak_tflops.bf16 must be a number"),
        (GOOD.replace("fp32: 60", "fp64: 60"), "unknown dtype 'fp64'"),
        (GOOD + "colour: green\n", "unknown field 'colour'"),
        ("- a list\n", "must hold a mapping"),
        ("name: [unclosed\n", "C081"),
    ],
)
def test_bad_file_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LmPredictorError) as err:
        load_hardware(_write(tmp_path, text))
    headline = err.value.diagnostic.headline()
    assert message in headline and "C081" in headline and "\n" not in headline


def test_unknown_preset() -> None:
    with pytest.raises(LmPredictorError) as err:
        load_hardware("h1000")
    assert err.value.diagnostic.code.code == "C080"
