"""The call tree an evaluation records: which rule ran, with what, how often, for how much."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from lm_predictor.formula.values import Number, Value, arithmetic


@dataclass
class CallRecord:
    """One call site's result; `count` is its multiplicity within its parent (None: not additive)."""

    label: str
    rule: str
    metric: str
    bindings: dict[str, Value]
    value: Value
    children: list["CallRecord"] = field(default_factory=list)
    count: Number | None = 1

    def scale(self, factor: Number | None) -> None:
        """Multiply this record's count by `factor` (None makes it unknown)."""
        if self.count is None:
            return
        self.count = None if factor is None else arithmetic("*", self.count, factor)

    def walk(self, prefix: str = "") -> Iterator[tuple[str, "CallRecord"]]:
        """(path, record) for this record and all below it; paths join labels with dots."""
        path = f"{prefix}.{self.label}" if prefix else self.label
        yield path, self
        for child in self.children:
            yield from child.walk(path)
