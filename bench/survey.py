#!/usr/bin/env python
"""Coverage survey: suggest -> eval -> verify for every causal-LM model type of a transformers pin.

    .venv/bin/python bench/survey.py                 # all 132 types of 4.56.0, 2 workers, writes docs/coverage.md
    .venv-tf5/bin/python bench/survey.py --transformers 5.23.0   # all 189 types of 5.23.0, in its venv
    .venv/bin/python bench/survey.py --only llama,opt --no-write

The oracle measures in this process, so the interpreter must hold the pin's transformers (the venv
of lm_predictor/data/versions.py). Each pin's records go to its own JSON file; docs/coverage.md shows
every pin side by side, from the JSON files present.

For each model type (`MODEL_FOR_CAUSAL_LM_MAPPING_NAMES`, read from the static config table):
1. suggest --recursive on its causal-LM class, specialised on the default config, with a library of
   rules/torch/**, transformers/activations.yaml and pytorch_utils.yaml only (no hand-written
   model rules), and lint the result;
2. measure the real model with the oracle (fake tensors at the default config; where fake
   tensors cannot run it, real tensors on `shrink_config` of it);
3. compare predict() with the measurement for prefill (batch 2, 7 tokens) and decode (batch 3,
   1 token after 5): totals and every module path, flops and param_count (kv_cache_bytes too
   where the rules define it). "exact" means every compared number matches in both workloads.

Each type runs in its own worker process with a time limit. The result table goes to
docs/coverage.md and the raw records to bench/survey.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VERSION = "4.56.0"
"""The pin surveyed (--transformers); set before the workers fork."""
WORKLOADS = {"prefill": dict(batch=2, seq_len=7, past_len=0), "decode": dict(batch=3, seq_len=1, past_len=5)}


def model_types() -> list[str]:
    from lm_predictor.data.transformers_table import load_table

    table = load_table(VERSION)["model_types"]
    return sorted(k for k, v in table.items() if v.get("in_causal_lm_mapping"))


def base_library():
    from lm_predictor.rules.library import load_library
    from tests.suggest.families import base_paths

    return load_library(base_paths())


def source_tree():
    """The analysed transformers sources of VERSION: its pinned tree in third_party/."""
    from lm_predictor.suggest.sources import open_tree

    return open_tree("pinned", version=VERSION)


def survey_one(model_type: str) -> dict:
    """Everything for one model type (runs in a worker process), reading the pin VERSION.

    Where no prediction is reached, the oracle is still tried, so the share of exact types can be
    taken over the types the oracle can run (`oracle_runs`)."""
    from lm_predictor.data.versions import reading

    with reading(VERSION):
        rec = _survey_one(model_type)
    if "oracle_runs" not in rec:
        rec.update(oracle_probe({"model_type": model_type}))
    return rec


def oracle_probe(config: dict) -> dict:
    """Whether the oracle runs the model at prefill (fake, else real on the shrunk config)."""
    from lm_predictor.verify.oracle import OracleUnsupported, measure, shrink_config
    from lm_predictor.workload import Workload

    workload = Workload(**WORKLOADS["prefill"])
    try:
        try:
            return {"oracle_runs": True, "mode": measure(config, workload, mode="auto").mode}
        except OracleUnsupported:
            measure(shrink_config(config), workload, mode="real")
            return {"oracle_runs": True, "mode": "real (shrunk)"}
    except Exception as err:  # noqa: BLE001 - the oracle's limits are a finding of the survey
        return {"oracle_runs": False, "oracle_detail": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]}


def _survey_one(model_type: str) -> dict:
    """survey_one without the pin context."""
    from lm_predictor.data.transformers_table import causal_lm_for
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.lint import lint_paths
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import SuggestError, suggest
    from tests.suggest.families import base_paths

    rec: dict = {"model_type": model_type, "root": causal_lm_for(model_type), "lint_clean": None, "flops_exact": None,
                 "params_exact": None, "kv_exact": None, "exact": False, "mode": None, "category": None, "detail": "",
                 "unresolved": [], "suggest_seconds": None, "rules": 0}
    config = {"model_type": model_type}
    base = base_library()
    t0 = time.perf_counter()
    try:
        result = suggest(rec["root"], recursive=True, library=base, config=config, specialise=True, tree=source_tree())
    except SuggestError as err:
        return {**rec, "category": "analysis: not reached", "detail": str(err)}
    except Exception as err:  # noqa: BLE001 - a crash of the analysis is a finding of the survey
        return {**rec, "category": "analysis: crash", "detail": f"{type(err).__name__}: {err}"[:300]}
    rec["suggest_seconds"] = round(time.perf_counter() - t0, 2)
    rec["rules"] = len(result.rules)
    rec["specialised_on"] = dict(result.specialised_on)
    rec["unresolved"] = sorted({f.code.code for f in result.findings if f.slug in result.unresolved})
    tmp = Path(tempfile.mkdtemp(prefix="survey-"))
    path = tmp / f"{model_type}.yaml"
    path.write_text(result.text, encoding="utf-8")
    lint = lint_paths([*base_paths(), path], with_library=False)
    errors = [d for d in lint.diagnostics if d.severity.value == "error"]
    rec["lint_clean"] = not errors
    if result.unresolved:
        first = next((f.render() for f in result.findings if f.slug in result.unresolved), "")
        return {**rec, "category": "unresolved " + "/".join(rec["unresolved"]), "detail": first[:300]}
    if errors:
        return {**rec, "category": "lint", "detail": errors[0].headline()[:300]}
    library = load_library([*base_paths(), path])
    return {**rec, **verify(config, library, model_type, result)}


def verify(config: dict, library, model_type: str, result) -> dict:
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.verify.compare import compare
    from lm_predictor.verify.oracle import OracleUnsupported, measure, shrink_config
    from lm_predictor.workload import Workload

    out: dict = {"mode": None, "flops_exact": True, "params_exact": True, "kv_exact": None}
    bad: list[str] = []
    measured_config = config
    try:  # very large defaults (hundreds of experts, 100B+ parameters) take minutes even under fake tensors
        size = predict(config, library=library, transformers=VERSION, **WORKLOADS["prefill"]).totals.get("param_count", 0)
        if isinstance(size, int) and size > 30_000_000_000:
            measured_config = shrink_config(config)
            out["shrunk_reason"] = f"default config has {size / 1e9:.0f}B parameters; measured shrunk"
    except Exception:  # noqa: BLE001 - the comparison below reports eval errors
        pass
    for name, wl in WORKLOADS.items():
        workload = Workload(**wl)
        try:
            try:
                m = measure(measured_config, workload, mode="auto")
            except OracleUnsupported as err:
                if measured_config is config:
                    measured_config = shrink_config(config)
                    out["shrunk_reason"] = str(err)[:200]
                m = measure(measured_config, workload, mode="real")
        except OracleUnsupported as err:
            if name == "decode" and "decode unsupported" in str(err):
                out["decode"] = "n/a: the model returns no KV cache"
                continue
            return {"category": "oracle cannot run it", "detail": str(err)[:300], "flops_exact": None, "params_exact": None, "oracle_runs": False}
        except Exception as err:  # noqa: BLE001
            if name == "decode" and isinstance(err, AttributeError) and "past_key_values" in str(err):
                out["decode"] = "n/a: the model returns no KV cache"
                continue
            return {"category": "oracle cannot run it", "detail": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300], "flops_exact": None, "params_exact": None, "oracle_runs": False}
        out["mode"] = m.mode if measured_config is config else "real (shrunk)"
        out["oracle_runs"] = True
        try:
            p = predict(measured_config, library=library, transformers=VERSION, **wl)
        except Exception as err:  # noqa: BLE001
            return {**out, "category": "eval error", "detail": f"{type(err).__name__}: {err}"[:300], "flops_exact": None, "params_exact": None}
        rows = compare(p, m.totals, m.module_flops, m.module_params)
        for r in rows:
            if r.exact:
                continue
            if r.metric == "flops":
                out["flops_exact"] = False
            elif r.metric == "param_count":
                out["params_exact"] = False
            elif r.metric == "kv_cache_bytes":
                out["kv_exact"] = False
            bad.append(f"{name} {r.path or '(total)'} {r.metric}: predicted {r.predicted} measured {r.measured}")
        if "kv_cache_bytes" in p.totals and out["kv_exact"] is None:
            out["kv_exact"] = True
    if out["kv_exact"] is not False and "kv_cache_bytes" in library.get(result.rules[0]).metrics:
        out["kv_exact"] = True if out["kv_exact"] is not False else False
    if bad:
        kinds = sorted({b.split(": ")[0].rsplit(" ", 1)[-1] for b in bad})
        return {**out, "category": "mismatch " + "/".join(kinds), "detail": "; ".join(bad[:3])[:400]}
    if out.get("decode"):
        return {**out, "exact": True, "category": "exact (prefill; the model keeps no KV cache, so no decode)"}
    return {**out, "exact": True, "category": "exact"}


def _worker(model_type: str, queue: mp.Queue) -> None:
    os.environ.setdefault("LMPREDICT_CACHE", tempfile.mkdtemp(prefix="survey-cache-"))
    try:
        queue.put(survey_one(model_type))
    except BaseException as err:  # noqa: BLE001
        queue.put({"model_type": model_type, "category": "survey crash", "detail": f"{type(err).__name__}: {err}"[:300] + traceback.format_exc()[-300:]})


def run_all(types: list[str], jobs: int, timeout: float) -> list[dict]:
    ctx = mp.get_context("fork")
    pending = list(types)
    running: dict = {}
    results: dict = {}
    while pending or running:
        while pending and len(running) < jobs:
            mt = pending.pop(0)
            q = ctx.Queue()
            proc = ctx.Process(target=_worker, args=(mt, q), daemon=True)
            proc.start()
            running[mt] = (proc, q, time.monotonic())
        time.sleep(0.2)
        for mt, (proc, q, started) in list(running.items()):
            rec = None
            try:
                rec = q.get_nowait()
            except Exception:  # noqa: BLE001 - queue empty
                pass
            if rec is not None:
                proc.join(5)
                rec["seconds"] = round(time.monotonic() - started, 1)
                results[mt] = rec
                del running[mt]
                print(f"{mt:24s} {rec.get('category')}  {rec.get('seconds')}s  {rec.get('detail', '')[:120]}", flush=True)
            elif not proc.is_alive() or time.monotonic() - started > timeout:
                proc.kill()
                proc.join(5)
                results[mt] = {"model_type": mt, "category": "timeout" if proc.exitcode in (None, -9) else f"worker died ({proc.exitcode})",
                               "detail": f"no result within {timeout:.0f} s", "seconds": round(time.monotonic() - started, 1)}
                del running[mt]
                print(f"{mt:24s} {results[mt]['category']}", flush=True)
    return [results[mt] for mt in types]


PINNED = ("4.56.0", "5.23.0")


def json_path(version: str) -> Path:
    """Where the records of one pin live (4.56.0 keeps the original bench/survey.json)."""
    return ROOT / "bench" / ("survey.json" if version == "4.56.0" else f"survey-{version}.json")


def load_records(version: str) -> tuple[list[dict], float | None]:
    """(records, minutes of the run on 2 workers, from the per-type seconds) of one pin's survey."""
    try:
        records = json.loads(json_path(version).read_text(encoding="utf-8"))
    except OSError:
        return [], None
    seconds = [r["seconds"] for r in records if isinstance(r.get("seconds"), (int, float))]
    return records, (sum(seconds) / 2 / 60 if seconds else None)


