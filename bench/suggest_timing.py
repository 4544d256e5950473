#!/usr/bin/env python
"""Timing of `lmpredict suggest transformers.models.llama.LlamaAttention`: cold, warm, and astroid.

    .venv/bin/python bench/suggest_timing.py            # cold and warm CLI runs (targets: 5 s / 0.5 s)
    .venv/bin/python bench/suggest_timing.py --astroid  # also time astroid's own eager inference

Cold: a fresh process with an empty result cache (LMPREDICT_CACHE points at a new directory),
so the analysis parses the sources and runs. Warm: the same command again; the result cache is
checked against the source files' sizes, mtimes and hashes and the stored rules are printed.
--astroid times what the analysis avoids: `AstroidBuilder.string_build` of modeling_llama.py
(whose post-build step infers every `self.x = ...` assignment into torch and transformers) and
astroid's inference of one call, next to the tree rebuild alone that the analysis uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LMPREDICT = ROOT / ".venv" / "bin" / "lmpredict"
TARGET = "transformers.models.llama.LlamaAttention"


def run_cli(cache: str) -> float:
    env = dict(os.environ, LMPREDICT_CACHE=cache)
    t0 = time.perf_counter()
    proc = subprocess.run([str(LMPREDICT), "suggest", TARGET], capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"suggest failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed


def astroid_costs() -> None:
    script = r'''
import time, sys
path = "third_party/transformers/transformers/models/llama/modeling_llama.py"
text = open(path).read()
from astroid.builder import AstroidBuilder
from astroid.manager import AstroidManager
b = AstroidBuilder(AstroidManager(), apply_transforms=False)
t = time.perf_counter(); b._data_build(text, "transformers.models.llama.modeling_llama", path)
print(f"astroid tree rebuild only (what suggest does): {time.perf_counter() - t:.2f} s")
t = time.perf_counter(); b.string_build(text, "transformers.models.llama.modeling_llama", path)
print(f"astroid string_build with post-build inference: {time.perf_counter() - t:.2f} s")
import astroid
sys.path[:0] = ["third_party/transformers", "third_party/pytorch"]
t = time.perf_counter()
mod = astroid.MANAGER.ast_from_file(path, "transformers.models.llama.modeling_llama")
call = [c for c in mod["LlamaAttention"]["forward"].nodes_of_class(astroid.nodes.Call)][2]
list(call.func.infer())
print(f"astroid inference of one call in LlamaAttention.forward: {time.perf_counter() - t:.2f} s ({len(astroid.MANAGER.astroid_cache)} modules loaded)")
'''
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--astroid", action="store_true", help="also time astroid's eager inference")
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.runs):
        cache = tempfile.mkdtemp(prefix="lmpredict-bench-")
        cold.append(run_cli(cache))
        warm.append(run_cli(cache))
    print(f"suggest {TARGET} on {os.cpu_count()} cores")
    print(f"  cold (fresh process, empty cache): median {statistics.median(cold):.2f} s  (runs: {', '.join(f'{x:.2f}' for x in cold)}; target <= 5 s)")
    print(f"  warm (fresh process, cached):      median {statistics.median(warm):.2f} s  (runs: {', '.join(f'{x:.2f}' for x in warm)}; target <= 0.5 s)")
    if args.astroid:
        astroid_costs()
    return 0 if statistics.median(cold) <= 5 and statistics.median(warm) <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
