"""Interpreter vs compiled closures vs generated modules: value for value, error for error.

Hypothesis draws whole rule sets (1-4 rules with typed parameters, declared and inline
defaults, optional parameters, several metrics, calls with keywords, forwarding and `.metric`,
occasional call cycles, default cycles, undefined names, unknown keywords) and bindings
(including wrong types, huge ints, fractions, floats near overflow). Each rule set is parsed,
compiled and written (emitter, safety re-check, atomic write) into a temporary directory and
loaded by the runtime; then every metric of the root rule is evaluated by:

  interpreter           engine + lm_predictor.formula.interpreter
  compiled closures     engine + compiled closures (the default)
  generated, engine     engine + generated frame functions (the breakdown path)
  generated, fast       the generated fast path (engine fallback when it hands over)

Values must be equal with the same type; failures must have the same diagnostic code (and, for
the compiled and generated paths, the same message and location). Call trees of the compiled and
generated engine paths must be identical.

LMPREDICT_DIFF_EXAMPLES sets the number of rule sets (default 2000: the CI figure).
"""

from __future__ import annotations

import itertools
import json
import os
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lm_predictor.codegen.build import Source, plan
from lm_predictor.engine.frame import ensure_recursion_headroom
from lm_predictor.codegen.runtime import Backend, GeneratedSet
from lm_predictor.codegen.writer import write_generated
from lm_predictor.diagnostics import LmPredictorError, Location
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.formula.interpreter import interpreted_runner
from lm_predictor.formula.parser import parse_formula
from lm_predictor.formula.source import FORMULA_ORIGIN
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, ParamSpec, Rule

ensure_recursion_headroom()  # before hypothesis records the limit it restores
HAS_REQUIRES = "requires" in Rule.__dataclass_fields__
EXAMPLES = int(os.environ.get("LMPREDICT_DIFF_EXAMPLES", "2000"))
PARAM_NAMES = ("a", "b", "c", "d", "flag", "x")
TYPES = ("int", "int", "int", "number", "float", "bool")
INTS = (0, 1, 2, 3, 7, 64, 4096, 10**12)
STATS = {"sets": 0, "evaluations": 0, "values": 0, "errors": 0, "fast": 0}


_INTS: dict[tuple[int, int], st.SearchStrategy[int]] = {}
_BOOL = st.booleans()


def _int(draw, lo: int, hi: int) -> int:
    """_int(draw, lo, hi) with the strategy built once (hypothesis validates new strategies)."""
    strategy = _INTS.get((lo, hi))
    if strategy is None:
        strategy = _INTS[(lo, hi)] = st.integers(lo, hi)
    return draw(strategy)


def _pick(draw, options):
    options = list(options)
    return options[_int(draw, 0, len(options) - 1)]


def _paren(text: str) -> str:
    return f"({text})"


