"""On-disk cache of suggested rules, keyed by what they were derived from.

An entry records the source files it read (path, size, mtime, sha256), the analyser's own code
hash and the request (name, options, config specialisation). A lookup re-checks every file by
size and mtime, and re-hashes one whose stat changed: an edited source or analyser makes the
entry stale, and it is rebuilt. Entries are written atomically (temporary file, then rename);
an unreadable or corrupted entry (bad JSON, a text whose own hash does not match) is ignored and
rebuilt. This module imports neither astroid nor the interpreter, so a hit costs milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from lm_predictor.resources import user_cache_dir

FORMAT = 2
_CODE_HASH: str | None = None


def code_hash() -> str:
    """sha256 over the analyser's own sources (a changed brain invalidates every entry)."""
    global _CODE_HASH
    if _CODE_HASH is None:
        h = hashlib.sha256(str(FORMAT).encode())
        here = Path(__file__).resolve().parent
        for path in sorted(here.rglob("*.py")):
            h.update(path.relative_to(here).as_posix().encode())
            h.update(path.read_bytes())
        table = here.parent / "data" / "transformers_configs.json"
        if table.is_file():
            h.update(table.read_bytes())
        _CODE_HASH = h.hexdigest()
    return _CODE_HASH


def cache_dir(kind: str) -> Path:
    return user_cache_dir() / kind


def request_key(request: dict) -> str:
    payload = json.dumps({"request": request, "code": code_hash()}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:40]


def file_record(path: Path) -> dict:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime": st.st_mtime_ns, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _still_valid(records: list) -> bool:
    for rec in records:
        path = Path(rec["path"])
        try:
            st = path.stat()
        except OSError:
            return False
        if st.st_size == rec["size"] and st.st_mtime_ns == rec["mtime"]:
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != rec["sha256"]:
            return False
    return True


def load(kind: str, request: dict) -> dict | None:
    """The cached entry for a request, or None (missing, stale or corrupted)."""
    path = cache_dir(kind) / f"{request_key(request)}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or not isinstance(entry.get("text"), str):
        return None
    if hashlib.sha256(entry["text"].encode()).hexdigest() != entry.get("text_sha256"):
        return None  # corrupted on disk
    if not _still_valid(entry.get("files", [])):
        return None
    entry["cache_path"] = str(path)
    return entry


def store(kind: str, request: dict, text: str, files: list[Path], extra: dict | None = None) -> Path:
    """Write an entry atomically; returns its path."""
    directory = cache_dir(kind)
    directory.mkdir(parents=True, exist_ok=True)
    entry: dict[str, Any] = {
        "format": FORMAT,
        "request": request,
        "text": text,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "files": [file_record(p) for p in sorted(set(files)) if p.is_file()],
        **(extra or {}),
    }
    path = directory / f"{request_key(request)}.json"
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write a file through a temporary sibling and a rename (no half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
