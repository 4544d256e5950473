"""Nothing is executed: an audit hook watches every corpus case and refuses what is not allowed.

driver.py installs `sys.addaudithook` before lm_predictor is imported and arms it in each forked
child just before `main(argv)`. From then on, an event outside the allow-list is recorded and
refused (the hook raises, so the operation does not happen). The allow-list, in driver.py:

- `open` only for reading; writing only the interpreter's own bytecode cache (`__pycache__/*.pyc`)
  and lmpredict's own cache ($LMPREDICT_CACHE: parser tables, rules `eval` derived).
- `import` only of lm_predictor, its core dependencies (lark, pyyaml, rich, astroid) and the
  standard library minus FFI, debuggers and interpreters (ctypes, pdb, code, runpy, ...): never
  torch, transformers or numpy.
- `exec` only of the module code of an allow-listed file (an import), or of text the standard
  library generates itself (dataclasses, namedtuple, typing's annotation references).
- `compile` only of allow-listed source files (an import without a .pyc), AST-only parsing of
  the pinned sources under third_party/ (`eval`'s rule derivation), and the same stdlib generators.
- directory listings and globbing; nothing else: `os.system`, `subprocess.Popen`, `os.exec*`,
  `os.fork`, sockets, `ctypes`, `pickle.find_class`, `os.remove`, `os.rename`, ... are all refused.

The self-test job attempts each kind of forbidden operation and must see every one refused.
"""

from __future__ import annotations

from pathlib import Path

import corpus_runner as runner  # noqa: E402

SENTINEL = Path("/tmp/lmpredict-pwned")
"""The file the corpus's `!!python/object/apply:os.system ["touch /tmp/lmpredict-pwned"]` would create."""


def test_the_hook_refuses_each_kind_of_forbidden_operation(corpus_run: dict[str, dict]) -> None:
    result = corpus_run[runner.SELF_TEST]
    events = [v["event"] for v in result["violations"] or []]
    for expected in ("open-for-writing", "os.system", "subprocess.Popen", "exec", "compile", "import", "socket.getaddrinfo"):
        assert expected in events, f"the audit hook missed {expected}: {result['violations']}"
    assert not any(Path(result["scratch"]).iterdir()), "the refused open() must not have created the file"


def test_no_corpus_case_does_anything_outside_the_allow_list(corpus_run: dict[str, dict], corpus_cases: list[runner.Case]) -> None:
    offenders = []
    for case in corpus_cases:
        violations = corpus_run[case.path]["violations"]
        if violations is None:
            offenders.append(f"{case.path}: the child wrote no audit report (crashed or was killed)")
        elif violations:
            offenders.append(f"{case.path}: {violations[:3]}")
    assert not offenders, f"{len(offenders)} case(s) did forbidden things:\n" + "\n".join(offenders[:20])


def test_no_payload_ran(corpus_run: dict[str, dict]) -> None:
    """The corpus's os.system payloads name a sentinel file; it must not exist afterwards."""
    assert corpus_run  # the whole corpus has run
    assert not SENTINEL.exists(), f"{SENTINEL} exists: a payload ran (or it was left over; remove it and rerun)"
