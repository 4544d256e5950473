"""A whole generation: prefill of `prompt` tokens, then `new_tokens` decode steps, in closed form.

Decode step i (0-based) feeds one token after `prompt + i` cached ones. Its cost is a function of
the cache length p that the rules give in closed form: a polynomial of degree <= 3 in p on
pieces separated by the rules' own branches (a sliding window filling up, a mask that is
skipped). `piecewise_sum` finds those pieces by bisection: it fits a polynomial through
DEGREE + 1 points of a piece, checks it exactly at CHECKS more, splits the piece when a check
fails, and sums a verified polynomial with Faulhaber's formulas. The work depends on the number
of pieces and log2(new_tokens), not on new_tokens: 1,000,000 steps cost about what 20 cost.
Every value is an exact integer or fraction; `tests/latency/test_generation.py` checks the sum
against the step-by-step sum and against a measured loop of forward calls.

Roofline time per row is max(flops / peak, bytes / bandwidth) per step; the max of two
polynomials is summed exactly by splitting each piece where the two terms cross.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from lm_predictor.latency.roofline import Efficiency, RowTime, own_costs, peak_and_bandwidth, times_from_own

DEGREE = 3
CHECKS = 3
DIRECT = 12
"""Pieces with at most this many steps are summed step by step."""

Vector = dict[Any, Fraction]
Poly = list[Fraction]  # coefficients in x = p - lo, lowest first


def fit_polynomial(points: list[int], values: list[Fraction]) -> Poly:
    """Exact coefficients of the polynomial through (x, value) points (Newton divided differences)."""
    n = len(points)
    table = list(values)
    coef = [table[0]]
    for level in range(1, n):
        table = [(table[i + 1] - table[i]) / (points[i + level] - points[i]) for i in range(n - level)]
        coef.append(table[0])
    poly = [Fraction(0)] * n  # expand the Newton form into powers of x
    basis = [Fraction(1)]
    for k in range(n):
        for i, b in enumerate(basis):
            poly[i] += coef[k] * b
        basis = [Fraction(0)] + basis  # basis *= (x - points[k])
        for i in range(len(basis) - 1):
            basis[i] -= points[k] * basis[i + 1]
    return poly


def _evaluate(poly: Poly, x: int | Fraction) -> Fraction:
    result = Fraction(0)
    for c in reversed(poly):
        result = result * x + c
    return result


def _power_sum(k: int, n: int) -> Fraction:
    """sum of x**k for x in 0..n-1 (Faulhaber, k <= 3)."""
    return Fraction((n * (n - 1) // 2, (n - 1) * n * (2 * n - 1) // 6, (n * (n - 1) // 2) ** 2, n)[k - 1 if k else 3])


def polynomial_sum(poly: Poly, n: int) -> Fraction:
    """sum of poly(x) for x in 0..n-1."""
    return sum((c * _power_sum(k, n) for k, c in enumerate(poly)), Fraction(0))


@dataclass
class Piece:
    """Steps lo..hi (cache lengths) on which every component is one polynomial in p - lo."""

    lo: int
    hi: int
    polys: dict[Any, Poly]


def pieces(f: Callable[[int], Vector], lo: int, hi: int) -> list[Piece]:
    """Split [lo, hi] into pieces on which f is polynomial (degree <= DEGREE) in every component."""
    n = hi - lo + 1
    if n <= DIRECT:
        samples = {p: f(p) for p in range(lo, hi + 1)}
        keys = set().union(*samples.values())
        return [Piece(p, p, {k: [samples[p].get(k, Fraction(0))] for k in keys}) for p in range(lo, hi + 1)]
    fit_x = [round(i * (n - 1) / DEGREE) for i in range(DEGREE + 1)]
    check_x = sorted({(n - 1) // 7 + 1, (n - 1) // 2 + 1, n - 2 - (n - 1) // 5} - set(fit_x))[:CHECKS]
    samples = {x: f(lo + x) for x in fit_x + check_x}
    keys = set().union(*samples.values())
    polys = {k: fit_polynomial(fit_x, [samples[x].get(k, Fraction(0)) for x in fit_x]) for k in keys}
    if all(_evaluate(polys[k], x) == samples[x].get(k, Fraction(0)) for x in check_x for k in keys):
        return [Piece(lo, hi, polys)]
    mid = lo + n // 2
    return pieces(f, lo, mid - 1) + pieces(f, mid, hi)


def piecewise_sum(found: list[Piece], key: Any) -> Fraction:
    """sum over every step of one component."""
    return sum((polynomial_sum(p.polys.get(key, [Fraction(0)]), p.hi - p.lo + 1) for p in found), Fraction(0))


def sum_of_max(a: Poly, b: Poly, n: int) -> tuple[Fraction, Fraction]:
    """(sum of a where a >= b, sum of b where b > a) over x in 0..n-1, exactly."""
    diff = [x - y for x, y in zip(a + [Fraction(0)] * (len(b) - len(a)), b + [Fraction(0)] * (len(a) - len(b)))]
    cuts = sorted({0, n} | {c for c in _integer_crossings(diff, n) if 0 < c < n})
    total_a = total_b = Fraction(0)
    for start, end in zip(cuts, cuts[1:]):
        shifted_a, shifted_b = _shift(a, start), _shift(b, start)
        if _evaluate(diff, start) >= 0:
            total_a += polynomial_sum(shifted_a, end - start)
        else:
            total_b += polynomial_sum(shifted_b, end - start)
    return total_a, total_b


def _shift(poly: Poly, s: int) -> Poly:
    """Coefficients of poly(x + s) in x."""
    out = [Fraction(0)] * len(poly)
    for k, c in enumerate(poly):
        for j in range(k + 1):
            out[j] += c * math.comb(k, j) * s ** (k - j)
    return out


def _integer_crossings(diff: Poly, n: int) -> set[int]:
    """Integers x where the sign of diff (diff(x) >= 0 or not) differs from x - 1, for 0 < x < n."""
    found: set[int] = set()
    stack = [(0, n - 1)]
    while stack:  # bisection on sign changes; a polynomial of degree <= 3 has at most 3 of them
        a, b = stack.pop()
        if b - a < 1:
            continue
        sa, sb = _evaluate(diff, a) >= 0, _evaluate(diff, b) >= 0
        if b - a == 1:
            if sa != sb:
                found.add(b)
            continue
        m = (a + b) // 2
        if sa != sb or _turns(diff, a, b):
            stack += [(a, m), (m, b)]
    return found


def _turns(diff: Poly, a: int, b: int) -> bool:
    """Whether diff may change sign twice inside (a, b): its derivative changes sign there."""
    deriv = [k * c for k, c in enumerate(diff)][1:]
    if len(deriv) <= 1:
        return False
    return (_evaluate(deriv, a) >= 0) != (_evaluate(deriv, b) >= 0) or (len(deriv) > 2 and _turns(deriv, a, b))


@dataclass
class Generation:
    """Closed-form cost of prefill plus decode steps: totals, per-row times, and phase times."""

    prompt: int
    new_tokens: int
    batch: int
    totals: dict[str, Fraction]  # prefill + every decode step
    prefill_totals: dict[str, Fraction]
    pieces: int  # polynomial pieces the decode steps split into
    rows: dict[str, RowTime] | None = None  # whole generation, per breakdown path
    ttft_s: Fraction | None = None
    decode_s: Fraction | None = None

    @property
    def decode_tokens_per_s(self) -> Fraction | None:
        if not self.decode_s:
            return None
        return self.batch * self.new_tokens / self.decode_s


METRICS = ("flops", "bytes_read", "bytes_written")


def generation_cost(step: Callable[[int, int], Any], *, prompt: int, new_tokens: int, batch: int, hardware: Any = None,
                    efficiency: Efficiency = Efficiency()) -> Generation:
    """Price prefill + `new_tokens` decode steps; `step(seq_len, past_len)` returns a Prediction."""
    prefill = step(prompt, 0)
    prefill_own, children = own_costs(prefill)
    prefill_totals = {m: Fraction(prefill.totals[m]) for m in METRICS if isinstance(prefill.totals.get(m), (int, Fraction))}

    def vector(p: int) -> Vector:
        prediction = step(1, p)
        own, kids = own_costs(prediction)
        for path, child_list in kids.items():  # rows can appear with the cache length (a mask once a window fills)
            known = children.setdefault(path, [])
            known += [c for c in child_list if c not in known]
        out: Vector = {("total", m): Fraction(prediction.totals[m]) for m in METRICS if isinstance(prediction.totals.get(m), (int, Fraction))}
        for path, (flops, moved) in own.items():
            out[("flops", path)], out[("bytes", path)] = flops, moved
        return out

    found = pieces(vector, prompt, prompt + new_tokens - 1) if new_tokens else []
    totals = {m: v + piecewise_sum(found, ("total", m)) for m, v in prefill_totals.items()}
    result = Generation(prompt, new_tokens, batch, totals, prefill_totals, len(found))
    if hardware is None:
        return result
    peak, bandwidth = peak_and_bandwidth(hardware, prefill.workload.dtype, efficiency)
    paths = set(prefill_own) | {key[1] for piece in found for key in piece.polys if key[0] == "flops"}
    decode_parts: dict[str, tuple[Fraction, Fraction]] = {}
    for path in paths:
        compute_t = memory_t = Fraction(0)
        for piece in found:
            flops = [c / peak for c in piece.polys.get(("flops", path), [Fraction(0)])]
            moved = [c / bandwidth for c in piece.polys.get(("bytes", path), [Fraction(0)])]
            a, b = sum_of_max(flops, moved, piece.hi - piece.lo + 1)
            compute_t, memory_t = compute_t + a, memory_t + b
        decode_parts[path] = (compute_t, memory_t)

    def prefill_time(path: str) -> tuple[Fraction, Fraction]:
        flops, moved = prefill_own.get(path, (Fraction(0), Fraction(0)))
        c, m = flops / peak, moved / bandwidth
        return (c, Fraction(0)) if c >= m else (Fraction(0), m)

    def whole_time(path: str) -> tuple[Fraction, Fraction]:
        pc, pm = prefill_time(path)
        dc, dm = decode_parts.get(path, (Fraction(0), Fraction(0)))
        return pc + dc, pm + dm

    own_all = {p: (Fraction(0), Fraction(0)) for p in paths | set(children)}
    for path in own_all:
        pf, pb = prefill_own.get(path, (Fraction(0), Fraction(0)))
        own_all[path] = (pf + piecewise_sum(found, ("flops", path)), pb + piecewise_sum(found, ("bytes", path)))
    result.rows = times_from_own(own_all, children, whole_time)
    result.ttft_s = times_from_own(own_all, children, prefill_time)[""].time_s
    result.decode_s = result.rows[""].time_s - result.ttft_s
    return result
