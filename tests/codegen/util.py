"""Helpers for codegen tests: compile rule files into a directory and load them."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from lm_predictor.codegen.build import load_for_compile, plan, sources_for
from lm_predictor.codegen.runtime import Backend, GeneratedSet
from lm_predictor.codegen.writer import write_generated
from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import RuleLibrary


def compile_rules(paths: Sequence[str | Path], out: Path, *, with_library: bool = False) -> RuleLibrary:
    """Compile the rule files under `paths` into `out`; returns the library compiled."""
    library = load_for_compile([str(p) for p in paths], with_library=with_library)
    for rel, text in plan(library, sources_for([str(p) for p in paths])).items():
        write_generated(out / rel, text, durable=False)
    return library


@lru_cache(maxsize=1)
def compiled_library() -> tuple[RuleLibrary, Path]:
    """The shipped library compiled once per test session into a temporary directory."""
    out = Path(tempfile.mkdtemp(prefix="lmpredict-test-generated-"))
    atexit.register(shutil.rmtree, out, True)
    return compile_rules([rules_dir()], out), out


def backend(library: RuleLibrary, out: Path) -> Backend:
    return Backend(library, GeneratedSet(library, out))


def library_from_yaml(directory: Path, text: str, name: str = "rules.yaml") -> RuleLibrary:
    """A library from one YAML rule file written under `directory`; loading must be clean."""
    from lm_predictor.rules.library import load_library

    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    library = load_library([directory / name])
    assert not library.diagnostics, "\n".join(x.render() for x in library.diagnostics)
    return library
