"""The survey's exact model types again, under `attn_implementation="sdpa"` (docs/latency.md).

For each type that `bench/survey.py` found exact under eager (`exact: true` in bench/survey.json),
run the same pipeline (suggest --recursive -> lint -> oracle -> compare; flops, params and kv
cache in total and per module path; the survey's four configs, prefill and decode) with the
workload's attention path set to sdpa. bytes_read and bytes_written are compared too wherever the
rules define them: each config's record says `bytes: "compared"` or `"not derived"`, and `exact`
then covers the bytes as well. The oracle counts the CPU SDPA kernel with torch's own CUDA formula
(verify/oracle.py, `cpu_sdpa_formulas`), so agreeing with it is not agreeing with 0.

    .venv/bin/python bench/sdpa_survey.py [--only apertus,olmo2] [--jobs 2] [--json out.json] [--attn eager]
    .venv/bin/python bench/sdpa_survey.py --skip llama,gpt2 --part 2/4 --jobs 1 --json part2.json
    .venv-tf5/bin/python bench/sdpa_survey.py --transformers 5.23.0 [...]   (the 5.23 pin and its survey)


Without --only it takes every survey-exact type of bench/survey.json; --skip leaves types out
(those already surveyed) and --part K/N runs the K-th of N equal slices of what is left, so a
shared machine can run the set in pieces.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import survey  # noqa: E402 - bench/survey.py, the eager pipeline this reuses


def exact_types(version: str = "4.56.0") -> list[str]:
    """The model types the pin's survey (bench/survey.json, bench/survey-<pin>.json) records as exact under eager."""
    name = "survey.json" if version == "4.56.0" else f"survey-{version}.json"
    data = json.loads((ROOT / "bench" / name).read_text(encoding="utf-8"))
    records = data["records"] if isinstance(data, dict) else data  # {"totals", "records"} since the four-config survey
    return [r["model_type"] for r in records if r.get("exact")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per model type")
    parser.add_argument("--only", help="comma-separated model types (default: all survey-exact types)")
    parser.add_argument("--skip", default="", help="comma-separated model types to leave out")
    parser.add_argument("--part", help="K/N: run only the K-th (1-based) of N equal slices of the types")
    parser.add_argument("--json", type=Path, help="write the records here")
    parser.add_argument("--attn", choices=("sdpa", "eager"), default="sdpa",
                        help="attention path of every workload (eager: the same comparison, bytes included, on the eager path)")
    parser.add_argument("--transformers", choices=("4.56.0", "5.23.0"), default="4.56.0",
                        help="the pin to survey (run in its venv: .venv-tf5 for 5.23.0)")
    args = parser.parse_args(argv)
    survey.VERSION = args.transformers
    types = args.only.split(",") if args.only else exact_types(args.transformers)
    skip = set(filter(None, args.skip.split(",")))
    types = [t for t in types if t not in skip]
    if args.part:
        try:
            k, n = (int(x) for x in args.part.split("/"))
            if not 1 <= k <= n:
                raise ValueError
        except ValueError:
            parser.error(f"--part {args.part}: expected K/N with 1 <= K <= N")
        size = -(-len(types) // n)
        types = types[(k - 1) * size: k * size]
    # the workers are forked: they see the sdpa workloads (every config's, and the oracle probe's)
    survey.CONFIGS = {name: tuple({**wl, "attn": args.attn} for wl in wls) for name, wls in survey.CONFIGS.items()}
    survey.PREFILL = {**survey.PREFILL, "attn": args.attn}
    survey.COMPARED = survey.COMPARED + survey.BYTES
    t0 = time.monotonic()
    records = survey.run_all(types, args.jobs, args.timeout)
    exact = sum(1 for r in records if r.get("exact"))
    with_bytes = sum(1 for r in records if r.get("exact") and all(c.get("bytes") == "compared" for c in r.get("configs", {}).values() if c.get("mode")))
    print(f"\ntransformers {args.transformers}, {args.attn}: {exact} of {len(records)} survey-exact model types exact ({(time.monotonic() - t0) / 60:.1f} min); "
          f"{with_bytes} of them with bytes_read / bytes_written, {exact - with_bytes} without (not derived)")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
