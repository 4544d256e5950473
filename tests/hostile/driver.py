"""Run many `lmpredict` command lines through the real CLI entry point, one process each.

    python tests/hostile/driver.py JOBS.json RESULTS.json [--audit]

Starting a Python interpreter costs more than most corpus cases, so this driver imports
`lm_predictor.cli.main` once, warms it up, and then forks one child per job. Each child runs
`main(argv)` exactly as the `lmpredict` console script does (`sys.exit(main())`), with its own
stdout and stderr (file descriptors 1 and 2 redirected to files), its own resource usage and its
own exit status, under a CPU-time alarm and an address-space limit. The parent reports, per job:
exit status, output, wall and CPU time (wait4 rusage), peak RSS, and the RSS it had at fork.

With --audit, an audit hook (sys.addaudithook) is installed before lm_predictor is imported.
It is armed in each child just before `main(argv)` runs, and records every event outside the
allow-list below (see test_audit.py for what the allow-list means).

JOBS.json is a list of {"id": str, "argv": [str, ...]}; RESULTS.json gets a list of result dicts.
Paths in argv are relative to the current directory (the repository root).
"""

from __future__ import annotations

import sys

AUDIT = "--audit" in sys.argv

# ------------------------------------------------------------------------------------------
# The audit hook. Installed first: nothing lmpredict does can happen before it.
# ------------------------------------------------------------------------------------------

_armed = False
_violations: list[dict] = []
_allowed_roots: tuple[str, ...] = ()
_stdlib_root = "/nonexistent/"
_cache_root = ""
_vendored_root = "/nonexistent/"

ALLOWED_EVENTS = frozenset({
    "open",  # checked below: read-only, or the interpreter's own bytecode cache
    "import",  # checked below: allow-listed modules only
    "exec",  # checked below: module code of allow-listed files only (an import)
    "compile",  # checked below: allow-listed source files only (an import without a .pyc)
    "os.listdir", "os.scandir", "glob.glob", "glob.glob/2", "pathlib.Path.glob", "pathlib.Path.rglob",  # finding files
    "sys._getframe", "sys._getframemodulename",  # stdlib introspection (enum, typing, dataclasses)
    "object.__getattr__", "object.__setattr__", "object.__delattr__",  # attribute bookkeeping on types
    "os.chdir",  # never expected, harmless
    "time.sleep",
    "marshal.loads",  # reading .pyc files of allow-listed modules (see "import")
    "builtins.id",
})

ALLOWED_THIRD_PARTY = ("lm_predictor", "lark", "yaml", "_yaml", "rich", "markdown_it", "mdurl", "pygments", "astroid", "wrapt", "typing_extensions")
"""The core dependencies (lark, pyyaml, rich, astroid) and what they import; never torch or transformers."""

CODE_GENERATORS = ("dataclasses.py", "collections/__init__.py", "typing.py")
"""Stdlib modules that compile and exec text they generate themselves (dataclass methods,
namedtuple constructors) or take from the annotations of imported library code (typing's
ForwardRef): allowed, the text is never lmpredict's input."""
DENIED_STDLIB = frozenset({
    "ctypes", "_ctypes", "pty", "webbrowser", "code", "codeop", "pdb", "bdb", "multiprocessing",
    "tkinter", "turtle", "venv", "ensurepip", "runpy", "zipimport", "antigravity", "this",
})
"""Stdlib modules lmpredict has no business importing (FFI, debuggers, interpreters, GUIs).
Modules such as subprocess or socket may be imported (lm_predictor.vendor imports subprocess at
module level): using them is what is forbidden, and their events (subprocess.Popen,
socket.connect, ...) are not in ALLOWED_EVENTS."""


def _module_allowed(name: str) -> bool:
    top = name.split(".")[0]
    if top in ALLOWED_THIRD_PARTY:
        return True
    return top in sys.stdlib_module_names and top not in DENIED_STDLIB


def _path_allowed(path: object) -> bool:
    text = str(path)
    return any(text.startswith(root) for root in _allowed_roots)


