"""Load fresh generated modules for a library, link them, and evaluate through them.

    backend = backend_for(library)                 # cached per library object
    backend.evaluate(rule, metric, bindings)       # totals: fast path, engine fallback
    backend.evaluate(rule, metric, bindings, trace=True)   # engine + generated frame functions
    backend.runner                                 # an engine Runner (engine.evaluate(..., runner=))

Freshness, per rule file: a generated module is used only if its header names the sha256 of
the file's current text, the current compiler version, the current interfaces of the rules it
calls (deps), and its body still matches its body hash. Formulas of other files run through the
in-memory compiled closures (template cache), so a stale or missing module never changes a
result, only the speed.

Modules are executed privately for each library (not entered in sys.modules), so two libraries
in one process can never link into each other's modules.

The fast path of (rule, metric) is used only when static analysis of the library shows that
the engine could not fail on a limit the fast path does not track: no call cycle reachable,
call chains no deeper than MAX_CALL_DEPTH, and at most FAST_MAX_CALLS invocations even without
memoisation (which also bounds MAX_CALLS). Anything else the fast path hands to the engine by
raising; the engine then gives the reference value or diagnostic.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
import types
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable

from lm_predictor.codegen import header
from lm_predictor.codegen.analysis import deps_hash
from lm_predictor.codegen.emit_base import requirements
from lm_predictor.codegen.helpers import h_NO, h_unlinked
from lm_predictor.engine.evaluate import Evaluation, evaluate
from lm_predictor.engine.frame import check_bindings
from lm_predictor.formula import nodes as n
from lm_predictor.formula.compiler import compile_text
from lm_predictor.formula.values import Value
from lm_predictor.limits import MAX_CALL_DEPTH, MAX_CALLS, MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Rule

FAST_MAX_CALLS = min(20_000, MAX_CALLS)
"""Most rule invocations (without memoisation) a fast-path evaluation may make (<= MAX_CALLS)."""

ENV_SWITCH = "LMPREDICT_GENERATED"
"""Set to 0 to never use generated modules (in-memory compiled closures only)."""


@dataclass
class LoadReport:
    used: list[str] = field(default_factory=list)  # module files used
    stale: list[tuple[str, str]] = field(default_factory=list)  # (rule file, reason)


def _index(root: Path) -> dict[str, Path]:
    """Generated modules under `root` by the sha256 of their source rule file."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__pycache__")))
        for name in sorted(filenames):
            if not name.endswith(".py") or name == "__init__.py":
                continue
            path = Path(dirpath) / name
            try:
                head = header.read_header(path)
            except (OSError, header.HeaderError):
                continue
            if head.source_sha:
                found.setdefault(head.source_sha, path)
    return found


_counter = [0]


def _code_for(path: Path, content: str, cache_code: bool = True) -> Any:
    """The module's code object, cached by content hash in lmpredict's user cache.

    Python's own __pycache__ is not used: modules are executed privately (see above) and
    PYTHONDONTWRITEBYTECODE is common in containers; compiling ~1 MB of generated source
    takes ~0.4 s, loading the cached code object a few milliseconds.
    """
    from lm_predictor.resources import user_cache_dir

    if not cache_code:
        return compile(content, str(path), "exec", dont_inherit=True)
    key = hashlib.sha256(content.encode("ascii")).hexdigest()
    cache = user_cache_dir() / "generated-code" / f"{key}.{sys.implementation.cache_tag}.marshal"
    try:
        code = marshal.loads(cache.read_bytes())
        if isinstance(code, types.CodeType) and code.co_filename == str(path):
            return code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(content, str(path), "exec", dont_inherit=True)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(code))
            os.replace(tmp, cache)
        except OSError:
            os.unlink(tmp)
    except OSError:
        pass
    return code


