"""`--mode train`: one training step (forward + loss + backward + optimizer step), in closed form.

Definitions are in docs/training.md. FLOPs and per-parameter counts come from per-leaf rule
metrics summed over the call tree of `flops` or `param_count` (`sum_over_calls`):

- `backward_flops`: what autograd's matmuls cost for one leaf op (torch.matmul: one product per
  operand that requires grad; Linear / Conv1D: grad of the input and of the weight);
- `checkpoint_layers`: set on rules of transformers' GradientCheckpointingLayer classes, whose
  forward gradient checkpointing runs again in backward;
- `param_tensors`, `factored_state_numel`: parameter tensors, and Adafactor's factored state;
- `buffer_bytes`: buffers the module registers (rotary inv_freq, GPT-2's causal table).

`activation_bytes` is the root rule's own metric (per-module formulas under `metrics:`), bound
with `gradient_checkpointing`.

A leaf with no `backward_flops` and 0 forward FLOPs has none (FlopCounterMode counts backward
matmuls only for matmul-class forward ops); any other gap makes the metric unknown, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lm_predictor import diagnostics as d
from lm_predictor.data.versions import DEFAULT_PIN, PINS, choose_pin, reading
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.engine.records import CallRecord
from lm_predictor.evaluate.binding import bind, resolve
from lm_predictor.evaluate.breakdown import merge_trees
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.evaluate.predict import Prediction, library_at, root_rule
from lm_predictor.evaluate.published import read_published
from lm_predictor.evaluate.trust import train_mismatches
from lm_predictor.formula.values import Value
from lm_predictor.rules.library import RuleLibrary, UserRules
from lm_predictor.rules.model import Rule
from lm_predictor.workload import Workload

OPTIMIZERS = ("adamw", "sgd", "adafactor")
STEP_BYTES = 4  # torch optimizers keep one 0-dim float32 `step` tensor per parameter tensor
MASTER_BYTES = 4  # mixed precision: float32 master weights and optimizer state
LOSS_BYTES = 4  # the 0-dim float32 loss a training loop keeps over the step

TRAIN_TOTALS = (
    "flops", "forward_flops", "backward_flops", "recompute_flops", "param_count",
    "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes", "optimizer_peak_bytes",
    "forward_peak_bytes", "backward_peak_bytes", "peak_bytes",
)  # fmt: skip
PHASE_PEAKS = {"forward_peak_bytes": "train_forward_peak_bytes", "backward_peak_bytes": "train_backward_peak_bytes"}  # total -> root metric
PHASE_DTYPES = ("float32", "bfloat16")  # where the rules' phase peaks were checked against the oracle


@dataclass(frozen=True)
class TrainOptions:
    """How the step is run: optimizer, checkpointing, precision, data parallelism and ZeRO."""

    optimizer: str = "adamw"
    grad_checkpointing: bool = False
    mixed_precision: bool = False
    zero: int = 0
    data_parallel: int = 1

    def check(self, dtype: str) -> None:
        """Raise ValueError with a one-line reason for an impossible combination."""
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
        if self.zero not in (0, 1, 2, 3):
            raise ValueError(f"--zero must be 0, 1, 2 or 3, got {self.zero}")
        if isinstance(self.data_parallel, bool) or self.data_parallel < 1:
            raise ValueError(f"--data-parallel must be an integer >= 1, got {self.data_parallel}")
        if self.zero and self.data_parallel < 2:
            raise ValueError(f"ZeRO stage {self.zero} shards across data-parallel GPUs: give --data-parallel 2 or more")
        if self.mixed_precision and dtype == "float32":
            raise ValueError("--mixed-precision keeps float32 masters of a bfloat16 or float16 model: give --dtype bfloat16 or float16")


Visit = Callable[[CallRecord, str], "Value | None"]


def sum_over_calls(record: CallRecord, visit: Visit, leaf: Callable[[CallRecord], Value | None], path: str = "") -> Value | None:
    """Sum `visit` over a call tree: where visit answers (not None) that is the call's value;
    otherwise the children's sum, which must account for the call's whole value (a formula with
    terms outside calls cannot be attributed: None), and `leaf` for a call without children."""
    answer = visit(record, path)
    if answer is not None:
        return answer
    children = [c for c in record.children if _same_metric(c.metric, record.metric)]
    if not children:
        return leaf(record)
    total: Value = 0
    covered: Value = 0
    for child in children:
        part = sum_over_calls(child, visit, leaf, f"{path}.{child.label}" if path else child.label)
        if part is None or child.count is None:
            return None
        total += child.count * part
        covered += child.count * child.value
    return total if covered == record.value else None


def _same_metric(child: str, parent: str) -> bool:
    """Whether a child call prices its parent's metric: the same one, or a path rule's `<metric>_via`
    (a model that calls a grandchild's forward directly, OPT's `self.model.decoder(...)`), which sums
    the same metric of the calls under it."""
    return child.removesuffix("_via") == parent.removesuffix("_via")


def _defined(library: RuleLibrary, metric: str, idle: frozenset[str] = frozenset()) -> Visit:
    """visit(): 0 for a call at an `idle` path, the call's own `metric` where its rule defines one, else None."""

    def visit(record: CallRecord, path: str) -> Value | None:
        if path in idle:
            return 0
        rule = library.get(record.rule)
        if rule is None or metric not in rule.metrics:
            return None
        return evaluate(library, record.rule, metric, record.bindings).value

    return visit


