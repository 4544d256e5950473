"""Progress lines for long commands, on stderr: on a terminal, or when --progress asks."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import IO, Iterator

HEARTBEAT_SECONDS = 15.0
"""A step still running after this long says so again (and again), with the time spent."""


class Progress:
    """`with progress.step("measuring ..."):` prints the step, a heartbeat, and its time."""

    def __init__(self, prog: str, enabled: bool | None = None, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self.prog = prog
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def say(self, text: str) -> None:
        if self.enabled:
            print(f"{self.prog}: {text}", file=self.stream, flush=True)

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        start = time.monotonic()
        self.say(f"{text} ...")
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_SECONDS):
                self.say(f"{text}: still running ({time.monotonic() - start:.0f} s)")

        thread = threading.Thread(target=beat, daemon=True) if self.enabled else None
        if thread is not None:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join()
        self.say(f"{text}: done in {time.monotonic() - start:.1f} s")
