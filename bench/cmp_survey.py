"""Compare two survey JSONs (bench/survey.py --json): every inference category and train metric that changed.

usage: python bench/cmp_survey.py OLD.json NEW.json [--only-common]

Each change is tagged LOST (was exact), GAINED (now exact), WRONG (now a mismatch: a wrong number, worse
than unavailable) or changed; the last line counts lost-or-wrong against gained. A merge is safe to land
only at "lost-or-wrong 0".
"""

from __future__ import annotations

import json
import sys

TRAIN_METRICS = ("flops", "flops_ckpt", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")


def load(path: str) -> dict:
    """model_type -> record."""
    with open(path, encoding="utf-8") as fh:
        return {r["model_type"]: r for r in json.load(fh)["records"]}


def tag(old: object, new: object) -> str:
    """What one verdict's change means."""
    if old == "exact":
        return "LOST"
    if new == "exact":
        return "GAINED"
    return "WRONG" if str(new).startswith("mismatch") else "changed"


def changes(a: dict, b: dict, types: list) -> list:
    """(line, tag) for every changed verdict of `types`."""
    out = []
    for t in types:
        ra, rb = a.get(t), b.get(t)
        if ra is None or rb is None:
            out.append((f"{t}: only in {'new' if ra is None else 'old'}", "changed"))
            continue
        for c in sorted(set(ra["configs"]) | set(rb["configs"])):
            ca, cb = (r["configs"].get(c, {}).get("category") for r in (ra, rb))
            if ca != cb:
                out.append((f"{t} infer {c}: {ca} -> {cb}", tag(ca, cb)))
        ta, tb = ((r.get("train") or {}).get("configs", {}) for r in (ra, rb))
        for c in sorted(set(ta) | set(tb)):
            for m in TRAIN_METRICS:
                va, vb = ta.get(c, {}).get(m), tb.get(c, {}).get(m)
                if va != vb:
                    out.append((f"{t} train {c} {m}: {va} -> {vb}", tag(va, vb)))
    return out


def main(argv: list[str]) -> int:
    paths = [x for x in argv if not x.startswith("--")]
    if len(paths) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    a, b = load(paths[0]), load(paths[1])
    types = sorted(set(a) & set(b)) if "--only-common" in argv else sorted(set(a) | set(b))
    found = changes(a, b, types)
    for line, t in found:
        print(f"{line} {t}")
    bad = sum(t in ("LOST", "WRONG") for _, t in found)
    print(f"lost-or-wrong {bad} gained {sum(t == 'GAINED' for _, t in found)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