def _zero_if_nothing(record: CallRecord) -> Value | None:
    """leaf(): a call that costs nothing of the base metric adds nothing; otherwise unknown."""
    return 0 if record.value == 0 else None


def _recompute(library: RuleLibrary, reentrant: bool = True) -> Visit:
    """visit(): a checkpointed layer recomputes its own forward FLOPs, once per layer it is. A
    reentrant checkpoint runs the whole forward again; a non-reentrant one stops once the last
    tensor backward needs is recomputed (torch/utils/checkpoint.py `_StopRecomputationError`), so
    not the layer's `checkpoint_tail_flops` (unknown where the rule does not give them)."""
    layers = _defined(library, "checkpoint_layers")
    tails = _defined(library, "checkpoint_tail_flops")

    def visit(record: CallRecord, path: str) -> Value | None:
        n = layers(record, path)
        if n is None:
            return None
        if reentrant:
            return n * record.value
        try:
            tail = tails(record, path)
        except LmPredictorError:  # the tail calls a rule that does not give its own
            tail = None
        if tail is None:
            raise _TailUnknown(record.rule)
        return n * (record.value - tail)

    return visit


class _TailUnknown(Exception):
    """A checkpointed layer whose rule does not say where a non-reentrant recompute stops."""


def idle_paths(params: CallRecord, ran: CallRecord, library: RuleLibrary) -> frozenset[str]:
    """Module paths that hold parameters but never run in the forward (`ran`: the bytes_read
    tree, which names every module that runs, even one without FLOPs): their parameters get no
    gradient and, since torch optimizers skip a parameter without one, no optimizer state
    (GPT-2's cross-attention blocks when no encoder states are passed). A module whose rule
    prices no bytes is never taken for idle: its absence from the bytes tree says nothing (a
    derived parent may price its own bytes without calling it: Whisper's positions)."""
    ran_paths = {path for path, _ in _relative_walk(ran)}
    return frozenset(path for path, record in _relative_walk(params)
                     if record.value and path not in ran_paths and _has(library, record.rule, "bytes_read"))


def _relative_walk(record: CallRecord):
    """(path below the root, record) for every call under the root."""
    for child in record.children:
        yield from child.walk()


