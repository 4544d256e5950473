"""`lmpredict compile`: deterministic, stable, atomic, never overwrites hand edits; freshness checks."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lm_predictor.cli.main import main
from lm_predictor.codegen import header, safety, writer
from lm_predictor.codegen.build import generated_root
from lm_predictor.codegen.freshness import check_generated
from lm_predictor.codegen.runtime import GeneratedSet
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.resources import rules_dir
from lm_predictor.rules.library import load_library
from lm_predictor.codegen.build import load_for_compile, plan, sources_for
from tests.codegen.util import backend, compile_rules, compiled_library

SMALL = """\
rules:
  demo.Linear:
    params:
      d_in: int
      d_out: int
      tokens: {type: int, optional: true}
      bias: {type: bool, default: true}
    flops: 2 * $tokens * $d_in * $d_out
    param_count: $d_in * $d_out + (if $bias then $d_out else 0)
  demo.Block:
    params:
      hidden: int
      tokens: int
      ratio: {type: int, default: 4}
    flops: "{up: demo.Linear}(d_in=$hidden, d_out=$ratio * $hidden, tokens) + {down: demo.Linear}(d_in=$ratio * $hidden, d_out=$hidden, tokens)"
    param_count: "{up: demo.Linear}(d_in=$hidden, d_out=$ratio * $hidden) + {down: demo.Linear}(d_in=$ratio * $hidden, d_out=$hidden)"
"""


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    (rules / "demo").mkdir(parents=True)
    (rules / "demo" / "layers.yaml").write_text(SMALL)
    return rules, tmp_path / "out"


PLAN_DIGEST = r"""
import hashlib, sys
from lm_predictor.codegen.build import load_for_compile, plan, sources_for
paths = [sys.argv[1]]
outputs = plan(load_for_compile(paths), sources_for(paths))
digest = hashlib.sha256()
for rel, text in outputs.items():
    digest.update(rel.encode() + b"\0" + text.encode() + b"\0")
