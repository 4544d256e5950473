"""`predict()`: the Python API behind `lmpredict eval`."""

from __future__ import annotations

import re

import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Diagnostic, LmPredictorError, Severity
from lm_predictor.data.versions import DEFAULT_PIN, PinChoice, choose_pin, reading, rule_paths
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.engine.records import CallRecord
from lm_predictor.evaluate.binding import bind, find_root_rule, resolve
from lm_predictor.evaluate.breakdown import ModuleRow, merge_trees
from lm_predictor.evaluate.config_checks import check_config, check_derived
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.evaluate.layers import layer_kind_list
from lm_predictor.evaluate.published import check_published, read_published
from lm_predictor.evaluate.positions import check_positions
from lm_predictor.evaluate.trust import Trust, bytes_mismatch, trust_for
from lm_predictor.formula.values import Value
from lm_predictor.limits import MAX_CALLS
from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import RuleLibrary, UserRules, load_library, overlay, rule_files
from lm_predictor.rules.model import BYTES_METRICS, PEAK_METRICS, STANDARD_METRICS, TRAINING_METRICS, Rule
from lm_predictor.workload import Workload

TOTAL_METRICS = ("flops", "param_count", "bytes_read", "bytes_written", "kv_cache_bytes", "intermediate_bytes", "pointwise_ops")


@dataclass
class Prediction:
    """Totals and per-module rows for one config and workload.

    `breakdown` is the rows, or a function that builds them: `modules` calls it once, when the
    rows are first asked for, so a caller that reads only the totals never pays for the tree."""

    model: str
    workload: Workload
    totals: dict[str, Value]
    breakdown: list[ModuleRow] | Callable[[], list[ModuleRow]] = field(repr=False, compare=False)
    unavailable: list[str] = field(default_factory=list)
    source: str = ""
    notes: list[str] = field(default_factory=list)
    trust: Trust | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    transformers: PinChoice = PinChoice(DEFAULT_PIN, "")  # the pin whose source and defaults were read
    config_facts: dict[str, Any] = field(default_factory=dict)

    @property
    def modules(self) -> list[ModuleRow]:
        """Per-module rows in first-seen order (built on first access)."""
        if callable(self.breakdown):
            self.breakdown = self.breakdown()
        return self.breakdown

    def as_json(self) -> dict[str, Any]:
        """Exact values: ints stay ints; fractions become strings like '7/2'."""
        return {
            "model": self.model,
            "config": self.source,
            "transformers": {"version": self.transformers.version, "why": self.transformers.reason},
            "workload": {"batch": self.workload.batch, "seq_len": self.workload.seq_len, "past_len": self.workload.past_len, "dtype": self.workload.dtype, "attn": self.workload.attn},
            "totals": {k: _exact(v) for k, v in self.totals.items()},
            "unavailable": self.unavailable,
            "modules": [
                {"path": row.path, "rule": row.rule, "count": _exact(row.count), **({"kinds": {k: _exact(c) for k, c in row.kinds}} if row.kinds else {}),
                 **{k: _exact(v) for k, v in row.totals.items()}}
                for row in self.modules
            ],
            "notes": self.notes,
            "config_facts": self.config_facts,
            "trust": self.trust.as_json() if self.trust else None,
            "warnings": [w.headline() for w in self.warnings],
        }


