"""A rich Console that wraps to the terminal, and never when output goes to a file or a pipe."""

from __future__ import annotations

from typing import IO, Any

UNWRAPPED_WIDTH = 100_000
"""Width used off a terminal: lines are as long as their content, never wrapped or cut."""


def make_console(file: IO[str], **options: Any) -> Any:
    """A Console on `file`: terminal width and colour on a TTY, plain and unwrapped elsewhere."""
    from rich.console import Console

    console = Console(file=file, highlight=False, **options)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, width=UNWRAPPED_WIDTH, color_system=None, soft_wrap=True, **options)
    return console
