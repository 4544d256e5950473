"""Vendoring pinned sources: verification, atomic install, idempotency (with small fake wheels)."""

import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from lm_predictor.vendor import VendorError, fetch, source_root, vendor

REPO_ROOT = Path(__file__).resolve().parents[2]
WHEEL = "torch-0.0.1-py3-none-any.whl"


def make_wheel(path: Path, files: dict[str, str]) -> str:
    """Write a zip at path with the given members; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_lock(root: Path, sha: str, filename: str = WHEEL) -> None:
    """Lock one fake source named pytorch to filename/sha."""
    entry = {"filename": filename, "package": "torch", "requirement": "torch==0.0.1", "sha256": sha, "suffixes": [".py", ".pyi"]}
    lock = root / "third_party" / "sources.lock.json"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"sources": {"pytorch": entry}}))


V1 = {
    "torch/__init__.py": "VERSION = 1\n",
    "torch/nn/linear.py": "class Linear: ...\n",
    "torch/_C/__init__.pyi": "def f() -> int: ...\n",
    "torch/lib/libtorch.so": "binary",
    "torch-0.0.1.dist-info/METADATA": "Name: torch\n",
    "../escape.py": "x = 1\n",
}
V2 = {"torch/__init__.py": "VERSION = 2\n", "torch/nn/linear.py": "class Linear: pass\n", "torch/extra.py": "y = 2\n"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with a cached fake wheel v1 and a lock file pinning it."""
    sha = make_wheel(tmp_path / fetch.CACHE_DIR / WHEEL, V1)
    write_lock(tmp_path, sha)
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if vendoring tries to run pip."""

    def refuse(requirement, dest):
        raise AssertionError(f"unexpected download of {requirement}")

    monkeypatch.setattr(fetch, "_download", refuse)


def tree_files(root: Path) -> dict[str, str]:
    """Relative path -> text of every file under root/third_party/pytorch."""
    base = source_root("pytorch", root)
    return {p.relative_to(base).as_posix(): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


def siblings(root: Path) -> list[str]:
    """Names in third_party/ other than the lock file."""
    return sorted(p.name for p in (root / "third_party").iterdir() if p.name != "sources.lock.json")


def upgrade_lock_to_v2(root: Path) -> None:
    """Cache a v2 wheel and point the lock at it."""
    name = "torch-0.0.2-py3-none-any.whl"
    write_lock(root, make_wheel(root / fetch.CACHE_DIR / name, V2), filename=name)


def test_extracts_only_package_sources(project, no_network):
    messages = vendor(project, offline=True)
    assert len(messages) == 1 and "extracted 3 files" in messages[0]
    files = tree_files(project)
    assert set(files) == {"torch/__init__.py", "torch/nn/linear.py", "torch/_C/__init__.pyi", fetch.STAMP}
    stamp = json.loads(files[fetch.STAMP])
    assert stamp["sha256"] == fetch.load_lock(project)["pytorch"]["sha256"] and stamp["files"] == 3
    assert not (project / "third_party" / "escape.py").exists() and not (project / "escape.py").exists()
    assert siblings(project) == ["pytorch"]


def test_second_run_does_nothing_even_offline_without_cache(project, no_network, monkeypatch):
    vendor(project, offline=True)
    before = {p: p.stat().st_mtime_ns for p in source_root("pytorch", project).rglob("*")}
    (project / fetch.CACHE_DIR / WHEEL).unlink()
    monkeypatch.setattr(fetch, "_extract", lambda *a: pytest.fail("extracted again"))
    assert vendor(project, offline=True) == [f"pytorch: up to date ({WHEEL})"]
    assert {p: p.stat().st_mtime_ns for p in source_root("pytorch", project).rglob("*")} == before


def test_sha_mismatch_is_refused_and_leaves_no_tree(project, no_network):
    write_lock(project, "0" * 64)
    with pytest.raises(VendorError) as err:
        vendor(project, offline=True)
    assert "sha256 mismatch" in str(err.value) and "\n" not in str(err.value)
    assert siblings(project) == []


def test_sha_mismatch_keeps_the_old_tree(project, no_network):
    vendor(project, offline=True)
    old = tree_files(project)
    (project / fetch.CACHE_DIR / "torch-0.0.2-py3-none-any.whl").write_bytes(b"tampered")
    write_lock(project, "1" * 64, filename="torch-0.0.2-py3-none-any.whl")
    with pytest.raises(VendorError, match="sha256 mismatch"):
        vendor(project, offline=True)
    assert tree_files(project) == old and siblings(project) == ["pytorch"]


def test_interrupted_extraction_keeps_the_old_tree(project, no_network, monkeypatch):
    vendor(project, offline=True)
    old = tree_files(project)
    upgrade_lock_to_v2(project)
    calls = {"n": 0}
    real_copy = shutil.copyfileobj

    def copy_then_die(src, dst, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # as if the user hit ^C half way through the archive
        return real_copy(src, dst, *args)

    monkeypatch.setattr(fetch.shutil, "copyfileobj", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        vendor(project, offline=True)
    assert tree_files(project) == old
    assert siblings(project) == ["pytorch"]  # the half-extracted temp tree is gone


def test_upgrade_replaces_the_tree_whole(project, no_network):
    vendor(project, offline=True)
    upgrade_lock_to_v2(project)
    assert "extracted 3 files" in vendor(project, offline=True)[0]
    files = tree_files(project)
    assert files["torch/__init__.py"] == "VERSION = 2\n" and "torch/_C/__init__.pyi" not in files
    assert siblings(project) == ["pytorch"]


def test_leftovers_of_a_killed_run_are_cleaned(project, no_network):
    stale = project / "third_party" / ".pytorch.tmp-dead"
    (stale / "torch").mkdir(parents=True)
    (stale / "torch" / "half.py").write_text("")
    vendor(project, offline=True)
    assert siblings(project) == ["pytorch"] and "torch/half.py" not in tree_files(project)


def test_killed_between_renames_restores_the_swapped_out_tree(project, no_network):
    vendor(project, offline=True)
    target = source_root("pytorch", project)
    backup = project / "third_party" / ".pytorch.old-dead"
    backup.mkdir()
    target.rename(backup / "tree")
    (project / fetch.CACHE_DIR / WHEEL).unlink()  # recovery must not need the wheel
    assert vendor(project, offline=True) == [f"pytorch: up to date ({WHEEL})"]
    assert siblings(project) == ["pytorch"]


def test_offline_without_cached_wheel_is_an_error(project, no_network):
    (project / fetch.CACHE_DIR / WHEEL).unlink()
    with pytest.raises(VendorError, match="offline") as err:
        vendor(project, offline=True)
    assert "\n" not in str(err.value)


def test_online_run_downloads_into_the_cache(project, monkeypatch, tmp_path_factory):
    wheel = project / fetch.CACHE_DIR / WHEEL
    stash = tmp_path_factory.mktemp("index") / WHEEL
    wheel.rename(stash)
    seen = []

    def fake_download(requirement, dest):
        seen.append(requirement)
        shutil.copy(stash, dest / WHEEL)

    monkeypatch.setattr(fetch, "_download", fake_download)
    assert "downloaded and extracted" in vendor(project)[0]
    assert seen == ["torch==0.0.1"] and wheel.exists()
    assert "up to date" in vendor(project)[0] and seen == ["torch==0.0.1"]


def test_missing_or_bad_lock_is_a_one_line_error(tmp_path):
    with pytest.raises(VendorError, match="no lock file"):
        vendor(tmp_path)
    (tmp_path / "third_party").mkdir()
    (tmp_path / "third_party" / "sources.lock.json").write_text('{"sources": {"pytorch": {}}}')
    with pytest.raises(VendorError, match="lacks") as err:
        vendor(tmp_path)
    assert "\n" not in str(err.value)


def test_source_root(tmp_path):
    assert source_root("pytorch", tmp_path) == tmp_path / "third_party" / "pytorch"
    assert source_root("transformers").parent == REPO_ROOT / "third_party"
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(VendorError):
            source_root(bad)


def test_committed_lock_pins_the_verify_versions():
    lock = fetch.load_lock(REPO_ROOT)
    assert set(lock) == {"pytorch", "transformers", "transformers-5.23.0"}
    assert lock["pytorch"]["filename"].startswith("torch-2.13.0")
    assert lock["transformers"]["filename"] == "transformers-4.56.0-py3-none-any.whl"  # the original pin keeps its path
    assert lock["transformers-5.23.0"]["filename"] == "transformers-5.23.0-py3-none-any.whl"
    assert lock["transformers-5.23.0"]["package"] == "transformers"
    for entry in lock.values():
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        assert entry["requirement"].split("==")[1] in entry["filename"]
