"""Atomic, checked writes of generated files: temp file, safety check, then os.replace.

A file that is already there is overwritten only if it is an unedited generated file (its body
still matches the body hash of its header) or with `force`. A reader never sees a half-written
file: the new text goes to a temporary file in the same directory, is checked by safety.py
after it was written, and replaces the old file in one rename.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lm_predictor.codegen import header, safety


class WriteRefused(Exception):
    """The target exists and is not an unedited generated file (use --force)."""


def existing_state(path: Path) -> str:
    """'missing', 'generated' (unedited), 'edited' (header, body changed) or 'foreign' (no header)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return "missing"
    try:
        return "generated" if header.body_intact(raw.decode("ascii")) else "edited"
    except (UnicodeDecodeError, header.HeaderError):
        return "foreign"


def write_generated(path: Path, text: str, *, force: bool = False, durable: bool = True) -> bool:
    """Write `text` to `path` atomically; False when the file already had exactly this text.

    `durable` fsyncs the file before the rename (off only for throw-away output in tests).
    """
    path = Path(path)
    data = text.encode("ascii")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    state = existing_state(path)
    if state == "edited" and not force:
        raise WriteRefused(f"{path}: edited by hand (body hash differs); use --force to overwrite")
    if state == "foreign" and not force:
        raise WriteRefused(f"{path}: not a file lmpredict generated; use --force to overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if path.suffix == ".py":
            safety.check_file(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


def remove_generated(path: Path, *, force: bool = False) -> None:
    """Delete a generated file that no rule file produces any more (refuses edited ones)."""
    state = existing_state(path)
    if state == "missing":
        return
    if state != "generated" and not force:
        raise WriteRefused(f"{path}: orphaned but {'edited by hand' if state == 'edited' else 'not generated'}; use --force to remove")
    os.unlink(path)
