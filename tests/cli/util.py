"""Helpers for the CLI tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXTRA = """\
rules:
  my.Extra:
    params:
      n: int
    flops: 2 * ${n}
"""
"""A rule file that adds one rule the shipped library lacks."""


def load_script(name: str, folder: str = "scripts"):
    """A module of scripts/ (or bench/) by file (the repository root need not be on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{folder}_{name}", REPO / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
