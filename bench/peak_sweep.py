"""Training-step peaks off the tested grid: predict_train's phase peaks against measure_train.

    PYTHONPATH=. .venv/bin/python bench/peak_sweep.py [--only llama,gpt2] [--points 100] [--seed 0] [--json out.json]

(To sweep another checkout, copy this file outside any checkout and set PYTHONPATH to that checkout.)

For each hand family (tests/families/test_train.FAMILIES) it draws `--points` (config, workload)
pairs from a seeded generator: one of the family's varied configs as the base (which carries its
switches: bias, tie, sliding window, rotary fraction, falcon's architecture, gpt2's upcast ...),
with hidden / heads / kv heads / head_dim / MLP width (ratio 1..8 of hidden) / layers (1..4) /
tie redrawn, and a workload of batch 1..8, seq 1..512, float32 or bfloat16, AdamW or SGD. Each
point compares forward_peak_bytes, backward_peak_bytes, optimizer_peak_bytes and peak_bytes
(predicted where available) with train_oracle's MemTracker (fake tensors, eager) and prints
every miss with the config, the workload and where the oracle saw the phase's peak. A phase
the prediction lists unavailable (train_peak_known 0) counts as "unavailable", not as a miss.
Sizes stay small (hidden <= 512, vocab 64, 256 or 1000) so each point takes about a second.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

if (Path(__file__).resolve().parents[1] / "lm_predictor").is_dir():  # run from a checkout (a copy elsewhere uses PYTHONPATH)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PHASES = ("forward_peak_bytes", "backward_peak_bytes", "optimizer_peak_bytes", "peak_bytes")
WIDTH = {"falcon": "ffn_hidden_size", "gpt2": "n_inner"}  # the MLP width field where it is not intermediate_size
LAYERS = {"gpt2": "n_layer"}
HIDDEN = {"gpt2": "n_embd"}
HEADS = {"gpt2": "n_head"}
KV_HEADS = {"falcon": "num_kv_heads"}  # gpt2 and gpt_neox have none


def draw_config(family: str, base: dict, rng: random.Random) -> dict:
    """A config near `base` with its sizes redrawn (the base's switches kept)."""
    cfg = dict(base)
    heads = rng.choice([1, 2, 4, 8])
    head_dim = rng.choice([8, 16, 32, 64]) if family != "gemma" else rng.choice([16, 32, 64])
    hidden = heads * head_dim
    cfg[HIDDEN.get(family, "hidden_size")] = hidden
    cfg[HEADS.get(family, "num_attention_heads")] = heads
    if "head_dim" in base or family == "gemma":
        cfg["head_dim"] = head_dim
    kv_field = KV_HEADS.get(family, "num_key_value_heads")
    if family in ("gpt2", "gpt_neox"):
        pass
    elif family == "falcon":
        if base.get("new_decoder_architecture"):
            cfg[kv_field] = rng.choice([k for k in (1, 2, 4, 8) if heads % k == 0])
    else:
        cfg[kv_field] = rng.choice([k for k in (1, 2, 4, 8) if heads % k == 0])
    ratio = rng.choice([1, 2, 3, 4, 6, 8])
    width = ratio * hidden + rng.choice([0, 0, 8, -8 if ratio > 1 else 0])
    cfg[WIDTH.get(family, "intermediate_size")] = width
    cfg[LAYERS.get(family, "num_hidden_layers")] = rng.randint(1, 4)
    if family != "phi3" or base.get("vocab_size", 1000) != 256:
        cfg["vocab_size"] = rng.choice([64, 256, 1000])  # a small vocabulary lets the layers' peaks show
        for key in ("pad_token_id", "eos_token_id", "bos_token_id"):  # token ids must stay inside the vocabulary
            if isinstance(cfg.get(key), int) and cfg[key] >= cfg["vocab_size"]:
                cfg[key] = cfg["vocab_size"] - 1
    if family != "phi3" or base.get("vocab_size", 1000) != 256:  # phi3 longrope: the shrunk real-tensor config
        cfg["tie_word_embeddings"] = rng.random() < 0.5
    return cfg


def draw_workload(family: str, cfg: dict, rng: random.Random):
    """(Workload, optimizer): batch 1..8, seq 1..512 (log-uniform), float32 / bfloat16, adamw / sgd."""
    from lm_predictor.workload import Workload

    batch = rng.choice([1, 1, 2, 3, 4, 8])
    seq = min(512, max(1, int(2 ** rng.uniform(0, 9))))
    if batch * seq > 1024:
        seq = max(1, 1024 // batch)
    if family == "gpt2":
        cfg["n_positions"] = max(64, seq)
    if family == "phi3" and cfg.get("rope_scaling"):  # longrope: real tensors, keep it small
        seq = min(seq, 64)
    return Workload(batch, seq, 0, rng.choice(["float32", "bfloat16"])), rng.choice(["adamw", "adamw", "sgd"])


def run_point(family: str, cfg: dict, workload, optimizer: str) -> dict:
    """Predicted and measured phase peaks of one point, and the oracle's notes on where."""
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_train

    p = predict_train(cfg, batch=workload.batch, seq_len=workload.seq_len, dtype=workload.dtype, options=TrainOptions(optimizer=optimizer))
    m = measure_train(cfg, workload, optimizer=optimizer)
    return {
        "predicted": {k: p.totals.get(k) for k in PHASES},
        "measured": {k: m.totals.get(k) for k in PHASES},
        "where": [n for n in m.notes if " peak at " in n],
    }


def main() -> int:
    from tests.families.test_train import FAMILIES

    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated families (default: all eight)")
    parser.add_argument("--points", type=int, default=100, help="points per family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write every point here")
    args = parser.parse_args()
    families = args.only.split(",") if args.only else list(FAMILIES)
    rows, summary = [], {}
    for family in families:
        rng = random.Random(f"{args.seed}-{family}")
        bases = list(FAMILIES[family].items())
        counts = {"points": 0, "misses": 0, "unavailable": 0, "errors": 0}
        for i in range(args.points):
            name, base = rng.choice(bases)
            cfg = draw_config(family, base, rng)
            workload, optimizer = draw_workload(family, cfg, rng)
            counts["points"] += 1
            try:
                r = run_point(family, cfg, workload, optimizer)
            except Exception as e:  # noqa: BLE001 - a point the tools cannot run is reported, not fatal
                counts["errors"] += 1
                print(f"{family} #{i} {name}: error {type(e).__name__}: {str(e)[:120]}", flush=True)
                continue
            bad = {k: (r["predicted"][k], r["measured"][k]) for k in PHASES if r["predicted"][k] is not None and r["predicted"][k] != r["measured"][k]}
            if any(r["predicted"][k] is None for k in ("forward_peak_bytes", "backward_peak_bytes")):
                counts["unavailable"] += 1
            if bad:
                counts["misses"] += 1
                diff = cfg_diff(cfg, base)
                print(f"MISS {family} #{i} base={name} {diff} b{workload.batch} s{workload.seq_len} {workload.dtype} {optimizer}", flush=True)
                for k, (pv, mv) in bad.items():
                    print(f"    {k}: predicted {pv:,} measured {mv:,} ({pv - mv:+,})", flush=True)
                for w in r["where"]:
                    print(f"    {w}", flush=True)
            rows.append({"family": family, "base": name, "config": cfg, "batch": workload.batch, "seq_len": workload.seq_len,
                         "dtype": workload.dtype, "optimizer": optimizer, **r, "miss": sorted(bad)})
        summary[family] = counts
        print(f"== {family}: {counts}", flush=True)
    print("summary:", json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "points": rows}, indent=1))
    return 0


def cfg_diff(cfg: dict, base: dict) -> str:
    """The fields the draw changed, as k=v."""
    return " ".join(f"{k}={v}" for k, v in cfg.items() if base.get(k) != v or k not in base)


if __name__ == "__main__":
    raise SystemExit(main())
