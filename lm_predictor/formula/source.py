"""Mapping formula offsets back to file positions, so diagnostics point into the YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from lm_predictor.diagnostics import Location


@dataclass(frozen=True)
class Origin:
    """Where a formula's text came from: a path and the file position of each character.

    `offsets` maps a character offset of the formula to (line, column) in the file; when a
    YAML scalar was folded or escaped, unknown positions fall back to the scalar's start.
    """

    path: str
    start_line: int = 1
    start_column: int = 1
    file_lines: tuple[str, ...] = ()
    offsets: tuple[tuple[int, int], ...] | None = None
    resolve_offsets: Callable[[], tuple[tuple[int, int], ...]] | None = field(default=None, compare=False, repr=False)
    """Computes `offsets` on first use: most formulas never need a location."""

    def locate(self, text: str, offset: int) -> tuple[Location, str | None]:
        """File location and source line of a character offset into `text`."""
        if self.offsets is None and self.resolve_offsets is not None:
            object.__setattr__(self, "offsets", self.resolve_offsets())
        if self.offsets is not None and 0 <= offset < len(self.offsets):
            line, column = self.offsets[offset]
        elif self.offsets is not None:
            line, column = self.start_line, self.start_column
        else:
            before = text[:offset]
            line_in = before.count("\n")
            column_in = offset - (before.rfind("\n") + 1)
            line = self.start_line + line_in
            column = (self.start_column if line_in == 0 else 1) + column_in
        source_line = None
        if self.file_lines and 1 <= line <= len(self.file_lines):
            source_line = self.file_lines[line - 1]
        elif not self.file_lines:
            lines = text.split("\n")
            idx = line - self.start_line
            if 0 <= idx < len(lines):
                source_line = lines[idx]
        return Location(self.path, line, column), source_line


FORMULA_ORIGIN = Origin("<formula>")
