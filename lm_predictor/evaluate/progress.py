"""A progress line for slow steps on a terminal: `deriving rules for X ... 3.2 s`.

Shown on stderr only when stderr is a terminal and the step has run longer than DELAY_SECONDS;
erased when the step ends, so pipes, files, --json and tests never see it.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

DELAY_SECONDS = 1.0
"""A step faster than this shows nothing."""

REFRESH_SECONDS = 0.25


@contextmanager
def progress_line(message: str, stream: TextIO | None = None, delay: float = DELAY_SECONDS) -> Iterator[None]:
    """While the body runs: after `delay` seconds, `message ... N.N s` on one rewritten line."""
    stream = stream if stream is not None else sys.stderr
    if not _is_terminal(stream):
        yield
        return
    done = threading.Event()
    shown = threading.Event()
    start = time.monotonic()

    def tick() -> None:
        if done.wait(delay):
            return
        while True:
            _write(stream, f"\r{message} ... {time.monotonic() - start:.1f} s")
            shown.set()
            if done.wait(REFRESH_SECONDS):
                return

    thread = threading.Thread(target=tick, name="lmpredict-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if shown.is_set():
            _write(stream, "\r" + " " * (len(message) + 16) + "\r")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass
