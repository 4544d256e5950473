"""Name resolution through a module's own imports, inside the transformers tree only.

No astroid inference: a module's top-level statements give a symbol table; `from ..x import y`
is resolved by turning the relative import into a module path of the same tree and looking `y`
up there (following re-exports). Names from other packages (torch, math, typing, ...) become
`External` qualified names, which the brains' tables map to rules.
"""

from __future__ import annotations

from astroid import nodes

from lm_predictor.suggest.sources import ParsedModule, SourceTree


def module_symbols(pm: ParsedModule) -> dict:
    """name -> defining node for the module's top level (looking into if/try blocks)."""
    if pm.symbols:
        return pm.symbols
    table: dict = {}
    fallback: dict = {}

    def visit(stmts, into: dict) -> None:
        for stmt in stmts:
            if isinstance(stmt, (nodes.ClassDef, nodes.FunctionDef)):
                into[stmt.name] = stmt
            elif isinstance(stmt, nodes.ImportFrom):
                for name, asname in stmt.names:
                    if name != "*":
                        into[asname or name] = stmt
            elif isinstance(stmt, nodes.Import):
                for name, asname in stmt.names:
                    into[asname or name.split(".")[0]] = stmt
            elif isinstance(stmt, (nodes.Assign, nodes.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, nodes.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, nodes.AssignName):
                        into[target.name] = stmt
            elif isinstance(stmt, nodes.If) and _absent_package_test(stmt.test):
                # `if is_xlstm_available(): from xlstm... import ... else: <the model's own definitions>`
                visit(stmt.orelse, into)
                visit(stmt.body, fallback)
            elif isinstance(stmt, nodes.If):
                # `if TYPE_CHECKING:` / `if is_torch_available():` - both arms define names
                visit(stmt.body, into)
                visit(stmt.orelse, fallback)
            elif isinstance(stmt, nodes.Try):
                visit(stmt.body, into)
                for handler in stmt.handlers:
                    visit(handler.body, fallback)
                visit(stmt.orelse, into)

    visit(pm.tree.body, table)
    for name, node in fallback.items():
        table.setdefault(name, node)
    pm.symbols = table
    return table


ABSENT_PACKAGES = frozenset({"is_xlstm_available"})
"""Optional packages the measured model runs without (the model then defines its own code in an else arm)."""


def _absent_package_test(test: nodes.NodeNG) -> bool:
    """Whether a module-level `if` tests for one of ABSENT_PACKAGES."""
    return isinstance(test, nodes.Call) and isinstance(test.func, nodes.Name) and test.func.name in ABSENT_PACKAGES


def star_imports(pm: ParsedModule) -> list:
    """`from x import *` statements of the module (for names not defined directly)."""
    found = []
    body = list(pm.tree.body)
    for stmt in pm.tree.body:  # a lazy package (`if TYPE_CHECKING: from .modeling_x import *`) names its modules there
        if isinstance(stmt, nodes.If) and stmt.test.as_string() == "TYPE_CHECKING":
            body += stmt.body
    for stmt in body:
        if isinstance(stmt, nodes.ImportFrom) and any(name == "*" for name, _ in stmt.names):
            found.append(stmt)
    return found


def absolute_module(pm: ParsedModule, node: nodes.ImportFrom) -> str:
    """The absolute module name an ImportFrom refers to."""
    level = node.level or 0
    if level == 0:
        return node.modname
    is_package = pm.path.name == "__init__.py"
    parts = pm.name.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    return f"{base}.{node.modname}" if node.modname else base


def find_public(tree: SourceTree, qualname: str) -> tuple[str, str] | None:
    """(defining module, name) for a public or defining dotted path of the tree.

    `transformers.models.llama.modeling_llama.LlamaAttention` (defining),
    `transformers.models.llama.LlamaAttention` (the model package), `transformers.LlamaModel`.
    """
    if "." not in qualname:
        return None
    modname, name = qualname.rsplit(".", 1)
    pm = tree.parse(modname)
    if pm is not None:
        symbols = module_symbols(pm)
        if name in symbols and isinstance(symbols[name], (nodes.ClassDef, nodes.FunctionDef, nodes.Assign)):
            return modname, name
        if name in symbols and isinstance(symbols[name], nodes.ImportFrom):
            target = absolute_module(pm, symbols[name])
            return find_public(tree, f"{target}.{_imported_name(symbols[name], name)}")
    # a model package: look into its modeling_* modules
    package_dir = tree.module_file(modname)
    if package_dir is not None and package_dir.name == "__init__.py":
        for child in sorted(package_dir.parent.glob("*.py")):
            if child.name == "__init__.py":
                continue
            sub = f"{modname}.{child.stem}"
            spm = tree.parse(sub)
            if spm is not None and isinstance(module_symbols(spm).get(name), (nodes.ClassDef, nodes.FunctionDef)):
                return sub, name
    if modname == "transformers":
        for child in sorted(tree.package_dir.glob("models/*/modeling_*.py")):
            text = child.read_text(encoding="utf-8")
            if f"\nclass {name}(" in text or f"\ndef {name}(" in text:
                rel = child.relative_to(tree.package_dir).with_suffix("")
                return "transformers." + ".".join(rel.parts), name
        for child in sorted(tree.package_dir.glob("*.py")):
            text = child.read_text(encoding="utf-8")
            if f"\nclass {name}(" in text or f"\ndef {name}(" in text:
                return f"transformers.{child.stem}", name
    return None


def _imported_name(node: nodes.ImportFrom, local: str) -> str:
    for name, asname in node.names:
        if (asname or name) == local:
            return name
    return local
