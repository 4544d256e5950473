"""One command, one run: lmpredict's backends against the runtime oracle, the sweep, cold start.

    .venv/bin/python bench/run.py            (make bench)
    .venv/bin/python bench/run.py --quick    (fewer repetitions, smaller sweep; no oracle)

Prints, for the 32-layer Llama-2-7B config (configs/llama-2-7b, batch 1, seq_len 128):
  * warm time per prediction (all total metrics of the root rule, bindings prepared) for the
    interpreter, the compiled closures and the generated modules, without and with the
    breakdown tree; and predict() end to end, first with default arguments (the path users call);
  * the runtime oracle (lm_predictor.verify.oracle.measure, fake tensors, FlopCounterMode and
    the bytes counter) for the same config and workload, timed in this same run; every figure
    is printed next to it as "x faster than the oracle";
  * a sweep of 100,000 workloads (batch x seq_len x past_len) through the vectorised numpy path,
    checked exactly against the scalar path on a random sample;
  * cold start: `lmpredict eval llama-2-7b` vs `python -c "import torch"` (fresh processes).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "llama-2-7b"
TARGET_TOTALS_US = 100.0
TARGET_SWEEP_PER_S = 100_000
TARGET_DEFAULT_US = 150.0
TARGET_DEFAULT_VS_ORACLE = 1000
DEFAULT_ROW = "predict()   default arguments *"


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "load average unknown"
    return f"{cpu}, {os.cpu_count()} CPU(s), {platform.system()} {platform.release()}, Python {platform.python_version()}; {load}"


def per_call(fn, *, number: int, repeat: int, timer=time.perf_counter) -> float:
    """Best-of-`repeat` mean seconds per call (timeit's recommended statistic for warm code)."""
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat, timer=timer)) / number


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:8.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} us"


def fresh_backend(library):
    """Generated modules for `library`: the package's if fresh, else compiled into a temp dir."""
    from lm_predictor.codegen.build import plan, sources_for
    from lm_predictor.codegen.runtime import Backend, GeneratedSet
    from lm_predictor.codegen.writer import write_generated
    from lm_predictor.resources import rules_dir

    generated = GeneratedSet(library)
    if not generated.report.stale:
        return Backend(library, generated), "generated_modules/ (fresh)"
    tmp = Path(tempfile.mkdtemp(prefix="lmpredict-bench-"))
    for rel, text in plan(library, sources_for([rules_dir()])).items():
        write_generated(tmp / rel, text)
    stale = ", ".join(sorted({Path(p).name for p, _ in generated.report.stale}))
    return Backend(library, GeneratedSet(library, tmp)), f"compiled into {tmp} (generated_modules/ is stale for: {stale}; run `lmpredict compile`)"