def _exec_private(path: Path, content: str, cache_code: bool = True) -> Any:
    """Execute a module file as a fresh module object that is not entered in sys.modules."""
    _counter[0] += 1
    module = types.ModuleType(f"_lmpredict_generated_{_counter[0]}")
    module.__file__ = str(path)
    exec(_code_for(path, content, cache_code), module.__dict__)  # noqa: S102 - generated, checked, fresh module code
    return module


class GeneratedSet:
    """The fresh generated modules of one library, linked: frame functions and usable fast paths."""

    def __init__(self, library: RuleLibrary, root: Path | None = None):
        from lm_predictor.codegen.build import generated_root, rules_by_file

        self.library = library
        self.root = Path(root) if root is not None else generated_root()
        cache_code = root is None  # cache compiled code for the installed package only
        self.report = LoadReport()
        self.frame: dict[int, Callable] = {}  # id(Formula) -> frame function
        self.result_types: dict[tuple[str, str], str] = {}  # exported static result types
        self.param_bits: dict[tuple[str, str], int] = {}  # bits the fast function's int params may have
        self.result_bits: dict[tuple[str, str], int] = {}  # bits its int result may have
        candidates: dict[tuple[str, str], Callable] = {}
        modules: list[Any] = []
        index = _index(self.root)
        version = header.compiler_version()
        for path, rules in rules_by_file(library).items():
            text = library.files.get(path)
            if text is None:
                continue
            file = index.get(header.sha256_text(text))
            if file is None:
                self.report.stale.append((path, "no generated module for this file content"))
                continue
            try:
                content = file.read_bytes().decode("ascii")
                head, body = header.split(content)
            except (OSError, UnicodeDecodeError, header.HeaderError) as err:
                self.report.stale.append((path, f"unreadable module: {err}"))
                continue
            if head.compiler != version:
                self.report.stale.append((path, "generated by another compiler version"))
                continue
            if header.sha256_text(body) != head.body_sha:
                self.report.stale.append((path, "module edited by hand"))
                continue
            if head.deps_sha != deps_hash(library, rules):
                self.report.stale.append((path, "a rule it calls changed its interface"))
                continue
            try:
                module = _exec_private(file, content, cache_code)
            except Exception as err:  # noqa: BLE001 - a module that does not run is not used
                self.report.stale.append((path, f"module does not load: {type(err).__name__}: {err}"))
                continue
            imports = getattr(module, "IMPORTS", None)
            if not (isinstance(imports, tuple) and all(isinstance(x, tuple) and len(x) == 6 for x in imports)):
                self.report.stale.append((path, "module has no valid IMPORTS table"))
                continue
            if not self._register(module, rules, candidates):
                self.report.stale.append((path, "module does not match the rules of its file"))
                continue
            modules.append((module, rules))
            self.report.used.append(str(file))
        for module, rules in list(modules):
            broken = [(callee, metric) for callee, metric, _, *assumed in module.IMPORTS if not self._holds(callee, metric, *assumed)]
            if broken:  # a callee changed what this module's fast functions assumed about it
                for rule in rules:
                    for metric in rule.metrics:
                        candidates.pop((rule.name, metric), None)
                self.report.stale.append((rules[0].location.path, f"fast path assumptions about {broken[0][0]} ({broken[0][1]}) do not hold"))
        self.fast_calls: dict[tuple[str, str], int] = {}
        self.fast = usable_fast_paths(library, candidates, self.fast_calls)
        for module, _ in modules:
            for callee, metric, slot, *_ in module.IMPORTS:
                rule = library.get(callee)
                target = self.fast.get((rule.name, metric)) if rule is not None else None
                setattr(module, slot, target or h_unlinked)
        self.param_order = {rule.name: tuple(rule.params) for rule in library}

    def _holds(self, callee: str, metric: str, assumed_type: str, passed_bits: int, assumed_bits: int) -> bool:
        """A caller's assumptions about a callee in another module: result type and bit bounds."""
        rule = self.library.get(callee)
        key = (rule.name, metric) if rule is not None else (callee, metric)
        if key not in self.result_types:
            return True  # not generated here: the fast path cannot link to it (and is not used)
        if passed_bits > self.param_bits[key]:
            return False  # the caller may pass bigger ints than the callee's code allows for
        if assumed_type != "any" and self.result_types[key] != assumed_type:
            return False
        return not (assumed_type == "int" and self.result_bits[key] > assumed_bits)

    def _register(self, module: Any, rules: list[Rule], candidates: dict) -> bool:
        try:
            return self._register_exports(module, rules, candidates)
        except (TypeError, ValueError, KeyError, AttributeError):
            return False

    def _register_exports(self, module: Any, rules: list[Rule], candidates: dict) -> bool:
        exports = getattr(module, "EXPORTS", None)
        if not isinstance(exports, tuple) or [e[0] for e in exports] != [r.name for r in rules]:
            return False
        entries = []
        fast: dict[tuple[str, str], Callable] = {}
        types_: dict[tuple[str, str], str] = {}
        bits: dict[tuple[str, str], tuple[int, int]] = {}
        for (name, params, metrics, defaults, checks), rule in zip(exports, rules):
            if tuple(params) != tuple(rule.params) or [m[0] for m in metrics] != list(rule.metrics):
                return False
            if [p for p, _ in defaults] != [p for p, s in rule.params.items() if s.default is not None]:
                return False
            for metric, fast_fn, frame_fn, result_type, param_bits, result_bits in metrics:
                entries.append((id(rule.metrics[metric]), frame_fn))
                fast[(rule.name, metric)] = fast_fn
                types_[(rule.name, metric)] = result_type
                bits[(rule.name, metric)] = (param_bits, result_bits)
            for pname, fn in defaults:
                default = rule.params[pname].default
                assert default is not None
                entries.append((id(default), fn))
            if len(checks) != len(requirements(rule)):
                return False
            entries.extend((id(formula), fn) for formula, fn in zip(requirements(rule), checks))
        self.frame.update(entries)  # only now: a module that fails a check contributes nothing
        candidates.update(fast)
        self.result_types.update(types_)
        for key, (param_bits, result_bits) in bits.items():
            self.param_bits[key] = param_bits
            self.result_bits[key] = result_bits
        return True