@st.composite
def expressions(draw, params: list[str], callees: list[tuple[str, list[str]]], depth: int) -> str:
    atoms = ["int", "int", "param", "param", "param", "float", "bool", "defined"]
    compound = ["unary", "binary", "binary", "binary", "compare", "logic", "if", "builtin", "call", "inline_default"]
    kind = _pick(draw, (atoms + (compound if depth > 0 else [])))
    sub = lambda: draw(expressions(params, callees, depth - 1))  # noqa: E731
    names = params or ["undefined_name"]
    if kind == "int":
        return str(_pick(draw, (INTS + (10**150, 2**300))))
    if kind == "float":
        return _pick(draw, (["0.5", "1.5", "2.0", "1e300", "3e-5", "0.0"]))
    if kind == "bool":
        return _pick(draw, (["true", "false"]))
    if kind == "param":
        name = _pick(draw, (names + ["undefined_name"] if _int(draw, 0, 25) == 25 else names))
        return _pick(draw, ([f"${name}", f"${{{name}}}"]))
    if kind == "defined":
        return f"defined({_pick(draw, (names))})"
    if kind == "inline_default":
        return f"${{{_pick(draw, (names))}:-{sub()}}}"
    if kind == "unary":
        op = _pick(draw, (["-", "not ", "+"]))
        return f"{op}{_paren(sub())}"
    if kind == "binary":
        op = _pick(draw, (["+", "-", "*", "*", "/", "//", "%", "**"]))
        return f"{_paren(sub())} {op} {_paren(sub())}"
    if kind == "compare":
        op = _pick(draw, (["==", "!=", "<", "<=", ">", ">="]))
        return f"{_paren(sub())} {op} {_paren(sub())}"
    if kind == "logic":
        op = _pick(draw, (["and", "or"]))
        return f"{_paren(sub())} {op} {_paren(sub())}"
    if kind == "if":
        return f"if {_paren(sub())} then {_paren(sub())} else {_paren(sub())}"
    if kind == "builtin":
        name = _pick(draw, (["min", "max", "abs", "ceil", "floor", "ceil_div", "log2"]))
        arity = {"min": _int(draw, 1, 3), "max": _int(draw, 1, 3), "ceil_div": 2}.get(name, 1)
        return f"{name}({', '.join(sub() for _ in range(arity))})"
    if not callees:
        return str(_pick(draw, (INTS)))
    callee, callee_params = _pick(draw, (callees))
    required = [p for p, is_required in callee_params if is_required]
    optional = [p for p, is_required in callee_params if not is_required]
    forward_all = _int(draw, 0, 2) == 2
    chosen = [p for p in required if not (forward_all and p in params) or draw(_BOOL)]
    if _int(draw, 0, 12) == 12 and chosen:
        chosen.remove(_pick(draw, (chosen)))  # maybe a missing required argument
    chosen += [p for p in optional if _int(draw, 0, 2) == 2]
    if _int(draw, 0, 15) == 15:
        chosen.append("zz_unknown")
    args = []
    for name in dict.fromkeys(chosen):
        if name in params and _int(draw, 0, 3) == 3:
            args.append(name)  # forwarded shorthand
        else:
            args.append(f"{name}={sub()}")
    if forward_all:
        args.append("...")
    label = _pick(draw, (["", "", "lbl: "]))
    metric = _pick(draw, (["", "", "", "", ".flops", ".param_count", ".extra"]))
    return f"{{{label}{callee}}}({', '.join(args)}){metric}"


