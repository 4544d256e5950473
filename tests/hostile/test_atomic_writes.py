"""Nothing lost: every file lmpredict writes is replaced atomically, and hand-edited files are kept.

For each writer (compile, suggest -o, the suggest/derive cache, vendor) a write is killed midway
by an injected exception, and the previous file must be intact, byte for byte, with no temporary
file left behind. `compile` and `suggest -o` must refuse to overwrite a hand-edited file without
--force and name the file they refused. A corrupted or stale cache entry is detected by its hash
and rebuilt, never trusted. The commands run in-process through `lm_predictor.cli.main.main`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from lm_predictor.cli.main import main

RULES = """rules:
  hostile.atomic.Lin:
    params: {a: int, b: int}
    flops: 2 * $a * $b
"""


class Injected(RuntimeError):
    """The fault a test injects into a writer."""


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
    return status, out.getvalue(), err.getvalue()


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory (hidden temporaries included), by relative path."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


class HalfWriter:
    """A file object that writes half of what it is given, then fails (a write killed midway)."""

    def __init__(self, real: io.IOBase):
        self.real = real

    def write(self, data: bytes | str) -> int:
        self.real.write(data[: max(1, len(data) // 2)])
        self.real.flush()
        raise Injected("killed midway through the write")

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def __enter__(self) -> "HalfWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


def half_writing_fdopen(real_fdopen):
    def fdopen(fd, *args, **kwargs):
        return HalfWriter(real_fdopen(fd, *args, **kwargs))

    return fdopen


# ------------------------------------------------------------------------------------------
# compile
# ------------------------------------------------------------------------------------------


@pytest.fixture
def compiled(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A rule file compiled into tmp_path/out: (rule file, output dir, the generated module)."""
    pytest.importorskip("lm_predictor.cli.compile_cmd", reason="`lmpredict compile` is not built yet")
    rules = tmp_path / "atomic.yaml"
    rules.write_text(RULES, encoding="utf-8")
    out = tmp_path / "out"
    status, _, err = run_cli("compile", str(rules), "-o", str(out))
    assert status == 0, err
    modules = [p for p in out.rglob("*.py") if p.name != "__init__.py"]
    assert len(modules) == 1, modules
    return rules, out, modules[0]


def test_compile_killed_midway_keeps_the_old_module(compiled, monkeypatch) -> None:
    rules, out, module = compiled
    before = snapshot(out)
    rules.write_text(RULES.replace("2 * $a * $b", "3 * $a * $b"), encoding="utf-8")  # new text to write
    from lm_predictor.codegen import writer

    with monkeypatch.context() as patch:
        patch.setattr(writer.os, "fdopen", half_writing_fdopen(os.fdopen))
        status, _, err = run_cli("compile", str(rules), "-o", str(out))
    assert status != 0 and "Injected" in err, (status, err)
    assert snapshot(out) == before, "the old generated module must be intact and no temporary file left"
    status, _, err = run_cli("compile", str(rules), "-o", str(out))
    assert status == 0, err
    assert "3 *" in module.read_text(encoding="utf-8") or module.read_bytes() != before[str(module.relative_to(out))]


def test_compile_refuses_a_hand_edited_module_and_names_it(compiled) -> None:
    rules, out, module = compiled
    edited = module.read_text(encoding="utf-8") + "# my own note\n"
    module.write_text(edited, encoding="utf-8")
    rules.write_text(RULES.replace("2 * $a * $b", "4 * $a * $b"), encoding="utf-8")
    status, _, err = run_cli("compile", str(rules), "-o", str(out))
    assert status != 0
    assert str(module) in err and "--force" in err, err
    assert module.read_text(encoding="utf-8") == edited
    status, _, err = run_cli("compile", str(rules), "-o", str(out), "--force")
    assert status == 0, err
    assert "# my own note" not in module.read_text(encoding="utf-8")


def test_compile_refuses_a_foreign_file_and_names_it(compiled) -> None:
    rules, out, module = compiled
    module.write_text("print('mine, not generated')\n", encoding="utf-8")
    rules.write_text(RULES.replace("2 * $a * $b", "5 * $a * $b"), encoding="utf-8")
    status, _, err = run_cli("compile", str(rules), "-o", str(out))
    assert status != 0 and str(module) in err, err
    assert module.read_text(encoding="utf-8") == "print('mine, not generated')\n"


# ------------------------------------------------------------------------------------------
# suggest -o and the suggest cache
# ------------------------------------------------------------------------------------------

SUGGEST_NAME = "transformers.models.llama.modeling_llama.LlamaRMSNorm"


@pytest.fixture
def suggest_ready(tmp_path: Path, monkeypatch) -> Path:
    """suggest is built and the pinned sources are there; the cache goes to tmp_path/cache."""
    pytest.importorskip("lm_predictor.cli.suggest_cmd", reason="`lmpredict suggest` is not built yet")
    from lm_predictor.resources import repo_root

    if not (repo_root() / "third_party" / "transformers" / "transformers").is_dir():
        pytest.skip("the pinned transformers sources are not vendored (run `lmpredict vendor`)")
    cache = tmp_path / "cache"
    monkeypatch.setenv("LMPREDICT_CACHE", str(cache))
    return cache