def _calls_of(rule: Rule, metric: str) -> list[n.Call]:
    formulas = [rule.metrics[metric], *(p.default for p in rule.params.values() if p.default is not None), *requirements(rule)]
    return [node for f in formulas for node in n.walk(f.node) if isinstance(node, n.Call)]


def usable_fast_paths(
    library: RuleLibrary, candidates: dict[tuple[str, str], Callable], calls: dict[tuple[str, str], int] | None = None
) -> dict[tuple[str, str], Callable]:
    """The fast functions whose whole static call graph is generated, acyclic, shallow and small.

    `calls`, if given, receives for each usable one the most rule invocations it can make
    (counting the root, without memoisation): an upper bound of what the engine would count.
    """
    succ: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in candidates:
        rule = library.rules[key[0]]
        edges = []
        for call in _calls_of(rule, key[1]):
            callee = library.get(call.callee)
            metric = call.metric or key[1]
            if callee is not None and metric in callee.metrics:
                edges.append((callee.name, metric))
        succ[key] = edges
    gray, black = 1, 2
    color: dict[tuple[str, str], int] = {}
    bad: set[tuple[str, str]] = set()
    post: list[tuple[str, str]] = []
    for start in succ:
        if start in color:
            continue
        color[start] = gray
        stack = [(start, iter(succ[start]))]
        while stack:
            key, edges = stack[-1]
            for nxt in edges:
                if nxt not in succ:
                    bad.add(key)  # the callee has no usable generated function
                elif nxt not in color:
                    color[nxt] = gray
                    stack.append((nxt, iter(succ[nxt])))
                    break
                elif color[nxt] == gray:
                    bad.update((key, nxt))  # a call cycle
            else:
                stack.pop()
                color[key] = black
                post.append(key)
    ok: dict[tuple[str, str], bool] = {}
    chain: dict[tuple[str, str], int] = {}
    size: dict[tuple[str, str], int] = {}
    for key in post:  # callees before callers (except along cycles, which are bad anyway)
        edges = succ[key]
        good = key not in bad and all(ok.get(nxt, False) for nxt in edges)
        chain[key] = max((chain.get(nxt, 0) + 1 for nxt in edges), default=0)
        size[key] = min(1 + sum(size.get(nxt, 1) for nxt in edges), FAST_MAX_CALLS + 1)
        ok[key] = good and chain[key] <= MAX_CALL_DEPTH and size[key] <= FAST_MAX_CALLS
    if calls is not None:
        calls.update({key: size[key] for key in candidates if ok.get(key, False)})
    return {key: fn for key, fn in candidates.items() if ok.get(key, False)}


