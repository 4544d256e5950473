"""`lmpredict lint`: positions in the YAML file, exit status, JSON output, the shipped library,
and no traceback for any input (a small deterministic fuzz)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lm_predictor.cli.main import main
from lm_predictor.lint import lint_paths

REPO = Path(__file__).resolve().parent.parent.parent


def codes(path: Path, **kw) -> list[str]:
    return [d.code.code for d in lint_paths([path], with_library=False, **kw).diagnostics]


def only(path: Path):
    (diag,) = lint_paths([path], with_library=False).diagnostics
    return diag


def position(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# Each YAML scalar style: the diagnostic must point at `sqrt` (F005) where it is in the file.
STYLES = {
    "plain": "    flops: 2 * sqrt($n)\n",
    "single-quoted": "    flops: '2 * sqrt($n)'\n",
    "double-quoted": '    flops: "2 * sqrt($n)"\n',
    "double-quoted with escapes": '    flops: "2 *\\t sqrt($n)"\n',
    "folded": "    flops: >-\n      2 *\n      sqrt($n)\n",
    "literal": "    flops: |\n      2 *\n        sqrt($n)\n",
    "plain, continued": "    flops: 2 *\n      sqrt($n)\n",
}


@pytest.mark.parametrize("style", list(STYLES))
def test_formula_errors_point_into_the_yaml(style: str, write_rules) -> None:
    text = "rules:\n  c.R:\n    params: {n: int}\n" + STYLES[style]
    diag = only(write_rules(text))
    assert diag.code.code == "F005"
    assert (diag.location.line, diag.location.column) == position(text, "sqrt"), diag.render()
    assert diag.source_line == text.split("\n")[diag.location.line - 1]


def test_errors_in_defaults_and_call_arguments_are_located(write_rules) -> None:
    text = """\
rules:
  c.Callee:
    params: {k: int}
    flops: $k
  c.R:
    params:
      n: int
      m: {type: int, default: "$n + $nn"}
    flops: "{c.Callee}(k=$m, zz=1)"
"""
    found = lint_paths([write_rules(text)], with_library=False).diagnostics
    got = {(d.code.code, d.location.line, d.location.column) for d in found}
    assert ("L001", *position(text, "$nn")) in got      # in a default
    assert ("L004", *position(text, "zz=1")) in got     # a keyword the callee lacks


def test_lint_reports_everything_in_position_order(write_rules) -> None:
    text = """\
rules:
  c.A:
    params: {n: int, unused: int}
    flops: $n + $missing
  c.B:
    flops: "{c.Nowhere}()"
