"""Property: any rule file loads to rules plus diagnostics, and any loaded rule evaluates or raises
LmPredictorError. Loading never raises at all (errors become diagnostics), lint never raises, and
no other exception escapes evaluation (RecursionError included).
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import yaml
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lm_predictor.diagnostics import LmPredictorError, Severity
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.lint.checks import check_library
from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import RuleLibrary, rule_files

from strategies import rule_documents  # noqa: E402  (tests/fuzz is on sys.path)

# the engine raises the recursion limit for deep formulas (ensure_recursion_headroom); hypothesis notes it
pytestmark = pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")


SCRATCH = Path(tempfile.mkdtemp(prefix="lmpredict-fuzz-rules-"))
_names = itertools.count()
SHIPPED = [p.read_bytes() for p in rule_files([rules_dir()])]


def load(data: bytes) -> RuleLibrary:
    path = SCRATCH / f"r{next(_names)}.yaml"
    path.write_bytes(data)
    library = RuleLibrary()
    library.load_file(path)  # must not raise, whatever the bytes
    path.unlink()
    return library


def exercise(library: RuleLibrary) -> None:
    """Lint the library; if it loaded without errors, evaluate every metric of every rule."""
    check_library(library)
    if any(x.severity is Severity.ERROR for x in library.diagnostics):
        return
    for rule in list(library)[:6]:
        values = {name: (True if spec.type == "bool" else 3) for name, spec in rule.params.items() if spec.required}
        for metric in list(rule.metrics)[:3]:
            try:
                evaluate(library, rule.name, metric, values)
            except LmPredictorError:
                pass


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_documents())
def test_rule_shaped_documents(document: object) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    exercise(load(text.encode("utf-8")))


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_arbitrary_bytes(data: bytes) -> None:
    exercise(load(data))


@st.composite
def mutated_shipped_file(draw: st.DrawFn) -> bytes:
    """A shipped rule file with a few random edits: deleted spans, copied lines, foreign bytes."""
    data = bytearray(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        j = min(len(data), i + draw(st.integers(0, 40)))
        kind = draw(st.sampled_from(["delete", "copy", "insert", "swap"]))
        if kind == "delete":
            del data[i:j]
        elif kind == "copy":
            data[i:i] = data[i:j]
        elif kind == "insert":
            data[i:i] = draw(st.sampled_from([b"&a ", b"*a", b"<<: ", b"!!python/name:os.system ", b"\t", b"\x00", b"\xff", b"{", b"]", b": ", b"\n- ", b"'", b'"', b"${", b"(", b"**9**9**9"]))
        else:
            k = draw(st.integers(0, len(data) - 1))
            data[i], data[k] = data[k], data[i]
    return bytes(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_shipped_file())
def test_mutated_shipped_rule_files(data: bytes) -> None:
    exercise(load(data))
