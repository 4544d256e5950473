"""Where the analysed sources come from (pinned tree or installed packages), and parsing them.

Parsing uses astroid's tree rebuilder only. `AstroidBuilder.string_build` would also run the
post-build step, whose delayed attribute inference on every `self.x = ...` pulls in about 140
files of torch and transformers (19 s for modeling_llama.py on our machines). Rebuilding the
tree alone takes 0.15 s for that file. Names are then resolved by `resolve.py` through each
module's own imports, never by astroid inference, so nothing in torch is parsed at all.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from astroid import nodes

from lm_predictor.vendor.fetch import DEFAULT_ROOT, STAMP


SOURCES = ("pinned", "installed")


class SourceError(Exception):
    """The requested source tree is missing or unreadable (one-line message)."""


@dataclass(eq=False)
class ParsedModule:
    """One parsed source module; as an analysis value, the module used as a namespace (`modeling_utils.X`)."""

    name: str
    path: Path
    tree: nodes.Module
    digest: str
    symbols: dict = field(default_factory=dict)  # name -> defining node (filled by resolve.py)


@dataclass
class SourceTree:
    """Python sources of one transformers package (and, for torch names, a table instead)."""

    kind: str  # "pinned" | "installed"
    package_dir: Path  # .../transformers
    version: str
    modules: dict[str, ParsedModule] = field(default_factory=dict)
    parse_seconds: float = 0.0
    parse_count: int = 0

    @property
    def description(self) -> str:
        return f"transformers {self.version} ({self.kind}: {self.package_dir})"

    def module_file(self, modname: str) -> Path | None:
        """File of a `transformers.*` module in this tree, or None."""
        parts = modname.split(".")
        if not parts or parts[0] != "transformers":
            return None
        base = self.package_dir.joinpath(*parts[1:])
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py")
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
        return None

    def has_module(self, modname: str) -> bool:
        return self.module_file(modname) is not None

    def parse(self, modname: str) -> ParsedModule | None:
        """The astroid tree of a module (rebuilt once per process), or None when absent."""
        cached = self.modules.get(modname)
        if cached is not None:
            return cached
        path = self.module_file(modname)
        if path is None:
            return None
        return self.add_module(modname, path, path.read_bytes())

    def add_module(self, modname: str, path: Path, data: bytes) -> ParsedModule:
        """Parse a module's source into this tree (from its file, or a snippet given as bytes)."""
        from astroid.builder import AstroidBuilder

        text = data.decode("utf-8")
        t0 = time.perf_counter()
        builder = AstroidBuilder(_manager(), apply_transforms=False)
        tree, _ = builder._data_build(text, modname, str(path))  # no post-build: no inference
        self.parse_seconds += time.perf_counter() - t0
        self.parse_count += 1
        parsed = ParsedModule(modname, path, tree, hashlib.sha256(data).hexdigest())
        self.modules[modname] = parsed
        return parsed

    def digest(self, modnames: list[str]) -> str:
        """One hash over the given modules' file contents (what a cached result depends on)."""
        h = hashlib.sha256(self.version.encode())
        for name in sorted(set(modnames)):
            path = self.module_file(name)
            h.update(name.encode())
            h.update(hashlib.sha256(path.read_bytes()).digest() if path else b"-")
        return h.hexdigest()


_MANAGER = None


def _manager():
    global _MANAGER
    if _MANAGER is None:
        from astroid.manager import AstroidManager

        _MANAGER = AstroidManager()
    return _MANAGER


_TREES: dict[tuple[str, str], SourceTree] = {}


def open_tree(kind: str = "pinned", root: Path | None = None, version: str | None = None) -> SourceTree:
    """The transformers source tree to analyse: a pin's tree in third_party/ (`version`, default
    the active pin of lm_predictor.data.versions), or the installed package."""
    from lm_predictor.data.versions import PINS, active_pin

    if kind not in SOURCES:
        raise SourceError(f"unknown source {kind!r}; expected one of {', '.join(SOURCES)}")
    version = version or active_pin()
    key = (kind, str(root), version if kind == "pinned" else "")
    tree = _TREES.get(key)
    if tree is not None:
        return tree
    if kind == "pinned":
        base = Path(root or DEFAULT_ROOT) / "third_party" / PINS[version].source_name
        package_dir = base / "transformers"
        if not (package_dir / "__init__.py").is_file():
            raise SourceError(f"no pinned transformers sources in {base}; run `lmpredict vendor` first")
        version = _pinned_version(base)
    else:
        spec = importlib.util.find_spec("transformers")  # does not import the package
        if spec is None or not spec.origin:
            raise SourceError("transformers is not installed; use the pinned sources (`lmpredict vendor`)")
        package_dir = Path(spec.origin).parent
        try:
            version = importlib.metadata.version("transformers")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
    tree = SourceTree(kind, package_dir, version)
    _TREES[key] = tree
    return tree


def _pinned_version(base: Path) -> str:
    try:
        stamp = json.loads((base / STAMP).read_text(encoding="utf-8"))
        requirement = stamp.get("requirement", "")
        if "==" in requirement:
            return requirement.split("==", 1)[1]
    except (OSError, ValueError):
        pass
    init = base / "transformers" / "__init__.py"
    for line in init.read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "unknown"
