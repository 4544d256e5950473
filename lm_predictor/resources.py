"""Where the grammar, the rule library and the bundled configs live (checkout or wheel)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent
_BUNDLED = _PACKAGE_DIR / "_bundled"


def _data_dir(name: str) -> Path:
    """A top-level data directory of the checkout, else the copy shipped in the wheel."""
    in_checkout = _REPO_ROOT / name
    if in_checkout.is_dir() and (_REPO_ROOT / "pyproject.toml").is_file():
        return in_checkout
    return _BUNDLED / name


@lru_cache(maxsize=None)
def grammar_path() -> Path:
    return _data_dir("grammar") / "formula.lark"


@lru_cache(maxsize=None)
def rules_dir() -> Path:
    return _data_dir("rules")


@lru_cache(maxsize=None)
def configs_dir() -> Path:
    return _data_dir("configs")


def user_cache_dir() -> Path:
    """lmpredict's per-user cache ($LMPREDICT_CACHE, else $XDG_CACHE_HOME/lmpredict)."""
    if os.environ.get("LMPREDICT_CACHE"):
        return Path(os.environ["LMPREDICT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lmpredict"


def repo_root() -> Path:
    """The checkout root (meaningful for editable installs only)."""
    return _REPO_ROOT