def _root_bits(rule: Rule, bindings: dict[str, Value]) -> int | None:
    """The engine's checks at the root (engine.evaluate) that the fast path cannot see.

    check_bindings raises exactly as the engine would. Returns the largest bit length of an int
    given for an int parameter (the fast function's code assumes a bound), or None when a binding
    is over MAX_INT_BITS (the engine reports it).
    """
    check_bindings(rule, dict(bindings), None)
    widest = 0
    for name, value in bindings.items():
        if type(value) is int:
            bits = value.bit_length()
            if bits > MAX_INT_BITS:
                return None
            if rule.params[name].type == "int":
                widest = max(widest, bits)
        elif isinstance(value, (int, Fraction)) and not isinstance(value, bool):
            if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_INT_BITS:
                return None
            if rule.params[name].type == "int":
                widest = max(widest, value.bit_length())  # an int subclass
    return widest


class Backend:
    """Evaluation of one library through its fresh generated modules (compiled closures elsewhere)."""

    def __init__(self, library: RuleLibrary, generated: GeneratedSet | None):
        self.library = library
        self.generated = generated
        table = generated.frame if generated is not None else {}
        get = table.get

        def runner(formula: Any, frame: Any) -> Value:
            fn = get(id(formula))
            if fn is None:
                return compile_text(formula.text)(frame)
            return fn(frame)

        self.runner = runner
        self.fast = generated.fast if generated is not None else {}
        self.param_bits = generated.param_bits if generated is not None else {}
        self.fast_calls = generated.fast_calls if generated is not None else {}

    def fast_path(self, rule_name: str, metric: str) -> Callable | None:
        rule = self.library.get(rule_name)
        return self.fast.get((rule.name, metric)) if rule is not None else None

    def evaluate(
        self, rule_name: str, metric: str, bindings: dict[str, Value], *, trace: bool = False, max_calls: int = MAX_CALLS
    ) -> Evaluation:
        """engine.evaluate semantics; totals go through the fast path when it is usable.

        When the fast path answers, `calls` is its static bound on rule invocations, which is at
        least what the engine would count; use `totals` to share one budget across metrics exactly.
        """
        if not trace:
            rule = self.library.get(rule_name)
            key = (rule.name, metric) if rule is not None else None
            fast = self.fast.get(key) if key is not None else None
            widest = _root_bits(rule, bindings) if fast is not None else None
            if widest is not None and widest <= self.param_bits[key] and self.fast_calls[key] <= max_calls:
                try:
                    return _evaluation(fast(*[bindings.get(p, h_NO) for p in rule.params]), self.fast_calls[key])
                except Exception:  # noqa: BLE001 - any doubt: the engine decides
                    pass
        return evaluate(self.library, rule_name, metric, bindings, trace=trace, runner=self.runner, **_budget(max_calls))

    def totals(self, rule_name: str, metrics: Iterable[str], bindings: dict[str, Value], *, max_calls: int = MAX_CALLS) -> dict[str, Value]:
        """Several metrics of one rule for the same bindings, with one shared call budget.

        Exactly what evaluating the metrics one after another through the engine with one budget
        gives (as predict() does): the fast path is used only if the static invocation bounds of
        all metrics together fit the budget, so the engine could not have run out either;
        otherwise, or if any metric hands over, every metric goes through the engine.
        """
        metrics = list(metrics)
        rule = self.library.get(rule_name)
        if rule is not None:
            widest = _root_bits(rule, bindings)
            keys = [(rule.name, m) for m in metrics]
            usable = widest is not None and all(k in self.fast and widest <= self.param_bits[k] for k in keys)
            if usable and sum(self.fast_calls[k] for k in keys) <= max_calls:
                args = [bindings.get(p, h_NO) for p in rule.params]
                try:
                    return {k[1]: self.fast[k](*args) for k in keys}
                except Exception:  # noqa: BLE001 - any doubt: the engine decides
                    pass
        out: dict[str, Value] = {}
        budget = max_calls
        for metric in metrics:
            result = evaluate(self.library, rule_name, metric, bindings, runner=self.runner, **_budget(budget))
            budget -= getattr(result, "calls", 0)
            out[metric] = result.value
        return out


