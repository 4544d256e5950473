"""`lmpredict fit`: the largest batch (or longest context) whose memory fits a budget.

The memory of a configuration is the sum of closed-form terms (docs/training.md):
- infer: the prefill's peak_bytes where the rules compose it (evaluate/peak.py: weight_bytes +
  kv_cache_bytes + the forward's temporaries at their peak), else weight_bytes + kv_cache_bytes
  (the cache after a prefill of seq_len tokens), as `temporaries=False` always counts;
- train: weight_bytes + grad_bytes + optimizer_bytes + activation_bytes, per GPU.
Every term is non-decreasing in batch and in seq_len, so the boundary is found by doubling and
then bisecting the integer on the formulas themselves: a few dozen evaluations, no model run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lm_predictor import diagnostics as d
from lm_predictor.data.versions import DEFAULT_PIN
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.evaluate.binding import bind, resolve
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.evaluate.peak import infer_peak
from lm_predictor.evaluate.positions import check_positions, learned_limit
from lm_predictor.evaluate.predict import library_at, root_rule
from lm_predictor.evaluate.train import TrainOptions, check_has_loss, train_bindings, train_terms
from lm_predictor.limits import MAX_BATCH, MAX_CONTEXT_TOKENS
from lm_predictor.rules.library import RuleLibrary, UserRules
from lm_predictor.workload import Workload

INFER_TERMS = ("weight_bytes", "kv_cache_bytes")
TRAIN_TERMS = ("weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}

def parse_memory(text: str) -> int:
    """'80GiB' -> 85899345920, '80GB' -> 80000000000, '1024' -> 1024 bytes; ValueError otherwise."""
    body = text.strip().lower().replace(" ", "")
    digits = body.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = body[len(digits):]
    if unit not in UNITS or not digits:
        raise ValueError(f"cannot read memory budget {text!r} (e.g. 80GiB, 80GB, 81920MiB, or bytes)")
    try:
        value = float(digits)
    except ValueError:
        raise ValueError(f"cannot read memory budget {text!r} (e.g. 80GiB, 80GB, 81920MiB, or bytes)") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"memory budget must be positive, got {text!r}")
    return int(value * UNITS[unit])


def gpu_memory(name: str) -> int:
    """Bytes of memory of a hardware preset or hardware file (lm_predictor/data/hardware.yaml, GB = 10^9)."""
    from lm_predictor.hardware import load_hardware

    return load_hardware(name).memory_bytes


@dataclass
class FitResult:
    """The boundary: `largest` fits, `largest + 1` does not (0: not even 1 fits)."""

    model: str
    mode: str
    dimension: str  # "batch" or "seq_len"
    fixed: dict[str, Any]  # the other workload fields
    budget: int
    largest: int
    terms: dict[str, int]  # at `largest` (at 1 when nothing fits)
    next_terms: dict[str, int] | None  # at `largest + 1` (None: past a limit of the workload or the model)
    notes: list[str] = field(default_factory=list)

    @property
    def dominant(self) -> str:
        """The largest term at the boundary."""
        return max(self.terms, key=lambda k: self.terms[k])

    def as_json(self) -> dict[str, Any]:
        """Exact integers throughout."""
        return {
            "model": self.model, "mode": self.mode, "search": self.dimension, **self.fixed,
            "budget_bytes": self.budget, "largest": self.largest,
            "bytes": sum(self.terms.values()), "terms": self.terms, "dominant": self.dominant,
            "next": None if self.next_terms is None else {"bytes": sum(self.next_terms.values()), "terms": self.next_terms},
            "notes": self.notes,
        }  # fmt: skip


class MemoryModel:
    """The memory terms of one config, mode and set of training options, at any batch and seq_len."""

    def __init__(
        self, config: str | Path | dict, mode: str, dtype: str, options: TrainOptions,
        library: RuleLibrary | UserRules | None = None, temporaries: bool = True,
    ):  # fmt: skip
        raw, self.source = load_config(config)
        if mode == "train":
            check_has_loss(raw)
        self.resolved = resolve(raw)
        library, self.notes = library_at(library, DEFAULT_PIN)  # resolve() reads the default pin
        checkpointing = mode == "train" and options.grad_checkpointing  # derived rules for a checkpointed step (suggest/derive.py)
        self.library, self.rule, derived_notes, _ = root_rule(library, self.resolved, DEFAULT_PIN, checkpointing=checkpointing)
        self.notes += derived_notes
        self.mode, self.dtype, self.options = mode, dtype, options
        self.fixed_terms = self._fixed_terms()
        self.peak = False
        if mode == "infer" and temporaries:
            _, why = self._peak(1, 1)
            self.peak = not why
            self.notes.append(
                "memory = the prefill's peak_bytes: weights, the KV cache and the forward's temporaries at their peak (eager attention)"
                if self.peak else f"memory = weights + KV cache; the forward's temporaries are not counted ({why})"
            )  # fmt: skip

    def _peak(self, batch: int, seq_len: int) -> tuple[int | None, str]:
        """The composed inference peak of a prefill (None and why where the rules do not compose it)."""
        workload = Workload(batch, seq_len, 0, self.dtype)
        peak, why = infer_peak(self.library, self.rule, bind(self.rule, self.resolved, workload), workload)
        return (None, why) if peak is None else (int(peak), "")

    def _fixed_terms(self) -> dict[str, int]:
        """Terms that do not depend on the workload (weights, gradients, optimizer state)."""
        workload = Workload(1, 1, 0, self.dtype)
        bindings = train_bindings(self.rule, self.resolved, workload, self.options)
        trees = {m: evaluate(self.library, self.rule.name, m, bindings, trace=True).tree for m in ("flops", "param_count")}
        terms = train_terms(self.library, trees, workload, self.options if self.mode == "train" else TrainOptions())
        names = ("weight_bytes",) if self.mode == "infer" else ("weight_bytes", "grad_bytes", "optimizer_bytes")
        missing = [n for n in names if terms.get(n) is None]
        if missing:
            raise LmPredictorError(d.make(d.C_ARCH, None, detail=f"{self.rule.short_name}: {', '.join(missing)} not modelled, so fit cannot answer"))
        return {n: int(terms[n]) for n in names}

    def terms(self, batch: int, seq_len: int) -> dict[str, int]:
        """Every memory term at one workload (exact integers)."""
        metric = "kv_cache_bytes" if self.mode == "infer" else "activation_bytes"
        if metric not in self.rule.metrics:
            raise LmPredictorError(d.make(d.C_ARCH, None, detail=f"{self.rule.short_name} does not model {metric}, so fit cannot answer"))
        bindings = train_bindings(self.rule, self.resolved, Workload(batch, seq_len, 0, self.dtype), self.options)
        terms = {**self.fixed_terms, metric: int(evaluate(self.library, self.rule.name, metric, bindings).value)}
        if self.peak:
            peak, why = self._peak(batch, seq_len)
            if peak is None:  # a module's temporaries at this size are not in the rules: no partial answer
                raise LmPredictorError(d.make(d.C_ARCH, None, detail=f"{self.rule.short_name}: peak_bytes at batch {batch}, seq_len {seq_len}: {why}; --without-temporaries counts weights and KV cache only"))
            terms["temporaries_bytes"] = peak - sum(terms.values())
        return terms


def fit(
    config: str | Path | dict,
    budget: int,
    *,
    mode: str = "infer",
    batch: int = 1,
    seq_len: int = 2048,
    search: str = "batch",
    dtype: str = "float32",
    options: TrainOptions = TrainOptions(),
    library: RuleLibrary | UserRules | None = None,
    temporaries: bool = True,
) -> FitResult:
    """The largest `search` value (batch, or seq_len at the given batch) whose terms sum to <= budget
    (inference: the prefill's peak where the rules compose it, unless `temporaries` is False)."""
    if budget <= 0:
        raise LmPredictorError(d.make(d.C_MEMORY_BUDGET, None, detail=f"memory budget must be positive, got {budget}"))
    try:
        Workload(batch, seq_len, 0, dtype)
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=str(err))) from None
    try:
        options.check(dtype)
        if mode == "train" and not temporaries:
            raise ValueError("--without-temporaries applies to --mode infer; a training step counts weights, gradients, optimizer state and activations")
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_TRAIN_OPTION, None, detail=str(err))) from None
    model = MemoryModel(config, mode, dtype, options, library, temporaries)

    def at(n: int) -> dict[str, int]:
        return model.terms(n, seq_len) if search == "batch" else model.terms(batch, n)

    # A learned position table bounds the context the model can take at all (C010 in eval).
    positions = learned_limit(model.resolved)
    if search == "batch":
        check_positions(model.resolved, Workload(batch, seq_len, 0, dtype), model.rule.name)
    workload_limit = MAX_BATCH if search == "batch" else MAX_CONTEXT_TOKENS
    limit = workload_limit if search == "batch" or positions is None else min(workload_limit, positions)
    largest = boundary(lambda n: sum(at(n).values()) <= budget, limit)
    fixed = {"seq_len": seq_len} if search == "batch" else {"batch": batch}
    notes = list(model.notes)
    if largest == limit:
        notes.append(f"fits up to the workload limit {limit:,} (limits.py)" if limit == workload_limit else
                     f"seq_len stops at the model's learned position table ({limit:,} tokens); the memory would allow more")
    return FitResult(model.rule.name, mode, search, {**fixed, "dtype": dtype}, budget, largest, at(max(largest, 1)), None if largest == limit else at(largest + 1), notes)


def boundary(fits: Callable[[int], bool], limit: int) -> int:
    """The largest n in 1..limit with fits(n), for a predicate true up to some n and false after (0 if fits(1) is false)."""
    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= limit and fits(high):
        low, high = high, high * 2
    if high > limit:
        if low == limit or fits(limit):
            return limit
        high = limit
    while high - low > 1:  # fits(low), not fits(high)
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low