print(len(outputs), digest.hexdigest())
"""


def plan_digest(outputs: dict[str, str]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for rel, text in outputs.items():
        digest.update(rel.encode() + b"\0" + text.encode() + b"\0")
    return f"{len(outputs)} {digest.hexdigest()}"


def test_compile_is_byte_identical_across_runs_and_processes(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir(), rules)  # a snapshot: other rule files may change meanwhile
    first = plan(load_for_compile([str(rules)]), sources_for([str(rules)]))
    second = plan(load_for_compile([str(rules)]), sources_for([str(rules)]))
    assert first == second and len(first) > 10
    env = dict(os.environ, PYTHONHASHSEED="12345")
    result = subprocess.run([sys.executable, "-c", PLAN_DIGEST, str(rules)], check=True, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == plan_digest(first)
    library, out = compiled_library()  # the files written are the planned text, byte for byte
    for rel, text in plan(library, sources_for([str(rules_dir())])).items():
        assert (out / rel).read_bytes() == text.encode("ascii")


def test_an_unrelated_rule_changes_no_existing_name(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir(), rules)

    def compile_now() -> dict[str, str]:
        return plan(load_for_compile([str(rules)]), sources_for([str(rules)]))

    def defs_of(text: str) -> set[str]:
        return {n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)}

    before = compile_now()
    # a new rule file: no existing file changes at all
    (rules / "extra").mkdir()
    (rules / "extra" / "ops.yaml").write_text("rules:\n  extra.ops.Thing:\n    params: {n: int}\n    flops: 3 * $n\n")
    after = compile_now()
    assert {k: v for k, v in after.items() if k in before} == before
    assert "extra/ops.py" in after
    # a new rule in an existing file: that module changes, but no existing function is renamed
    linear = rules / "torch" / "nn" / "modules" / "linear.yaml"
    linear.write_text(linear.read_text() + "\n  torch.nn.modules.linear.Bilinear2:\n    params: {n: int}\n    flops: $n\n")
    again = compile_now()
    for rel, text in before.items():
        assert defs_of(text) <= defs_of(again[rel]), rel


def test_cli_compile_check_and_hand_edits(small, capsys):
    rules, out = small
    assert main(["compile", str(rules), "-o", str(out)]) == 0
    assert main(["compile", str(rules), "-o", str(out)]) == 0
    assert "0 written" in capsys.readouterr().err
    assert main(["compile", str(rules), "-o", str(out), "--check"]) == 0
    module = out / "demo" / "layers.py"
    original = module.read_text()
    module.write_text(original.replace("raise h_Bail", "raise h_Bail  ", 1))
    assert main(["compile", str(rules), "-o", str(out), "--check"]) == 1
    assert "edited by hand" in capsys.readouterr().out
    assert main(["compile", str(rules), "-o", str(out)]) == 1  # refused
    assert "edited by hand" in capsys.readouterr().err
    assert module.read_text() != original
    assert main(["compile", str(rules), "-o", str(out), "--force"]) == 0
    assert module.read_text() == original


def test_a_foreign_file_is_never_overwritten_without_force(small):
    rules, out = small
    (out / "demo").mkdir(parents=True)
    (out / "demo" / "layers.py").write_text("print('mine')\n")
    assert main(["compile", str(rules), "-o", str(out)]) == 1
    assert (out / "demo" / "layers.py").read_text() == "print('mine')\n"


def test_writes_are_atomic(small, monkeypatch):
    rules, out = small
    compile_rules([rules], out)
    module = out / "demo" / "layers.py"
    before = module.read_bytes()

    def refuse(path):
        raise safety.UnsafeCode("injected failure")

    monkeypatch.setattr(safety, "check_file", refuse)
    with pytest.raises(safety.UnsafeCode):
        writer.write_generated(module, before.decode().replace("h_Bail", "h_Bail ", 1))
    assert module.read_bytes() == before
    assert [p.name for p in module.parent.iterdir() if p.name.startswith(".")] == []


def test_freshness_reports_every_kind_of_staleness(small):
    rules, out = small
    compile_rules([rules], out)
    assert check_generated(out, [rules]) == []
    rule_file = rules / "demo" / "layers.yaml"
    rule_file.write_text(SMALL.replace("ratio: {type: int, default: 4}", "ratio: {type: int, default: 8}"))
    found = check_generated(out, [rules])
    assert [x.code.code for x in found] == ["L014"] and "rule file changed" in found[0].message
    rule_file.write_text(SMALL)
    module = out / "demo" / "layers.py"
    module.write_text(module.read_text() + "\n")
    assert "edited by hand" in check_generated(out, [rules])[0].message
    module.unlink()
    assert "missing" in check_generated(out, [rules])[0].message
    compile_rules([rules], out)
    (out / "demo" / "gone.py").write_text(header.render("", source_sha="0" * 64, source_path="demo/gone.yaml", deps_sha=None))
    assert "orphaned" in check_generated(out, [rules])[0].message


def repository_modules() -> list[Path]:
    root = generated_root()
    return [p for p in root.rglob("*.py") if not (p.name == "__init__.py" and p.parent == root)]


def test_the_repository_generated_modules_are_fresh():
    """The freshness check (CI runs `make setup`, which compiles, before the tests)."""
    if not repository_modules():
        pytest.skip("generated_modules/ is empty: run `lmpredict compile` (make setup does)")
    found = check_generated()
    assert not found, "generated_modules/ is not up to date; run `lmpredict compile`:\n" + "\n".join(x.render() for x in found)


def test_lint_check_generated_reports_stale_modules(small, capsys, monkeypatch):
    rules, out = small
    compile_rules([rules], out)
    import lm_predictor.codegen.freshness as freshness

    monkeypatch.setattr(freshness, "generated_root", lambda: out)
    monkeypatch.setattr(freshness, "rules_dir", lambda: rules)
    assert main(["lint", "--check-generated", str(rules)]) == 0
    (out / "demo" / "layers.py").unlink()
    assert main(["lint", "--check-generated", str(rules)]) == 1
    assert "L014" in capsys.readouterr().out


def test_every_library_module_passes_the_safety_check():
    _, out = compiled_library()
    files = list(out.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        safety.check_file(path)


def test_runtime_uses_only_fresh_modules(small):
    rules, out = small
    library = compile_rules([rules], out)
    generated = GeneratedSet(library, out)
    assert len(generated.report.used) == 1 and not generated.report.stale
    assert ("demo.Block", "flops") in generated.fast
    bindings = {"hidden": 64, "tokens": 10}
    assert backend(library, out).evaluate("demo.Block", "flops", bindings).value == evaluate(library, "demo.Block", "flops", bindings).value == 655360  # 2 * (2*10*64*256)
    # the rule file changes after compiling: the module is stale and not used; results stay right
    (rules / "demo" / "layers.yaml").write_text(SMALL.replace("ratio: {type: int, default: 4}", "ratio: {type: int, default: 8}"))
    changed = load_library([rules])
    stale = GeneratedSet(changed, out)
    assert stale.report.used == [] and stale.fast == {} and stale.frame == {}
    assert backend(changed, out).evaluate("demo.Block", "flops", bindings).value == 1310720
    # a hand-edited module is not used either
    (rules / "demo" / "layers.yaml").write_text(SMALL)
    module = out / "demo" / "layers.py"
    module.write_text(module.read_text().replace("t1 = 2 * p2", "t1 = 3 * p2"))
    edited = GeneratedSet(load_library([rules]), out)
    assert edited.report.used == [] and "edited by hand" in edited.report.stale[0][1]


def test_importing_generated_modules_leaves_torch_and_transformers_alone(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    package = tmp_path / "generated_modules"
    shutil.copytree(compiled_library()[1], package)
    (package / "__init__.py").write_text(generated_root().joinpath("__init__.py").read_text())
    script = r"""
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import generated_modules
assert generated_modules.__path__[0].startswith(sys.argv[1]), generated_modules.__path__
names = [m.name for m in pkgutil.walk_packages(generated_modules.__path__, "generated_modules.")]
assert any(n.startswith("generated_modules.torch.") for n in names), names
for name in names:
    importlib.import_module(name)
from lm_predictor.codegen.runtime import backend_for
from lm_predictor.evaluate.predict import default_library
assert backend_for(default_library()).generated.report.used
import torch, transformers
import torch.nn as nn
gen = generated_modules.__path__[0]
for mod_name, mod in list(sys.modules.items()):
    if mod_name.split(".")[0] in ("torch", "transformers"):
        assert not (getattr(mod, "__file__", None) or "").startswith(gen), mod_name
assert sys.modules["torch"] is torch and "site-packages" in torch.__file__, torch.__file__
assert transformers.__version__ == "4.56.0"
assert nn.Linear(2, 3).weight.shape == (3, 2)
assert transformers.LlamaConfig().hidden_size == 4096
print("ok", len(names))
"""
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