def train_terms(library: RuleLibrary, trees: dict[str, CallRecord], workload: Workload, options: TrainOptions, pin: str = DEFAULT_PIN) -> dict[str, Value | None]:
    """Every training metric from the `flops`, `param_count` and (if defined) `bytes_read` call trees
    (None: unknown); `pin` says how its transformers checkpoints (reentrant or not)."""
    flops, params = trees["flops"], trees["param_count"]
    idle = idle_paths(params, trees["bytes_read"], library) if "bytes_read" in trees else frozenset()
    idle |= declared_idle(library, params, facts={"gradient_checkpointing": options.grad_checkpointing})
    backward = sum_over_calls(flops, _defined(library, "backward_flops", idle), _zero_if_nothing)  # an idle module has no backward
    if backward is not None and not metric_known(library, flops, "backward_known"):
        backward = None  # a rule says autograd's records are not known (suggest/brains/gradflow.py)
    try:
        recompute = sum_over_calls(flops, _recompute(library, PINS[pin].checkpoint_reentrant), lambda r: 0) if options.grad_checkpointing else 0
    except _TailUnknown:
        recompute = None  # not the whole forward again, and not known how much less: unknown, never a guess
    idle_params, own_idle = idle_total(params, idle), idle_own(library, params, idle, "idle_own_params")
    trained = None if idle_params is None or own_idle is None else params.value - idle_params - own_idle
    tensors, own_idle_tensors = count_tensors(library, params, idle), idle_own(library, params, idle, "idle_own_param_tensors")
    tensors = None if tensors is None or own_idle_tensors is None else tensors - own_idle_tensors
    try:
        buffers = sum_over_calls(flops, _defined(library, "buffer_bytes"), lambda r: 0)
    except LmPredictorError:  # a derived rule's buffer_bytes calls a rule that does not define it
        buffers = None
    n_params = params.value
    item = workload.itemsize
    excess, trained_excess = dtype_excess(library, params, item, frozenset()), dtype_excess(library, params, item, idle)
    state_item = MASTER_BYTES if options.mixed_precision else item
    optimizer: Value | None
    if options.optimizer == "sgd":
        optimizer = 0  # torch.optim.SGD with momentum 0 (its default) keeps no state
    elif tensors is None or trained is None or trained_excess is None:
        optimizer = None
    elif options.optimizer == "adamw":  # exp_avg, exp_avg_sq (each at its parameter's dtype, or float32 masters'), step
        optimizer = 2 * (trained * MASTER_BYTES if options.mixed_precision else trained * item + trained_excess) + STEP_BYTES * tensors
    elif trained_excess:  # Adafactor's state of parameters not at the model dtype is not modelled
        optimizer = None
    else:
        factored = sum_over_calls(params, _defined(library, "factored_state_numel", idle), _zero_if_nothing)
        optimizer = None if factored is None else factored * state_item + STEP_BYTES * tensors
    if optimizer is not None and options.mixed_precision:
        optimizer += MASTER_BYTES * n_params  # a float32 master of every parameter, used or not
    weight = None if buffers is None or excess is None else zero_share(n_params * item + excess, options, 3) + buffers
    grads = None if trained is None or trained_excess is None else zero_share(trained * item + trained_excess, options, 2)
    viewed = evaluate(library, flops.rule, "viewed_input_bytes", flops.bindings).value if _has(library, flops.rule, "viewed_input_bytes") else 0
    peak_inputs = (weight, grads, optimizer, param_sequence(library, params, idle, most_repeats=2), viewed)
    terms: dict[str, Value | None] = {
        "flops": None if backward is None or recompute is None else flops.value + backward + recompute,
        "forward_flops": flops.value,
        "backward_flops": backward,
        "recompute_flops": recompute,
        "param_count": n_params,
        "weight_bytes": weight,
        "grad_bytes": grads,
        "optimizer_bytes": None if optimizer is None else zero_share(optimizer, options, 1),
        "optimizer_peak_bytes": optimizer_peak(*peak_inputs, item, options),
    }
    if terms["optimizer_peak_bytes"] is not None and _has(library, flops.rule, "step_buffer_bytes"):  # buffers the forward registers
        terms["optimizer_peak_bytes"] += evaluate(library, flops.rule, "step_buffer_bytes", flops.bindings).value
    return terms


def metric_known(library: RuleLibrary, record: CallRecord, flag: str) -> bool:
    """False where a call in the flops tree has a rule that says `<flag>: 0`: `backward_known` (a
    `with` that turns gradients off on some iterations only; a product with a zero-initialised
    operand)."""
    for _, call in record.walk():
        if _has(library, call.rule, flag) and not evaluate(library, call.rule, flag, call.bindings).value:
            return False
    return True