def _bytecode_cache(path: object) -> bool:
    """The interpreter writing a .pyc for an allow-listed module (not lmpredict writing)."""
    text = str(path)
    name = text.rsplit("/", 1)[-1]
    return _path_allowed(text) and "/__pycache__/" in text and (name.endswith(".pyc") or ".pyc." in name)


def _own_cache(path: object) -> bool:
    """lmpredict's own cache ($LMPREDICT_CACHE: parser tables, derived rules), written atomically."""
    return bool(_cache_root) and _os.path.abspath(str(path)).startswith(_cache_root)


def _called_from(suffixes: tuple[str, ...]) -> bool:
    """Whether the Python frame that raised the event is in a stdlib file ending with one of suffixes."""
    frame = sys._getframe(2)  # 0: this function, 1: the hook, 2: the caller of exec/compile
    filename = frame.f_code.co_filename
    return filename.startswith(_stdlib_root) and filename.endswith(suffixes)


def _record(event: str, detail: str) -> None:
    """Note a violation and refuse it: the hook raises, so the operation does not happen."""
    if len(_violations) < 50:
        _violations.append({"event": event, "detail": detail[:300]})
    raise PermissionError(f"audit hook refused {event}: {detail[:100]}")


def _hook(event: str, args: tuple) -> None:
    if not _armed:
        return
    if event not in ALLOWED_EVENTS:
        _record(event, repr(args)[:300])
        return
    if event == "open":
        path, mode, flags = (args + (None, None, None))[:3]
        writes = False
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            writes = True
        if isinstance(flags, int) and flags & (_os.O_WRONLY | _os.O_RDWR | _os.O_CREAT | _os.O_TRUNC | _os.O_APPEND):
            writes = True
        if writes and not (_bytecode_cache(path) or _own_cache(path)):
            _record("open-for-writing", f"{path!r} mode={mode!r} flags={flags!r}")
    elif event == "import":
        if not _module_allowed(args[0]):
            _record("import", str(args[0]))
    elif event == "exec":
        code = args[0]
        filename = getattr(code, "co_filename", None)
        module_code = getattr(code, "co_name", None) == "<module>" and filename and _path_allowed(filename)
        if not (module_code or _called_from(CODE_GENERATORS)):
            _record("exec", f"code object {getattr(code, 'co_name', code)!r} from {filename!r}")
    elif event == "compile":
        filename = str(args[1]) if len(args) > 1 and args[1] is not None else ""
        source_file = _path_allowed(filename) and filename.endswith(".py")
        pinned_source = filename.startswith(_vendored_root) and filename.endswith(".py") and _called_from(("ast.py",))
        if not (source_file or pinned_source or _called_from(CODE_GENERATORS)):
            source = args[0][:80] if isinstance(args[0], (str, bytes)) else type(args[0]).__name__
            _record("compile", f"filename={filename!r} source={source!r}")


if AUDIT:
    sys.addaudithook(_hook)

import io  # noqa: E402
import json  # noqa: E402
import os as _os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

CPU_ALARM_S = 20
"""A child still running after this much CPU time is killed (reported as signal 24/SIGXCPU)."""

WALL_ALARM_S = 30
"""A child still alive after this many seconds is killed (reported as signal 14/SIGALRM)."""

ADDRESS_SPACE_EXTRA = 2 << 30
"""A child may map this much beyond the parent's size before allocation fails (MemoryError)."""


def _rss_kb() -> int:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() // 1024


def _vsize() -> int:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


_SELF_TEST_CODE = compile("1 + 1", "<self-test>", "eval")  # compiled while the hook is not armed


def _self_test(scratch: str) -> int:
    """What the hook must catch, each attempted once (the hook refuses them, so none happens)."""
    attempts = [
        lambda: open(_os.path.join(scratch, "written-by-self-test"), "w"),
        lambda: _os.system("true"),
        lambda: __import__("subprocess").Popen(["true"]),
        lambda: exec(_SELF_TEST_CODE),
        lambda: compile("__import__('os')", "<hostile>", "eval"),
        lambda: __import__("ctypes"),
        lambda: __import__("socket").create_connection(("127.0.0.1", 9)),
    ]
    for attempt in attempts:
        try:
            attempt()
        except BaseException:  # noqa: BLE001 - the refusal (or the attempt failing) is expected
            pass
    return 0


