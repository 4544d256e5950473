"""`lmpredict fit`: the largest batch (or longest context) whose memory fits a budget.

The memory of a configuration is the sum of closed-form terms (docs/training.md):
- infer: weight_bytes + kv_cache_bytes (the cache after a prefill of seq_len tokens);
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
from lm_predictor.evaluate.binding import find_root_rule, resolve
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.evaluate.predict import library_at
from lm_predictor.evaluate.train import TrainOptions, check_has_loss, train_bindings, train_terms
from lm_predictor.rules.library import RuleLibrary, UserRules
from lm_predictor.workload import Workload

INFER_TERMS = ("weight_bytes", "kv_cache_bytes")
TRAIN_TERMS = ("weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")
SEARCH_LIMIT = 1 << 40
"""No batch or context is searched beyond this (the formulas are exact integers at any size)."""

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
    next_terms: dict[str, int]  # at `largest + 1`
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
            "next": {"bytes": sum(self.next_terms.values()), "terms": self.next_terms},
            "notes": self.notes,
        }  # fmt: skip


class MemoryModel:
    """The memory terms of one config, mode and set of training options, at any batch and seq_len."""

    def __init__(self, config: str | Path | dict, mode: str, dtype: str, options: TrainOptions, library: RuleLibrary | UserRules | None = None):
        raw, self.source = load_config(config)
        if mode == "train":
            check_has_loss(raw)
        self.resolved = resolve(raw)
        self.library = library_at(library, DEFAULT_PIN)[0]  # resolve() reads the default pin
        self.rule = find_root_rule(self.library, self.resolved)
        self.mode, self.dtype, self.options = mode, dtype, options
        self.fixed_terms = self._fixed_terms()

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
        return {**self.fixed_terms, metric: int(evaluate(self.library, self.rule.name, metric, bindings).value)}


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
) -> FitResult:
    """The largest `search` value (batch, or seq_len at the given batch) whose terms sum to <= budget."""
    if budget <= 0:
        raise LmPredictorError(d.make(d.C_MEMORY_BUDGET, None, detail=f"memory budget must be positive, got {budget}"))
    try:
        Workload(batch, seq_len, 0, dtype)
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=str(err))) from None
    try:
        options.check(dtype)
    except ValueError as err:
        raise LmPredictorError(d.make(d.C_TRAIN_OPTION, None, detail=str(err))) from None
    model = MemoryModel(config, mode, dtype, options, library)

    def at(n: int) -> dict[str, int]:
        return model.terms(n, seq_len) if search == "batch" else model.terms(batch, n)

    largest = boundary(lambda n: sum(at(n).values()) <= budget)
    fixed = {"seq_len": seq_len} if search == "batch" else {"batch": batch}
    notes = [] if largest < SEARCH_LIMIT else [f"fits up to the search limit {SEARCH_LIMIT}"]
    return FitResult(model.rule.name, mode, search, {**fixed, "dtype": dtype}, budget, largest, at(max(largest, 1)), at(largest + 1), notes)


def boundary(fits: Callable[[int], bool]) -> int:
    """The largest n >= 1 with fits(n), for a predicate true up to some n and false after (0 if fits(1) is false)."""
    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= SEARCH_LIMIT and fits(high):
        low, high = high, high * 2
    if high > SEARCH_LIMIT:
        return low
    while high - low > 1:  # fits(low), not fits(high)
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low