def declared_idle(library: RuleLibrary, record: CallRecord, path: str = "", facts: dict | None = None) -> frozenset[str]:
    """Paths of the children a rule declares idle (`idle_params`: the param_count calls of those
    that never run or whose results never reach the loss, which suggest finds), under every call of
    the param_count tree. `facts`: workload facts the param_count calls do not hand down
    (`gradient_checkpointing`), bound where a rule takes them."""
    found: set[str] = set()
    if _has(library, record.rule, "idle_params"):
        params = library.get(record.rule).params
        bindings = {**record.bindings, **{k: v for k, v in (facts or {}).items() if k in params and k not in record.bindings}}
        tree = evaluate(library, record.rule, "idle_params", bindings, trace=True).tree
        found |= {f"{path}.{c.label}" if path else c.label for c in (tree.children if tree is not None else [])}
    for child in record.children:
        if child.metric == record.metric:
            found |= declared_idle(library, child, f"{path}.{child.label}" if path else child.label, facts)
    return frozenset(found)


def idle_own(library: RuleLibrary, record: CallRecord, idle: frozenset[str], metric: str, path: str = "") -> Value | None:
    """Sum over the param_count tree of the calls' `metric`: `idle_own_params`, a module's own
    parameters that get no gradient (made with requires_grad=False, or never read by its forward:
    BERT 5.x's untied `cls.predictions.bias`), or `idle_own_param_tensors`, how many tensors they
    are; each call counted as often as it is called, calls at `idle` paths left out (their whole
    count is idle already). None where a rule gives idle_own_params without its tensor count."""
    total: Value = 0
    rule = library.get(record.rule)
    if rule is not None and "idle_own_params" in rule.metrics:
        if metric not in rule.metrics:
            return None
        total += evaluate(library, record.rule, metric, record.bindings).value
    for child in record.children:
        where = f"{path}.{child.label}" if path else child.label
        if child.metric != record.metric or where in idle:
            continue
        part = idle_own(library, child, idle, metric, where)
        if part is None or (part and child.count is None):
            return None
        total += (child.count or 0) * part
    return total


def idle_total(record: CallRecord, idle: frozenset[str], path: str = "") -> Value | None:
    """Parameters of the calls at `idle` paths under `record` (the param_count tree), each
    counted as often as it is called; None where an idle call's count is unknown."""
    total: Value = 0
    for child in record.children:
        where = f"{path}.{child.label}" if path else child.label
        if child.metric != record.metric:
            continue
        part = child.value if where in idle else idle_total(child, idle, where)
        if part is None or (part and child.count is None):
            return None
        total += (child.count or 0) * part
    return total


def count_tensors(library: RuleLibrary, record: CallRecord, idle: frozenset[str], path: str = "") -> Value | None:
    """Trained parameter tensors under `record` (the param_count tree): a rule's `param_tensors`
    (all of its subtree), else its `own_param_tensors` plus its children's; a call at an `idle`
    path holds none that train. None where some parameters cannot be attributed: a call whose
    value its children do not make up, without `own_param_tensors` (or a leaf without either)."""
    if path in idle:
        return 0
    rule = library.get(record.rule)
    if rule is not None and "param_tensors" in rule.metrics:
        return evaluate(library, record.rule, "param_tensors", record.bindings).value
    children = [c for c in record.children if c.metric == record.metric]
    total: Value = 0
    covered: Value = 0
    for child in children:
        where = f"{path}.{child.label}" if path else child.label
        part = count_tensors(library, child, idle, where)
        if part is None or child.count is None:
            return None
        total += child.count * part
        covered += child.count * child.value
    if covered != record.value:  # parameters of its own
        if rule is None or "own_param_tensors" not in rule.metrics:
            return None
        total += evaluate(library, record.rule, "own_param_tensors", record.bindings).value
    return total


