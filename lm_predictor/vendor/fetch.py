"""Fetch the pinned torch / transformers wheels, check them against the lock file, extract sources.

Layout under the project root:
  third_party/sources.lock.json   pinned filename + sha256 per source (committed)
  .cache/vendor/<wheel>           downloaded wheels (git-ignored)
  third_party/<name>/<package>/   extracted *.py / *.pyi, plus a stamp file (git-ignored)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

LOCK_PATH = Path("third_party") / "sources.lock.json"
CACHE_DIR = Path(".cache") / "vendor"
STAMP = ".vendor-stamp.json"
DEFAULT_ROOT = Path(__file__).resolve().parents[2]

# What record_lock() pins: name -> (pip requirement, top-level package dir, suffixes to keep).
PINS: dict[str, tuple[str, str, list[str]]] = {
    "pytorch": ("torch==2.13.0", "torch", [".py", ".pyi"]),
    "transformers": ("transformers==4.56.0", "transformers", [".py", ".pyi"]),
    "transformers-5.23.0": ("transformers==5.23.0", "transformers", [".py", ".pyi"]),
}
"""The second transformers pin sits beside the first (docs/transformers-versions.md); the 4.56.0
tree keeps its original path, third_party/transformers."""


class VendorError(Exception):
    """A vendoring failure, with a one-line message."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_lock(root: Path) -> dict[str, dict[str, Any]]:
    """The `sources` table of the lock file under root."""
    path = root / LOCK_PATH
    try:
        sources = json.loads(path.read_text(encoding="utf-8"))["sources"]
    except FileNotFoundError:
        raise VendorError(f"no lock file at {path}") from None
    except (ValueError, KeyError, TypeError) as err:
        raise VendorError(f"unreadable lock file {path}: {err}") from None
    for name, entry in sources.items():
        missing = {"requirement", "filename", "sha256", "package", "suffixes"} - set(entry)
        if missing:
            raise VendorError(f"lock entry {name!r} lacks {', '.join(sorted(missing))}")
    return sources


def source_root(name: str, root: Path | None = None) -> Path:
    """Directory holding the extracted package of source `name`, e.g. third_party/pytorch.

    The package itself is one level down (third_party/pytorch/torch); the directory may not
    exist yet if vendor() has not run.
    """
    if not name or name != Path(name).name or name.startswith("."):
        raise VendorError(f"bad vendored source name {name!r}")
    return Path(root or DEFAULT_ROOT) / "third_party" / name


