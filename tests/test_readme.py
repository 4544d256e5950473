"""The README matches the output: its examples run and print what it shows."""

from __future__ import annotations

import io
import re
import sys
import types
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from lm_predictor.cli.main import main
from lm_predictor.resources import configs_dir

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def shell_examples() -> list[tuple[str, str]]:
    """(command, output) of each ``` block that starts with `$ lmpredict ...`."""
    found = []
    for block in re.findall(r"```\n(\$ lmpredict [^\n]*)\n(.*?)```", README, flags=re.S):
        found.append((block[0][2:], block[1]))
    return found


def test_the_readme_has_an_eval_example():
    assert any(cmd.startswith("lmpredict eval llama-2-7b") for cmd, _ in shell_examples())


@pytest.mark.parametrize("command, expected", shell_examples(), ids=[c for c, _ in shell_examples()])
def test_readme_example_prints_what_the_readme_shows(command, expected, monkeypatch):
    monkeypatch.chdir(REPO)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(command.split()[1:]) == 0
    assert out.getvalue().replace(f"{REPO}/", "") == expected


def test_every_bundled_config_is_in_the_family_table_or_named_as_derived():
    table = README[README.index("| family | bundled configs | rule file |"):]
    table = table[: table.index("\n\n")]
    listed = {name.strip() for row in table.splitlines()[2:] for name in row.split("|")[2].split(",")}
    derived = README[README.index("Bundled without hand-written rules:"):].split("(", 1)[0].split(":", 1)[1]
    listed |= {name.strip() for name in derived.split(",")}
    assert listed == {p.parent.name for p in configs_dir().glob("*/config.json")}


def test_the_python_api_block_runs(monkeypatch):
    code = re.search(r"```python\n(import lm_predictor\n.*?)```", README, flags=re.S).group(1)
    assert len(code.strip().splitlines()) == 5
    fake = types.ModuleType("pandas")  # pandas is optional: a stand-in that records the rows
    fake.DataFrame = lambda data, columns: (data, columns)
    monkeypatch.setitem(sys.modules, "pandas", fake)
    out = io.StringIO()
    namespace: dict = {}
    with redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert out.getvalue() == "1700001759232 verified\n"  # the comment in the block says so
    data, columns = namespace["df"]
    assert len(data) == 32 * 2 and columns[:2] == ["batch", "seq_len"]  # 32 lengths x 2 batches
