"""Find and read a model config: a file, a directory, a bundled name, or a cached hub id."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError, Location
from lm_predictor.limits import MAX_CONFIG_BYTES
from lm_predictor.resources import configs_dir


def _error(detail: str, path: str | None = None) -> LmPredictorError:
    return LmPredictorError(d.make(d.C_CONFIG, Location(path) if path else None, detail=detail))


def _hub_cache_dirs() -> list[Path]:
    """Local Hugging Face cache roots, in the order huggingface_hub consults them."""
    roots = []
    if os.environ.get("HF_HUB_CACHE"):
        roots.append(Path(os.environ["HF_HUB_CACHE"]))
    hf_home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    roots.append(hf_home / "hub")
    return roots


def _from_hub_cache(model_id: str) -> Path | None:
    """config.json of a hub model id from the local cache only (never the network)."""
    if model_id.count("/") != 1 or ".." in model_id:
        return None
    folder = "models--" + model_id.replace("/", "--")
    for root in _hub_cache_dirs():
        snapshots = root / folder / "snapshots"
        ref = root / folder / "refs" / "main"
        if ref.is_file():
            candidate = snapshots / ref.read_text(encoding="utf-8").strip() / "config.json"
            if candidate.is_file():
                return candidate
        if snapshots.is_dir():
            found = sorted(snapshots.glob("*/config.json"), key=lambda p: p.stat().st_mtime)
            if found:
                return found[-1]
    return None


def locate_config(spec: str) -> Path:
    """The config.json a CONFIG argument names."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        if (path / "config.json").is_file():
            return path / "config.json"
        raise _error(f"directory {spec} holds no config.json")
    bundled = configs_dir() / spec / "config.json"
    if "/" not in spec and bundled.is_file():
        return bundled
    cached = _from_hub_cache(spec)
    if cached is not None:
        return cached
    names = ", ".join(sorted(p.parent.name for p in configs_dir().glob("*/config.json")))
    raise _error(f"no config file, directory, bundled config or locally cached hub model named {spec!r} (bundled: {names})")


def read_config(path: Path) -> dict:
    """A config.json as a dict; one-line errors for anything that is not a JSON object."""
    name = str(path)
    try:
        raw = _read_regular_file(path, MAX_CONFIG_BYTES)
        text = raw.decode("utf-8-sig")
    except OSError as err:
        raise _error(f"cannot read: {err.strerror}", name) from None
    except UnicodeDecodeError as err:
        raise _error(f"not UTF-8 text (byte {err.start})", name) from None
    if not text.strip():
        raise _error("empty file; expected a JSON object", name)
    try:
        # Python's json semantics, which transformers reads with: `Infinity`, `-Infinity`, `NaN` and
        # out-of-range literals (1e400) are floats; fields the rules read are checked when bound.
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise LmPredictorError(d.make(d.C_CONFIG, Location(name, err.lineno, err.colno), detail=f"invalid JSON: {err.msg}")) from None
    except (ValueError, RecursionError) as err:
        raise _error(f"invalid JSON: {err}", name) from None
    if not isinstance(data, dict):
        raise _error(f"expected a JSON object, got {type(data).__name__}", name)
    return data


def _read_regular_file(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of a regular file; a pipe or device is refused without blocking."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _error("not a regular file", str(path))
        if info.st_size > limit:
            raise _error(f"file has {info.st_size} bytes; the limit is {limit}", str(path))
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:  # grew after fstat
        raise _error(f"file has more than {limit} bytes", str(path))
    return raw


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are all different (parsers disagree on which duplicate wins)."""
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def load_config(spec: str | Path | dict) -> tuple[dict, str]:
    """(config dict, where it came from) for a path, name, hub id, or an in-memory dict."""
    if isinstance(spec, dict):
        return dict(spec), "<dict>"
    path = locate_config(str(spec))
    return read_config(path), str(path)
