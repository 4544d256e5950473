"""Roofline latency of one predicted forward step, per module (docs/latency.md).

Every row of the breakdown owns the cost its children do not explain (`own = row - children`,
per metric; for a leaf that is all of it). Its time is

    max(own_flops / (peak(dtype) * compute_efficiency), own_bytes / (bandwidth * memory_efficiency))

with own_bytes = bytes_read + bytes_written. A row's time is its own time plus its children's;
the root's is the step's. Rows are compute-bound when the compute term wins. A row that
repeats (`layers ×32`) is priced on its totals over all repetitions, which for identical calls
is the repetition count times one call. Times are exact fractions of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from lm_predictor.hardware import COMPUTE_DTYPE_PEAK, Hardware


@dataclass(frozen=True)
class Efficiency:
    """Fractions of peak a kernel reaches (1 = the roofline itself; documented in docs/latency.md)."""

    compute: Fraction = Fraction(1)
    memory: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        for name in ("compute", "memory"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} efficiency must be in (0, 1], got {value}")


@dataclass
class RowTime:
    """Time of one breakdown row: inclusive, split into compute- and memory-bound parts."""

    path: str
    time_s: Fraction
    compute_bound_s: Fraction  # part of time_s spent in rows whose compute term wins
    memory_bound_s: Fraction
    own_flops: Fraction
    own_bytes: Fraction

    @property
    def bound(self) -> str:
        """'compute' or 'memory': which kind of row dominates this subtree's time."""
        return "compute" if self.compute_bound_s >= self.memory_bound_s else "memory"


@dataclass
class Latency:
    """Roofline time of one forward step, in total and per breakdown path ('' is the root)."""

    hardware: Hardware
    efficiency: Efficiency
    rows: dict[str, RowTime]
    tokens: int  # new tokens the step processes (batch * seq_len)
    notes: list[str] = field(default_factory=list)

    @property
    def time_s(self) -> Fraction:
        return self.rows[""].time_s

    @property
    def tokens_per_s(self) -> Fraction:
        return self.tokens / self.time_s if self.time_s else Fraction(0)


def _number(value: Any) -> Fraction | None:
    return Fraction(value) if isinstance(value, (int, Fraction)) and not isinstance(value, bool) else None


def peak_and_bandwidth(hardware: Hardware, dtype: str, efficiency: Efficiency) -> tuple[Fraction, Fraction]:
    """(FLOP/s, bytes/s) as exact fractions, efficiency applied."""
    hardware.peak_flops(dtype)  # a one-line C084 when the hardware has no peak for this dtype
    peak = Fraction(str(hardware.peak_tflops[COMPUTE_DTYPE_PEAK.get(dtype, dtype)])) * 10**12 * efficiency.compute
    bandwidth = Fraction(str(hardware.memory_bandwidth_gbps)) * 10**9 * efficiency.memory
    return peak, bandwidth


def own_costs(prediction: Any) -> tuple[dict[str, tuple[Fraction, Fraction]], dict[str, list[str]]]:
    """({path: (own flops, own bytes)}, {path: child paths}) of a prediction's breakdown ('' = root)."""
    values: dict[str, tuple[Fraction, Fraction]] = {"": _flops_bytes(prediction.totals)}
    children: dict[str, list[str]] = {"": []}
    for row in prediction.modules:
        values[row.path] = _flops_bytes(row.totals)
        children.setdefault(row.path, [])
        parent = row.path.rsplit(".", 1)[0] if "." in row.path else ""
        children.setdefault(parent, []).append(row.path)
    own = {}
    for path, (flops, moved) in values.items():
        kids = children.get(path, [])
        own[path] = (
            max(Fraction(0), flops - sum((values[k][0] for k in kids), Fraction(0))),
            max(Fraction(0), moved - sum((values[k][1] for k in kids), Fraction(0))),
        )
    return own, children


def times_from_own(own: dict[str, tuple[Fraction, Fraction]], children: dict[str, list[str]], own_time: Any) -> dict[str, RowTime]:
    """Inclusive RowTimes from own costs; own_time(path) -> (compute-bound s, memory-bound s) of that row alone."""
    rows: dict[str, RowTime] = {}

    def visit(path: str) -> RowTime:
        kids = [visit(child) for child in children.get(path, [])]
        compute_t, memory_t = own_time(path)
        row = RowTime(
            path,
            compute_t + memory_t + sum((k.time_s for k in kids), Fraction(0)),
            compute_t + sum((k.compute_bound_s for k in kids), Fraction(0)),
            memory_t + sum((k.memory_bound_s for k in kids), Fraction(0)),
            *own[path],
        )
        rows[path] = row
        return row

    visit("")
    return rows


def roofline(prediction: Any, hardware: Hardware, efficiency: Efficiency = Efficiency()) -> Latency:
    """Per-row roofline times of `prediction` (evaluate.predict.Prediction, with its breakdown)."""
    peak, bandwidth = peak_and_bandwidth(hardware, prediction.workload.dtype, efficiency)
    notes: list[str] = []
    if _number(prediction.totals.get("bytes_read")) is None:
        notes.append("bytes are not modelled for this rule: times are compute-only lower bounds")
    own, children = own_costs(prediction)

    def own_time(path: str) -> tuple[Fraction, Fraction]:
        compute_t, memory_t = own[path][0] / peak, own[path][1] / bandwidth
        return (compute_t, Fraction(0)) if compute_t >= memory_t else (Fraction(0), memory_t)

    w = prediction.workload
    return Latency(hardware, efficiency, times_from_own(own, children, own_time), w.batch * w.seq_len, notes)


def _flops_bytes(totals: dict[str, Any]) -> tuple[Fraction, Fraction]:
    """(flops, bytes_read + bytes_written) of a totals dict; an unmodelled metric counts 0."""
    flops = _number(totals.get("flops")) or Fraction(0)
    moved = (_number(totals.get("bytes_read")) or Fraction(0)) + (_number(totals.get("bytes_written")) or Fraction(0))
    return flops, moved


def excess(latency: Latency, limit: int = 8) -> list[tuple[str, Fraction]]:
    """The leaf rows that make the step slower than flops / peak: memory-bound time, largest first."""
    leaves = [r for p, r in latency.rows.items() if p and r.own_bytes + r.own_flops and r.memory_bound_s and not r.compute_bound_s]
    top = sorted(leaves, key=lambda r: r.memory_bound_s, reverse=True)
    return [(r.path, r.memory_bound_s) for r in top[:limit]]