def _exact(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


LIBRARY_RECHECK_SECONDS = 1.0
"""How often a warm process looks for changed rule files (a scan costs ~1 ms)."""

_LIBRARIES: dict[tuple[Path, ...], tuple[tuple, float, RuleLibrary]] = {}


def _library_key(paths: tuple[Path, ...]) -> tuple:
    files = rule_files(paths)
    return tuple((str(p), os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in files)


def default_library(paths: tuple[Path, ...] | None = None) -> RuleLibrary:
    """The rule library, loaded once per process and reloaded when a rule file changes."""
    paths = paths or (rules_dir(),)
    now = time.monotonic()
    cached = _LIBRARIES.get(paths)
    if cached is not None and now - cached[1] < LIBRARY_RECHECK_SECONDS:
        return cached[2]
    key = _library_key(paths)
    if cached is not None and cached[0] == key:
        _LIBRARIES[paths] = (key, now, cached[2])
        return cached[2]
    library = load_library(paths, lazy=True)  # formulas parse when first evaluated
    errors = [x for x in library.diagnostics if x.severity is Severity.ERROR]
    if errors:
        raise LmPredictorError(errors)
    _LIBRARIES.clear()
    _LIBRARIES[paths] = (key, now, library)
    return library


_LAYERED: dict[tuple[int, int], tuple[RuleLibrary, list[str]]] = {}


def root_rule(library: RuleLibrary, resolved: dict, pin: str, workload: Workload | None = None, checkpointing: bool = False) -> tuple[RuleLibrary, Rule, list[str], bool]:
    """(library, the config's root rule, notes, derived): where no rule covers the config, rules
    derived from the pinned source (lmpredict suggest, cached), with a progress line on a terminal;
    `checkpointing`, for a train step with gradient_checkpointing_enable() (suggest/derive.py).
    A config value the pin's transformers refuses is a one-line C001 first (config_checks.py)."""
    check_config(resolved, pin)
    try:
        return library, find_root_rule(library, resolved), [], False
    except LmPredictorError as err:
        from lm_predictor.evaluate.progress import progress_line
        from lm_predictor.suggest.derive import derive_for

        check_derived(resolved, pin)
        with reading(pin), progress_line(f"no rule for {resolved.get('model_type')}: deriving rules from the pinned source"):
            library, notes = derive_for(resolved, library, err, workload, checkpointing=checkpointing)
        return library, find_root_rule(library, resolved), notes, True


def library_at(library: RuleLibrary | UserRules | None, version: str) -> tuple[RuleLibrary, list[str]]:
    """(the library that prices a config read with pin `version`, notes): the shipped rules that
    hold for that pin; `UserRules` layered over them (a user rule wins a name clash, with a note);
    a caller's own library as given."""
    if library is None:
        return default_library(rule_paths(version)), []
    if not isinstance(library, UserRules):
        return library, []
    base = default_library(rule_paths(version))
    key = (id(library.top), id(base))
    if key not in _LAYERED:
        layered, replaced = overlay(base, library.top)
        notes = [f"{_winner(library.top, r).location}: rule {r.name} replaces the shipped one ({r.location})" for r in replaced]
        _LAYERED.clear()  # one user library at a time (a process prices with one --rules set)
        _LAYERED[key] = (layered, notes)
    return _LAYERED[key]


def _winner(top: RuleLibrary, shipped: Rule) -> Rule:
    """The rule of `top` that takes `shipped`'s name or one of its aliases."""
    return next(r for r in (top.get(n) for n in (shipped.name, *shipped.aliases)) if r is not None)


def predict(
    config: str | Path | dict,
    *,
    batch: int = 1,
    seq_len: int = 128,
    past_len: int = 0,
    dtype: str = "float32",
    attn: str = "eager",
    library: RuleLibrary | UserRules | None = None,
    breakdown: bool | None = None,
    transformers: str | None = None,
) -> Prediction:
    """Predict the cost of one forward step of `config` for one workload.

    config: a config.json path, a directory holding one, a bundled name ("llama-2-7b"), a
        locally cached hub id, or a config dict as transformers writes it.
    batch, seq_len, past_len: `batch` sequences of `seq_len` new tokens after `past_len`
        cached ones (prefill: past_len=0; decode: seq_len=1, past_len=N).
    dtype: "float32", "bfloat16" or "float16".
    library: rules to use (default: the shipped library of the pin; `UserRules` layer rule files
        over it; see `lm_predictor.rules`).
    breakdown: None, the per-module rows (`Prediction.modules`) are built when first read
        (totals come from the generated modules where fresh); True, now, in the same traced
        pass as the totals; False, never (`.modules` is empty).
    transformers: the pin to read, "4.56.0" or "5.23.0"; None lets the config's
        transformers_version choose (docs/transformers-versions.md).

    Returns a Prediction: exact `totals` per metric, `modules`, the `trust` label, `notes` and
    `warnings`. Bad input raises LmPredictorError carrying one-line diagnostics. For a sweep
    over lists or ranges of workload values use `lm_predictor.sweep()`.
    """
    try:
        workload = Workload(batch, seq_len, past_len, dtype, attn)
    except (ValueError, TypeError) as err:
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=_workload_detail(err, batch, seq_len, past_len, dtype))) from None
    raw, source = load_config(config)
    pin = choose_pin(raw, transformers)
    published = read_published(raw, workload.dtype)
    resolved = resolve(published.config, pin.version, pin.reason)
    check_published(published.config, resolved)
    library, layered = library_at(library, pin.version)
    notes: list[str] = list(published.notes) + layered
    library, rule, derived_notes, derived = root_rule(library, resolved, pin.version, workload)
    notes += derived_notes
    warnings = check_positions(resolved, workload, rule.name)
    trust = trust_for(library, rule, resolved.get("model_type"), derived=derived, pin=pin.version)
    bindings = bind(rule, resolved, workload)
    unavailable = [m for m in TOTAL_METRICS if m not in rule.metrics]
    if workload.attn != "eager" and f"attn_implementation__{workload.attn}" not in rule.params:
        # the rules' bytes are eager attention's (score matrix, softmax), not the fused kernel's: a wrong number, so none
        unavailable += [m for m in BYTES_METRICS if m in rule.metrics]
        notes.append(f"{rule.name} does not model attn={workload.attn}: bytes_read, bytes_written left out, as the rules "
                     f"price eager attention's traffic (flops are the same; docs/latency.md)")
    seen = bytes_mismatch(resolved.get("model_type"), pin.version) if derived else None
    if seen and "bytes_read" in rule.metrics and "bytes_read" not in unavailable:  # bytes the survey measured wrong would be a wrong answer
        unavailable += list(BYTES_METRICS)
        notes.append(f"bytes_read, bytes_written left out: the bytes survey measured them wrong for {resolved.get('model_type')} ({seen})")
    metrics = [m for m in TOTAL_METRICS if m in rule.metrics and m not in unavailable] + [m for m in rule.metrics if m not in STANDARD_METRICS + TRAINING_METRICS + PEAK_METRICS]
    kinds = layer_kind_list(resolved)
    try:
        if breakdown:
            totals, rows = traced(library, rule.name, metrics, bindings, kinds)
            _add_peak(library, rule, bindings, workload, totals, unavailable, notes)
            return Prediction(rule.name, workload, totals, rows, unavailable, source, notes, trust, warnings, pin, published.facts())
        from lm_predictor.codegen.runtime import backend_for  # generated modules where fresh (lmpredict compile), else closures

        totals = backend_for(library).totals(rule.name, metrics, bindings, max_calls=MAX_CALLS)
    except LmPredictorError as err:
        raise _null_field(err, resolved, pin.version) from None
    _add_peak(library, rule, bindings, workload, totals, unavailable, notes)
    later = [] if breakdown is False else partial(module_rows, library, rule.name, metrics, bindings, kinds)
    return Prediction(rule.name, workload, totals, later, unavailable, source, notes, trust, warnings, pin, published.facts())


