#!/usr/bin/env python
"""Hostile-config sweep of derived roots: real configs from configs/ with one field broken each.

    .venv/bin/python bench/hostile_configs.py [--verify] [--only gemma-2-2b,...] [--transformers 5.23.0]

Each mutated config is priced by `lmpredict eval` in a subprocess (prefill, batch 1, 8 tokens, a
timeout for hangs). The answer must be one line and a non-zero exit (a diagnostic), or a number;
with --verify a number is checked by `lmpredict verify` against the oracle (exact, or an oracle that
also refuses the config: then eval priced a model transformers cannot build or run, which is wrong).
A traceback, a hang, or a second line is a failure. Prints one TSV row per case.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("gemma-2-2b", "gemma-3-270m", "gpt-oss-20b", "lfm2-2.6b", "qwen3-8b", "qwen3-30b-a3b",
           "deepseek-r1", "mixtral-8x7b", "qwen3-30b-a3b-4bit", "llama-3-8b")
"""Configs whose roots are derived from the source (llama-3-8b is priced with --rules-only torch rules, so derived too)."""
BASE_RULES = ("torch", "transformers/activations.yaml", "transformers/pytorch_utils.yaml")
"""The survey's library without hand-written model rules (bench/survey.py)."""
WORKLOAD = ["--batch", "1", "--seq-len", "8"]
BAD = {
    "num_hidden_layers": [0, -1, 10**12, None, "2", 2.5],
    "head_dim": [0, -8, 10**9, None, "64", 7],
    "intermediate_size": [0, -1, 10**15, None, "x"],
    "vocab_size": [0, -1, 10**13, None, 1.5],
    "max_position_embeddings": [4, 0, -1],
    "text_config": ["bogus", [], {"num_hidden_layers": -1}],
}


def mutations(config: dict) -> list[tuple[str, dict]]:
    """(label, config) per broken field; layer_types cases where the config has a per-layer list."""
    out = [(f"{field}={json.dumps(value)}", {**config, field: value}) for field, values in BAD.items() for value in values]
    layers = config.get("num_hidden_layers")
    if isinstance(config.get("layer_types"), list) and isinstance(layers, int):
        kinds = config["layer_types"]
        out += [
            ("layer_types unknown", {**config, "layer_types": ["bogus_attention"] * layers}),
            ("layer_types short", {**config, "layer_types": kinds[:-1]}),
            ("layer_types long", {**config, "layer_types": kinds + kinds[:1]}),
            ("layer_types string", {**config, "layer_types": kinds[0]}),
            ("layer_types ints", {**config, "layer_types": [1] * layers}),
        ]
    return out


def run(cmd: list[str], timeout: int) -> tuple[int | None, str, str]:
    """(exit status or None on timeout, stdout, stderr) of a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None, "", ""
    return done.returncode, done.stdout, done.stderr


def classify(rc: int | None, out: str, err: str) -> str:
    """'hang', 'traceback', 'error: <line>', 'multi-line error', or 'number'."""
    if rc is None:
        return "hang"
    if "Traceback" in err:
        return "traceback"
    lines = [x for x in err.splitlines() if x.strip()]
    if rc != 0:
        return f"error: {lines[0][:160]}" if len(lines) == 1 else f"multi-line error ({len(lines)}): {lines[0][:120]}"
    return "number"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--transformers", default="4.56.0")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()
    names = [n for n in CONFIGS if not args.only or n in args.only.split(",")]
    pin = ["--transformers", args.transformers]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            config = json.loads((ROOT / "configs" / name / "config.json").read_text())
            config.pop("transformers_version", None)
            extra = ["--rules-only", ",".join(str(ROOT / "rules" / p) for p in BASE_RULES)] if name == "llama-3-8b" else []
            for label, mutated in mutations(config):
                path = Path(tmp) / "config.json"
                path.write_text(json.dumps(mutated))
                verdict = classify(*run([sys.executable, "-m", "lm_predictor.cli.main", "eval", str(path), *WORKLOAD, *pin, *extra, "--json"], args.timeout))
                if verdict == "number" and args.verify:
                    rc, out, err = run([sys.executable, "-m", "lm_predictor.cli.main", "verify", str(path), *WORKLOAD, *pin, *extra], args.timeout)
                    tail = [x for x in (out + err).splitlines() if "mismatched" in x or "lmpredict verify:" in x]
                    verdict += f" / verify: {tail[-1][:160] if tail else classify(rc, out, err)}"
                bad = verdict in ("hang", "traceback") or verdict.startswith("multi-line") or ("verify" in verdict and " 0 mismatched" not in verdict)
                failures += bad
                print(f"{name}\t{label}\t{'FAIL ' if bad else ''}{verdict}", flush=True)
    print(f"{failures} failures", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
