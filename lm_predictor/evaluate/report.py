"""Human output for predictions: humanised totals and a depth-limited module tree."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from lm_predictor.evaluate.predict import Prediction

SI = ("", "K", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q")
UNITS = {
    "flops": ("FLOPs", 1000, SI),
    "pointwise_ops": ("ops", 1000, SI),
    "param_count": ("params", 1000, ("", "K", "M", "B", "T")),
}
BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def humanise(metric: str, value: Any) -> str:
    """`1.70 TFLOPs`, `6.74 B params`, `512.00 MiB`; exact for small numbers."""
    if value is None:
        return "?"
    if isinstance(value, Fraction):
        value = float(value)
    if metric.endswith("bytes") or metric.startswith("bytes"):
        scaled, unit = float(value), 0
        while abs(scaled) >= 1024 and unit < len(BYTE_UNITS) - 1:
            scaled /= 1024
            unit += 1
        return f"{value} B" if unit == 0 else f"{scaled:.2f} {BYTE_UNITS[unit]}"
    name, base, prefixes = UNITS.get("flops" if metric.endswith("_flops") else metric, (metric, 1000, SI))
    scaled, unit = float(value), 0
    while abs(scaled) >= base and unit < len(prefixes) - 1:
        scaled /= base
        unit += 1
    if unit == 0:
        return f"{value} {name}"
    sep = " " if metric == "param_count" else " "
    return f"{scaled:.2f}{sep}{prefixes[unit]}{name}" if metric != "param_count" else f"{scaled:.2f} {prefixes[unit]} {name}"


DEFAULT_TREE_METRICS = ("flops", "param_count", "kv_cache_bytes")


def explains(note: str, metric: str) -> bool:
    """Whether a note names the metric as a whole word: `forward_peak_bytes` does not name `peak_bytes`."""
    return re.search(rf"(?<!\w){re.escape(metric)}(?!\w)", note) is not None


def render(prediction: Prediction, depth: int, console: Any, tree_metrics: tuple[str, ...] = DEFAULT_TREE_METRICS) -> None:
    """Print totals and the module tree with rich."""
    from rich.markup import escape
    from rich.table import Table
    from rich.tree import Tree

    w = prediction.workload
    console.print(f"[bold]{prediction.model}[/bold]  batch={w.batch} seq_len={w.seq_len} past_len={w.past_len} dtype={w.dtype}")
    console.print(f"config: {prediction.source}")
    console.print(f"transformers: {prediction.transformers.version} ({prediction.transformers.reason})")
    if prediction.trust is not None:
        console.print(f"trust: {prediction.trust}")
    table = Table(show_header=True, header_style="bold")
    exact = {m: f"{v:,}" if isinstance(v, int) else str(v) for m, v in prediction.totals.items()}
    table.add_column("metric", overflow="fold")
    table.add_column("value", justify="right")
    # on a narrow terminal a long exact value folds onto a second line; it is never cut to "…"
    table.add_column("exact", justify="right", overflow="fold")
    for metric, value in prediction.totals.items():
        table.add_row(metric, humanise(metric, value), exact[metric])
    for metric in prediction.unavailable:
        explained = any(explains(note, metric) for note in prediction.notes)
        table.add_row(metric, "[dim]unavailable: see the notes[/dim]" if explained else "[dim]not modelled by this rule[/dim]", "")
    console.print(table)
    metrics = [m for m in tree_metrics if m in prediction.totals]
    tree = Tree(f"[bold]{prediction.model.rsplit('.', 1)[-1]}[/bold]")
    nodes = {"": tree}
    for row in prediction.modules:
        if row.depth > depth:
            continue
        parent_path = row.path.rsplit(".", 1)[0] if "." in row.path else ""
        parent = nodes.get(parent_path)
        if parent is None:
            continue
        label = row.path.rsplit(".", 1)[-1]
        count = "" if row.count in (1, None) else f" ×{row.count}"
        if row.kinds:  # layers that differ: each kind with its count
            count += " \\[" + ", ".join(f"{escape(kind)} ×{n}" for kind, n in row.kinds) + "]"
        parts = []
        for metric in metrics:
            value = row.totals.get(metric)
            total = prediction.totals.get(metric)
            if value is None or not value:
                continue
            share = f" ({100 * float(value) / float(total):.1f}%)" if total else ""
            parts.append(f"{humanise(metric, value)}{share}")
        if not parts:
            continue  # nothing to show in the chosen metrics (e.g. mask building under --metrics flops)
        nodes[row.path] = parent.add(f"{label}{count} [dim]{row.rule.rsplit('.', 1)[-1]}[/dim]  " + "  ".join(parts))
    console.print(tree)
    for note in prediction.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
