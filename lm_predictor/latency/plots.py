"""Charts of predicted latency with matplotlib (the `plot` extra): roofline, context sweep, breakdown.

Each function takes already-computed predictions / latencies and returns a matplotlib Figure;
`save` writes it as PNG or SVG (by suffix) through a temporary file, so a failure never leaves a
half-written chart.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

FORMATS = (".png", ".svg")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def roofline_chart(prediction: Any, latency: Any, title: str) -> Any:
    """Each leaf row as a point: arithmetic intensity (FLOP/byte) vs attained FLOP/s, over the roof."""
    plt = _pyplot()
    hw, dtype = latency.hardware, prediction.workload.dtype
    peak, bandwidth = hw.peak_flops(dtype), hw.bandwidth
    fig, ax = plt.subplots(figsize=(8, 5.5))
    leaves = _leaves(latency)
    points = [(r.own_flops / r.own_bytes, r.own_flops / r.time_s, r.time_s, r.path) for r in leaves if r.own_flops and r.own_bytes and r.time_s]
    lo = min([float(p[0]) for p in points] + [0.1]) / 4
    hi = max([float(p[0]) for p in points] + [peak / bandwidth]) * 4
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.plot(xs, [min(peak, x * bandwidth) for x in xs], color="black", lw=1.5, label=f"{hw.name} roof ({dtype})")
    total = float(latency.time_s)
    labelled = sorted(points, key=lambda p: p[2], reverse=True)[:6]
    for ai, attained, t, path in points:
        ax.scatter(float(ai), float(attained), s=20 + 400 * float(t) / total, alpha=0.6)
    for n, (ai, attained, t, path) in enumerate(labelled):
        ax.annotate(f"{path.rsplit('.', 2)[-2] if path.count('.') > 1 else ''}.{path.rsplit('.', 1)[-1]} {float(t) / total:.0%}".lstrip("."),
                    (float(ai), float(attained)), fontsize=7, xytext=(-10, -14 - 10 * n), textcoords="offset points",
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "alpha": 0.5})
    memory_only = [r for r in leaves if not r.own_flops and r.own_bytes]
    if memory_only:
        share = float(sum(r.time_s for r in memory_only)) / total
        ax.text(0.02, 0.97, f"{len(memory_only)} rows move bytes with no FLOPs (norms, activations, copies):\n"
                f"{share:.0%} of the time, not drawn (intensity 0)", transform=ax.transAxes, fontsize=8, va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / byte)")
    ax.set_ylabel("attained FLOP/s (own flops / roofline time)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def _leaves(latency: Any) -> list[Any]:
    """Rows with no child rows: their time is their own."""
    parents = {path.rsplit(".", 1)[0] for path in latency.rows if "." in path}
    return [r for path, r in latency.rows.items() if path and path not in parents]


def context_chart(contexts: Sequence[int], series: dict[str, dict[str, list[float]]], memory_limits: dict[str, float], title: str) -> Any:
    """Decode time per token and memory (weights + KV cache) against context length, one line per GPU."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, values in series.items():
        left.plot(contexts, [v * 1e3 for v in values["time_s"]], marker="o", ms=3, label=name)
    first = next(iter(series.values()))
    right.plot(contexts, [v / 1e9 for v in first["memory_bytes"]], color="black", marker="o", ms=3, label="weights + KV cache")
    for n, (name, limit) in enumerate(memory_limits.items()):
        right.axhline(limit / 1e9, ls="--", lw=1, color=f"C{n}", label=f"{name} memory")
    left.set_xlabel("context length (tokens in the KV cache)")
    left.set_ylabel("decode time per step (ms)")
    right.set_xlabel("context length (tokens in the KV cache)")
    right.set_ylabel("memory (GB)")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def breakdown_chart(prediction: Any, latency: Any, depth: int, title: str) -> Any:
    """Horizontal bars: time of every row down to `depth`, split into compute- and memory-bound parts."""
    plt = _pyplot()
    rows = [(row.path, latency.rows[row.path]) for row in prediction.modules if row.depth <= depth and row.path in latency.rows
            and latency.rows[row.path].time_s * 500 >= latency.time_s]
    rows.reverse()
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    labels = [p for p, _ in rows]
    compute = [float(r.compute_bound_s) * 1e3 for _, r in rows]
    memory = [float(r.memory_bound_s) * 1e3 for _, r in rows]
    ax.barh(labels, compute, color="tab:blue", label="compute-bound")
    ax.barh(labels, memory, left=compute, color="tab:orange", label="memory-bound")
    ax.set_xlabel("roofline time (ms)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig: Any, path: str | Path) -> Path:
    """Write a figure as PNG or SVG (by suffix), atomically."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"output must end in {' or '.join(FORMATS)}, got {path.name!r}")
    fd, tmp = tempfile.mkstemp(prefix=".plot-", suffix=path.suffix, dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    try:
        fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=120)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a chart is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        _pyplot().close(fig)
    return path
