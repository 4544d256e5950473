"""Run-time errors: each code raised as LmPredictorError, located in the rule file.

Each case is a rule file, what to evaluate, the expected code, and `at`: the text the
diagnostic must point at (its first occurrence in the file; None for errors about the request
itself, which have no place in a rule file). Both backends must raise the same diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine import evaluate
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.limits import MAX_CALLS

from .conftest import RUNNERS


@dataclass(frozen=True)
class Case:
    id: str
    rules: str
    rule: str
    bindings: dict
    code: str
    at: str | tuple[str, ...] | None  # the text pointed at (or alternatives); None: no location
    metric: str = "flops"


SQ = """\
  e.Sq:
    params:
      a: int
    flops: ${a} * ${a}
"""

CASES = [
    Case("E001 optional parameter without a value", """\
rules:
  e.R:
    params:
      n: int
      tokens: {type: int, optional: true}
    flops: 2 * ${n} * ${tokens}
""", "e.R", {"n": 1}, "E001", "${tokens}"),
    Case("E001 inside a declared default", """\
rules:
  e.R:
    params:
      n: {type: int, optional: true}
      m: {type: int, default: "${n} + 1"}
    flops: 3 * ${m}
""", "e.R", {}, "E001", "${n} + 1"),
    Case("E002 division by zero", """\
rules:
  e.R:
    params: {a: int, b: int}
    flops: 1 + ${a} // ${b}
""", "e.R", {"a": 1, "b": 0}, "E002", "${a} // ${b}"),
    Case("E002 modulo by zero in a block scalar", """\
rules:
  e.R:
    params: {a: int, b: int}
    flops: >-
      1 +
      ${a} % ${b}
""", "e.R", {"a": 1, "b": 0}, "E002", "${a} % ${b}"),
    Case("E003 integer too large", """\
rules:
  e.R:
    params: {a: int, b: int}
    flops: "1 + ${a} ** ${b}"
""", "e.R", {"a": 3, "b": 10**6}, "E003", "${a} ** ${b}"),
    Case("E004 float overflow", """\
rules:
  e.R:
    params: {x: float}
    flops: 2 + ${x} * ${x}
""", "e.R", {"x": 1e200}, "E004", "${x} * ${x}"),
    Case("E005 type error", """\
rules:
  e.R:
    params: {x: number}
    flops: 1 + ceil_div(${x}, 2)
""", "e.R", {"x": 1.5}, "E005", "ceil_div"),
    Case("E006 call depth", "rules:\n" + "".join(
        f"  e.D{i}:\n    params: {{a: int}}\n    flops: \"{{e.D{i + 1}}}(a)\"\n" for i in range(66)
    ) + "  e.D66:\n    params: {a: int}\n    flops: ${a}\n", "e.D0", {"a": 1}, "E006", "e.D65}"),
    Case("E006 recursion with changing bindings", """\
rules:
  e.Down:
    params: {n: int}
    flops: "if ${n} == 0 then 0 else 1 + {e.Down}(n=${n} - 1)"
""", "e.Down", {"n": 100}, "E006", "e.Down}"),
    Case("E007 call budget", """\
rules:
  e.T:
    params: {i: int, n: int}
    flops: >-
      1 + (if 2 * $i < $n then {e.T}(i=2 * $i, n) else 0)
        + (if 2 * $i + 1 < $n then {e.T}(i=2 * $i + 1, n) else 0)
""", "e.T", {"i": 1, "n": MAX_CALLS + 2}, "E007", ("e.T}(i=2 * $i, n)", "e.T}(i=2 * $i + 1, n)")),
    Case("E008 call to an unknown rule", """\
rules:
  e.R:
    params: {n: int}
    flops: "2 * {e.Missing}(n)"
""", "e.R", {"n": 1}, "E008", "e.Missing"),
    Case("E008 unknown root rule", SQ and "rules:\n" + SQ, "e.Nope", {}, "E008", None),
    Case("E009 metric not defined by the callee", "rules:\n" + SQ + """\
  e.R:
    params: {n: int}
    flops: "{e.Sq}(a=${n}).bytes_read"