def test_suggest_refuses_a_hand_written_rule_file_and_names_it(suggest_ready, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("rules:\n  my.Rule:\n    flops: 1\n", encoding="utf-8")
    status, out, err = run_cli("suggest", SUGGEST_NAME, "-o", str(target))
    assert status != 0 and str(target) in err and "--force" in err, err
    assert target.read_text(encoding="utf-8") == "rules:\n  my.Rule:\n    flops: 1\n"


def test_suggest_output_killed_midway_keeps_the_old_file(suggest_ready, tmp_path: Path, monkeypatch) -> None:
    from lm_predictor.suggest import diskcache

    directory = tmp_path / "rules"
    directory.mkdir()
    target = directory / "suggested.yaml"
    old = diskcache.GENERATED_MARKER + " earlier\nrules:\n  old.Rule:\n    flops: 1\n"
    target.write_text(old, encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(diskcache.os, "fdopen", half_writing_fdopen(os.fdopen))
        status, _, err = run_cli("suggest", SUGGEST_NAME, "-o", str(target), "--no-cache")
    assert status != 0 and "Injected" in err, (status, err)
    assert snapshot(directory) == {"suggested.yaml": old.encode()}, "old file intact, no temporary file left"
    status, _, err = run_cli("suggest", SUGGEST_NAME, "-o", str(target), "--no-cache")
    assert status == 0, err
    assert target.read_text(encoding="utf-8").startswith(diskcache.GENERATED_MARKER) and target.read_text(encoding="utf-8") != old


def _cache_entry(tmp_path: Path) -> tuple[dict, Path, Path]:
    from lm_predictor.suggest import diskcache

    source = tmp_path / "source.py"
    source.write_text("class M:\n    pass\n", encoding="utf-8")
    request = {"qualname": "m.M", "test": str(tmp_path)}
    path = diskcache.store("suggest", request, "rules: {}\n", [source])
    return request, path, source


def test_cache_entry_killed_midway_keeps_the_old_entry(suggest_ready, tmp_path: Path, monkeypatch) -> None:
    from lm_predictor.suggest import diskcache

    request, path, source = _cache_entry(tmp_path)
    before = snapshot(path.parent)
    with monkeypatch.context() as patch, pytest.raises(Injected):
        patch.setattr(diskcache.os, "fdopen", half_writing_fdopen(os.fdopen))
        diskcache.store("suggest", request, "rules: {changed: 1}\n", [source])
    assert snapshot(path.parent) == before
    assert diskcache.load("suggest", request)["text"] == "rules: {}\n"


def test_corrupted_or_stale_cache_entries_are_rebuilt_not_trusted(suggest_ready, tmp_path: Path) -> None:
    from lm_predictor.suggest import diskcache

    request, path, source = _cache_entry(tmp_path)
    assert diskcache.load("suggest", request) is not None
    good = path.read_text(encoding="utf-8")
    entry = json.loads(good)
    entry["text"] = "rules: {evil.Rule: {flops: 1}}\n"  # changed without its hash
    path.write_text(json.dumps(entry), encoding="utf-8")
    assert diskcache.load("suggest", request) is None, "a text that does not match its sha256 is not trusted"
    path.write_text(good[: len(good) // 2], encoding="utf-8")  # truncated
    assert diskcache.load("suggest", request) is None
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert diskcache.load("suggest", request) is None
    path.write_text(good, encoding="utf-8")
    assert diskcache.load("suggest", request) is not None
    source.write_text("class M:\n    x = 1\n", encoding="utf-8")  # the analysed source changed
    assert diskcache.load("suggest", request) is None, "a stale entry is rebuilt"


# ------------------------------------------------------------------------------------------
# vendor
# ------------------------------------------------------------------------------------------


def _fake_project(root: Path, files: dict[str, bytes], version: str) -> dict:
    """A project root whose lock pins one small wheel that is already in .cache/vendor."""
    from lm_predictor.vendor import fetch

    wheel = root / fetch.CACHE_DIR / f"fakepkg-{version}-py3-none-any.whl"
    wheel.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"fakepkg/{name}", data)
    entry = {"requirement": f"fakepkg=={version}", "filename": wheel.name, "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
             "package": "fakepkg", "suffixes": [".py"]}
    lock = root / fetch.LOCK_PATH
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"sources": {"fake": entry}}), encoding="utf-8")
    return entry


def test_vendor_killed_midway_keeps_the_old_tree(tmp_path: Path, monkeypatch) -> None:
    from lm_predictor.vendor import fetch

    _fake_project(tmp_path, {"a.py": b"A = 1\n", "b.py": b"B = 1\n"}, "1.0")
    fetch.vendor(tmp_path, offline=True)
    tree = tmp_path / "third_party"
    before = {k: v for k, v in snapshot(tree).items() if k.startswith("fake")}
    _fake_project(tmp_path, {"a.py": b"A = 2\n", "b.py": b"B = 2\n", "c.py": b"C = 2\n"}, "2.0")
    copies = []

    def copy_then_die(src, dst, *args, **kwargs):
        copies.append(dst)
        if len(copies) == 2:
            raise Injected("killed during extraction")
        return real_copy(src, dst, *args, **kwargs)

    real_copy = fetch.shutil.copyfileobj
    with monkeypatch.context() as patch, pytest.raises(Injected):
        patch.setattr(fetch.shutil, "copyfileobj", copy_then_die)
        fetch.vendor(tmp_path, offline=True)
    after = {k: v for k, v in snapshot(tree).items() if k.startswith("fake")}
    assert after == before and sorted(p.name for p in tree.iterdir()) == ["fake", "sources.lock.json"], "old tree intact, nothing staged left"
    fetch.vendor(tmp_path, offline=True)
    assert (tree / "fake" / "fakepkg" / "c.py").read_bytes() == b"C = 2\n"
