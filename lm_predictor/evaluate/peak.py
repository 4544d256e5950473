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

from lm_predictor.engine.evaluate import evaluate
from lm_predictor.engine.records import CallRecord
from lm_predictor.formula.values import Value
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


def infer_peak(library: RuleLibrary, rule: Rule, bindings: dict[str, Value], workload: Workload) -> tuple[Value | None, str]:
    """(peak bytes of one forward with use_cache=True under no_grad, or None; why not)."""
    if PEAK_METRIC not in rule.metrics:
        return None, f"{rule.name} does not define {PEAK_METRIC}"
    if workload.dtype not in CHECKED_DTYPES:
        return None, f"peak_bytes is checked for {', '.join(CHECKED_DTYPES)} only (the dtype casts are not yet in the rules)"
    if workload.attn != "eager":
        return None, "peak_bytes follows eager attention only"
    if "infer_peak_known" in rule.metrics and not evaluate(library, rule.name, "infer_peak_known", bindings).value:
        return None, f"{rule.name}: a module's temporaries at this config are not in the rules (infer_peak_known)"
    flops = evaluate(library, rule.name, "flops", bindings, trace=True).tree
    params = evaluate(library, rule.name, "param_count", bindings).value
    if flops is None:
        return None, "no flops call tree to find the buffers in"
    buffers = _buffers(library, flops)
    past: Value = 0
    if workload.past_len and "past_cache_storage_bytes" in rule.metrics:  # storage the prefill left (a sliding layer's kept slice is a view)
        past = evaluate(library, rule.name, "past_cache_storage_bytes", bindings).value
    elif workload.past_len and "kv_cache_bytes" in rule.metrics:
        past = evaluate(library, rule.name, "kv_cache_bytes", {**bindings, "seq_len": workload.past_len, "past_len": 0}).value
    viewed = evaluate(library, rule.name, "viewed_input_bytes", bindings).value if "viewed_input_bytes" in rule.metrics else 0
    own = evaluate(library, rule.name, PEAK_METRIC, bindings).value
    return params * workload.itemsize + buffers + past + viewed + own, ""