def _evaluation(value: Value, calls: int) -> Evaluation:
    return Evaluation(value, None, calls) if "calls" in Evaluation.__dataclass_fields__ else Evaluation(value, None)


def _engine_has_budget() -> bool:
    import inspect

    return "max_calls" in inspect.signature(evaluate).parameters


_HAS_BUDGET = _engine_has_budget()


def _budget(max_calls: int) -> dict[str, int]:
    """engine.evaluate's max_calls keyword, when this engine has it."""
    return {"max_calls": max_calls} if _HAS_BUDGET else {}


_BACKENDS: dict[int, tuple[weakref.ref, Backend]] = {}


def backend_for(library: RuleLibrary, root: Path | None = None) -> Backend:
    """The backend of a library: generated modules where fresh (cached per library object)."""
    key = id(library)
    cached = _BACKENDS.get(key)
    if cached is not None and cached[0]() is library and root is None:
        return cached[1]
    if os.environ.get(ENV_SWITCH, "1") == "0":
        backend = Backend(library, None)
    else:
        backend = Backend(library, GeneratedSet(library, root))
    if root is None:
        for stale_key in [k for k, (ref, _) in _BACKENDS.items() if ref() is None]:
            del _BACKENDS[stale_key]
        _BACKENDS[key] = (weakref.ref(library), backend)
    return backend


def generated_runner(library: RuleLibrary, root: Path | None = None) -> Callable[[Any, Any], Value]:
    """An engine Runner using the library's fresh generated modules (compiled closures elsewhere)."""
    return backend_for(library, root).runner


def formula_runner() -> Callable[[Any, Any], Value]:
    """An engine Runner that generates, checks and runs code per formula, for any library.

    For test suites that run every evaluation through each backend (no `lmpredict compile`
    step, no files): each distinct formula text becomes one generated frame function, whose
    source passes safety.check_source before it is executed. Results and diagnostics are those
    of the compiled closures.
    """
    from lm_predictor.codegen import safety
    from lm_predictor.codegen.emitter import frame_function_source

    cache: dict[str, Callable] = {}

    def runner(formula: Any, frame: Any) -> Value:
        fn = cache.get(formula.text)
        if fn is None:
            source = frame_function_source(formula)
            safety.check_source(source)
            module = types.ModuleType("_lmpredict_formula")
            exec(compile(source, "<generated formula>", "exec", dont_inherit=True), module.__dict__)  # noqa: S102 - checked generated code
            fn = cache[formula.text] = module.formula___t_
        return fn(frame)

    return runner