@st.composite
def rule_sets(draw) -> tuple[str, list[dict], dict]:
    count = _int(draw, 1, 4)
    long_names = draw(_BOOL)
    names = [
        (f"transformers.models.fz{i}.modeling_fz{i}.FuzzBlockNumber{i}" if long_names and i % 2 else f"fz.r{i}")
        for i in range(count)
    ]
    signatures = []
    for i in range(count):
        params = [j for j in range(len(PARAM_NAMES)) if draw(_BOOL)]
        signatures.append([(PARAM_NAMES[j], _pick(draw, (TYPES)) if _int(draw, 0, 4) == 4 else TYPES[j]) for j in params])
    cyclic = _int(draw, 0, 9) == 9
    modes = [{p: _pick(draw, (["required", "required", "default", "optional"])) for p, _ in sig} for sig in signatures]
    rules = []
    for i, name in enumerate(names):
        params = [p for p, _ in signatures[i]]
        reachable = [j for j in range(count) if (j > i or (cyclic and j != i) or (cyclic and j == i and draw(_BOOL)))]
        callees = [(names[j], [(p, modes[j][p] == "required") for p, _ in signatures[j]]) for j in reachable]
        specs = {}
        for pname, ptype in signatures[i]:
            mode = modes[i][pname]
            if mode == "default":
                others = params if _int(draw, 0, 5) == 5 else [p for p in params if p != pname]
                text = draw(expressions(others, callees if _int(draw, 0, 4) == 4 else [], 1))
                specs[pname] = {"type": ptype, "default": text}
            elif mode == "optional":
                specs[pname] = {"type": ptype, "optional": True}
            else:
                specs[pname] = ptype
        metrics = {"flops": draw(expressions(params, callees, _int(draw, 1, 3)))}
        if draw(_BOOL):
            metrics["param_count"] = draw(expressions(params, callees, 2))
        extra = {"extra": draw(expressions(params, callees, 2))} if _int(draw, 0, 2) == 2 else {}
        requires = []
        if HAS_REQUIRES and _int(draw, 0, 2) == 2:
            for _ in range(_int(draw, 1, 2)):
                op = _pick(draw, ["<", "<=", ">", "!=", "=="])
                requires.append(f"{_paren(draw(expressions(params, [], 1)))} {op} {_paren(draw(expressions(params, [], 1)))}")
        rules.append({"name": name, "params": specs, "metrics": metrics, "extra": extra, "requires": requires})
    root_params = signatures[0]
    bindings = {}
    for pname, ptype in root_params:
        if _int(draw, 0, 5) == 5 and (modes[0][pname] != "required" or _int(draw, 0, 3) == 3):
            continue  # not given
        if _int(draw, 0, 30) == 30:
            bindings[pname] = _pick(draw, ([True, 1.5, 3]))  # maybe the wrong type
            continue
        if ptype == "int":
            bindings[pname] = _pick(draw, (INTS + INTS + (-5, 2**4000, 2**5000)))
        elif ptype == "bool":
            bindings[pname] = draw(_BOOL)
        else:
            bindings[pname] = _pick(draw, ([0, 3, 2**70, 0.5, 1e308, -2.5, Fraction(1, 3), Fraction(7, 2)]))
    if _int(draw, 0, 60) == 60:
        bindings["zz_unknown"] = 1
    return names[0], rules, bindings


def to_yaml(rules: list[dict]) -> str:
    lines = ["rules:"]
    for rule in rules:
        lines.append(f"  {rule['name']}:")
        if rule["params"]:
            lines.append("    params:")
            for pname, spec in rule["params"].items():
                lines.append(f"      {pname}: {json.dumps(spec)}")
        for metric, text in rule["metrics"].items():
            lines.append(f"    {metric}: {json.dumps(text)}")
        if rule.get("requires"):
            lines.append("    requires:")
            lines.extend(f"      - {json.dumps(t)}" for t in rule["requires"])
        if rule["extra"]:
            lines.append("    metrics:")
            for metric, text in rule["extra"].items():
                lines.append(f"      {metric}: {json.dumps(text)}")
    return "\n".join(lines) + "\n"


def outcome(fn, *, detailed: bool = False):
    try:
        value = fn()
    except LmPredictorError as err:
        diag = err.diagnostic
        return ("error", diag.code.code, diag.message, str(diag.location)) if detailed else ("error", diag.code.code)
    except RecursionError:
        return ("crash", "RecursionError")
    if hasattr(value, "tree"):
        tree = value.tree
        value = value.value
        return ("value", type(value).__name__, repr(value), tree_repr(tree))
    return ("value", type(value).__name__, repr(value))


def tree_repr(tree) -> str:
    if tree is None:
        return ""
    return repr([(path, r.rule, r.metric, sorted((k, type(v).__name__, repr(v)) for k, v in r.bindings.items()), type(r.value).__name__, repr(r.value), repr(r.count)) for path, r in tree.walk()])


_counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("differential")