def _child(argv: list[str], out_fd: int, err_fd: int, report_fd: int) -> None:
    """Runs in the forked child: the console script's behaviour, then _exit with its status."""
    global _armed
    _os.dup2(out_fd, 1)
    _os.dup2(err_fd, 2)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True)
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_ALARM_S, CPU_ALARM_S + 5))
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(WALL_ALARM_S)  # blocked, not spinning (a FIFO, a lock): killed by SIGALRM
    try:
        resource.setrlimit(resource.RLIMIT_AS, (_vsize() + ADDRESS_SPACE_EXTRA, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    from lm_predictor.cli.main import main

    _armed = AUDIT
    try:
        status = _self_test(argv[1]) if argv[:1] == ["--self-test"] else main(argv)
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
    except BaseException:  # what the interpreter would do: print the traceback, exit 1
        _armed = False
        traceback.print_exc()
        status = 1
    _armed = False
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    _os.write(report_fd, json.dumps(_violations).encode("utf-8"))
    _os._exit(status if isinstance(status, int) and 0 <= status < 256 else 1)


def run_job(argv: list[str]) -> dict:
    """Fork, run argv in the child, collect its status, output, times and memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as report:
        sys.stdout.flush()
        sys.stderr.flush()
        base_rss = _rss_kb()
        start = time.perf_counter()
        pid = _os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                _child(argv, out.fileno(), err.fileno(), report.fileno())
            finally:
                _os._exit(99)
        _, wait_status, usage = _os.wait4(pid, 0)
        wall = time.perf_counter() - start
        results = {}
        for name, fh in (("stdout", out), ("stderr", err), ("report", report)):
            fh.seek(0)
            results[name] = fh.read().decode("utf-8", "backslashreplace")
    signum = _os.WTERMSIG(wait_status) if _os.WIFSIGNALED(wait_status) else None
    rc = _os.WEXITSTATUS(wait_status) if _os.WIFEXITED(wait_status) else None
    try:
        violations = json.loads(results["report"]) if results["report"] else None
    except ValueError:
        violations = [{"event": "driver", "detail": "unreadable audit report"}]
    return {
        "rc": rc,
        "signal": signum,
        "stdout": results["stdout"],
        "stderr": results["stderr"],
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
        "base_rss_kb": base_rss,
        "violations": violations,
    }


def warm_up(jobs: list[dict]) -> None:
    """Import and initialise what the CLI uses (parser tables, shipped library, rich), quietly."""
    from lm_predictor.cli.main import main

    limit = sys.getrecursionlimit()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        for argv in [job["argv"] for job in jobs if job.get("warm_up")]:
            try:
                main(argv)
            except SystemExit:
                pass
    finally:
        sys.stdout, sys.stderr = saved
        sys.setrecursionlimit(limit)  # eval raises it; a fresh `lmpredict` process starts at the default


def main() -> int:
    global _allowed_roots, _stdlib_root, _vendored_root, _cache_root
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    jobs_path, results_path = args
    with open(jobs_path, encoding="utf-8") as fh:
        jobs = json.load(fh)
    import lm_predictor

    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(_os.path.dirname(_os.path.dirname(_os.path.abspath(lm_predictor.__file__))) + _os.sep + "lm_predictor")
    _allowed_roots = tuple(sorted(roots))
    if _os.environ.get("LMPREDICT_CACHE"):
        _cache_root = _os.path.abspath(_os.environ["LMPREDICT_CACHE"]) + _os.sep
    _stdlib_root = sysconfig.get_paths()["stdlib"] + _os.sep
    _vendored_root = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(lm_predictor.__file__))), "third_party") + _os.sep
    warm_up(jobs)
    results = []
    for job in jobs:
        if job.get("warm_up"):
            continue
        result = run_job(job["argv"])
        result["id"] = job["id"]
        results.append(result)
    with open(results_path, "w", encoding="utf-8") as fh:
        json.dump(results, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
