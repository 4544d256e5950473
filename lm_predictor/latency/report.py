"""Human output for latency: phase times, then a module tree with time, share and bound."""

from __future__ import annotations

from fractions import Fraction
from typing import Any


def seconds(value: Fraction | float) -> str:
    """`12.3 ms`, `845 µs`, `1.20 s`."""
    v = float(value)
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(v) >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v * 1e9:.3g} ns"


def render_latency(prediction: Any, latency: Any, depth: int, console: Any) -> None:
    """Roofline summary and the per-module time tree (rows under 0.05% of the step are hidden)."""
    from rich.tree import Tree

    w, hw, root = prediction.workload, latency.hardware, latency.rows[""]
    phase = "prefill (time to first token)" if w.past_len == 0 else "decode step"
    console.print(f"[bold]roofline on {hw.name}[/bold] ({hw.key}; {float(hw.peak_flops(w.dtype)) / 1e12:g} TFLOP/s {w.dtype}, "
                  f"{hw.memory_bandwidth_gbps:g} GB/s; attn={w.attn}; efficiency compute {float(latency.efficiency.compute):g}, memory {float(latency.efficiency.memory):g})")
    console.print(f"{phase}: [bold]{seconds(root.time_s)}[/bold]  = {seconds(root.compute_bound_s)} compute-bound + "
                  f"{seconds(root.memory_bound_s)} memory-bound;  {float(latency.tokens_per_s):,.1f} tokens/s")
    render_excess(prediction, latency, console)
    tree = Tree(f"[bold]{prediction.model.rsplit('.', 1)[-1]}[/bold]  {seconds(root.time_s)}")
    nodes = {"": tree}
    for row in prediction.modules:
        timed = latency.rows.get(row.path)
        if row.depth > depth or timed is None or not root.time_s or timed.time_s / root.time_s < Fraction(1, 2000):
            continue
        parent = nodes.get(row.path.rsplit(".", 1)[0] if "." in row.path else "")
        if parent is None:
            continue
        count = "" if row.count in (1, None) else f" ×{row.count}"
        share = 100 * float(timed.time_s / root.time_s)
        nodes[row.path] = parent.add(f"{row.path.rsplit('.', 1)[-1]}{count}  {seconds(timed.time_s)} ({share:.1f}%)  [dim]{timed.bound}-bound[/dim]")
    console.print(tree)
    for note in latency.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def render_excess(prediction: Any, latency: Any, console: Any, limit: int = 6) -> None:
    """The step against flops / peak, and the memory-bound rows that make the difference, largest first."""
    from lm_predictor.latency.roofline import excess, peak_and_bandwidth

    flops, root = prediction.totals.get("flops"), latency.rows[""]
    if not isinstance(flops, int) or isinstance(flops, bool) or not flops or not root.memory_bound_s:
        return
    peak, _ = peak_and_bandwidth(latency.hardware, prediction.workload.dtype, latency.efficiency)
    ideal = Fraction(flops) / peak
    rows = ", ".join(f"{path} {seconds(t)}" for path, t in excess(latency, limit))
    console.print(f"flops / peak = {seconds(ideal)}; this step is {float(root.time_s / ideal):.3f}x that. "
                  f"Memory-bound rows, largest first: {rows}")