def summary(records: list[dict]) -> dict:
    """The totals one column of the coverage table shows."""
    runs = [r for r in records if r.get("oracle_runs")]
    exact = [r for r in records if r.get("exact")]
    share = f"{100 * len(exact) / len(runs):.0f}%" if runs else "-"
    return {
        "causal-LM model types": len(records),
        "the oracle runs (fake, or real on a shrunk config)": len(runs) if any("oracle_runs" in r for r in records) else "not recorded",
        "exact end to end": len(exact),
        "exact, of the types the oracle runs": f"{len(exact)} of {len(runs)} ({share})" if runs else "-",
        "lint-clean suggestions": sum(1 for r in records if r.get("lint_clean")),
        "flops exact": sum(1 for r in records if r.get("flops_exact") is True),
        "param_count exact": sum(1 for r in records if r.get("params_exact") is True),
    }


def write_markdown(path: Path) -> None:
    """docs/coverage.md from every pin's records, side by side."""
    pins = {v: load_records(v) for v in PINNED}
    pins = {v: rm for v, rm in pins.items() if rm[0]}
    cols = list(pins)
    lines = [
        "# Coverage: `suggest` -> `eval` -> `verify` over every causal-LM model type, per transformers pin",
        "",
        "Generated by `bench/survey.py` (`.venv/bin/python bench/survey.py` for 4.56.0,",
        "`.venv-tf5/bin/python bench/survey.py --transformers 5.23.0` for 5.23.0; torch 2.13.0 CPU); "
        + "; ".join(f"{v}: about {m:.0f} min on 2 workers" if m else f"{v}: time not recorded" for v, (_, m) in pins.items()) + ".",
        "No hand-written model rule is used: each type's rules come from `lmpredict suggest --recursive` on its",
        "causal-LM class (default config) in that pin's source, on top of rules/torch/**, transformers/activations.yaml",
        "and transformers/pytorch_utils.yaml. Exact means: flops and param_count (and kv_cache_bytes where the rules",
        "define it) equal the oracle's measurement in the same pin's venv, in total and for every module path, for",
        "prefill (batch 2, 7 tokens) and decode (batch 3, 1 token after 5). MoE experts are measured through",
        "`experts_implementation=\"eager\"` (5.x); a fused experts module that counts 0 FLOPs is refused, never compared.",
        "",
        "| | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    sums = {v: summary(rm[0]) for v, rm in pins.items()}
    for key in next(iter(sums.values())):
        lines.append(f"| {key} | " + " | ".join(str(sums[v][key]) for v in cols) + " |")
    cats = {v: Counter(_family(r.get("category", "?")) for r in rm[0]) for v, rm in pins.items()}
    order = Counter()
    for c in cats.values():
        order.update(c)
    lines += ["", "| outcome | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for cat, _ in order.most_common():
        lines.append(f"| {cat} | " + " | ".join(str(cats[v].get(cat, 0)) for v in cols) + " |")
    lines += [
        "",
        "Oracle modes: `fake` = FakeTensorMode at the default config; `real (shrunk)` = real tensors on",
        "`shrink_config(default)` (hidden 64, 2 layers, <= 4 experts), used where fake tensors cannot run the model",
        "(data-dependent masks, MoE routing). `-` in a column: the type is not in that pin.",
        "",
        "| model type | " + " | ".join(f"{v} oracle | {v} outcome" for v in cols) + " | detail (newest pin that has the type) |",
        "|---|" + "---|---|" * len(cols) + "---|",
    ]
    by_type = {v: {r["model_type"]: r for r in rm[0]} for v, rm in pins.items()}
    for model_type in sorted(set().union(*by_type.values())):
        cells, detail = [], ""
        for v in cols:
            r = by_type[v].get(model_type)
            if r is None:
                cells += ["-", "-"]
                continue
            mode = r.get("mode") or ("cannot run" if r.get("oracle_runs") is False else "-")
            cells += [mode, r.get("category") or "?"]
            detail = (r.get("detail") or r.get("oracle_detail") or "").replace("|", "\\|").replace("\n", " ")
        if len(detail) > 160:
            detail = detail[:157] + "..."
        lines.append(f"| {model_type} | " + " | ".join(cells) + f" | {detail} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _family(category: str) -> str:
    if category.startswith("unresolved"):
        return "unresolved terms (" + category.split(" ", 1)[1] + ")" if " " in category else category
    return category


def main(argv: list[str] | None = None) -> int:
    global VERSION
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transformers", choices=PINNED, default="4.56.0", help="the pin to survey (run in its venv)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per model type")
    parser.add_argument("--only", help="comma-separated model types")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/coverage.md / the pin's JSON records")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "coverage.md")
    parser.add_argument("--markdown-only", action="store_true", help="only rewrite the markdown from the JSON records")
    args = parser.parse_args(argv)
    VERSION = args.transformers
    if args.markdown_only:
        write_markdown(args.markdown)
        return 0
    from lm_predictor.verify.pinned_env import installed_transformers

    if installed_transformers() != VERSION:
        print(f"survey: this interpreter has transformers {installed_transformers()}; run the {VERSION} survey in its venv", file=sys.stderr)
        return 2
    types = args.only.split(",") if args.only else model_types()
    t0 = time.monotonic()
    records = run_all(types, args.jobs, args.timeout)
    elapsed = time.monotonic() - t0
    exact = sum(1 for r in records if r.get("exact"))
    print(f"\n{exact} of {len(records)} model types of transformers {VERSION} exact end to end ({elapsed / 60:.1f} min)")
    if not args.no_write:
        json_path(VERSION).write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
        write_markdown(args.markdown)
        print(f"wrote {args.markdown} and {json_path(VERSION)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
