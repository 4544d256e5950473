"""Exceptions of the runtime oracle, and one-line descriptions of what torch raised (torch-free)."""

from __future__ import annotations

import traceback
from pathlib import Path


class OracleUnsupported(Exception):
    """The model cannot be measured in the requested mode; the message is a one-line reason."""


class DecodeUnsupported(OracleUnsupported):
    """The model has no decode step to measure (it returns no cache, or raises in the cache it builds);
    a smaller config or real tensors would not change that."""


def _short(filename: str) -> str:
    """'.../transformers/models/gpt2/modeling_gpt2.py' -> 'transformers/models/gpt2/modeling_gpt2.py'."""
    parts = Path(filename).parts
    for root in ("transformers", "torch"):
        if root in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(root):])
    return Path(filename).name


def failing_op(err: BaseException) -> str:
    """Where `err` was raised: the innermost line of model source (the op it called), else the last frame."""
    frames = traceback.extract_tb(err.__traceback__)
    model = next((f for f in reversed(frames) if "/transformers/" in f.filename.replace("\\", "/")), None)
    if model is not None:
        return f"{_short(model.filename)}:{model.lineno} `{(model.line or model.name).strip()}`"
    return f"{_short(frames[-1].filename)}:{frames[-1].lineno} {frames[-1].name}()" if frames else "the oracle"


def one_line(err: BaseException) -> str:
    """'IndexError: index out of range in self' (first line of the message only)."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
