"""The names a pinned transformers accepts for a config string, read from its vendored source with `ast`.

ROPE_INIT_FUNCTIONS (rope types), ACT2CLS (activations) and the attention registry
(`_global_mapping`) are dict literals in the pin's source. scripts/gen_accepted_names.py writes
their keys to lm_predictor/data/accepted_names.json, which eval's config checks read (so they never
depend on third_party being present); tests/data/test_accepted_names.py checks that file against
this reader wherever the pinned source is vendored.
"""

from __future__ import annotations

import ast
from pathlib import Path

from lm_predictor.vendor.fetch import DEFAULT_ROOT

TABLES = {
    "rope_types": ("modeling_rope_utils", "ROPE_INIT_FUNCTIONS"),
    "activations": ("activations", "ACT2CLS"),
    "attention": ("modeling_utils", "_global_mapping"),
}
"""Table name -> (module of transformers, the dict literal whose string keys it lists)."""


def source_file(source_name: str, module: str, root: Path | None = None) -> Path | None:
    """The vendored `third_party/<source_name>/transformers/<module>.py`, or None where it is absent."""
    path = (root or DEFAULT_ROOT) / "third_party" / source_name / "transformers" / f"{module}.py"
    return path if path.is_file() else None


def dict_keys(path: Path, name: str) -> list[str] | None:
    """The string keys of the dict literal assigned to `name` in a source file (at module or class
    level: `_global_mapping`), sorted, or None where the assignment is absent."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name) and target.id == name and isinstance(node.value, ast.Dict):
            return sorted(k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return None


def accepted_names(source_name: str, root: Path | None = None) -> dict[str, list[str]] | None:
    """Every table of one vendored pin, or None where its source (or one of the dicts) is absent."""
    out = {}
    for table, (module, name) in TABLES.items():
        path = source_file(source_name, module, root)
        keys = None if path is None else dict_keys(path, name)
        if keys is None:
            return None
        out[table] = keys
    return out