def build_library(rules: list[dict], path: str) -> RuleLibrary:
    """The rule set as the loader would build it (parsed formulas, typed params), without YAML.

    The YAML loader is exercised by its own tests and costs ~6 ms per rule set here; formulas
    still go through the real parser (and its limits).
    """
    library = RuleLibrary()
    library.files[path] = to_yaml(rules)
    where = Location(path, 1, 1)
    for rule in rules:
        params = {}
        for pname, spec in rule["params"].items():
            if isinstance(spec, str):
                params[pname] = ParamSpec(pname, spec, None, False, "", where)
            else:
                default = spec.get("default")
                formula = Formula(default, parse_formula(default), FORMULA_ORIGIN) if default is not None else None
                params[pname] = ParamSpec(pname, spec["type"], formula, bool(spec.get("optional")), "", where)
        metrics = {m: Formula(text, parse_formula(text), FORMULA_ORIGIN) for m, text in {**rule["metrics"], **rule["extra"]}.items()}
        extra = {"requires": tuple(Formula(t, parse_formula(t), FORMULA_ORIGIN) for t in rule["requires"])} if rule["requires"] else {}
        library.add(Rule(rule["name"], (), "", params, metrics, where, **extra))
    return library


def check_rule_set(workdir: Path, root: str, rules: list[dict], bindings: dict) -> None:
    case = workdir / f"case{next(_counter)}"
    try:
        library = build_library(rules, "fuzz.yaml")
    except LmPredictorError:
        return  # a formula the parser refuses (over a limit): nothing to compare
    out = case / "out"
    for rel, text in plan(library, [Source("fuzz.yaml", "fuzz.yaml")]).items():
        write_generated(out / rel, text, durable=False)
    generated = GeneratedSet(library, out)
    assert not generated.report.stale, generated.report.stale
    backend = Backend(library, generated)
    STATS["sets"] += 1
    for metric in library.get(root).metrics:
        interp = outcome(lambda: evaluate(library, root, metric, bindings, runner=interpreted_runner).value)
        compiled = outcome(lambda: evaluate(library, root, metric, bindings).value, detailed=True)
        gen_engine = outcome(lambda: evaluate(library, root, metric, bindings, runner=backend.runner).value, detailed=True)
        gen_fast = outcome(lambda: backend.evaluate(root, metric, bindings).value, detailed=True)
        context = f"\n{to_yaml(rules)}bindings={bindings!r} metric={metric}"
        assert compiled == gen_engine, f"compiled {compiled} != generated (engine) {gen_engine}{context}"
        assert compiled == gen_fast, f"compiled {compiled} != generated (fast) {gen_fast}{context}"
        same = interp == compiled[:3] if interp[0] == "value" else interp[:2] == compiled[:2]
        assert same, f"interpreter {interp} != compiled {compiled}{context}"
        traced_compiled = outcome(lambda: evaluate(library, root, metric, bindings, trace=True), detailed=True)
        traced_generated = outcome(lambda: evaluate(library, root, metric, bindings, trace=True, runner=backend.runner), detailed=True)
        assert traced_compiled == traced_generated, f"trees differ{context}"
        STATS["evaluations"] += 1
        STATS["values" if compiled[0] == "value" else "errors"] += 1
        fast = backend.fast_path(root, metric)
        if fast is not None and compiled[0] == "value":
            from lm_predictor.codegen.helpers import h_NO

            try:
                fast(*[bindings.get(p, h_NO) for p in library.get(root).params])
                STATS["fast"] += 1
            except Exception:  # noqa: BLE001 - handed over to the engine
                pass


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same 2,000 rule sets on every CI run; raise LMPREDICT_DIFF_EXAMPLES to explore
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)
@given(rule_sets())
def test_three_backends_agree(workdir, case):
    root, rules, bindings = case
    check_rule_set(workdir, root, rules, bindings)


def test_the_fuzzer_reaches_values_errors_and_the_fast_path():
    """Guards the generator itself: the comparisons above must not all be about errors."""
    if STATS["sets"] < 100:
        pytest.skip("runs after test_three_backends_agree with enough examples")
    print(f"differential: {STATS}")
    assert STATS["sets"] >= min(EXAMPLES, 2000) * 0.95, STATS  # (a few rule sets the loader refuses)
    assert STATS["values"] > STATS["evaluations"] * 0.3, STATS
    assert STATS["errors"] > STATS["evaluations"] * 0.1, STATS
    assert STATS["fast"] > STATS["values"] * 0.5, STATS
