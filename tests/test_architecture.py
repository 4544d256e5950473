"""The package's shape, read from the source with `ast`: data flows one way, modules stay small.

The import graph of `lm_predictor/` counts every import, at module level and inside functions
(a function-level import that closes a cycle is still a cycle). Importing `a.b.c` from outside
package `a.b` also imports `a.b/__init__.py` and `a/__init__.py`, so those are edges too.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lm_predictor"
MAX_MODULE_LINES = 800


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _absolute(importer: str, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, relative imports resolved against the importer."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every import in a module of the package."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, "", node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(name, node)
            out.extend((target, alias.name, node.lineno) for alias in node.names)
    return out


@lru_cache(maxsize=1)
def graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (with the packages whose __init__ that runs)."""
    known = modules()
    edges: dict[str, set[str]] = {m: set() for m in known}
    for name in known:
        for target, imported, _ in imports(name):
            if imported and f"{target}.{imported}" in known:
                target = f"{target}.{imported}"  # `from pkg import submodule`
            if target not in known:
                continue
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                step = ".".join(parts[:i])
                if step in known and step != name and not (name + ".").startswith(step + "."):
                    edges[name].add(step)
    return edges


def cycles(edges: dict[str, set[str]] | None = None) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted; the module graph by default."""
    edges = graph() if edges is None else edges
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles() == []


def stage_edges() -> dict[str, set[str]]:
    """The graph between the package's stages (its top-level packages and modules), the root left out."""
    def stage(name: str) -> str:
        return ".".join(name.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for name, targets in graph().items():
        for target in targets:
            if stage(name) != stage(target) and "." in name and "." in target:
                edges.setdefault(stage(name), set()).add(stage(target))
    return edges


def test_the_stages_import_one_way() -> None:
    """No two stages import each other, even through different modules (evaluate calls suggest, never back)."""
    edges = stage_edges()
    assert cycles(edges) == []
    assert "lm_predictor.evaluate" not in edges.get("lm_predictor.suggest", set())


def test_no_private_name_is_imported_from_another_module() -> None:
    bad = []
    for name in modules():
        for target, imported, line in imports(name):
            if imported.startswith("_") and not imported.startswith("__") and target.startswith("lm_predictor"):
                bad.append(f"{modules()[name].relative_to(PACKAGE.parent)}:{line}: from {target} import {imported}")
    assert bad == []


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


# ------------------------------------------------------------------ the checks can fail


def test_a_function_level_import_closing_a_loop_is_a_cycle(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "lm_predictor"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "one.py").write_text("from lm_predictor.a import two\n")
    (pkg / "a" / "two.py").write_text("def f():\n    from lm_predictor.a.one import g\n    from lm_predictor.a.one import _h\n")
    (pkg / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", pkg)
    modules.cache_clear()
    graph.cache_clear()
    try:
        assert cycles() == [["lm_predictor.a.one", "lm_predictor.a.two"]]
        assert cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == [["x", "y", "z"]]
        assert graph()["lm_predictor.a.one"] == {"lm_predictor.a.two"}  # inside its own package: no edge to a/__init__
        assert not _passes(test_no_private_name_is_imported_from_another_module)
        assert not _passes(test_no_module_is_over_the_size_limit)
    finally:
        modules.cache_clear()
        graph.cache_clear()


def _passes(check) -> bool:
    try:
        check()
    except AssertionError:
        return False
    return True
