"""Sweep rows (one per workload) as a table, JSON, CSV or Markdown."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable

from lm_predictor.evaluate.sweep import SweepResult


def _cell(value: Any) -> str:
    """Exact text: ints with thousands separators, None as blank."""
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def to_csv(result: SweepResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=result.columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows)
    return out.getvalue()


def to_markdown(result: SweepResult) -> str:
    columns = result.columns
    numeric = {c for c in columns if any(isinstance(r[c], int) for r in result.rows)}
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" if c in numeric else "---" for c in columns) + "|"]
    lines += ["| " + " | ".join(_cell(r[c]) for c in columns) + " |" for r in result.rows]
    return "\n".join(lines) + "\n"


def to_json(result: SweepResult) -> str:
    payload = [p.as_json() for p in result.predictions]
    return json.dumps(payload[0] if len(payload) == 1 else payload, indent=1) + "\n"


def to_table(result: SweepResult, console: Any) -> None:
    """One rich table, one row per workload; exact values, never cut."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for column in result.columns:
        numeric = any(isinstance(r[column], int) for r in result.rows)
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")  # fold, never cut
    for row in result.rows:
        table.add_row(*(_cell(row[c]) for c in result.columns))
    console.print(table)


TEXT_FORMATS: dict[str, Callable[[SweepResult], str]] = {"json": to_json, "csv": to_csv, "markdown": to_markdown}
