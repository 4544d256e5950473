"""`sweep()`: one prediction per workload of a grid, as rows (lists and ranges welcome)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import TOTAL_METRICS, Prediction, predict
from lm_predictor.rules.library import RuleLibrary, UserRules

WORKLOAD_KEYS = ("batch", "seq_len", "past_len", "dtype")


def row_of(prediction: Prediction) -> dict[str, Any]:
    """One flat row: the workload, then every total metric (None where the rule does not model it)."""
    w, totals = prediction.workload, prediction.totals
    row: dict[str, Any] = {"batch": w.batch, "seq_len": w.seq_len, "past_len": w.past_len, "dtype": w.dtype}
    row.update({m: _plain(totals.get(m)) for m in TOTAL_METRICS})  # never reads .modules (lazy rows stay unbuilt)
    row["trust"] = prediction.trust.level if prediction.trust else None
    return row


def _plain(value: Any) -> Any:
    """A JSON-able exact value: ints stay ints; a fraction becomes '7/2'."""
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)


@dataclass
class SweepResult:
    """The predictions of a sweep and their rows; iterate it for the rows."""

    predictions: list[Prediction]
    rows: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.rows = [row_of(p) for p in self.predictions]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    @property
    def columns(self) -> list[str]:
        """Workload keys, then the metrics some row has a value for, then trust."""
        metrics = [m for m in TOTAL_METRICS if any(r[m] is not None for r in self.rows)]
        return [*WORKLOAD_KEYS, *metrics, "trust"]

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (pandas is optional: `pip install pandas`)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("SweepResult.to_pandas() needs pandas, which lmpredict does not depend on: pip install pandas") from None
        return pandas.DataFrame([{c: r[c] for c in self.columns} for r in self.rows], columns=self.columns)


def _values(name: str, value: Any) -> list:
    """A workload argument as the list of values to sweep; a bare value is a list of one."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple, range)):
        values = list(value)
        if not values:
            raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=f"{name} is empty; give at least one value"))
        return values
    raise LmPredictorError(d.make(d.C_WORKLOAD, None, detail=f"{name} must be a value, a list or a range, got {type(value).__name__}"))


def sweep(
    config: str | Path | dict,
    *,
    batch: int | Sequence[int] | range = 1,
    seq_len: int | Sequence[int] | range = 128,
    past_len: int | Sequence[int] | range = 0,
    dtype: str | Sequence[str] = "float32",
    library: RuleLibrary | UserRules | None = None,
    breakdown: bool = False,
    transformers: str | None = None,
) -> SweepResult:
    """Predict every workload of the grid batch x seq_len x past_len x dtype (in that order).

    Each workload argument is one value, a list or a range, e.g.
    `sweep("llama-2-7b", seq_len=range(128, 4097, 128), batch=[1, 8])`. Returns a SweepResult:
    iterate it for one dict per workload, or call `.to_pandas()`. Bad input raises
    LmPredictorError, as predict() does. `transformers` picks the pin, as in predict().
    """
    grid: Iterable[tuple] = itertools.product(*(_values(k, v) for k, v in zip(WORKLOAD_KEYS, (batch, seq_len, past_len, dtype))))
    return SweepResult([predict(config, library=library, breakdown=breakdown, transformers=transformers, **dict(zip(WORKLOAD_KEYS, w))) for w in grid])