def run_cold(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a 10,000-workload sweep; skips the oracle")
    parser.add_argument("--sweep", type=int, default=100_000, help="number of sweep workloads (grid, rounded)")
    args = parser.parse_args(argv)
    quick = args.quick
    number, repeat = (50, 3) if quick else (200, 7)

    import numpy as np

    import lm_predictor
    from lm_predictor.engine.evaluate import evaluate
    from lm_predictor.evaluate.binding import bind, find_root_rule, resolve
    from lm_predictor.evaluate.breakdown import merge_trees
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.evaluate.predict import TOTAL_METRICS, default_library, predict
    from lm_predictor.formula.interpreter import interpreted_runner
    from lm_predictor.engine.frame import compiled_runner
    from lm_predictor.codegen.sweep import sweep
    from lm_predictor.workload import Workload

    print(f"machine: {machine()}")
    library = default_library()
    raw, source = load_config(CONFIG)
    resolved = resolve(raw)
    rule = find_root_rule(library, resolved)
    workload = Workload(1, 128, 0, "float32")
    bindings = bind(rule, resolved, workload)
    metrics = [m for m in TOTAL_METRICS if m in rule.metrics]
    backend, where = fresh_backend(library)
    print(f"config: {source} -> {rule.name}, {bindings['num_hidden_layers']} layers, workload batch=1 seq_len=128 past_len=0 float32")
    print(f"metrics per prediction: {', '.join(metrics)}")
    print(f"generated modules: {where}")

    # -- the three backends agree (values and trees) before anything is timed
    reference = {m: evaluate(library, rule.name, m, bindings).value for m in metrics}
    for name, runner in (("interpreter", interpreted_runner), ("generated", backend.runner)):
        for m in metrics:
            assert evaluate(library, rule.name, m, bindings, runner=runner).value == reference[m], (name, m)
    assert backend.totals(rule.name, metrics, bindings) == reference
    fast = [m for m in metrics if backend.fast_path(rule.name, m) is not None]
    print(f"fast path available for: {', '.join(fast) or 'none'}")

    def totals_with(runner):
        return lambda: [evaluate(library, rule.name, m, bindings, runner=runner).value for m in metrics]

    def breakdown_with(runner):
        return lambda: merge_trees({m: evaluate(library, rule.name, m, bindings, trace=True, runner=runner).tree for m in metrics})

    rows: list[tuple[str, float]] = []
    rows.append(("totals      interpreter", per_call(totals_with(interpreted_runner), number=max(number // 4, 5), repeat=repeat)))
    rows.append(("totals      compiled closures", per_call(totals_with(compiled_runner), number=number, repeat=repeat)))
    rows.append(("totals      generated modules", per_call(lambda: backend.totals(rule.name, metrics, bindings), number=number * 20, repeat=repeat)))
    rows.append(("breakdown   interpreter", per_call(breakdown_with(interpreted_runner), number=max(number // 4, 5), repeat=repeat)))
    rows.append(("breakdown   compiled closures", per_call(breakdown_with(compiled_runner), number=number, repeat=repeat)))
    rows.append(("breakdown   generated modules", per_call(breakdown_with(backend.runner), number=number, repeat=repeat)))
    rows.append((DEFAULT_ROW, per_call(lambda: lm_predictor.predict(CONFIG), number=number, repeat=repeat)))
    # the same in CPU time of this process: on a shared machine, wall time also counts other processes' turns
    default_cpu = per_call(lambda: lm_predictor.predict(CONFIG), number=number, repeat=repeat, timer=time.process_time)
    rows.append(("predict()   end to end, no breakdown *", per_call(lambda: predict(raw, batch=1, seq_len=128, breakdown=False), number=number, repeat=repeat)))
    rows.append(("predict()   + .modules (tree built) *", per_call(lambda: predict(raw, batch=1, seq_len=128).modules, number=max(number // 4, 5), repeat=repeat)))

    oracle_cold = oracle_warm = None
    if not quick:
        try:
            start = time.perf_counter()
            from lm_predictor.verify.oracle import measure

            measured = measure(raw, workload, mode="fake")
            oracle_cold = time.perf_counter() - start
            warm = []
            for _ in range(2):
                start = time.perf_counter()
                measure(raw, workload, mode="fake")
                warm.append(time.perf_counter() - start)
            oracle_warm = min(warm)
            agree = all(measured.totals.get(m) == reference[m] for m in metrics if m in measured.totals)
            print(f"oracle totals {'equal' if agree else 'DIFFER FROM'} the prediction: {measured.totals}")
        except ImportError as err:
            print(f"oracle: not available ({err}); install the [verify] extra")

    print()
    print("per prediction (warm)                         time      vs oracle (fake tensors, same run)")
    if oracle_warm is not None:
        print(f"  {'runtime oracle  measure(), warm':38s} {fmt_time(oracle_warm)}   1x   (first call incl. torch import: {fmt_time(oracle_cold).strip()})")
    for label, seconds in rows:
        ratio = f"{oracle_warm / seconds:12,.0f}x faster" if oracle_warm else ""
        print(f"  {label:38s} {fmt_time(seconds)}   {ratio}")
    print("  * predict() includes reading config.json, resolving defaults and binding; its totals use the generated modules when fresh;")
    print("    by default the module tree is built when .modules is first read (the last row reads it)")
    by = dict(rows)
    print(
        "  ratios: totals compiled/generated = {:.1f}x, interpreter/generated = {:.1f}x; breakdown compiled/generated = {:.2f}x".format(
            by["totals      compiled closures"] / by["totals      generated modules"],
            by["totals      interpreter"] / by["totals      generated modules"],
            by["breakdown   compiled closures"] / by["breakdown   generated modules"],
        )
    )

    # -- the sweep
    size = 10_000 if quick else args.sweep
    nb, ns = 50, 40
    npast = max(1, round(size / (nb * ns)))
    batch, seq, past = np.meshgrid(np.arange(1, nb + 1), np.arange(1, 40 * ns + 1, 40), np.arange(0, 64 * npast, 64), indexing="ij")
    arrays = {"batch": batch.ravel(), "seq_len": seq.ravel(), "past_len": past.ravel()}
    count = len(arrays["batch"])
    base = bind(rule, resolved, Workload(1, 1, 0, "float32"))
    sweep(library, rule.name, metrics, base, {k: v[:10] for k, v in arrays.items()}, backend=backend)  # warm
    start = time.perf_counter()
    result = sweep(library, rule.name, metrics, base, arrays, backend=backend)
    elapsed = time.perf_counter() - start
    kinds = {m: ("int64" if result[m].dtype == np.int64 else "exact Python ints") for m in metrics}
    rng = np.random.default_rng(0)
    sample = rng.choice(count, size=min(1000, count), replace=False)
    mismatches = 0
    for i in sample:
        current = dict(base, batch=int(arrays["batch"][i]), seq_len=int(arrays["seq_len"][i]), past_len=int(arrays["past_len"][i]))
        exact = backend.totals(rule.name, metrics, current)
        mismatches += sum(1 for m in metrics if not (int(result[m][i]) == exact[m] and type(exact[m]) is int))
    engine_sample = sample[:50]
    for i in engine_sample:
        current = dict(base, batch=int(arrays["batch"][i]), seq_len=int(arrays["seq_len"][i]), past_len=int(arrays["past_len"][i]))
        mismatches += sum(1 for m in metrics if evaluate(library, rule.name, m, current).value != int(result[m][i]))
    scalar_n = 2_000 if not quick else 500
    start = time.perf_counter()
    for i in range(scalar_n):
        backend.totals(rule.name, metrics, dict(base, batch=int(arrays["batch"][i]), seq_len=int(arrays["seq_len"][i]), past_len=int(arrays["past_len"][i])))
    scalar_rate = scalar_n / (time.perf_counter() - start)
    rate = count / elapsed
    print()
    print(f"sweep: {count:,} workloads (batch 1..{nb} x seq_len {ns} values x past_len {npast} values), all {len(metrics)} totals each")
    print(f"  vectorised (numpy): {fmt_time(elapsed).strip()} -> {rate:,.0f} predictions/s  ({', '.join(f'{m}: {k}' for m, k in kinds.items())})")
    print(f"  scalar generated fast path, for comparison: {scalar_rate:,.0f} predictions/s")
    if oracle_warm:
        print(f"  the oracle would take {oracle_warm * count / 3600:,.1f} h for the same sweep ({oracle_warm * rate:,.0f}x slower)")
    print(f"  exactness: {len(sample)} sampled workloads x {len(metrics)} metrics vs the scalar path, {len(engine_sample)} vs the engine: {mismatches} mismatch(es)")

    # -- cold start
    runs = 2 if quick else 3
    lmpredict = shutil.which("lmpredict", path=str(Path(sys.executable).parent)) or "lmpredict"
    print()
    try:
        cold_eval = run_cold([lmpredict, "eval", CONFIG, "--json"], runs)
        cold_torch = run_cold([sys.executable, "-c", "import torch"], runs)
        cold_python = run_cold([sys.executable, "-c", "pass"], runs)
        print(f"cold start (median of {runs} fresh processes):")
        print(f"  lmpredict eval {CONFIG} --json        {fmt_time(cold_eval)}   ({cold_eval / cold_torch:.2f}x `import torch`)")
        print(f"  python -c 'import torch'            {fmt_time(cold_torch)}")
        print(f"  python -c 'pass'                    {fmt_time(cold_python)}")
        if oracle_cold:
            print(f"  (oracle first call, in-process, incl. torch+transformers import: {fmt_time(oracle_cold).strip()})")
    except (subprocess.CalledProcessError, OSError) as err:
        print(f"cold start: could not run: {err}")

    totals_us = by["totals      generated modules"] * 1e6
    print()
    print("targets (issue 5):")
    print(f"  warm totals with generated modules < {TARGET_TOTALS_US:.0f} us: {totals_us:.1f} us -> {'PASS' if totals_us < TARGET_TOTALS_US else 'MISS'}")
    print(f"  sweep > {TARGET_SWEEP_PER_S:,} predictions/s: {rate:,.0f}/s -> {'PASS' if rate > TARGET_SWEEP_PER_S else 'MISS'}")
    print(f"  sweep exact: {'PASS' if mismatches == 0 else 'MISS'}")
    default_s = by[DEFAULT_ROW]
    print("targets (issue 9):")
    print(f"  warm default predict() <= {TARGET_DEFAULT_US:.0f} us: {default_s * 1e6:.1f} us -> {'PASS' if default_s * 1e6 <= TARGET_DEFAULT_US else 'MISS'}"
          f"  (CPU time of this process: {default_cpu * 1e6:.1f} us; machine {machine().split('; ')[-1]})")
    if oracle_warm:
        ratio = oracle_warm / default_s
        verdict = "PASS" if ratio >= TARGET_DEFAULT_VS_ORACLE else "MISS"
        print(f"  warm default predict() >= {TARGET_DEFAULT_VS_ORACLE:,}x faster than the oracle ({fmt_time(oracle_warm).strip()}, same run): {ratio:,.0f}x -> {verdict}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
