"""What `lmpredict compile` generates: rule files -> {relative output path: file text}, in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from lm_predictor.codegen import naming
from lm_predictor.codegen.emitter import CodegenError, analyse, emit_module, emit_package_marker
from lm_predictor.codegen.header import sha256_text
from lm_predictor.diagnostics import LmPredictorError, Severity
from lm_predictor.engine.frame import ensure_recursion_headroom
from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import RuleLibrary, rule_files
from lm_predictor.rules.model import Rule


@dataclass(frozen=True)
class Source:
    """One rule file to compile: its path as the library knows it and its path under its root."""

    path: str
    relpath: str

    @property
    def module_parts(self) -> list[str]:
        return naming.module_parts(self.relpath)

    @property
    def output(self) -> str:
        return "/".join(self.module_parts) + ".py"


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def sources_for(paths: Iterable[str | Path]) -> list[Source]:
    """Rule files under `paths`, each with its path relative to the directory given (or to rules/)."""
    found: dict[str, Source] = {}
    shipped = rules_dir()
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            for file in rule_files([root]):
                found.setdefault(str(file), Source(str(file), _relative(file, root) or file.name))
        else:
            rel = _relative(root, shipped) or root.name
            found.setdefault(str(root), Source(str(root), rel))
    return list(found.values())


def load_for_compile(paths: Sequence[str | Path], *, with_library: bool = True) -> RuleLibrary:
    """The rules under `paths`, plus the shipped library to resolve calls; errors raise."""
    targets = rule_files(paths)
    library = RuleLibrary()
    for path in targets:
        library.load_file(path)
    errors = [x for x in library.diagnostics if x.severity is Severity.ERROR]
    if errors:
        raise LmPredictorError(errors)
    if with_library:
        target_set = {p.resolve() for p in targets}
        context = RuleLibrary()
        for path in rule_files([rules_dir()]):
            if path.resolve() not in target_set:
                context.load_file(path)
        for rule in context:
            if library.get(rule.name) is None and not any(library.get(a) for a in rule.aliases):
                library.add(rule)
        library.files.update({k: v for k, v in context.files.items() if k not in library.files})
    return library


def rules_by_file(library: RuleLibrary) -> dict[str, list[Rule]]:
    """Rules grouped by the file that defines them, in file order."""
    grouped: dict[str, list[Rule]] = {}
    for rule in library:
        grouped.setdefault(rule.location.path, []).append(rule)
    return grouped


def plan(library: RuleLibrary, sources: Sequence[Source]) -> dict[str, str]:
    """{output path relative to the output directory: text} for every source, plus package markers."""
    ensure_recursion_headroom()  # the emitter recurses over formula ASTs (nesting up to MAX_NESTING_DEPTH)
    idents = naming.assign_identifiers(rule.name for rule in library)
    analysis = analyse(library, idents)
    grouped = rules_by_file(library)
    outputs: dict[str, str] = {}
    owners: dict[str, str] = {}
    for source in sorted(sources, key=lambda s: s.relpath):
        if source.path not in library.files:
            continue
        out = source.output
        if out in owners:
            raise CodegenError(f"{source.relpath} and {owners[out]} would both generate {out}; rename one")
        owners[out] = source.relpath
        text = library.files[source.path]
        outputs[out] = emit_module(library, idents, grouped.get(source.path, []), source_sha=sha256_text(text), relpath=source.relpath, analysis=analysis)
    marker = emit_package_marker()
    for out in list(outputs):
        parts = out.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            init = "/".join(parts[:i]) + "/__init__.py"
            if init[: -len("/__init__.py")] + ".py" in outputs:
                raise CodegenError(f"{init[: -len('/__init__.py')]} is both a module and a package; rename a rule file")
            outputs.setdefault(init, marker)
    return dict(sorted(outputs.items()))


def generated_root() -> Path:
    """The directory of the `generated_modules` package (checkout or installed)."""
    import importlib.util

    spec = importlib.util.find_spec("generated_modules")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    from lm_predictor.resources import repo_root

    return repo_root() / "generated_modules"
