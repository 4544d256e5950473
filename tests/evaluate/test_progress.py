"""The progress line: shown on a terminal after the delay, never on a pipe or for a quick step."""

from __future__ import annotations

import io
import threading

from lm_predictor.evaluate.progress import progress_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_slow_step_on_a_terminal_shows_the_line_then_erases_it() -> None:
    out = Terminal()
    release = threading.Event()
    with progress_line("deriving rules", stream=out, delay=0.0):
        release.wait(0.3)  # the step: long enough for the first refresh
    text = out.getvalue()
    assert "\rderiving rules ... " in text and " s" in text
    assert text.endswith("\r")  # the line is blanked at the end
    assert text.rstrip("\r").rsplit("\r", 1)[-1].strip() == ""


def test_a_quick_step_shows_nothing() -> None:
    out = Terminal()
    with progress_line("deriving rules", stream=out, delay=60.0):
        pass
    assert out.getvalue() == ""


def test_a_pipe_never_sees_the_line() -> None:
    out = io.StringIO()  # isatty() is False
    with progress_line("deriving rules", stream=out, delay=0.0):
        threading.Event().wait(0.3)
    assert out.getvalue() == ""