def dtype_excess(library: RuleLibrary, record: CallRecord, item: int, idle: frozenset[str], path: str = "") -> Value | None:
    """Bytes by which the parameters of calls under `record` (the param_count tree; `idle` paths
    left out) exceed numel * item: a rule whose own parameters are not all at the model dtype says
    `param_bytes` (XIELUActivation's bfloat16 scalars), its descendants' excess added below it; 0 where
    none does."""
    total: Value = 0
    for child in record.children:
        where = f"{path}.{child.label}" if path else child.label
        if child.metric != record.metric or where in idle:
            continue
        if _has(library, child.rule, "param_bytes"):  # its own odd parameters, then its descendants'
            part = evaluate(library, child.rule, "param_bytes", child.bindings).value - child.value * item
            below = dtype_excess(library, child, item, idle, where)
            part = None if below is None else part + below
        else:
            part = dtype_excess(library, child, item, idle, where)
        if part is None or (part and child.count is None):
            return None
        total += (child.count or 0) * part
    return total


def _has(library: RuleLibrary, rule: str, metric: str) -> bool:
    """Whether `rule` defines `metric`."""
    found = library.get(rule)
    return found is not None and metric in found.metrics


def optimizer_peak(
    weight: Value | None, grads: Value | None, state: Value | None, sizes: list[Value] | None, viewed: Value, item: int, options: TrainOptions
) -> Value | None:
    """Live bytes at the peak of optimizer.step() (docs/training.md): the weights, gradients,
    the whole optimizer state (the first step allocates it for every parameter before updating
    any), the 0-dim float32 loss the loop keeps, the caller's input_ids where the forward views
    them (`viewed_input_bytes`), and the step's scratch. torch's single-tensor
    AdamW (CPU tensors) builds, per parameter i in parameters() order, `exp_avg_sq.sqrt()` and its
    quotient `denom`, while parameter i - 1's `denom` is still bound: the peak is at the division
    of the i maximising 2 * numel(i) + numel(i - 1). SGD (momentum 0) updates in place.
    Unknown (None) under mixed precision or ZeRO (not measured) and for Adafactor (its update
    calls .item(), which the oracle cannot run)."""
    if options.mixed_precision or options.zero or options.optimizer == "adafactor":
        return None
    if weight is None or grads is None or state is None or sizes is None:
        return None
    scratch = 0
    if options.optimizer == "adamw" and sizes:
        scratch = max(2 * n + (sizes[i - 1] if i else 0) for i, n in enumerate(sizes)) * item
    return weight + grads + state + LOSS_BYTES + viewed + scratch


def phase_peaks(library: RuleLibrary, rule: Rule, bindings: dict[str, Value], workload: Workload, options: TrainOptions, terms: dict[str, Value | None]) -> tuple[dict[str, Value], str]:
    """(forward_peak_bytes, backward_peak_bytes and the step's peak_bytes where known; why not):
    each phase's live bytes at its peak, weight_bytes plus the root rule's closed form
    (`train_forward_peak_bytes`, `train_backward_peak_bytes`: docs/training.md), and peak_bytes
    the largest of the two and optimizer_peak_bytes."""
    missing = [m for m in PHASE_PEAKS.values() if m not in rule.metrics]
    if missing:
        return {}, f"{rule.name} does not define {', '.join(missing)}"
    if options.grad_checkpointing or options.mixed_precision or options.zero:
        return {}, "forward and backward peaks are modelled without checkpointing, mixed precision or ZeRO"
    if workload.dtype not in PHASE_DTYPES:
        return {}, f"forward and backward peaks are checked for {', '.join(PHASE_DTYPES)} only"
    if terms.get("weight_bytes") is None:
        return {}, "weight_bytes unknown"
    if "train_peak_known" in rule.metrics and not evaluate(library, rule.name, "train_peak_known", bindings).value:
        return {}, f"{rule.name}: this config's dropout, activation or backward temporaries are not in the training-peak candidates (train_peak_known)"
    found = {total: terms["weight_bytes"] + evaluate(library, rule.name, metric, bindings).value for total, metric in PHASE_PEAKS.items()}
    if terms.get("optimizer_peak_bytes") is not None:
        found["peak_bytes"] = max(*found.values(), terms["optimizer_peak_bytes"])
    if "train_peak_lower_bound" in rule.metrics and evaluate(library, rule.name, "train_peak_lower_bound", bindings).value:
        # each candidate is the live bytes at a real point of the step, so their maximum never exceeds the true peak
        return found, (f"{rule.name}: forward, backward and step peaks are exact on the tested grid and lower bounds elsewhere "
                       "(bench/peak_sweep.py measured the peak higher at some drawn configs; docs/training.md)")
    return found, ""