def _add_peak(library: RuleLibrary, rule: Rule, bindings: dict[str, Value], workload: Workload, totals: dict[str, Value], unavailable: list[str], notes: list[str]) -> None:
    """totals["peak_bytes"] where the rules compose it (evaluate/peak.py); listed unavailable, with the reason, where they do not."""
    from lm_predictor.evaluate.peak import infer_peak

    peak, why = infer_peak(library, rule, bindings, workload)
    if peak is None:
        unavailable.append("peak_bytes")
        if PEAK_METRICS[0] in rule.metrics:
            notes.append(f"peak_bytes: {why}")
    else:
        totals["peak_bytes"] = peak


def traced(library: RuleLibrary, rule_name: str, metrics: list[str], bindings: dict[str, Value], layer_kinds: list[str] | None = None) -> tuple[dict[str, Value], list[ModuleRow]]:
    """(totals, per-module rows): every metric through the engine with one call budget, the total metrics traced."""
    totals: dict[str, Value] = {}
    trees: dict[str, CallRecord] = {}
    budget = MAX_CALLS  # one call budget for the whole prediction, not one per metric
    for metric in metrics:
        result = evaluate(library, rule_name, metric, bindings, trace=metric in TOTAL_METRICS, max_calls=budget)
        budget -= result.calls
        totals[metric] = result.value
        if result.tree is not None:
            trees[metric] = result.tree
    return totals, merge_trees(trees, layer_kinds)


def module_rows(library: RuleLibrary, rule_name: str, metrics: list[str], bindings: dict[str, Value], layer_kinds: list[str] | None = None) -> list[ModuleRow]:
    """The per-module rows alone: what a default prediction builds when they are first read."""
    return traced(library, rule_name, metrics, bindings, layer_kinds)[1]


def _null_field(err: LmPredictorError, config: dict, version: str) -> LmPredictorError:
    """E001 on a field the config leaves null (nemotron's num_key_value_heads and dots1's n_routed_experts,
    whose class default is None too; or a null given over an integer default): a config the model cannot
    run, said about that field in one line rather than as a place in the derived rules."""
    from lm_predictor.data.transformers_table import load_table

    diag = err.diagnostic
    found = re.match(r"'([^']+)' has no value or default in (\S+)", diag.message) if diag.code is d.E_MISSING_PARAM else None
    if found is None or config.get(found[1]) is not None:
        return err
    entry = load_table(version)["model_types"].get(config.get("model_type"), {})
    defaults, derived = entry.get("init_defaults", {}), entry.get("derived_from_none", {})
    if found[1] not in defaults or found[1] in derived:
        return err
    default = defaults[found[1]]  # a null the config gives over a class default that is a value: the config's own
    what = "its class default" if default is None else f"given over the class default {default!r}"
    detail = (f"config field '{found[1]}' is null ({what}), and {found[2]} computes with it: "
              "give it a value (the model code reads it without a fallback)")
    return LmPredictorError(d.make(d.C_CONFIG, None, detail=detail))


def _workload_detail(err: Exception, *values: object) -> str:
    """The refusal, pointing lists and ranges to sweep()."""
    if any(isinstance(v, (list, tuple, range)) for v in values):
        return f"{err}; predict() takes one workload: for lists or ranges use lm_predictor.sweep()"
    return str(err)
