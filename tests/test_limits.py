"""Boundary tests: every limit in lm_predictor/limits.py passes at the limit and fails one past
it, with its own diagnostic code. (MAX_CONFIG_BYTES belongs to `eval` and is tested there.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lm_predictor import limits
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine import evaluate
from lm_predictor.engine.frame import compiled_runner
from lm_predictor.formula import nodes as n
from lm_predictor.formula.interpreter import interpreted_runner
from lm_predictor.formula.parser import parse_formula
from lm_predictor.lint import lint_paths
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.yaml_loader import SourceFile, load_yaml, read_text

TESTED_HERE = {
    "MAX_FORMULA_CHARS", "MAX_AST_NODES", "MAX_NESTING_DEPTH", "MAX_CALL_DEPTH", "MAX_CALLS",
    "MAX_INT_BITS", "MAX_LITERAL_DIGITS", "MAX_RULE_FILE_BYTES", "MAX_YAML_NODES", "MAX_BATCH", "MAX_CONTEXT_TOKENS",
    "MAX_RESIDUE_PERIOD", "MAX_ORACLE_MODULES",
}
TESTED_ELSEWHERE = {"MAX_CONFIG_BYTES": "tests of `lmpredict eval` (config reading)"}


def test_every_limit_has_a_boundary_test() -> None:
    names = {name for name in vars(limits) if name.startswith("MAX_")}
    assert names == TESTED_HERE | set(TESTED_ELSEWHERE), "a new limit needs a boundary test here"


def parse_code(text: str) -> str | None:
    try:
        parse_formula(text)
    except LmPredictorError as err:
        return err.diagnostic.code.code
    return None


def load(tmp_path: Path, text: str) -> RuleLibrary:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    library = RuleLibrary()
    library.load_file(path)
    return library


def eval_code(library: RuleLibrary, rule: str, bindings: dict, runner=compiled_runner) -> tuple[object, str | None]:
    try:
        return evaluate(library, rule, "flops", bindings, runner=runner).value, None
    except LmPredictorError as err:
        return None, err.diagnostic.code.code


# --- formula text ------------------------------------------------------------------------------

def test_max_formula_chars() -> None:
    limit = limits.MAX_FORMULA_CHARS
    at = "1" + " " * (limit - 1)  # whitespace is text too
    assert len(at) == limit and parse_code(at) is None
    assert parse_code(at + " ") == "F002"


def test_max_ast_nodes() -> None:
    limit = limits.MAX_AST_NODES

    def max_of_ones(k: int) -> str:
        return "max(" + ", ".join(["1"] * k) + ")"  # 1 Function + k Numbers

    at = parse_formula(max_of_ones(limit - 1))
    assert sum(1 for _ in n.walk(at)) == limit
    assert parse_code(max_of_ones(limit)) == "F004"


def test_max_nesting_depth() -> None:
    limit = limits.MAX_NESTING_DEPTH
    # k unary minuses over a literal nest k + 1 levels
    assert parse_code("-" * (limit - 1) + "1") is None
    assert parse_code("-" * limit + "1") == "F003"
    # k right-nested additions over a literal: k Binary levels + 1
    assert parse_code("1 + (" * (limit - 1) + "1" + ")" * (limit - 1)) is None
    assert parse_code("1 + (" * limit + "1" + ")" * limit) == "F003"


def test_max_literal_digits() -> None:
    limit = limits.MAX_LITERAL_DIGITS
    assert parse_formula("9" * limit).value == 10**limit - 1
    assert parse_code("9" * (limit + 1)) == "F007"
    assert parse_code("1_" * limit + "0") == "F007"  # separators do not count, digits do: 201
    assert parse_code("1." + "0" * (limit - 2)) is None  # float literal text: 200 characters
    assert parse_code("1." + "0" * (limit - 1)) == "F007"


# --- evaluation --------------------------------------------------------------------------------

def chain(depth: int) -> str:
    """Rules c.D0 .. c.D{depth}: each calls the next, so evaluating c.D0 reaches call depth `depth`."""
    lines = ["rules:"]
    for i in range(depth):
        lines += [f"  c.D{i}:", "    params: {a: int}", f'    flops: "1 + {{c.D{i + 1}}}(a)"']
    lines += [f"  c.D{depth}:", "    params: {a: int}", "    flops: $a"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("runner", [compiled_runner, interpreted_runner], ids=["compiled", "interpreted"])
def test_max_call_depth(tmp_path: Path, runner) -> None:
    limit = limits.MAX_CALL_DEPTH
    at = load(tmp_path, chain(limit))
    assert eval_code(at, "c.D0", {"a": 1}, runner) == (limit + 1, None)  # 1 per level + a = 1
    past = load(tmp_path, chain(limit + 1))
    assert eval_code(past, "c.D0", {"a": 1}, runner) == (None, "E006")


def test_nested_defaults_share_the_call_depth(tmp_path: Path) -> None:
    limit = limits.MAX_CALL_DEPTH

    def defaults(k: int) -> str:
        params = ["      p0: {type: int, default: 1}"]
        params += [f'      p{i}: {{type: int, default: "${{p{i - 1}}} + 1"}}' for i in range(1, k + 1)]
        return "rules:\n  c.Defaults:\n    params:\n" + "\n".join(params) + f"\n    flops: ${{p{k}}}\n"

    # p_k's default needs p_(k-1)'s ...: k + 1 nested evaluations below the rule's own
    assert eval_code(load(tmp_path, defaults(limit - 1)), "c.Defaults", {}) == (limit, None)
    assert eval_code(load(tmp_path, defaults(limit)), "c.Defaults", {}) == (None, "E006")


def binary_tree(n_bound: int) -> str:
    # T(i) calls T(2i) and T(2i+1) while they are below n: T(1) visits i = 1 .. n-1, once each
    # (distinct bindings, so memoisation cannot merge them), and its value counts them.
    return """\
