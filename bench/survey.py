#!/usr/bin/env python
"""Coverage survey: what `lmpredict eval` gives users, against the oracle, for every causal-LM type.

    .venv/bin/python bench/survey.py                 # all 132 types, 2 workers, writes docs/coverage.md
    .venv/bin/python bench/survey.py --only llama,opt --no-write

For each model type (`MODEL_FOR_CAUSAL_LM_MAPPING_NAMES`, read from the static config table) the
survey prices four configs the way a user does, `predict(config)`, on a library of rules/torch/**,
transformers/activations.yaml and pytorch_utils.yaml only (no hand-written model rules), so eval
derives the model's rules from the pinned source and caches them (one cache per type):

- `to_json`: the file `CONFIG_MAPPING[t]().to_json_file()` writes, read back with eval's reader
  (per-layer lists, nested `*_config` blocks, `Infinity`);
- `minimal`: `{"model_type": t}`;
- `varied A`: 3 layers, grouped-query attention (half the KV heads; not for multi-head latent attention), untied embeddings (per-layer
  lists a class keeps at its default length are cut to the layers);
- `varied B`: 5 layers, full multi-head attention, tied embeddings, half the FFN width, and a
  different layer mix where the type has `layer_types` (the default mix, reversed);
  both written by `CONFIG_MAPPING[t](**overrides).to_json_file()`, so the config class derives
  every other field.

to_json and minimal run at prefill (batch 2, 7 tokens) and decode (batch 3, 1 token after 5);
varied A at prefill and varied B at decode, to keep the run near 10 minutes on 2 cores. Each is
compared with the oracle (fake tensors; real tensors on `shrink_config` where fake tensors
cannot run the model): flops and param_count, kv_cache_bytes where the rules define it, in total
and for every module path. A type exact at varied A under fake tensors also prices one training
step at varied A and B where inference is exact there under fake tensors, and at varied C (2 layers,
built for the train column only; TRAIN_CONFIGS) (`survey_train`: train flops, flops with gradient checkpointing, weight, grad, optimizer and
activation bytes against train_oracle; a metric is exact only when it is exact at every config
that ran, and the per-config results stay in the record). Results go to bench/survey.json (bench/survey-<pin>.json for 5.x) and docs/coverage.md, which shows
every pin side by side (the other pins from their committed JSON).
While it runs, `<json stem>.partial.json` beside the JSON holds the records so far (removed at the
end): an interrupted run keeps what it measured, and `bench/cmp_survey.py` reads that file too.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VERSION = "4.56.0"
"""The transformers pin surveyed (--transformers; run in that pin's venv); set before the workers fork."""
PREFILL = dict(batch=2, seq_len=7, past_len=0)
DECODE = dict(batch=3, seq_len=1, past_len=5)
CONFIGS = {"to_json": (PREFILL, DECODE), "minimal": (PREFILL, DECODE), "varied_a": (PREFILL,), "varied_b": (DECODE,)}
COMPARED = ("flops", "param_count", "kv_cache_bytes")
BYTES = ("bytes_read", "bytes_written")
"""Compared too when a caller adds them to COMPARED (bench/sdpa_survey.py); a rule without them is recorded as such."""
SHRINK_ABOVE_PARAMS = 30_000_000_000
"""Defaults larger than this are measured shrunk (hundreds of experts take minutes even under fake tensors)."""


def model_types() -> list[str]:
    from lm_predictor.data.transformers_table import load_table

    table = load_table(VERSION)["model_types"]
    return sorted(k for k, v in table.items() if v.get("in_causal_lm_mapping"))


def base_library():
    from lm_predictor.rules.library import load_library
    from tests.suggest.families import base_paths

    return load_library(base_paths())


# ---------------------------------------------------------------- the four configs

def _written(cls, overrides: dict, directory: Path, name: str) -> dict:
    """`cls(**overrides).to_json_file()`, read back with eval's own reader."""
    from lm_predictor.evaluate.config_source import read_config

    path = directory / f"{name}.json"
    cls(**overrides).to_json_file(path)
    return read_config(path)


def _variants(default: dict) -> dict[str, dict]:
    """Overrides for varied A and B, from the keys the type's default config has."""
    from lm_predictor.evaluate.layers import KIND_LISTS, LAYER_COUNT_KEYS, SETS_THE_COUNT, VALUE_LISTS

    def first(keys):
        return next((k for k in keys if isinstance(default.get(k), int) and not isinstance(default.get(k), bool)), None)

    layers = first(LAYER_COUNT_KEYS)
    heads = first(("num_attention_heads", "n_head", "num_heads", "encoder_attention_heads"))
    kv = first(("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"))
    ffn = first(("intermediate_size", "n_inner", "ffn_dim", "d_ff", "decoder_ffn_dim"))
    a: dict = {"tie_word_embeddings": False}
    b: dict = {"tie_word_embeddings": True}
    c: dict = {"tie_word_embeddings": False}
    if layers:
        a[layers], b[layers], c[layers] = 3, 5, 2
    if kv and heads and default[heads] % 2 == 0 and default.get("kv_lora_rank") is None:
        # not for multi-head latent attention (kv_lora_rank): its keys and values come out of kv_b_proj with one
        # head per query head, and transformers' MLA code cannot run fewer KV heads (a shape error, no ground truth)
        a[kv], b[kv] = default[heads] // 2, default[heads]
        c[kv] = default[heads] // 4 if default[heads] % 4 == 0 else 1
    if ffn and default[ffn] % 2 == 0:
        b[ffn] = default[ffn] // 2
    if ffn and default[ffn] % 4 == 0:
        c[ffn] = default[ffn] // 4
    for key in (*KIND_LISTS, *VALUE_LISTS):  # lists some classes keep at the default length: cut them
        value = default.get(key)
        if layers and key not in SETS_THE_COUNT and isinstance(value, list) and len(value) == default[layers]:
            a[key], b[key], c[key] = value[: a[layers]], value[: b[layers]], value[-c[layers]:]
    if default.get("pad_token_id") is None:
        # published files mostly set it (to_json_file leaves a None out), and a padding_idx can change which
        # modules a model builds (5.23 derived rules priced the token embedding idle wherever it was set)
        c["pad_token_id"] = 0
    kinds = default.get("layer_types")
    if isinstance(kinds, list) and len(set(kinds)) > 1 and layers:
        b["layer_types"] = list(reversed(kinds))[: b[layers]]
    return {"varied_a": a, "varied_b": b, "varied_c": c}


def _sub_config_defaults(cls) -> dict:
    """`{name: {}}` for each sub-config the class binds to a configuration class of its own (the way the model's
    config builds it from a published file: `Phi4MultimodalVisionConfig(**vision_config)`); none where a sub-config
    is an AutoConfig, whose model type only a published file names (musicgen's text and audio encoders)."""
    subs = getattr(cls, "sub_configs", None) or {}
    if any(getattr(sub, "__name__", "") == "AutoConfig" for sub in subs.values()):
        return {}
    return {name: {} for name in subs}


def build_configs(model_type: str, directory: Path) -> dict[str, tuple[dict | None, str]]:
    """name -> (config dict, '') or (None, why transformers cannot write it)."""
    from transformers import CONFIG_MAPPING

    out: dict[str, tuple[dict | None, str]] = {"minimal": ({"model_type": model_type}, "")}
    cls = CONFIG_MAPPING[model_type]
    bound, base = _sub_config_defaults(cls), {}
    try:
        try:
            default = _written(cls, {}, directory, "to_json")
        except Exception:  # noqa: BLE001 - a class whose own defaults fail: its sub-configs given as their defaults
            if not bound:
                raise
            base = bound
            default = _written(cls, base, directory, "to_json")
            out["minimal"] = ({"model_type": model_type, **base}, "")
        out["to_json"] = (default, "")
    except Exception as err:  # noqa: BLE001 - musicgen & co cannot write a default config
        out["to_json"] = (None, f"transformers cannot write the default config: {type(err).__name__}: {_line(err)}")
        default = None
    for name, overrides in (_variants(default) if default else {}).items():
        try:
            out[name] = (_written(cls, {**base, **overrides}, directory, name), "")
        except Exception as err:  # noqa: BLE001 - a config class that refuses the variation
            out[name] = (None, f"config class refuses {overrides}: {type(err).__name__}: {_line(err)}")
    for name in CONFIGS:
        out.setdefault(name, (None, "no default config to vary"))
    return out


# ---------------------------------------------------------------- one type

class Measurements:
    """Oracle runs shared between configs that build the same model (to_json and minimal)."""

    def __init__(self) -> None:
        self.done: dict[str, object] = {}

    def get(self, config: dict, workload: dict, real: bool):
        from lm_predictor.verify.oracle import measure
        from lm_predictor.workload import Workload

        key = json.dumps([config, workload, real], sort_keys=True, default=str)
        if key not in self.done:
            try:
                self.done[key] = measure(config, Workload(**workload), mode="real" if real else "auto")
            except Exception as err:  # noqa: BLE001 - kept, so a second config sees the same failure
                self.done[key] = err
        value = self.done[key]
        if isinstance(value, Exception):
            raise value
        return value


def survey_config(config: dict, workloads: tuple, library, oracle: Measurements, canonical: dict | None) -> dict:
    """Price one config like a user (predict), measure the model it builds, compare."""
    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.evaluate.predict import predict
    from lm_predictor.verify.compare import compare
    from lm_predictor.verify.oracle import DecodeUnsupported, OracleUnsupported, shrink_config

    rec: dict = {"exact": False, "mode": None, "category": None, "detail": ""}
    measured_as = canonical or config  # minimal and to_json build the same default model
    try:
        first = predict(config, library=library, transformers=VERSION, **workloads[0])
    except LmPredictorError as err:
        return {**rec, **_eval_failure(err)}
    except Exception as err:  # noqa: BLE001 - a crash is a finding
        return {**rec, "category": "eval crash", "detail": f"{type(err).__name__}: {err}"[:300]}
    rec["notes"] = [n for n in first.notes if "derived" not in n]
    shrunk = None
    size = first.totals.get("param_count")
    if isinstance(size, int) and size > SHRINK_ABOVE_PARAMS:
        shrunk = f"default config has {size / 1e9:.0f}B parameters; measured shrunk"
    bad: list[str] = []
    for workload in workloads:
        subject = measured_as if shrunk is None else shrink_config(config)
        try:
            try:
                m = oracle.get(subject, workload, real=shrunk is not None)
            except OracleUnsupported as err:
                if shrunk is not None or isinstance(err, DecodeUnsupported):
                    raise
                shrunk, subject = str(err)[:200], shrink_config(config)
                m = oracle.get(subject, workload, real=True)
        except Exception as err:  # noqa: BLE001
            if workload["past_len"] and ("decode unsupported" in str(err) or "past_key_values" in str(err)):
                rec["no_decode"] = True
                continue
            if workload["past_len"] and rec["mode"] and not isinstance(err, OracleUnsupported):
                # prefill ran, then the model raised on the cache it returned (legacy tuples, a mask bug): no decode exists
                rec["no_decode"] = True
                rec["decode_error"] = f"{type(err).__name__}: {_line(err)}"[:200]
                continue
            return {**rec, "category": "oracle cannot run it", "detail": f"{type(err).__name__}: {_line(err)}"[:300]}
        rec["mode"] = "real (shrunk)" if shrunk else m.mode
        priced = config if shrunk is None else subject
        try:
            p = predict(priced, library=library, transformers=VERSION, **workload)
        except LmPredictorError as err:
            return {**rec, **_eval_failure(err)}
        rows = compare(p, m.totals, m.module_flops, m.module_params, m.module_bytes)
        bad += [f"{'decode' if workload['past_len'] else 'prefill'} {r.path or '(total)'} {r.metric}: predicted {r.predicted} measured {r.measured}"
                for r in rows if r.metric in COMPARED and not r.exact]
        if set(BYTES) & set(COMPARED):
            rec["bytes"] = "compared" if set(BYTES) <= set(p.totals) else "not derived"
    if shrunk:
        rec["shrunk_reason"] = shrunk
    if bad:
        kinds = sorted({b.split(": ")[0].rsplit(" ", 1)[-1] for b in bad})
        return {**rec, "category": "mismatch " + "/".join(kinds), "detail": "; ".join(bad[:3])[:400]}
    if rec.get("decode_error"):
        return {**rec, "exact": True, "category": "exact (prefill; the model raises when it decodes from its own cache)"}
    return {**rec, "exact": True, "category": "exact (prefill; no KV cache, so no decode)" if rec.get("no_decode") else "exact"}


def _eval_failure(err) -> dict:
    message = err.diagnostic.headline()
    terms = " ".join(err.diagnostic.notes)  # C013: one note per unresolved term
    codes = sorted(set(re.findall(r"\bA\d{3}\b", message + " " + terms)))
    if codes:
        return {"category": "unresolved " + "/".join(codes), "detail": (err.diagnostic.notes[0] if err.diagnostic.notes else message)[:300], "unresolved": codes}
    return {"category": f"eval error {err.diagnostic.code.code}", "detail": message[:300]}


TRAIN = dict(batch=2, seq_len=7)
TRAIN_CONFIGS = ("varied_a", "varied_b", "varied_c")
"""Configs a training step is surveyed at, where inference was exact there under fake tensors: 3 and
5 layers (GQA vs full attention, untied vs tied) and varied C, built for the train column only: 2
layers (the last two of any per-layer list), a quarter of the KV heads (one where the heads do not
divide by 4: MQA), a quarter of the FFN width, untied, and `pad_token_id: 0` where the class leaves
it unset. Its inference is not surveyed: the step compares forward + backward flops itself. `--train-configs varied_a,varied_b,to_json` trains the
default config instead (the file a user has: 1.6x the survey's time on the sampled types)."""
TRAIN_ONLY = ("varied_c",)
"""Configs that only the train column runs (where varied A ran under fake tensors)."""
TRAIN_COMPARED = ("flops", "flops_ckpt", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")
"""flops_ckpt: train flops with --grad-checkpointing (gradient_checkpointing_enable() in the oracle)."""


TOO_BIG_FOR_REAL = "too big for real tensors"
"""train_oracle's refusal of a step fake tensors cannot run (data-dependent control flow) on a model
over REAL_MAX_PARAMS: the survey then prices and measures shrink_config(config) instead."""


def survey_train(config: dict, library) -> dict:
    """One training step (batch 2, 7 tokens, float32, AdamW) of a config whose inference is exact:
    each train metric 'exact', 'mismatch' (with both numbers), 'unavailable' (eval does not price
    it) or 'error: ...' (this metric's step failed), against train_oracle (fake tensors; no peak
    run, to keep the survey cheap); flops_ckpt repeats the step with gradient checkpointing.
    Where fake tensors cannot run the step and the model is too big for real ones (4.56
    blenderbot's LayerDrop `rand`), eval and the oracle both take shrink_config(config), as the
    inference survey does, and the record says so ('shrunk')."""
    from lm_predictor.verify.oracle import shrink_config

    result = _train_step(config, library)
    if TOO_BIG_FOR_REAL not in result.get("error", ""):
        return result
    return {**_train_step(shrink_config(config), library), "shrunk": result["error"][len("oracle: "):]}


def _train_step(config: dict, library) -> dict:
    """survey_train on `config` as given (no shrinking)."""
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload

    try:
        predicted = predict_train(config, library=library, survey_checked=False, transformers=VERSION, **TRAIN).totals
    except Exception as err:  # noqa: BLE001 - a refusal or crash is a finding
        return {"error": f"eval: {type(err).__name__}: {_line(err)}"[:200]}
    try:
        measured = measure_train(config, Workload(**TRAIN), peak=False).totals
    except Exception as err:  # noqa: BLE001
        return {"error": f"oracle: {type(err).__name__}: {_line(err)}"[:200]}
    try:
        ckpt = TrainOptions(grad_checkpointing=True)
        predicted["flops_ckpt"] = predict_train(config, library=library, survey_checked=False, transformers=VERSION, options=ckpt, **TRAIN).totals["flops"]
        measured["flops_ckpt"] = measure_train(config, Workload(**TRAIN), grad_checkpointing=True, peak=False).totals["flops"]
    except KeyError:  # eval prices no flops with checkpointing
        predicted.pop("flops_ckpt", None)
    except Exception as err:  # noqa: BLE001 - e.g. a model that does not support checkpointing
        predicted["flops_ckpt"] = f"error: {type(err).__name__}: {_line(err)}"[:200]
    return {metric: _train_verdict(predicted.get(metric), measured.get(metric)) for metric in TRAIN_COMPARED}


def _train_verdict(predicted: int | str | None, measured: int | None) -> str:
    """'exact', 'unavailable', 'error: ...' or 'mismatch: predicted P measured M' for one metric at one config."""
    if predicted is None:
        return "unavailable"
    if isinstance(predicted, str):
        return predicted
    return "exact" if predicted == measured else f"mismatch: predicted {predicted} measured {measured}"


def combine_train(per_config: dict[str, dict]) -> dict:
    """The train record of a type from its per-config results (kept under 'configs'): a metric is
    'exact' only when it is exact at every config whose step ran; a mismatch anywhere wins (named
    with its config), then an error, then 'unavailable'."""
    ran = {name: r for name, r in per_config.items() if "error" not in r}
    out: dict = {"configs": per_config}
    if not ran:
        out["error"] = next(iter(per_config.values()))["error"]
        return out
    for metric in TRAIN_COMPARED:
        seen = {name: r.get(metric, "unavailable") for name, r in ran.items()}
        worst = next((f"{kind}: {name}: {v.split(': ', 1)[1]}" for kind in ("mismatch", "error") for name, v in seen.items() if v.startswith(kind + ":")), None)
        out[metric] = worst or ("exact" if all(v == "exact" for v in seen.values()) else "unavailable")
    return out


def survey_one(model_type: str, names: tuple = tuple(CONFIGS)) -> dict:
    """The configs `names` (all four by default) of one type (runs in a worker process), reading the pin VERSION."""
    from lm_predictor.data.versions import reading

    with reading(VERSION):
        return _survey_one(model_type, names)


def _survey_one(model_type: str, names: tuple) -> dict:
    """survey_one without the pin context."""
    from lm_predictor.data.transformers_table import causal_lm_for

    library = base_library()
    oracle = Measurements()
    directory = Path(tempfile.mkdtemp(prefix=f"survey-{model_type}-"))
    configs = build_configs(model_type, directory)
    canonical = configs["to_json"][0]
    rec: dict = {"model_type": model_type, "root": causal_lm_for(model_type), "configs": {}}
    for name in names:
        workloads = CONFIGS[name]
        config, why = configs[name]
        t0 = time.perf_counter()
        if config is None:
            result = {"exact": False, "category": "no config", "detail": why}
        else:
            result = survey_config(config, workloads, library, oracle, canonical if name == "minimal" else None)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        rec["configs"][name] = result
    rec["exact"] = all(rec["configs"][n]["exact"] for n in ("to_json", "minimal"))
    on_fake = rec["configs"].get("varied_a", {}).get("mode") == "fake"
    trainable = [n for n in TRAIN_CONFIGS if (rec["configs"].get(n, {}).get("exact") and rec["configs"][n].get("mode") == "fake")
                 or (n in TRAIN_ONLY and on_fake and rec["configs"]["varied_a"].get("exact") and configs.get(n, (None,))[0] is not None)]
    if "varied_a" in trainable:  # as before: a type exact at varied A under fake tensors, now at each exact config
        t0 = time.perf_counter()
        per_config = {}
        for name in trainable:
            t1 = time.perf_counter()
            per_config[name] = survey_train(configs[name][0], library)
            per_config[name]["seconds"] = round(time.perf_counter() - t1, 1)
        rec["train"] = combine_train(per_config)
        rec["train"]["seconds"] = round(time.perf_counter() - t0, 1)
    if not rec["exact"] and not any(rec["configs"][n].get("mode") for n in ("to_json", "minimal")):
        rec["oracle_runs"] = _oracle_runs(canonical or configs["minimal"][0], oracle)  # is there ground truth at all?
    return rec


def _oracle_runs(config: dict, oracle: Measurements) -> str:
    """'yes', or why the reference model itself cannot run this config (fake, then real shrunk)."""
    from lm_predictor.verify.oracle import OracleUnsupported, shrink_config

    try:
        try:
            oracle.get(config, PREFILL, real=False)
        except OracleUnsupported:
            oracle.get(shrink_config(config), PREFILL, real=True)
        return "yes"
    except Exception as err:  # noqa: BLE001
        return f"{type(err).__name__}: {_line(err)}"[:200]


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""


# ---------------------------------------------------------------- running

def _worker(model_type: str, queue: mp.Queue) -> None:
    os.environ["LMPREDICT_CACHE"] = tempfile.mkdtemp(prefix="survey-cache-")  # every type derives cold
    try:
        queue.put(survey_one(model_type))
    except BaseException as err:  # noqa: BLE001
        queue.put({"model_type": model_type, "configs": {}, "exact": False, "crash": f"{type(err).__name__}: {err}"[:300] + traceback.format_exc()[-300:]})


def _warm_imports() -> None:
    """Import torch and transformers once, before forking, instead of once per worker."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        from transformers import CONFIG_MAPPING  # noqa: F401
    except ImportError:
        pass


def run_all(types: list[str], jobs: int, timeout: float, partial: Path | None = None) -> list[dict]:
    """Survey `types` in `jobs` worker processes; with `partial`, the records so far are rewritten
    there after each type, so an interrupted run keeps what it measured (cmp_survey.py reads it)."""
    ctx = mp.get_context("fork")
    pending = list(types)
    running: dict = {}
    results: dict = {}
    start = time.monotonic()
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
            if rec is None and (proc.is_alive() and time.monotonic() - started <= timeout):
                continue
            if rec is None:
                proc.kill()
                rec = {"model_type": mt, "configs": {}, "exact": False,
                       "crash": "timeout" if proc.exitcode in (None, -9) else f"worker died ({proc.exitcode})"}
            proc.join(5)
            rec["seconds"] = round(time.monotonic() - started, 1)
            results[mt] = rec
            del running[mt]
            _progress(rec, len(results), len(types), time.monotonic() - start)
            if partial is not None:
                write_partial(partial, [results[t] for t in types if t in results])
    return [results[mt] for mt in types]


def write_partial(path: Path, records: list[dict]) -> None:
    """The records surveyed so far, replaced whole (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"partial": True, "records": records}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _progress(rec: dict, done: int, total: int, elapsed: float) -> None:
    eta = elapsed / done * (total - done)
    marks = " ".join(f"{name}={'ok' if c.get('exact') else c.get('category', '?').split(' (')[0]}" for name, c in rec.get("configs", {}).items())
    print(f"[{done:3d}/{total}] {rec['model_type']:22s} {rec.get('seconds', 0):5.1f}s  {marks or rec.get('crash', '')}  "
          f"(elapsed {elapsed / 60:.1f} min, about {eta / 60:.1f} min left)", flush=True)


# ---------------------------------------------------------------- reporting

PIN_JSON = {"4.56.0": ROOT / "bench" / "survey.json", "5.23.0": ROOT / "bench" / "survey-5.23.0.json"}
"""Each pin's committed survey; docs/coverage.md is written from all of them, side by side."""


def no_ground_truth(record: dict) -> bool:
    """Whether the oracle has nothing to measure at the to_json or the minimal config: transformers cannot
    write, build or run it ('no config', 'oracle cannot run it'), or, where eval gave no number and so the
    configs were not measured, the reference model cannot run the default config (`oracle_runs`)."""
    results = [record.get("configs", {}).get(name) or {} for name in ("to_json", "minimal")]
    why = [r.get("detail", "") for r in results if r.get("category") in ("no config", "oracle cannot run it")]
    if record.get("oracle_runs", "yes") != "yes":
        why.append(record["oracle_runs"])
    return any(OURS_TOO_SMALL not in w for w in why)


OURS_TOO_SMALL = "real mode needs a small config"
"""The oracle's own limit (shrink_config left the model too large to run on real tensors), not the
model's: such a type counts as runnable."""


def totals(records: list[dict]) -> dict:
    """The numbers quoted in the README and at the top of docs/coverage.md."""
    from lm_predictor.data.transformers_table import load_table

    per_config = {name: sum(1 for r in records if r.get("configs", {}).get(name, {}).get("exact")) for name in CONFIGS}
    exact = sum(1 for r in records if r.get("exact"))
    return {"transformers": load_table(VERSION)["transformers_version"], "types": len(records),
            "exact_to_json_and_minimal": exact,
            "no_ground_truth": sum(1 for r in records if no_ground_truth(r)),
            "exact_all_four": sum(1 for r in records if all(r.get("configs", {}).get(n, {}).get("exact") for n in CONFIGS)),
            "exact_per_config": per_config,
            "train_exact": {m: sum(1 for r in records if r.get("train", {}).get(m) == "exact") for m in TRAIN_COMPARED},
            "train_exact_all_configs": {m: sum(1 for r in records if r.get("train", {}).get(m) == "exact" and len(train_ran(r)) == len(TRAIN_CONFIGS)) for m in TRAIN_COMPARED},
            "train_configs_ran": dict(sorted(Counter(len(train_ran(r)) for r in records if "train" in r).items())),
            "train_surveyed": sum(1 for r in records if "train" in r)}


def train_ran(record: dict) -> list[str]:
    """The configs whose training step ran (eval and oracle both answered) for one survey record;
    a record from before per-config train results ran at varied A only."""
    train = record.get("train") or {}
    if "configs" not in train:
        return [] if not train or "error" in train else ["varied_a"]
    return [name for name, r in train["configs"].items() if "error" not in r]


def write_markdown(path: Path, fresh: dict[str, dict]) -> None:
    """docs/coverage.md: every pin side by side. `fresh` holds this run's survey (pin -> the JSON
    payload); the other pins come from their committed JSON files."""
    surveys = {}
    for pin, json_path in PIN_JSON.items():
        if pin in fresh:
            surveys[pin] = fresh[pin]
        elif json_path.exists():
            surveys[pin] = json.loads(json_path.read_text(encoding="utf-8"))
    lines = [
        "# Coverage: what `eval` gives users, against the oracle, for every causal-LM model type",
        "",
        "Generated by `bench/survey.py` (`.venv/bin/python bench/survey.py` for transformers 4.56.0,",
        "`.venv-tf5/bin/python bench/survey.py --transformers 5.23.0` for 5.23.0; torch 2.13.0 CPU, 2 workers).",
        "The survey's docstring says what it runs. Each type is priced the way a user prices it, `predict(config)`,",
        "with no hand-written model rule: eval derives the rules from the pinned source. Four configs per type: the",
        "file `to_json_file()` writes, the minimal `{\"model_type\"}`, and two varied ones (A: 3 layers, GQA, untied;",
        "B: 5 layers, MHA, tied, half the FFN, another layer mix). Exact means flops and param_count (and",
        "kv_cache_bytes where the rules define it) equal the oracle in total and at every module path, at prefill",
        "(batch 2, 7 tokens) and decode (batch 3, 1 token after 5); varied A is checked at prefill and varied B at decode.",
        "",
        "No ground truth: the oracle has nothing to measure at the to_json or the minimal config (transformers",
        "cannot write, build or run it; where eval gives no number the survey still runs the reference model at",
        "the default config, `oracle_runs`). The share of the rest is the issue's measure: exact of the types the",
        "oracle can run.",
        "",
        "| transformers | types | exact at to_json and minimal | no ground truth | exact of the rest | to_json | minimal | varied A | varied B | all four | minutes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for pin, survey in surveys.items():
        t, per = survey["totals"], survey["totals"]["exact_per_config"]
        unmeasured = sum(1 for r in survey["records"] if no_ground_truth(r))
        rest = t["types"] - unmeasured
        share = f"{t['exact_to_json_and_minimal']} of {rest} ({100 * t['exact_to_json_and_minimal'] / max(rest, 1):.0f}%)"
        lines.append(f"| {pin} | {t['types']} | **{t['exact_to_json_and_minimal']}** | {unmeasured} | {share} | "
                     + " | ".join(str(per[n]) for n in CONFIGS) + f" | {t['exact_all_four']} | {survey.get('elapsed_seconds', 0) / 60:.0f} |")
    lines += ["", "## Per type, side by side", "",
              "At the to_json and minimal configs (`-`: not a causal-LM type of that pin); each pin's section below has the four configs and the cause.", "",
              "| model type | " + " | ".join(surveys) + " |", "|---|" + "---|" * len(surveys)]
    by_pin = {pin: {r["model_type"]: r for r in survey["records"]} for pin, survey in surveys.items()}
    for model_type in sorted(set().union(*by_pin.values()) if by_pin else ()):
        lines.append(f"| {model_type} | " + " | ".join(_pin_cell(by_pin[pin].get(model_type)) for pin in surveys) + " |")
    for pin, survey in surveys.items():
        lines += ["", *_pin_section(pin, survey)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pin_cell(record: dict | None) -> str:
    """One pin's outcome for a type in the side-by-side table."""
    if record is None:
        return "-"
    if record.get("exact"):
        return "exact"
    if no_ground_truth(record):
        return "no ground truth"
    cells = {name: _cell(record.get("configs", {}).get(name)) for name in ("to_json", "minimal")}
    return cells["to_json"] if cells["to_json"] == cells["minimal"] else f"to_json {cells['to_json']}; minimal {cells['minimal']}"


def _pin_section(pin: str, survey: dict) -> list[str]:
    """One pin's totals, train columns, outcomes and per-type table."""
    t, records = survey["totals"], survey["records"]
    by_cat = Counter(_family(r.get("configs", {}).get("to_json", {}).get("category") or r.get("crash", "?")) for r in records)
    lines = [
        f"## transformers {pin}",
        "",
        f"**{t['exact_to_json_and_minimal']} of {t['types']} model types exact at both the `to_json_file()` config and the minimal config**; "
        f"{t['exact_all_four']} exact at all four configs ({survey.get('elapsed_seconds', 0) / 60:.0f} min).",
        "",
        _train_intro(t),
        "",
        "| train metric | exact types | of them, at all three configs |",
        "|---|---|---|",
        *[f"| {m} | {n} | {t.get('train_exact_all_configs', {}).get(m, '-')} |" for m, n in t["train_exact"].items()],
        "",
        "Outcome at the `to_json_file()` config:",
        "",
        "| outcome | types |",
        "|---|---|",
        *[f"| {cat} | {n} |" for cat, n in by_cat.most_common()],
        "",
        "Oracle modes: `fake` = FakeTensorMode; `real (shrunk)` = real tensors on `shrink_config(config)` (hidden 64,",
        "2 layers, <= 4 experts), where fake tensors cannot run the model (data-dependent masks, MoE routing).",
        "",
        "| model type | to_json | minimal | varied A | varied B | oracle | train (flops, ckpt flops, weight, grad, optimizer, activation) | first problem | what it would take |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        cells = [_cell(r.get("configs", {}).get(name)) for name in CONFIGS]
        modes = sorted({c.get("mode") for c in r.get("configs", {}).values() if c.get("mode")})
        problem = next((c.get("detail") for c in r.get("configs", {}).values() if not c.get("exact") and c.get("detail")), r.get("crash", ""))
        problem = (problem or "").replace("|", "\\|").replace("\n", " ")
        problem = problem if len(problem) <= 160 else problem[:157] + "..."
        lines.append(f"| {r['model_type']} | {' | '.join(cells)} | {', '.join(modes) or '-'} | {_train_cell(r.get('train'))} | {problem} | {would_take(r)} |")
    return lines


WOULD_TAKE = {
    "A150": "per-layer sums: price the layers by kind, with counts from the config's lists or the rule the source applies (issue 10, part 2)",
    "A112": "shapes through the block that feeds the module (recurrent state, conv cache, hybrid or encoder path)",
    "A120": "a brain for the runtime branch (legacy-cache checks, data-dependent masks) that takes the arm eager decoding takes",
    "A110": "shapes through the op that builds the matmul operand (slices with symbolic bounds, expands, elementwise ops on them)",
    "A113": "a rule and a module-table entry for the torch module (ZeroPad2d, AvgPool2d, Conv2d variants)",
    "A141": "a rule and a module-table entry for the torch module, or a sub-config the analysis can read",
    "A140": "parameter shapes from the code that computes them (lists, products of config values)",
    "A111": "einsum equations over symbolic shapes",
    "A102": "the configuration branch the real model takes (the analysis followed one that raises)",
    "A103": "the configuration branch the real model takes (the analysis followed one that raises)",
    "A160": "a routing brain for experts called outside a loop over experts",
    "A135": "loops over values that depend on a condition",
    "A136": "loops over values the analysis cannot determine",
}
"""Per unresolved code: what it would take (one line per non-exact type in docs/coverage.md)."""

KNOWN_GAPS = {
    "mega": "A110/A111/A120: the rotary relative-position bias is an einsum of two (seq_len, d) tensors cut from a sinusoid table the module rebuilds in forward when seq_len outgrows it (module state the analysis does not read), and the EMA sub-layer convolves by torch.fft.rfft/irfft, which FlopCounterMode counts as 0 (agreeing with that 0 would not be exact); needs that state read from the source and fft ops with a measured definition of their own",
    "gemma3n_text": "A110/A112/A120/A150: KV sharing — layers past num_kv_shared_layers read past_key_values.shared_layers[i] written by an earlier layer — and AltUp predictions; needs cache attributes that carry state between layers and per-layer kinds",
    "gemma3n": "no ground truth: the vision tower (TimmWrapperModel) needs the timm package, not installed; the text part is gemma3n_text's gap",
    "mllama": "no ground truth at default config: MllamaTextConfig's rope_scaling defaults to None and MllamaRotaryEmbedding reads rope_scaling['rope_type'] (eval sees the same: A103); a published config needs A150 (cross-attention layers where layer_idx in cross_attention_layers)",
    "musicgen": "no config: MusicgenConfig needs text_encoder/audio_encoder configs of other types (AutoConfig); and AutoModelForCausalLM hands the whole MusicgenConfig to MusicgenForCausalLM, built on the decoder sub-config, which raises (no attribute 'dropout') in 4.56",
    "musicgen_melody": "no config: as musicgen (MusicgenMelodyConfig needs text_encoder/audio_encoder; the causal LM is built on the decoder sub-config that AutoModelForCausalLM does not bind)",
    "qdqbert": "no ground truth: QDQBert needs the pytorch-quantization package (TensorQuantizer), not installed; eval has A110 at its quantized matmuls",
    "reformer": "no ground truth: ReformerModelWithLMHead asserts is_decoder=True, which the default config does not set; eval has A112/A120 (padding to the chunk length, a branch on seq_len % lcm(chunk lengths))",
    "xmod": "no ground truth: the model raises until set_default_language() is called (default_language is null); eval has A112 (the language-adapter output that feeds the LM head)",
    "transfo-xl": "no ground truth: TransfoXLLMHeadModel.forward() rejects use_cache; eval has A120 (the adaptive embedding's per-cluster nonzero() index sets)",
    "speech_to_text_2": "no ground truth: Speech2Text2ForCausalLM cannot be built in 4.56 (its sinusoidal embedding has no weight); eval gives a number",
    "zamba2": "A112/A120: layers take next(cycle(blocks)) over num_mem_blocks shared blocks (the item is the hybrid count so far modulo num_mem_blocks, not the loop index), adapters built per block where i % num_mem_blocks == block_id and read through layer_dic (a dict comprehension over the hybrid layer ids, a filtered comprehension); iter()/next() over lists in lock-step with the layer loop and shared modules counted once now exist (zamba)",
    "granitemoehybrid": "no ground truth: transformers 4.56 cannot build the default or minimal config (the default layer_types=None is what layers_block_type maps to: TypeError); eval's A103 says the same",
    "deepseek_v2": "no ground truth at the default config: num_experts_per_tok defaults to None and the model computes with it (transformers cannot run it; eval says C001 for that field); with the field given it is exact on a shrunk config",
    "dots1": "no ground truth at the default config: n_routed_experts, num_experts_per_tok and n_shared_experts default to None (transformers cannot run it; eval says C001); with them given it is exact on a shrunk config",
    "hunyuan_v1_dense": "no ground truth at the default config: head_dim defaults to None and the attention computes with it (transformers cannot run it; eval says C001); with it given it is exact under fake tensors",
    "hunyuan_v1_moe": "no ground truth at the default config: head_dim defaults to None (transformers cannot run it; eval says C001); with it given it is exact on a shrunk config",
    "nemotron": "no ground truth at the default config: num_key_value_heads defaults to None and the attention computes with it (transformers cannot run it; eval says C001); with it given it is exact under fake tensors",
    "dbrx": "no ground truth at the default config: clip_qkv=None makes 4.56 call clamp(min=None, max=None), which torch 2.13 rejects; with clip_qkv given it is exact on a shrunk config",
    "deepseek_v4": "A110/A112/A120 (5.23): the attention reads the model's own cache-layer classes (DeepseekV4HCACache / CSACache, registered by _layer_type) through past_key_values.layers[i]: compressed-KV buffers, entry counts and overlap state carried from prefill into decode, windows of seq_len // compress_rate, a lightning indexer's top-k and hyper-connections; needs cache layers run from the model's source with state across calls",
    "longcat_flash": "A120 (5.23): zero-computation experts: the router may send a token to an identity expert (expert_idx >= n_routed_experts), so the FLOPs depend on the routing itself, not only on top_k; needs the identity experts' share, which the data decides",
    "cohere_compass_text": "no ground truth at the default config: rope_parameters defaults to {} and the model reads rope_parameters[layer_type] (KeyError when transformers builds it; eval's A120 is the same missing key)",
    "lfm2_moe": "no ground truth at the default config (5.23): layer_types defaults to None and the decoder layer reads layer_types[layer_idx] (TypeError when transformers builds it; eval's A103 is the same)",
    "qwen4_exp_text": "no ground truth at the default config (5.23): indexer_budget and indexer_compress_ratio default to None and the indexer computes token_budget // compress_ratio (TypeError when transformers builds it); eval stops at the same sparse-indexer attention (A110/A112/A120)",
    "qwen4_exp": "no ground truth at the default config (5.23): the text part is qwen4_exp_text's (indexer_budget // indexer_compress_ratio of two None defaults)",
    "kimi_linear": "no ground truth from shrink_config (5.23): it keeps mlp_layer_types (27 entries), num_experts_per_token (8 > 4 experts) and qk_head_dim (192), and 2 shrunk layers hold only linear attention (get_seq_length raises); eval is exact against a hand-shrunk config (4 layers, 3 linear + 1 full, those fields cut), prefill and decode",
    "dots3_note_text": "mismatch at to_json (5.23): the rules load now (the listed-layer test, an or of 33 equalities, is bound once as a parameter: suggest/hoist.py) and are exact at minimal; to_json is measured on a shrunk config (fake tensors cannot run aten.nonzero) and the prediction (1,092,096,768 flops, 38,791,880 params) is not at the shrunk sizes (12,155,136 / 391,632); varied_a gives the same numbers with or without the binding, so the shrink, not the emitter, is what to read next",
    "dots3_note": "no ground truth (5.23): the oracle cannot run it at any config; the text part's rules load now (dots3_note_text)",
    "zaya": "A120 (5.23): the router may pick the extra skip expert; ZayaRouter masks it to expert 0 with weight 0 (masked_fill), so every token still runs top_k experts, but the ids' bound (num_experts + 1) reaches the `expert_idx == num_experts` test; needs masked_fill of the top id to narrow the ids' bound",
}
"""Types whose gap has been read from the source: the line says precisely why (it replaces the generic one)."""


def would_take(record: dict) -> str:
    """One line: why a type is not exact at its to_json/minimal config, and what it would take."""
    if record.get("exact"):
        return ""
    if record.get("model_type") in KNOWN_GAPS:
        return KNOWN_GAPS[record["model_type"]]
    results = [record.get("configs", {}).get(n, {}) for n in ("to_json", "minimal")]
    cats = [r.get("category") or "" for r in results if not r.get("exact")]
    codes = sorted({c for r in results for c in r.get("unresolved", [])})
    runs = record.get("oracle_runs", "yes")
    if runs != "yes":
        return f"no ground truth: transformers 4.56 cannot run the model at this config ({runs})" + (f"; eval also has {'/'.join(codes)}" if codes else "")
    if codes:
        return f"{'/'.join(codes)}: {WOULD_TAKE.get(codes[0], 'an analysis rule for this construct')}"
    if any(c == "oracle cannot run it" for c in cats):
        return "no ground truth: transformers 4.56 cannot build or run the model at this config (see the first problem)"
    if any(c == "no config" for c in cats):
        return "transformers cannot write its default config (it needs sub-configs); the minimal config is the user path"
    if any(c.startswith("mismatch") for c in cats):
        return "a derived formula disagrees with the measured count: an analysis bug to fix"
    return record.get("crash") or (cats[0] if cats else "?")


def _train_intro(t: dict) -> str:
    """The sentence above a pin's train table: which configs the step ran at (a survey from before
    per-config train results ran varied A only)."""
    head = f"Training step (`predict_train` against `train_oracle`; batch 2, 7 tokens, float32, AdamW), run on the {t['train_surveyed']} types exact at varied A under fake tensors"
    ran = t.get("train_configs_ran")
    if not ran:
        return head + ", at varied A; exact types per metric:"
    counts = ", ".join(f"{n} config{'s' if int(n) != 1 else ''}: {k} types" for n, k in ran.items())
    return (head + ", at each of varied A and B where inference is exact there under fake tensors and at varied C "
            "(2 layers, a quarter of the KV heads, a quarter of the FFN, untied: built for the train column only); "
            f"records from a survey before per-config results ran varied A only ({counts}); `flops_ckpt` is the step "
            "with gradient checkpointing. A metric is exact only when it is exact at every config that ran; exact "
            "types per metric:")


def _train_cell(train: dict | None) -> str:
    """'exact' / '-' (unavailable) / 'mismatch' per train metric, in TRAIN_COMPARED order; '(shrunk)' where a step ran on shrink_config."""
    if not train:
        return "-"
    if "error" in train:
        return train["error"].split(":")[0] + " error"
    marks = {"exact": "exact", "unavailable": "-"}
    shrunk = " (shrunk)" if any("shrunk" in r for r in train.get("configs", {}).values()) else ""
    return ", ".join(marks.get(train.get(m, "unavailable"), train.get(m, "").split(":")[0]) for m in TRAIN_COMPARED) + shrunk


def _cell(result: dict | None) -> str:
    if not result:
        return "-"
    if result.get("exact"):
        return "exact" + (" (no decode)" if result.get("no_decode") else "")
    return result.get("category") or "?"


def _family(category: str) -> str:
    return category if not category.startswith("unresolved") else "unresolved terms (" + category.split(" ", 1)[1] + ")"


def main(argv: list[str] | None = None) -> int:
    global VERSION, TRAIN_CONFIGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transformers", choices=("4.56.0", "5.23.0"), default="4.56.0", help="the pin to survey (run in its venv)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per model type")
    parser.add_argument("--only", help="comma-separated model types")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/coverage.md / bench/survey.json (with --json PATH: write the records there only)")
    parser.add_argument("--update", action="store_true", help="with --only: replace those types' records in the existing bench/survey.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "coverage.md")
    parser.add_argument("--json", type=Path, default=None, help="default: bench/survey.json (4.56.0), bench/survey-<pin>.json")
    parser.add_argument("--train-configs", default=",".join(TRAIN_CONFIGS), help="configs the training step runs at (to_json costs most: the default-size model)")
    args = parser.parse_args(argv)
    VERSION = args.transformers
    TRAIN_CONFIGS = tuple(n for n in args.train_configs.split(",") if n)
    if not set(TRAIN_CONFIGS) <= {"varied_a", "varied_b", "varied_c", "to_json", "minimal"} or "varied_a" not in TRAIN_CONFIGS:
        parser.error(f"--train-configs: a comma-separated subset of varied_a,varied_b,varied_c,to_json,minimal with varied_a, got {args.train_configs!r}")
    json_given = args.json is not None
    args.json = args.json or ROOT / "bench" / ("survey.json" if VERSION == "4.56.0" else f"survey-{VERSION}.json")
    types = args.only.split(",") if args.only else model_types()
    _warm_imports()
    t0 = time.monotonic()
    partial = args.json.with_name(args.json.stem + ".partial.json")
    records = run_all(types, args.jobs, args.timeout, partial)
    elapsed = time.monotonic() - t0
    if args.update and args.json.exists():
        fresh = {r["model_type"]: r for r in records}
        previous = json.loads(args.json.read_text(encoding="utf-8"))
        records = [fresh.pop(r["model_type"], r) for r in previous["records"]] + list(fresh.values())
        elapsed = previous.get("elapsed_seconds", elapsed)
    t = totals(records)
    print(f"\ntransformers {t['transformers']}: {t['exact_to_json_and_minimal']} of {t['types']} model types exact at to_json and minimal; "
          f"per config {t['exact_per_config']} ({elapsed / 60:.1f} min)")
    payload = {"totals": t, "elapsed_seconds": round(elapsed), "records": records}
    if not args.no_write:
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        write_markdown(args.markdown, {VERSION: payload})
        print(f"wrote {args.markdown} and {args.json}")
    elif json_given:  # --no-write --json PATH: the records to PATH only (for cmp_survey.py), no committed file touched
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    partial.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