"""
    found = lint_paths([write_rules(text)], with_library=False).diagnostics
    assert [d.code.code for d in found] == ["L002", "L001", "L003"]
    assert [d.location.line for d in found] == [3, 4, 6]


def test_duplicate_rule_in_two_files_names_both(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("rules:\n  c.Same:\n    flops: 1\n", encoding="utf-8")
    two.write_text("rules:\n  c.Other:\n    flops: 2\n  c.Same:\n    flops: 3\n", encoding="utf-8")
    (diag,) = lint_paths([tmp_path], with_library=False).diagnostics
    assert diag.code.code == "S009"
    assert (diag.location.path, diag.location.line) == (str(two), 4)
    assert f"{one}:2:3" in diag.message


def test_calls_resolve_against_the_shipped_library(write_rules) -> None:
    path = write_rules("rules:\n  c.Head:\n    params: {d: int}\n    param_count: '{torch.nn.Linear}(in_features=$d, out_features=2)'\n")
    assert codes(path) == ["L003"]  # without the library
    assert [d.code.code for d in lint_paths([path]).diagnostics] == []  # with it


def test_shipped_library_is_clean() -> None:
    """Acceptance point 2: `lmpredict lint rules/` exits 0."""
    result = lint_paths([REPO / "rules"])
    assert result.files > 0
    assert [d.render() for d in result.diagnostics if d.severity.value == "error"] == []


# --- the command line ---------------------------------------------------------------------------

def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_exit_status(write_rules, capsys) -> None:
    clean = write_rules("rules:\n  c.Ok:\n    params: {n: int}\n    flops: 2 * $n\n")
    warning = write_rules("rules:\n  c.Warn:\n    params: {n: int, m: int}\n    flops: 2 * $n\n")
    error = write_rules("rules:\n  c.Err:\n    flops: $nope\n")
    assert run_cli(["lint", str(clean)], capsys)[0] == 0
    assert run_cli(["lint", str(warning)], capsys)[0] == 0          # warnings pass ...
    assert run_cli(["lint", "--strict", str(warning)], capsys)[0] == 1  # ... unless --strict
    assert run_cli(["lint", str(error)], capsys)[0] == 1
    assert run_cli(["lint", str(clean), str(error)], capsys)[0] == 1


def test_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    status, _, err = run_cli(["lint", str(tmp_path / "missing.yaml")], capsys)
    assert status == 2 and "no such file" in err
    with pytest.raises(SystemExit) as raised:
        main(["lint", "--format", "xml", str(tmp_path)])
    assert raised.value.code == 2
    with pytest.raises(SystemExit) as raised:
        main(["lint"])
    assert raised.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_text_output_format(write_rules, capsys) -> None:
    text = "rules:\n  c.R:\n    params: {n: int}\n    flops: 2 * $n + $m\n"
    path = write_rules(text)
    status, out, err = run_cli(["lint", str(path)], capsys)
    assert status == 1
    assert out == (
        f"{path}:4:21: L001 undefined-param: 'm' is not a parameter of c.R\n"
        "        flops: 2 * $n + $m\n"
        "                        ^\n"
    )
    assert err == "1 file(s) checked: 1 error(s), 0 warning(s)\n"


def test_json_output(write_rules, capsys) -> None:
    path = write_rules("rules:\n  c.R:\n    params: {n: int, k: int}\n    flops: 2 * $n + $m\n")
    status, out, _ = run_cli(["lint", "--format", "json", str(path)], capsys)
    assert status == 1
    assert json.loads(out) == [
        {"path": str(path), "line": 3, "column": 22, "code": "L002", "symbol": "unused-param",
         "severity": "warning", "message": "parameter 'k' of c.R is never used"},
        {"path": str(path), "line": 4, "column": 21, "code": "L001", "symbol": "undefined-param",
         "severity": "error", "message": "'m' is not a parameter of c.R"},
    ]


def test_directories_are_searched_for_rule_files(tmp_path: Path, capsys) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.yml").write_text("rules:\n  c.X:\n    flops: $oops\n", encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text("not a rule file", encoding="utf-8")
    status, out, err = run_cli(["lint", str(tmp_path)], capsys)
    assert status == 1 and "L001" in out and err.startswith("1 file(s) checked")


# --- no input produces a traceback -------------------------------------------------------------

ALPHABET = list("{}[]():,.-+*/%$\"'\n #&!|>?=<_019az\t") + ["${", "...", "**", "//", " if ", " then ", " else ",
                                                           "defined(", "\u00e9", "\x00", "- ", ": ", "!!str ", "<<: "]


def test_mutated_rule_files_never_crash(tmp_path: Path) -> None:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((REPO / "tests" / "functional" / "cases").glob("*.yaml"))
             if p.stat().st_size < 3000 and p.read_bytes().isascii()]
    rng = random.Random(20240607)
    for i in range(300):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(text) + 1)
            op = rng.random()
            if op < 0.4:
                text = text[:k] + rng.choice(ALPHABET) + text[k:]
            elif op < 0.7:
                text = text[:k] + text[k + rng.randint(1, 5):]
            else:
                text = text[:k] + rng.choice(ALPHABET) + text[k + 1:]
        path = tmp_path / f"m{i}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            lint_paths([path], with_library=False)
        except Exception as err:  # noqa: BLE001 - the point of the test
            pytest.fail(f"lint raised {type(err).__name__}: {err}\n--- input ---\n{text}")


THREE_TYPOS = """\
rules:
  t.A:
    params:
      h: int
    flops: 2 * ${h} +
    param_count: 3 * ${hh}
  t.B:
    params:
      h: int
    flopz: 2 * ${h}
"""


def test_every_independent_fault_is_reported(tmp_path):
    # three typos: a dangling '+', an undefined ${hh} in the same rule, a misspelt metric key
    path = tmp_path / "three.yaml"
    path.write_text(THREE_TYPOS)
    found = [(x.location.line, x.code.code) for x in lint_paths([path]).diagnostics]
    assert found == [(5, "F001"), (6, "L001"), (10, "S005")]


def test_an_undefined_param_next_to_a_syntax_error_in_another_rule(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("rules:\n  t.A:\n    params:\n      h: int\n    flops: 2 * (${h}\n  t.B:\n    params:\n      h: int\n    flops: ${h} * ${w}\n")
    assert [(x.location.line, x.code.code) for x in lint_paths([path]).diagnostics] == [(5, "F001"), (9, "L001")]


def test_a_name_whose_declaration_failed_is_not_called_undefined(tmp_path):
    path = tmp_path / "decl.yaml"
    path.write_text("rules:\n  t.A:\n    params:\n      h: innt\n    flops: 2 * ${h}\n")
    assert [x.code.code for x in lint_paths([path]).diagnostics] == ["S006"]
