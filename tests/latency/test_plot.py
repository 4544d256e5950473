"""`lmpredict plot` writes valid PNG and SVG files (structure, not pixels)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lm_predictor.cli.main import main

pytest.importorskip("matplotlib")


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"  # the PNG signature
    length, kind = struct.unpack(">I4s", data[8:16])
    width, height = struct.unpack(">II", data[16:24])
    assert kind == b"IHDR" and length == 13 and width > 100 and height > 100
    assert data[-8:-4] == b"IEND"


def _check_svg(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("suffix", [".png", ".svg"])
@pytest.mark.parametrize("kind, extra", [
    ("roofline", ["--seq-len", "512", "--past-len", "0"]),
    ("breakdown", ["--seq-len", "1", "--past-len", "256"]),
    ("context", ["--hw", "a100-sxm-80gb,h100-sxm,mi300x", "--contexts", "128,1024,8192"]),
])
def test_plot_files(tmp_path: Path, kind: str, extra: list[str], suffix: str, capsys) -> None:
    out = tmp_path / f"{kind}{suffix}"
    assert main(["plot", kind, "llama-2-7b", "-o", str(out), *extra]) == 0
    (_check_png if suffix == ".png" else _check_svg)(out)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind


def test_plot_bad_output_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["plot", "roofline", "llama-2-7b", "-o", str(tmp_path / "chart.jpg")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must end in .png or .svg" in err
    assert main(["plot", "roofline", "llama-2-7b", "--hw", "h1000", "-o", str(tmp_path / "c.png")]) == 2
    assert "C080" in capsys.readouterr().err and not list(tmp_path.iterdir())
