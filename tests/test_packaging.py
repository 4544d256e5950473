"""The built wheel carries the grammar, the rules and the configs, and works without the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("lm_predictor-*.whl")
    return path


def test_wheel_ships_grammar_rules_and_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "lm_predictor/_bundled/grammar/formula.lark" in names
    assert "lm_predictor/_bundled/rules/torch/nn/modules/linear.yaml" in names
    assert "lm_predictor/_bundled/configs/llama-2-7b/config.json" in names
    assert "lm_predictor/data/transformers_configs.json" in names
    repo_rules = {p.relative_to(REPO).as_posix() for p in (REPO / "rules").rglob("*.yaml")}
    assert {f"lm_predictor/_bundled/{r}" for r in repo_rules} <= names


def test_unpacked_wheel_lints_and_evaluates_on_its_own(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    code = (
        "import lm_predictor.resources as r, sys\n"
        "assert '_bundled' in str(r.rules_dir()), r.rules_dir()\n"
        "from lm_predictor.cli.main import main\n"
        "sys.exit(main(['lint', str(r.rules_dir())]) or main(['eval', 'llama-2-7b', '--json']))\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code.replace("import lm_predictor", f"import sys; sys.path.insert(0, {str(site)!r}); import lm_predictor", 1)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"param_count": 6738415616' in result.stdout  # Llama-2-7B, published