def param_sequence(library: RuleLibrary, params: CallRecord, idle: frozenset[str], most_repeats: int | None = None) -> list[Value] | None:
    """numel of every trained parameter tensor, in parameters() order (registration order: a
    module's own tensors, then its children's), from the `param_count` call tree, whose calls
    the hand rules write in that order. A leaf gives one tensor (`param_tensors` 1) or two, the
    second of `last_param_numel` elements; the tensors of an `idle` call get no gradient and are
    left out. With `most_repeats`, a repeated call's tensors are listed at most that many times:
    `optimizer_peak` reads only adjacent pairs, and k >= 2 copies of a list hold the same pairs as
    two (so a config of 10**11 layers stays a short list). None where a call's tensors cannot be told."""
    walked = _tensors(library, params, idle, "", most_repeats)
    return None if walked is None else walked[0]


def _tensors(library: RuleLibrary, record: CallRecord, idle: frozenset[str], path: str, most_repeats: int | None) -> tuple[list[Value], Value] | None:
    """(trained tensor sizes, parameters accounted for) of one call of the param_count tree."""
    rule = library.get(record.rule)
    if rule is not None and "idle_own_params" in rule.metrics and evaluate(library, record.rule, "idle_own_params", record.bindings).value:
        return None  # which of its own tensors get no gradient is not told
    if rule is not None and "param_tensors" in rule.metrics:
        n = evaluate(library, record.rule, "param_tensors", record.bindings).value
        if n not in (0, 1, 2) or (n == 2 and "last_param_numel" not in rule.metrics):
            return None
        last = evaluate(library, record.rule, "last_param_numel", record.bindings).value if n == 2 else 0
        sizes = [record.value - last, last] if n == 2 else [record.value] * n
        return ([] if path in idle else sizes), record.value
    children = [c for c in record.children if c.metric == record.metric]
    if not children:
        return ([], 0) if record.value == 0 else None
    sizes: list[Value] = []
    covered: Value = 0
    for child in children:
        part = _tensors(library, child, idle, f"{path}.{child.label}" if path else child.label, most_repeats)
        if part is None or not isinstance(child.count, int):
            return None
        sizes += part[0] * (child.count if most_repeats is None else min(child.count, most_repeats))
        covered += part[1] * child.count
    if covered != record.value:
        return None
    return ([] if path in idle else sizes), covered


def train_bindings(rule: Rule, config: dict, workload: Workload, options: TrainOptions) -> dict[str, Value]:
    """The root rule's bindings, plus `gradient_checkpointing` where the rule takes it."""
    if workload.past_len:  # derived activation_bytes leave out the arms a past cache takes (emit_saved.PAST)
        raise ValueError(f"a training step runs with no past: past_len {workload.past_len}")
    bindings = bind(rule, config, workload)
    if "gradient_checkpointing" in rule.params:
        bindings["gradient_checkpointing"] = options.grad_checkpointing
    if "training" in rule.params:
        bindings["training"] = True  # the step runs in model.train() (derived rules read module.training)
    return bindings


def check_has_loss(config: dict) -> None:
    """Refuse a config whose architecture is not a causal-LM head: only those take `labels` and
    return a loss (every causal-LM class of the pinned transformers does; `eval` would otherwise
    price the model_type's causal LM in place of, say, a bare LlamaModel)."""
    from lm_predictor.data.transformers_table import load_table

    archs = config.get("architectures")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        return
    heads = {facts["causal_lm"].rsplit(".", 1)[-1] for facts in load_table()["model_types"].values() if facts.get("causal_lm")}
    if archs[0] not in heads:
        detail = f"{archs[0]} computes no causal-LM loss; --mode train prices a causal-LM head (architectures: [...ForCausalLM])"
        raise LmPredictorError(d.make(d.C_NO_LOSS, None, detail=detail))


def zero_share(total: int, options: TrainOptions, stage: int) -> int:
    """Bytes of `total` one GPU holds: ceil(total / N) from ZeRO stage `stage` on, else all."""
    return math.ceil(total / options.data_parallel) if options.zero >= stage else total


