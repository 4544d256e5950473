"""Predicted vs measured, per metric and per module path (torch-free)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lm_predictor.evaluate.predict import Prediction

_INDEX = re.compile(r"\.\d+(?=\.|$)")
COMPARED_TOTALS = ("flops", "param_count", "kv_cache_bytes", "bytes_read", "bytes_written")


@dataclass(frozen=True)
class Comparison:
    """One compared quantity: where, which metric, both values."""

    path: str
    metric: str
    predicted: object
    measured: int

    @property
    def exact(self) -> bool:
        return self.predicted == self.measured


def collapse_indices(path: str) -> str:
    """`model.layers.3.mlp` -> `model.layers.mlp`: ModuleList entries fold onto one path."""
    return _INDEX.sub("", path)


def aggregate(per_module: dict[str, int]) -> dict[str, int]:
    """Sum inclusive per-module values over ModuleList indices.

    A container that is itself a module (`model.layers`, a ModuleList) already includes its
    entries (`model.layers.0`, ...), so its own value wins over the sum of its entries.
    """
    totals: dict[str, int] = {}
    for path, value in per_module.items():
        key = collapse_indices(path)
        parent, _, last = path.rpartition(".")
        if last.isdigit() and parent in per_module:
            continue  # an entry of a container that is itself measured (also nested: layers.0.experts.3)
        totals[key] = totals.get(key, 0) + value
    return totals


def compare(
    prediction: Prediction,
    measured_totals: dict[str, int],
    module_flops: dict[str, int],
    module_params: dict[str, int],
    module_bytes: dict[str, dict[str, int]] | None = None,
) -> list[Comparison]:
    """Totals the rule defines, then every real module path that the prediction names."""
    rows = [
        Comparison("", metric, prediction.totals[metric], measured_totals[metric])
        for metric in COMPARED_TOTALS
        if metric in prediction.totals and metric in measured_totals
    ]
    flops, params = aggregate(module_flops), aggregate(module_params)
    bytes_by_metric = {
        metric: aggregate({path: values.get(metric, 0) for path, values in (module_bytes or {}).items()})
        for metric in ("bytes_read", "bytes_written")
    }
    modules = set(params) | set(flops)
    predicted = {row.path: row for row in prediction.modules}
    for path in sorted(modules - {""}):
        row = predicted.get(path)
        if row is None:
            if flops.get(path, 0) or params.get(path, 0):
                rows.append(Comparison(path, "flops" if flops.get(path, 0) else "param_count", None, flops.get(path, 0) or params.get(path, 0)))
            continue
        measured_here = {"flops": flops.get(path, 0), "param_count": params.get(path, 0)}
        if module_bytes is not None:
            measured_here.update({metric: per_metric.get(path, 0) for metric, per_metric in bytes_by_metric.items()})
        for metric, measured in measured_here.items():
            if metric in row.totals:
                rows.append(Comparison(path, metric, row.totals[metric], measured))
    return rows
