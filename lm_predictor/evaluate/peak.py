"""`peak_bytes` of one inference forward, composed from the rules' `infer_peak_bytes` (docs/training.md).

Each rule that defines `infer_peak_bytes` states, in closed form from its source, the most bytes
its call holds at once beyond what was live when it was called (its inputs, the weights, the
cache as it stood): the temporaries alive at each of its candidate points, and what it leaves
(its output, the cache it wrote). A parent takes the max over its children, in call order, of
the child's peak plus what the parent keeps alive around that call. The model's peak is

    weight_bytes + the past cache + viewed input ids + the root's infer_peak_bytes

The past cache is what one prefill of past_len tokens leaves: the root's
`past_cache_storage_bytes` where it defines one, else its kv_cache_bytes at seq_len = past_len.
"""

from __future__ import annotations

import weakref

from lm_predictor.engine.evaluate import evaluate
from lm_predictor.engine.records import CallRecord
from lm_predictor.formula.values import Value
from lm_predictor.limits import MAX_CALLS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Rule
from lm_predictor.workload import Workload

PEAK_METRIC = "infer_peak_bytes"
CHECKED_DTYPES = ("float32", "bfloat16", "float16")  # where the rules' peak formulas were checked against the oracle


def _has(library: RuleLibrary, rule: str, metric: str) -> bool:
    """Whether `rule` defines `metric`."""
    found = library.get(rule)
    return found is not None and metric in found.metrics


def _buffers(library: RuleLibrary, record: CallRecord) -> Value:
    """Bytes of the buffers of every call in a flops tree: a rule's `buffer_bytes` covers its
    subtree where it defines one; else its children's, each counted as often as it is called."""
    if _has(library, record.rule, "buffer_bytes"):
        return evaluate(library, record.rule, "buffer_bytes", record.bindings).value
    total: Value = 0
    for child in record.children:
        if child.metric == record.metric and child.count:
            total += child.count * _buffers(library, child)
    return total


WORKLOAD_KEYS = frozenset({"batch", "seq_len", "past_len"})  # buffers do not depend on these


_BUFFERS: dict[int, dict] = {}  # id(library) -> {(rule, config bindings): bytes}; dropped with the library


def _buffers_of(library: RuleLibrary, rule: str, bindings: dict[str, Value]) -> Value | None:
    """Buffer bytes of the model, once per library and config (they do not depend on the workload,
    so a sweep over batch or context evaluates the traced flops tree once)."""
    frozen = tuple(sorted((k, v) for k, v in bindings.items() if k not in WORKLOAD_KEYS))
    if id(library) not in _BUFFERS:
        _BUFFERS[id(library)] = {}
        weakref.finalize(library, _BUFFERS.pop, id(library), None)
    cache = _BUFFERS[id(library)]
    if (rule, frozen) not in cache:
        flops = evaluate(library, rule, "flops", {**bindings, "batch": 1, "seq_len": 1, "past_len": 0}, trace=True).tree
        cache[(rule, frozen)] = None if flops is None else _buffers(library, flops)
    return cache[(rule, frozen)]


def infer_peak(library: RuleLibrary, rule: Rule, bindings: dict[str, Value], workload: Workload) -> tuple[Value | None, str]:
    """(peak bytes of one forward with use_cache=True under no_grad, or None; why not)."""
    from lm_predictor.codegen.runtime import backend_for  # generated modules where fresh, else closures

    if PEAK_METRIC not in rule.metrics:
        return None, f"{rule.name} does not define {PEAK_METRIC}"
    if workload.dtype not in CHECKED_DTYPES:
        return None, f"peak_bytes is checked for {', '.join(CHECKED_DTYPES)} only"
    if workload.attn != "eager":
        return None, "peak_bytes follows eager attention only"
    backend = backend_for(library)
    wanted = ["param_count", PEAK_METRIC] + [m for m in ("infer_peak_known", "viewed_input_bytes", "past_cache_storage_bytes") if m in rule.metrics]
    values = backend.totals(rule.name, wanted, bindings, max_calls=MAX_CALLS)
    if "infer_peak_known" in values and not values["infer_peak_known"]:
        return None, f"{rule.name}: a module's temporaries at this config are not in the rules (infer_peak_known)"
    buffers = _buffers_of(library, rule.name, bindings)
    if buffers is None:
        return None, "no flops call tree to find the buffers in"
    past: Value = 0
    if workload.past_len and "past_cache_storage_bytes" in values:  # storage the prefill left (a sliding layer's kept slice is a view)
        past = values["past_cache_storage_bytes"]
    elif workload.past_len and "kv_cache_bytes" in rule.metrics:
        past = backend.totals(rule.name, ["kv_cache_bytes"], {**bindings, "seq_len": workload.past_len, "past_len": 0}, max_calls=MAX_CALLS)["kv_cache_bytes"]
    return values["param_count"] * workload.itemsize + buffers + past + values.get("viewed_input_bytes", 0) + values[PEAK_METRIC], ""