def predict_train(
    config: str | Path | dict,
    *,
    batch: int = 1,
    seq_len: int = 128,
    dtype: str = "float32",
    options: TrainOptions = TrainOptions(),
    library: RuleLibrary | UserRules | None = None,
    survey_checked: bool = True,
    transformers: str | None = None,
) -> Prediction:
    """Predict one training step of `config`; per-module rows carry param_count and activation_bytes.

    Metrics the rules cannot price are listed as unavailable, never given as 0; so are, for derived
    rules, those the last survey measured wrong for the model type (`survey_checked=False`, the
    survey's own call, prices them anyway). `transformers`: the pin to read, as for `predict`
    (None: the config's transformers_version chooses)."""
    try:
        workload = Workload(batch, seq_len, 0, dtype)
    except (ValueError, TypeError) as err:
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=str(err))) from None
    try:
        options.check(dtype)
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_TRAIN_OPTION, None, detail=str(err))) from None
    raw, source = load_config(config)
    pin = choose_pin(raw, transformers)
    with reading(pin.version):  # check_has_loss and the derivation read the pin's tables
        check_has_loss(raw)
        published = read_published(raw, dtype)  # Emu3ForCausalLM and kin are built on text_config, as `predict` prices them
        resolved = resolve(published.config, pin.version, pin.reason)
        library, notes = library_at(library, pin.version)
        notes = list(published.notes) + notes
        library, rule, derived_notes, derived = root_rule(library, resolved, pin.version, workload, options.grad_checkpointing)
        notes += derived_notes
    bindings = train_bindings(rule, resolved, workload, options)
    metrics = [m for m in ("flops", "param_count", "bytes_read") if m in rule.metrics]
    trees = {m: evaluate(library, rule.name, m, bindings, trace=True).tree for m in metrics}
    terms = train_terms(library, {k: v for k, v in trees.items() if v is not None}, workload, options, pin.version)
    if "activation_bytes" in rule.metrics:
        activations = evaluate(library, rule.name, "activation_bytes", bindings, trace=True)
        terms["activation_bytes"] = activations.value
        trees["activation_bytes"] = activations.tree
    if derived:  # suggest does not yet give the parameters' registration order
        terms["optimizer_peak_bytes"] = None
        notes.append("derived rules: optimizer_peak_bytes needs the parameters' registration order from suggest (not emitted yet)")
        if "param_dtypes_known" not in rule.metrics:  # a parameter of a dtype suggest could not price
            terms.update(weight_bytes=None, grad_bytes=None, optimizer_bytes=None)
            notes.append("derived rules: a parameter is not at the model dtype and suggest could not price it")
        if "buffer_bytes" not in rule.metrics:  # suggest could not size every buffer: no total, never a partial one
            terms["weight_bytes"] = None
            notes.append("derived rules: weight_bytes needs every buffer's shape and dtype, which suggest could not tell")
        for metric, seen in train_mismatches(resolved.get("model_type"), pin.version).items() if survey_checked else ():
            if metric == "flops_ckpt":  # the survey's checkpointed step: wrong flops only when checkpointing is on
                if not options.grad_checkpointing:
                    continue
                metric = "flops"
            if terms.get(metric) is not None:
                terms[metric] = None
                notes.append(f"derived rules: {metric} left out: the survey measured it wrong for {resolved.get('model_type')} ({seen})")
    if not derived:
        found, why = phase_peaks(library, rule, bindings, workload, options, terms)
        terms.update(found)
        if why:
            notes.append(f"peak_bytes: {why}")
    totals = {k: v for k, v in terms.items() if v is not None}
    unavailable = [k for k in TRAIN_TOTALS if k not in totals]
    notes.append(
        f"train step: optimizer {options.optimizer}, grad checkpointing {'on' if options.grad_checkpointing else 'off'}, "
        f"mixed precision {'on' if options.mixed_precision else 'off'}, ZeRO {options.zero} over {options.data_parallel} GPU(s)"
    )
    per_module = {m: trees[m] for m in ("param_count", "activation_bytes") if trees.get(m) is not None}
    return Prediction(rule.name, workload, totals, lambda: merge_trees(per_module), unavailable, source, notes)
