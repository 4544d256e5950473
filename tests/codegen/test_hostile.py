"""Hostile names and crafted inputs never become code: refused before emission, or inert data.

The rule loader already refuses non-ASCII and dunder names; these tests also feed the emitter
hand-built Rule objects, so the emitter is checked on its own. A sentinel file that an
injection would create must never appear.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lm_predictor.cli.main import main
from lm_predictor.codegen import safety
from lm_predictor.codegen.emitter import CodegenError, emit_module
from lm_predictor.codegen.header import render
from lm_predictor.diagnostics import Location
from lm_predictor.formula import nodes as n
from lm_predictor.formula.parser import parse_formula
from lm_predictor.formula.source import FORMULA_ORIGIN
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, ParamSpec, Rule

SENTINEL = "lmpredict-injected"

HOSTILE = [
    "x'); open('" + SENTINEL + "', 'w'); ('",
    'x"); open("' + SENTINEL + '", "w"); ("',
    "x\nimport os\nos.system('touch " + SENTINEL + "')",
    "__import__('os').system('touch " + SENTINEL + "')",
    "__import__",
    "a.__class__",
    "\u0430ttn",  # Cyrillic a
    "\uff4cinear",  # fullwidth l: NFKC-normalises to 'linear' in a Python identifier
    "na\u200bme",  # zero-width space
    "x # comment",
    "a b",
    "",
]


def formula(text: str) -> Formula:
    return Formula(text, parse_formula(text), FORMULA_ORIGIN)


def rule(name: str = "demo.R", params: dict[str, str] | None = None, metrics: dict[str, Formula] | None = None) -> Rule:
    specs = {p: ParamSpec(p, t, None, False, "", Location("x")) for p, t in (params or {"n": "int"}).items()}
    return Rule(name, (), "", specs, metrics or {"flops": formula("2 * $n")}, Location("x.yaml", 1, 1))


def emit(*rules: Rule, idents: dict[str, str] | None = None) -> str:
    library = RuleLibrary()
    for r in rules:
        library.rules[r.name] = r
    idents = idents or {r.name: "r" + str(i) for i, r in enumerate(rules)}
    return emit_module(library, idents, list(rules), source_sha="0" * 64, relpath="x.yaml")


def test_a_plain_rule_emits_safe_code():
    safety.check_source(emit(rule()))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_rule_names_are_refused(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CodegenError):
        emit(rule(name=name))
    assert not (tmp_path / SENTINEL).exists()


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_parameter_names_are_refused(name):
    bad = rule(params={name: "int"}, metrics={"flops": Formula("x", n.Param(name, None, n.Span(0, 1)), FORMULA_ORIGIN)})
    with pytest.raises(CodegenError):
        emit(bad)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_metric_names_are_refused(name):
    with pytest.raises(CodegenError):
        emit(rule(metrics={name: formula("1")}))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_callees_and_labels_are_refused(name):
    call = n.Call(name, None, (), False, None, n.Span(0, 5), n.Span(1, 2))
    with pytest.raises(CodegenError):
        emit(rule(metrics={"flops": Formula("x", call, FORMULA_ORIGIN)}))
    labelled = n.Call("demo.R", name, (), False, None, n.Span(0, 5), n.Span(1, 2))
    with pytest.raises(CodegenError):
        emit(rule(metrics={"flops": Formula("x", labelled, FORMULA_ORIGIN)}))


@pytest.mark.parametrize("value", ["__import__('os')", b"x", None, object(), float("inf"), float("nan"), True, 2**5000])
def test_number_nodes_must_hold_checked_numbers(value):
    with pytest.raises(CodegenError):
        emit(rule(metrics={"flops": Formula("x", n.Number(value, n.Span(0, 1)), FORMULA_ORIGIN)}))


def test_a_dunder_parameter_in_a_formula_is_refused():
    with pytest.raises(CodegenError):
        emit(rule(metrics={"flops": formula("$__class__ + 1")}))


def test_keywords_as_names_are_only_data():
    text = emit(rule(params={"class": "int", "import": "int"}, metrics={"flops": formula("${class} * ${import}")}))
    safety.check_source(text)
    tree = ast.parse(text)
    assert {"class", "import"} <= {c.value for c in ast.walk(tree) if isinstance(c, ast.Constant) and isinstance(c.value, str)}


def test_generated_identifiers_never_contain_names_of_the_rule_file():
    text = emit(rule(name="demo.Injected", params={"evil_param": "int"}, metrics={"evil_metric": formula("$evil_param")}), idents={"demo.Injected": "demo__Injected"})
    names = {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}
    assert not any("evil_param" in x for x in names)  # parameters become p0, v0, ...; only data strings keep them


def test_yaml_with_hostile_names_generates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yaml").write_text(
        "rules:\n"
        '  "x\'); open(\'' + SENTINEL + '\', \'w\'); (\'": {params: {n: int}, flops: $n}\n'
        '  "a\\nimport os": {params: {n: int}, flops: $n}\n'
        "  __import__.os: {params: {n: int}, flops: $n}\n"
        "  demo.\u0430ttn: {params: {n: int}, flops: $n}\n"
        "  demo.ok:\n    params: {\"p'q\": int, \"__class__\": int, \"\\uff4c\": int}\n    flops: 1\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["compile", str(rules), "-o", str(out)]) == 1
    assert not out.exists() or not list(out.rglob("*.py"))
    err = capsys.readouterr()
    assert "S007" in err.out and "S008" in err.out
    assert not (tmp_path / SENTINEL).exists()


@pytest.mark.parametrize(
    "body",
    [
        "import os\n",
        "from os import system\n",
        "from lm_predictor.codegen.helpers import h_add as eval\n",
        "x___m_a = eval\n",
        "x___m_a = h_add.__globals__\n",
        "def x___m_a(p0):\n    return p0.__class__\n",
        "def x___m_a(p0):\n    return (lambda: 1)()\n",
        "x___m_a = 'not a name'\n",
        "x___m_a = b'bytes'\n",
        "def x___m_a(p0):\n    for t1 in p0:\n        pass\n",
        "def x___m_a(p0):\n    return p0  # a comment\n",
        "def x___m_a(p0, *args):\n    return 1\n",
        "def x___m_a(p0=h_NO):\n    return 1\n",
        "x___m_a = [1]\n",
        "open___m_a = 1\nprint(1)\n",
        "def x___m_a(p0):\n    return getattr(p0, 'x')\n",
        "def x___m_a(p0):\n    return h_add(*p0)\n",
        "def x___m_a(p0):\n    try:\n        return 1\n    except Exception:\n        return 2\n",
        "x___m_a = 1e999\n",
        "S1 = '\u0430'\n",
    ],
)
def test_safety_refuses_anything_the_emitter_does_not_make(body):
    with pytest.raises(safety.UnsafeCode):
        safety.check_source(render(body, source_sha="0" * 64, source_path="x.yaml", deps_sha=None))


def test_safety_needs_the_header():
    with pytest.raises(safety.UnsafeCode):
        safety.check_source("x___m_a = 1\n")


def test_nothing_runs_when_hostile_rules_are_compiled_loaded_and_evaluated(tmp_path, monkeypatch):
    """End to end with the loader: an injection attempt in every place a name can go."""
    from tests.codegen.util import backend, compile_rules

    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ok.yaml").write_text(
        "rules:\n"
        "  demo.Safe:\n"
        "    params: {n: int, os_system: {type: int, default: 3}}\n"
        "    flops: \"${n} * ${os_system} + {x: demo.Other}(k=$n)\"\n"
        "  demo.Other:\n"
        "    params: {k: int}\n"
        "    flops: $k\n",
    )
    out = tmp_path / "out"
    library = compile_rules([rules], out)
    value = backend(library, out).evaluate("demo.Safe", "flops", {"n": 5}).value
    assert value == 20
    assert not (tmp_path / SENTINEL).exists()
    for path in out.rglob("*.py"):
        safety.check_file(path)
