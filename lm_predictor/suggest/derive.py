"""`eval` for any architecture: derive the missing rules with `suggest --recursive`, cache them.

`derive_for(config, library)` is called by `predict()` when no rule covers the config's
causal-LM class. It runs the analysis on the pinned sources (the installed ones when
LMPREDICT_SOURCE=installed), keeps the rules in the on-disk cache keyed by the request (model
type, the config's non-numeric values and the types of its numbers, the source tree), by what
the rules are specialised on (the config values the analysis folded, the signs of the numbers it
asked: specialise.py) and by the hashes of every source file read, and returns the library with
the derived rules on top plus notes saying so. A derivation that leaves unresolved terms is an
error that lists them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from lm_predictor import diagnostics as d
from lm_predictor.data.transformers_table import causal_lm_for, resolve_config, root_rule_name
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.rules.library import RuleLibrary, overlay as library_overlay
from lm_predictor.rules.model import BYTES_METRICS
from lm_predictor.suggest import diskcache
from lm_predictor.suggest.specialise import key_values, shown as shown_spec, spec_of


def _request(config: dict, source: str, library_files: list) -> dict:
    """The key every derivation of this config starts from: what is a constant by construction (its
    strings, lists, dicts and nulls), the type of each number it gives (int, float or bool: the type of
    the parameter it becomes), the source tree and the library. Its numbers' values and signs join the
    key only where the analysis folded or asked them (specialise.py)."""
    constants = {k: v for k, v in sorted(config.items()) if isinstance(v, (str, list, dict)) or v is None}
    numbers = {k: type(v).__name__ for k, v in sorted(config.items()) if k not in constants}
    return {"kind": "derive", "model_type": config.get("model_type"), "constants": constants, "numbers": numbers, "source": source, "library": library_files}


def _library_files(library: RuleLibrary) -> list:
    out = []
    for path in sorted(library.files):
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append([path, st.st_mtime_ns, st.st_size])
    return out


def derive_for(config: dict, library: RuleLibrary, error: LmPredictorError, workload: Any = None, blame: bool = True, checkpointing: bool = False) -> tuple[RuleLibrary, list[str]]:
    """(library with derived rules, notes); re-raises `error` when nothing can be derived. With a
    workload, a forward that re-configures the model on it (brains/switches.py: BigBird's
    `set_attention_type` when seq_len is short) is priced with the rules of the config it switches to.
    With `blame`, unresolved terms that one config field causes are that field's C001 line (_blame).
    `checkpointing`: for a train step with gradient_checkpointing_enable(); where the forward tests
    `self.gradient_checkpointing and self.training` (interp/train_arms.py) the rules are derived again
    with that test true, cached under their own key."""
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not causal_lm_for(model_type):
        raise error
    try:
        wanted = root_rule_name(config)
    except LmPredictorError:
        raise error from None
    if wanted != causal_lm_for(model_type):
        raise error  # an architecture name the model type's package does not define
    source = os.environ.get("LMPREDICT_SOURCE", "pinned")
    request = _request(config, source, _library_files(library))
    resolved = resolve_config(config)
    entry, notes = _entry(request, resolved, config, source, library, error, False)
    if checkpointing and entry.get("asks_checkpointing"):
        entry, notes = _entry({**request, "checkpointing": True}, resolved, config, source, library, error, True)
        notes.append("the forward tests `self.gradient_checkpointing and self.training`: the rules for this checkpointed step are derived with that test true")
    if entry.get("specialised_on") or entry.get("signs_on"):
        notes.append(f"the derived rules are specialised on {shown_spec(entry.get('specialised_on') or {}, entry.get('signs_on') or {})} (a config that differs there is derived again; unresolved terms this config never reaches are left out)")
    for switch in entry.get("switches") or ():
        if workload is not None and _holds(switch["when"], workload):
            alt = {**config, switch["field"]: switch["value"]}
            shown = switch["when"].replace("$", "")
            note = (f"{switch['where']} sets {switch['field']}={switch['value']!r} when {shown}: priced with the rules derived for that config; "
                    "bytes_read, bytes_written left out: the switch rebuilds modules inside forward, whose weight initialisation is not priced")
            alt_library, alt_notes = derive_for(alt, library, error, checkpointing=checkpointing)
            return _without_bytes(alt_library, wanted), notes + alt_notes + [note]
    if entry.get("unresolved"):  # one note per unresolved term
        if blame:
            _blame(config, library, error, workload, checkpointing)
        found = d.make(d.C_UNRESOLVED, None, model=causal_lm_for(model_type), n=len(entry["unresolved"]))
        listed = tuple(entry.get("findings") or entry["unresolved"])
        for switch in entry.get("switches") or ():  # the terms belong to the path forward takes when it does not switch
            listed += (f"{switch['where']} sets {switch['field']}={switch['value']!r} only when {switch['when'].replace('$', '')} (priced then); not at this workload",)
        raise LmPredictorError(replace(found, notes=listed))
    derived = _load_text(entry["text"], entry["cache_path"])
    errors = [x for x in derived.diagnostics if x.severity.value == "error"]
    if errors:
        raise LmPredictorError(d.make(d.C_ARCH, None, detail=f"rules derived for {causal_lm_for(model_type)} do not load: {errors[0].headline()}"))
    return overlay(library, derived), notes


def _entry(request: dict, resolved: dict, config: dict, source: str, library: RuleLibrary, error: LmPredictorError, checkpointing: bool) -> tuple[dict, list[str]]:
    """(the cached derivation for `request`, derived now on a miss; the note saying which)."""
    model = causal_lm_for(config["model_type"])
    entry = _lookup(request, resolved)
    if entry is not None:
        return entry, [f"no rule for {model}: using rules derived from {entry.get('source', 'the pinned sources')} (cache {entry['cache_path']})"]
    text, unresolved, findings, files, desc, values, signs, switches, asks = _run(config, source, library, error, checkpointing)
    spec = spec_of(values, signs)
    key = {**_remember(request, spec, files, desc), "specialised": key_values(spec, resolved)}
    extra = {"unresolved": unresolved, "findings": findings, "source": desc, "specialised_on": values, "signs_on": signs, "switches": switches, "asks_checkpointing": asks}
    path = diskcache.store("derived", key, text, files, extra)
    entry = diskcache.load("derived", key) or {"text": text, "cache_path": str(path), **extra}
    return entry, [f"no rule for {model}: derived with `lmpredict suggest --recursive` from {desc}; cached in {entry['cache_path']}"]


BLAME_FIELDS = ("rope_scaling", "rope_parameters", "hidden_act", "activation_function", "hidden_activation")
"""Config fields whose value picks code paths (the rope type, the activation): first suspects when a derivation
leaves unresolved terms. Fields given as null over a class default that is a value are suspects too."""
MAX_BLAMED = 4


def _blame(config: dict, library: RuleLibrary, error: LmPredictorError, workload: Any, checkpointing: bool = False) -> None:
    """One C001 line naming the config field that keeps the terms unresolved: the first suspect whose
    class default, put in its place, derives with none (a derivation per suspect, cached like any other)."""
    from lm_predictor.data.transformers_table import integer_sizes, load_table

    facts = load_table()["model_types"].get(config.get("model_type")) or {}
    # the class default, or what __init__ derives from its None default (5.x rope_parameters)
    defaults = {**{k: v for k, v in (facts.get("derived_from_none") or {}).items() if isinstance(v, dict) and "repr" not in v},
                **{k: v for k, v in (facts.get("init_defaults") or {}).items() if v is not None}}
    # and a size the class leaves null or does not declare but reads all the same (qwen3_moe 4.56:
    # `getattr(config, "head_dim", hidden // heads)` keeps a given null): other classes declare it an integer
    sizes = integer_sizes()
    nulls = [k for k, v in config.items() if v is None and (k in defaults or k in sizes)]
    # a field the class does not declare (glm's rope_scaling, read by its rotary embedding all the same) is left out instead
    suspects = [k for k in (*nulls, *BLAME_FIELDS) if config.get(k) is not None or k in nulls]
    suspects = [k for k in suspects if k not in defaults or config[k] != defaults[k]]
    for field in suspects[:MAX_BLAMED]:
        aliases = facts.get("attribute_map") or {}  # gptj's num_attention_heads is n_head: both names change
        names = {field, *(a for a, t in aliases.items() if t == field), *([aliases[field]] if field in aliases else [])}
        trial = {**config, **{n: defaults[field] for n in names}} if field in defaults else {k: v for k, v in config.items() if k not in names}
        try:
            derive_for(trial, library, error, workload, blame=False, checkpointing=checkpointing)
        except LmPredictorError:
            continue
        model = causal_lm_for(config.get("model_type")).rsplit(".", 1)[-1]
        instead = f"with the class default {json.dumps(defaults[field])}" if field in defaults else "without it"
        raise LmPredictorError(d.make(d.C_CONFIG, None, detail=(
            f"config field '{field}' is {json.dumps(config[field])}, which the rules derived for {model} from the pinned source "
            f"cannot price ({instead} they can); no number is given")))


def _without_bytes(library: RuleLibrary, root: str) -> RuleLibrary:
    """`library` with the root rule's bytes left out (the caller's note says why): a switch rebuilds modules inside
    forward (BigBird's new BigBirdSelfAttention), and their weight initialisation runs kernels the rules
    derived for the switched config do not price (2 layers x 3 Linear(64, 64): 199,680 B written)."""
    rule = library.get(root)
    if rule is None or not any(m in rule.metrics for m in BYTES_METRICS):
        return library
    top = RuleLibrary()
    top.add(replace(rule, metrics={k: v for k, v in rule.metrics.items() if k not in BYTES_METRICS}))
    return overlay(library, top)


def _run(config: dict, source: str, library: RuleLibrary, error: LmPredictorError, checkpointing: bool = False):
    # imported here, not at the top: a cache hit (the warm path) never loads astroid or the analysis
    from lm_predictor.suggest.api import SuggestError, suggest
    from lm_predictor.suggest.sources import SourceError, open_tree

    model_type = config["model_type"]
    overrides = {k: v for k, v in config.items() if k != "model_type"}
    try:
        tree = open_tree(source)
        result = suggest(causal_lm_for(model_type), recursive=True, library=library, config={"model_type": model_type, **overrides}, tree=tree, specialise=True, checkpointing=checkpointing)
    except (SuggestError, SourceError) as err:
        raise LmPredictorError(d.make(d.C_ARCH, None, detail=f"{error.diagnostic.message}; deriving rules failed: {err}")) from None
    findings = [f"{f.render()}" for f in result.findings if f.slug in result.unresolved]
    files = [m.path for m in tree.modules.values()]
    return (result.text, result.unresolved, findings, files, result.source, dict(result.specialised_on), dict(result.signs_on),
            list(result.switches), result.asks_checkpointing)


class _Bindings:
    """The frame a compiled switch condition reads: the workload's batch, seq_len and past_len."""

    rule_name = "switch"
    records = None

    def __init__(self, values: dict) -> None:
        self.values = values

    def lookup(self, name: str, span: Any) -> Any:
        return self.values[name]

    def has_value(self, name: str) -> bool:
        return name in self.values


def _holds(when: str, workload: Any) -> bool:
    """Whether a switch's condition (formula text over $batch, $seq_len, $past_len) holds at the workload."""
    from lm_predictor.formula.compiler import compile_text

    values = {"batch": workload.batch, "seq_len": workload.seq_len, "past_len": workload.past_len}
    try:
        return bool(compile_text(when)(_Bindings(values)))
    except Exception:  # noqa: BLE001 - a condition that does not evaluate is not taken; the rules of the config stay
        return False


MAX_SPECS = 16
"""Distinct specialisations remembered per request (configs that take different paths fold different values)."""


def _lookup(request: dict, resolved: dict) -> dict | None:
    """The entry derived for a config that agrees with this one on everything its rules are specialised on."""
    index = diskcache.load("derived", request)
    for spec in (index or {}).get("specs") or ():
        entry = diskcache.load("derived", {**request, "spec": spec, "specialised": key_values(spec, resolved)})
        if entry is not None:
            return entry
    return None


def _remember(request: dict, spec: dict, files: list, desc: str) -> dict:
    """Add a specialisation to the request's index (newest first); the key its entry is stored under."""
    index = diskcache.load("derived", request) or {}
    specs = [s for s in index.get("specs") or () if s != spec]
    diskcache.store("derived", request, "", files, {"specs": [spec, *specs][:MAX_SPECS], "source": desc})
    return {**request, "spec": spec}


def _load_text(text: str, cache_path: str) -> RuleLibrary:
    """A library from the cached text, via a .yaml file next to the entry (rewritten if it differs)."""
    path = Path(cache_path).with_suffix(".yaml")
    want = hashlib.sha256(text.encode()).hexdigest()
    try:
        ok = hashlib.sha256(path.read_bytes()).hexdigest() == want
    except OSError:
        ok = False
    if not ok:
        diskcache.write_atomic(path, text)
    library = RuleLibrary()
    library.load_file(path)
    return library


def overlay(base: RuleLibrary, derived: RuleLibrary) -> RuleLibrary:
    """base's rules, except those the derived ones redefine (by name or alias), then the derived ones."""
    return library_overlay(base, derived)[0]