""", "e.R", {"n": 1}, "E009", "e.Sq}(a=${n}).bytes_read"),
    Case("E009 metric not defined at the root", "rules:\n" + SQ, "e.Sq", {"a": 1}, "E009", None, metric="bytes_read"),
    Case("E010 unexpected keyword at a call", "rules:\n" + SQ + """\
  e.R:
    params: {n: int}
    flops: "{e.Sq}(a=1, b=${n})"
""", "e.R", {"n": 1}, "E010", "{e.Sq}(a=1, b"),
    Case("E010 unexpected keyword at the root", "rules:\n" + SQ, "e.Sq", {"a": 1, "b": 2}, "E010", None),
    Case("E011 missing argument at a call", "rules:\n" + SQ + """\
  e.R:
    params: {n: int}
    flops: "${n} * {e.Sq}()"
""", "e.R", {"n": 1}, "E011", "{e.Sq}()"),
    Case("E011 missing argument at the root", "rules:\n" + SQ, "e.Sq", {}, "E011", None),
    Case("E012 argument type at a call", "rules:\n" + SQ + """\
  e.R:
    params: {n: int}
    flops: "{e.Sq}(a=${n} / 2)"
""", "e.R", {"n": 3}, "E012", "{e.Sq}(a=${n} / 2)"),
    Case("E012 declared default of the wrong type", """\
rules:
  e.R:
    params:
      heads: int
      kv: {type: int, default: "${heads} / 2"}
    flops: 4 * ${kv}
""", "e.R", {"heads": 7}, "E012", "${kv}"),
    Case("E012 argument type at the root", "rules:\n" + SQ, "e.Sq", {"a": 2.5}, "E012", None),
    Case("E013 math domain", """\
rules:
  e.R:
    params: {n: int}
    flops: 1 + log2(${n})
""", "e.R", {"n": 0}, "E013", "log2"),
    Case("L009 call cycle at run time", """\
rules:
  e.A:
    params: {n: int}
    flops: "1 + {e.B}(n)"
  e.B:
    params: {n: int}
    flops: "{e.C}(n)"
  e.C:
    params: {n: int}
    flops: "{e.A}(n)"
""", "e.A", {"n": 1}, "L009", "e.A}(n)"),
    Case("L010 default cycle at run time", """\
rules:
  e.R:
    params:
      p: {type: int, default: "${q} + 1"}
      q: {type: int, default: "${p} + 1"}
    flops: 5 * ${p}
""", "e.R", {}, "L010", "${p} + 1"),
]


def _position(text: str, at: str) -> tuple[int, int]:
    index = text.index(at)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("runner", list(RUNNERS))
def test_located_error(case: Case, runner: str, tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(case.rules, encoding="utf-8")
    library = RuleLibrary()
    library.load_file(path)
    assert not library.diagnostics, [x.render() for x in library.diagnostics]
    with pytest.raises(LmPredictorError) as raised:
        evaluate(library, case.rule, case.metric, case.bindings, runner=RUNNERS[runner])
    diag = raised.value.diagnostic
    assert diag.code.code == case.code, diag.render()
    if case.at is None:
        assert diag.location is None, diag.render()
        return
    candidates = [_position(case.rules, at) for at in ((case.at,) if isinstance(case.at, str) else case.at)]
    assert diag.location is not None, diag.render()
    assert diag.location.path == str(path), diag.render()
    assert (diag.location.line, diag.location.column) in candidates, diag.render()
    assert diag.source_line == case.rules.split("\n")[diag.location.line - 1]
    assert "^" in diag.render()


def test_error_messages_name_the_rule_and_the_path(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(next(c for c in CASES if c.id.startswith("L009")).rules, encoding="utf-8")
    library = RuleLibrary()
    library.load_file(path)
    with pytest.raises(LmPredictorError) as raised:
        evaluate(library, "e.A", "flops", {"n": 1})
    assert "e.A -> e.B -> e.C -> e.A" in raised.value.diagnostic.message