def _read_stamp(tree: Path) -> dict[str, Any] | None:
    """The stamp recorded in an extracted tree, if any."""
    try:
        return json.loads((tree / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _download(requirement: str, dest: Path) -> None:
    """Fetch one binary wheel into dest with the ordinary pip client."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise VendorError(f"pip download {requirement} failed: {last}")


def _fetch(root: Path, entry: dict[str, Any], offline: bool) -> tuple[Path, bool]:
    """Path of the verified wheel in the cache, and whether it was downloaded now."""
    wheel = root / CACHE_DIR / entry["filename"]
    downloaded = False
    if not wheel.exists():
        if offline:
            raise VendorError(f"{entry['filename']} is not in {root / CACHE_DIR} and offline is set")
        _download(entry["requirement"], wheel.parent)
        if not wheel.exists():
            raise VendorError(f"pip download {entry['requirement']} did not produce {entry['filename']} (other platform?)")
        downloaded = True
    actual = sha256_of(wheel)
    if actual != entry["sha256"]:
        raise VendorError(f"sha256 mismatch for {wheel.name}: expected {entry['sha256']}, got {actual}; refusing to extract")
    return wheel, downloaded


def _member_path(name: str, package: str, suffixes: list[str]) -> PurePosixPath | None:
    """The relative path to extract a wheel member to, or None to skip it."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] != package:
        return None
    return path if path.suffix in suffixes else None


def _extract(wheel: Path, entry: dict[str, Any], dest: Path) -> int:
    """Copy the wanted source files of wheel into dest; returns the file count."""
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            rel = _member_path(info.filename, entry["package"], entry["suffixes"])
            if rel is None:
                continue
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            count += 1
    if count == 0:
        raise VendorError(f"{wheel.name} has no {'/'.join(entry['suffixes'])} files under {entry['package']}/")
    return count


def _clear_leftovers(target: Path) -> None:
    """Remove temp trees a killed run left next to target; restore a swapped-out tree if target is gone."""
    for leftover in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for backup in sorted(target.parent.glob(f".{target.name}.old-*")):
        if not target.exists() and _read_stamp(backup / "tree") is not None:
            os.replace(backup / "tree", target)  # killed between the two renames of _install
        shutil.rmtree(backup, ignore_errors=True)


def _install(staged: Path, target: Path) -> None:
    """Move a complete staged tree into place, then drop the previous one."""
    if not target.exists():
        os.replace(staged, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, backup / "tree")
    os.replace(staged, target)
    shutil.rmtree(backup, ignore_errors=True)


def vendor_one(root: Path, name: str, entry: dict[str, Any], *, offline: bool = False) -> str:
    """Make third_party/<name> hold the sources of the locked wheel; returns one message."""
    target = source_root(name, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(target)
    stamp = _read_stamp(target)
    if stamp and stamp.get("sha256") == entry["sha256"] and (target / entry["package"]).is_dir():
        return f"{name}: up to date ({entry['filename']})"
    wheel, downloaded = _fetch(root, entry, offline)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    staged.chmod(0o755)  # mkdtemp makes it private; the installed tree should read like a checkout
    try:
        count = _extract(wheel, entry, staged)
        stamp = {"filename": entry["filename"], "requirement": entry["requirement"], "sha256": entry["sha256"], "files": count}
        (staged / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        _install(staged, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    how = "downloaded and extracted" if downloaded else "extracted"
    return f"{name}: {how} {count} files from {entry['filename']} into {target.relative_to(root)}"


def vendor(root: Path, *, offline: bool = False) -> list[str]:
    """Vendor every locked source under root; returns one message per source."""
    root = Path(root)
    return [vendor_one(root, name, entry, offline=offline) for name, entry in sorted(load_lock(root).items())]


def record_lock(root: Path | None = None) -> Path:
    """Download the PINS wheels and (re)write the lock file with their filenames and sha256."""
    root = Path(root or DEFAULT_ROOT)
    cache = root / CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    sources = {}
    for name, (requirement, package, suffixes) in sorted(PINS.items()):
        with tempfile.TemporaryDirectory(prefix=".record-", dir=cache) as tmp:
            _download(requirement, Path(tmp))  # a fresh dir, so the one wheel there is pip's answer
            wheels = sorted(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise VendorError(f"pip download {requirement} gave {len(wheels)} wheels, expected 1")
            wheel = cache / wheels[0].name
            os.replace(wheels[0], wheel)
        sources[name] = {
            "filename": wheel.name,
            "package": package,
            "requirement": requirement,
            "sha256": sha256_of(wheel),
            "suffixes": suffixes,
        }
    lock = root / LOCK_PATH
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"sources": sources}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return lock


def main(argv: list[str] | None = None) -> int:
    """`python -m lm_predictor.vendor.fetch [--offline] [--record-lock] [--root DIR]`."""
    parser = argparse.ArgumentParser(description="Fetch and extract the pinned torch / transformers sources.")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--offline", action="store_true", help="use only wheels already in .cache/vendor")
    parser.add_argument("--record-lock", action="store_true", help="rewrite third_party/sources.lock.json from pip")
    args = parser.parse_args(argv)
    try:
        if args.record_lock:
            print(f"wrote {record_lock(args.root)}")
        for message in vendor(args.root, offline=args.offline):
            print(message)
    except VendorError as err:
        print(f"vendor: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