rules:
  c.T:
    params: {i: int, n: int}
    flops: >-
      1 + (if 2 * $i < $n then {c.T}(i=2 * $i, n) else 0)
        + (if 2 * $i + 1 < $n then {c.T}(i=2 * $i + 1, n) else 0)
"""


def test_max_calls(tmp_path: Path) -> None:
    limit = limits.MAX_CALLS
    library = load(tmp_path, binary_tree(0))
    assert not library.diagnostics
    assert eval_code(library, "c.T", {"i": 1, "n": limit + 1}) == (limit, None)  # limit calls
    assert eval_code(library, "c.T", {"i": 1, "n": limit + 2}) == (None, "E007")  # one more


def test_max_int_bits(tmp_path: Path) -> None:
    bits = limits.MAX_INT_BITS
    library = load(tmp_path, "rules:\n  c.P:\n    params: {a: int, b: int}\n    flops: ${a} ** ${b}\n")
    assert eval_code(library, "c.P", {"a": 2, "b": bits - 1}) == (2 ** (bits - 1), None)  # `bits` bits
    assert eval_code(library, "c.P", {"a": 2, "b": bits}) == (None, "E003")             # one more
    assert eval_code(library, "c.P", {"a": -2, "b": bits - 1}) == (-(2 ** (bits - 1)), None)
    # refused before computing: 9 ** 387420489 would take minutes and gigabytes
    start = time.perf_counter()
    assert eval_code(library, "c.P", {"a": 9, "b": 9**9}) == (None, "E003")
    assert eval_code(library, "c.P", {"a": 3, "b": 10**18}) == (None, "E003")
    assert time.perf_counter() - start < 0.5


def test_max_residue_period(tmp_path: Path) -> None:
    period = limits.MAX_RESIDUE_PERIOD
    library = load(tmp_path, "rules:\n  c.P:\n    params: {n: int, p: int}\n    flops: residue_count(${n}, ${p}, 0, 0, 1)\n")
    # layers i < p + 1 with i % p == 0: layers 0 and p, so 2
    assert eval_code(library, "c.P", {"n": period + 1, "p": period}) == (2, None)
    assert eval_code(library, "c.P", {"n": period + 2, "p": period + 1}) == (None, "E013")  # one past


def test_max_int_bits_applies_to_bindings(tmp_path: Path) -> None:
    bits = limits.MAX_INT_BITS
    library = load(tmp_path, "rules:\n  c.Id:\n    params: {a: int}\n    flops: $a\n")
    assert eval_code(library, "c.Id", {"a": 2**bits - 1}) == (2**bits - 1, None)
    assert eval_code(library, "c.Id", {"a": 2**bits}) == (None, "E003")


def test_lint_refuses_huge_powers_fast(tmp_path: Path) -> None:
    path = tmp_path / "power.yaml"
    path.write_text("rules:\n  c.Power:\n    flops: 9 ** 9 ** 9 ** 9\n", encoding="utf-8")
    start = time.perf_counter()
    assert [d.code.code for d in lint_paths([path], with_library=False).diagnostics] == ["E003"]
    assert time.perf_counter() - start < 1.0


SHAPES = {
    # formula shapes nested k levels, with a call (or $a) at the innermost level: the ones that
    # take the most Python frames per level (conditionals and products take fewer)
    "sum": lambda k, inner: "1 + (" * k + inner + ")" * k,
    "unary": lambda k, inner: "-" * k + inner,
    "builtin": lambda k, inner: "max(1, " * k + inner + ")" * k,
}
_DEEPEST: dict[tuple[str, bool], int] = {}


def deepest(shape: str, inner: str) -> str:
    """`shape` nested to exactly MAX_NESTING_DEPTH around `inner` (one more level is F003)."""
    make, key = SHAPES[shape], (shape, inner.startswith("{"))
    if key not in _DEEPEST:
        k = limits.MAX_NESTING_DEPTH
        while parse_code(make(k, inner)) == "F003":
            k -= 1
        assert parse_code(make(k, inner)) is None and parse_code(make(k + 1, inner)) == "F003"
        _DEEPEST[key] = k
    return make(_DEEPEST[key], inner)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_deepest_formula_at_deepest_call_depth(tmp_path: Path, shape: str) -> None:
    """A MAX_NESTING_DEPTH formula at each of MAX_CALL_DEPTH + 1 levels: no RecursionError."""
    depth = limits.MAX_CALL_DEPTH
    lines = ["rules:"]
    for i in range(depth + 1):
        inner = f"{{c.L{i + 1}}}(a)" if i < depth else "$a"
        lines += [f"  c.L{i}:", "    params: {a: int}", f"    flops: {json.dumps(deepest(shape, inner))}"]
    library = load(tmp_path, "\n".join(lines) + "\n")
    assert not library.diagnostics, library.diagnostics[0].render()
    results = {eval_code(library, "c.L0", {"a": 1}, runner) for runner in (compiled_runner, interpreted_runner)}
    assert len(results) == 1 and next(iter(results))[1] is None, results
    # ... and lint, which types and folds the same formulas, copes too
    assert not [d for d in lint_paths([tmp_path / "rules.yaml"], with_library=False).diagnostics if d.severity.value == "error"]


# --- rule files --------------------------------------------------------------------------------

HEAD = "rules:\n  c.X:\n    flops: 1\n"


def test_max_rule_file_bytes(tmp_path: Path) -> None:
    limit = limits.MAX_RULE_FILE_BYTES
    line = "#" + "x" * 98 + "\n"  # 100 bytes
    body = HEAD + line * ((limit - len(HEAD)) // 100)
    body += "#" * (limit - len(body) - 1) + "\n"
    path = tmp_path / "at.yaml"
    path.write_bytes(body.encode("utf-8"))
    assert path.stat().st_size == limit
    library = RuleLibrary()
    library.load_file(path)
    assert not library.diagnostics and "c.X" in library
    path.write_bytes(body.encode("utf-8") + b"\n")  # one byte more
    library = RuleLibrary()
    library.load_file(path)
    assert [d.code.code for d in library.diagnostics] == ["S004"]


def yaml_with_nodes(count: int) -> str:
    # root mapping, 'rules', its mapping, 'c.X', its mapping, 'flops', '1', 'aliases', the list:
    # 9 nodes, then count - 9 list items
    return "rules: {c.X: {flops: 1, aliases: [" + ", ".join(["a"] * (count - 9)) + "]}}\n"


def test_max_yaml_nodes(tmp_path: Path) -> None:
    limit = limits.MAX_YAML_NODES
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml_with_nodes(limit), encoding="utf-8")
    data = load_yaml(read_text(str(path)))  # at the limit: loads
    assert len(data.items[0][1].items[0][1].items[1][1].items) == limit - 9
    with pytest.raises(LmPredictorError) as raised:
        load_yaml(SourceFile(str(path), yaml_with_nodes(limit + 1)))
    assert raised.value.diagnostic.code.code == "S013"


def test_max_batch_and_context_tokens() -> None:
    from lm_predictor.evaluate.predict import predict

    for kwargs in ({"batch": limits.MAX_BATCH}, {"seq_len": limits.MAX_CONTEXT_TOKENS - 5, "past_len": 5}):
        predict("pythia-160m", breakdown=False, **kwargs)  # at the limit: a number (pythia: RoPE, no hard limit)
    for kwargs in ({"batch": limits.MAX_BATCH + 1}, {"seq_len": limits.MAX_CONTEXT_TOKENS - 4, "past_len": 5}, {"seq_len": 10**12}):
        with pytest.raises(LmPredictorError) as err:
            predict("pythia-160m", breakdown=False, **kwargs)
        assert err.value.diagnostic.code.code == "C003", kwargs
        assert "limits.py" in err.value.diagnostic.message


def test_max_oracle_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    from lm_predictor.cli.verify_cmd import refuse_unbuildable
    from lm_predictor.evaluate.predict import predict

    prediction = predict("pythia-160m", seq_len=4)
    rows = sum(row.count for row in prediction.modules if isinstance(row.count, int))
    monkeypatch.setattr(limits, "MAX_ORACLE_MODULES", rows)
    refuse_unbuildable(prediction, "pythia-160m")  # at the limit: verify measures it
    monkeypatch.setattr(limits, "MAX_ORACLE_MODULES", rows - 1)
    with pytest.raises(LmPredictorError) as err:
        refuse_unbuildable(prediction, "pythia-160m")
    assert err.value.diagnostic.code.code == "C015"
    assert "limits.py" in err.value.diagnostic.message
