"""Log every aten op the bytes counter counts, with shapes, dtypes, bytes and the module stack.

A developer tool for writing `bytes_read` / `bytes_written` formulas:

    python -m lm_predictor.verify.oplog CONFIG --batch B --seq-len S --past-len P --dtype D

CONFIG is anything `lmpredict eval` accepts (a config.json, a directory, a bundled name, a cached
hub id). The model is built and run exactly as the oracle does (fake tensors unless --real; for
decode a prefill of past_len tokens, then only the counted step is logged). Each line shows:

    #n  module-stack  aten-op  kind  inputs -> outputs  read  written

where kind is the bytes_counter classification (plain / gather / mutate / factory) and shapes are
written `dtype[d0,d1,...]` (an `e` marks a stride-0 expanded input, counted at its logical numel).
`--summary` prints totals per (module type path, op) instead, `--module SUBSTR` keeps only ops
whose innermost module path contains SUBSTR, and `--layer0` folds every decoder layer onto
layer 0 (drops ops of other layers) so one layer's ops can be read at a glance.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from lm_predictor.workload import Workload

_SHORT_DTYPE = {
    "torch.float32": "f32", "torch.bfloat16": "bf16", "torch.float16": "f16", "torch.int64": "i64",
    "torch.int32": "i32", "torch.bool": "b8", "torch.float64": "f64", "torch.uint8": "u8",
}


@dataclass
class OpRecord:
    """One counted aten op."""

    index: int
    op: str
    kind: str
    modules: tuple[str, ...]  # outermost first, relative to the root ('' = root)
    inputs: list[str]
    outputs: list[str]
    read: int
    written: int

    @property
    def module(self) -> str:
        return self.modules[-1] if self.modules else ""


def describe(t: Any) -> str:
    """`f32[2,7,64]`, with `e` appended for inputs holding stride-0 (expanded) dims."""
    dtype = _SHORT_DTYPE.get(str(t.dtype), str(t.dtype).replace("torch.", ""))
    shape = ",".join(str(int(s)) for s in t.shape)
    expanded = any(int(st) == 0 and int(sz) > 1 for st, sz in zip(t.stride(), t.shape))
    return f"{dtype}[{shape}]{'e' if expanded else ''}"


def record_ops(config: dict[str, Any], workload: Workload, *, fake: bool = True) -> list[OpRecord]:
    """Build the model like the oracle, run the workload and record every counted op."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten
    from torch.utils.module_tracker import ModuleTracker

    from lm_predictor.verify.bytes_counter import classify, op_bytes
    from lm_predictor.verify.hf import hf_config, model_class, quiet_transformers
    from lm_predictor.verify.oracle import build_model, make_input_ids

    cfg, cls = hf_config(config), model_class(config)
    dtype = getattr(torch, workload.dtype)
    records: list[OpRecord] = []

    class Logger(TorchDispatchMode):
        def __init__(self, tracker: ModuleTracker, root: str) -> None:
            super().__init__()
            self.tracker, self.root = tracker, root

        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            read, written = op_bytes(func, args, kwargs, out)
            if read or written:
                ins = _distinct(tree_flatten((args, kwargs))[0])
                outs = _distinct(tree_flatten(out)[0])
                stack = tuple(sorted((_strip(m, self.root) for m in set(self.tracker.parents) if m != "Global"), key=_depth))
                records.append(OpRecord(len(records), str(func.overloadpacket).replace("aten.", ""), classify(func),
                                        stack, [describe(t) for t in ins], [describe(t) for t in outs], read, written))
            return out

    context = FakeTensorMode(allow_non_fake_inputs=True) if fake else _null()
    with quiet_transformers(), context, torch.no_grad():
        if not fake:
            torch.manual_seed(0)
        model = build_model(cls, cfg, dtype, workload.attn)
        ids = make_input_ids(cfg, workload, fake)
        kwargs: dict[str, Any] = {"input_ids": ids(workload.seq_len), "use_cache": True}
        if workload.past_len > 0:
            kwargs["past_key_values"] = model(input_ids=ids(workload.past_len), use_cache=True).past_key_values
        tracker = ModuleTracker()
        with tracker, Logger(tracker, type(model).__name__):
            model(**kwargs)
    return records


def _null() -> Any:
    from contextlib import nullcontext

    return nullcontext()


def _distinct(items: list) -> list:
    import torch

    seen, out = set(), []
    for x in items:
        if isinstance(x, torch.Tensor) and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def _strip(path: str, root: str) -> str:
    if path == root:
        return ""
    return path[len(root) + 1 :] if path.startswith(root + ".") else path


def _depth(path: str) -> tuple[int, str]:
    return (0 if path == "" else path.count(".") + 1, path)


def _fold(path: str) -> str:
    """`model.layers.3.mlp` -> `model.layers.mlp` (ModuleList indices dropped)."""
    import re

    return re.sub(r"\.\d+(?=\.|$)", "", path)


def _other_layer(rec: OpRecord) -> bool:
    import re

    return any(re.search(r"\.(?!0(\.|$))\d+(\.|$)", m) for m in rec.modules)


def main(argv: list[str] | None = None) -> int:
    """python -m lm_predictor.verify.oplog CONFIG [--batch B --seq-len S --past-len P --dtype D]"""
    ap = argparse.ArgumentParser(prog="python -m lm_predictor.verify.oplog", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="config.json, directory, bundled name or cached hub id")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=8)
    ap.add_argument("--past-len", type=int, default=0)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a config key, e.g. --set num_hidden_layers=1")
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"], help="attention implementation")
    ap.add_argument("--real", action="store_true", help="real tensors instead of fake ones (small configs only)")
    ap.add_argument("--module", default=None, help="keep only ops whose innermost module path contains this")
    ap.add_argument("--layer0", action="store_true", help="drop ops of every decoder layer but the first")
    ap.add_argument("--summary", action="store_true", help="totals per (module path, op) instead of every op")
    args = ap.parse_args(argv)

    import json

    from lm_predictor.diagnostics import LmPredictorError
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.verify.errors import OracleUnsupported

    try:
        config, _ = load_config(args.config)
    except LmPredictorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = json.loads(value)
    workload = Workload(args.batch, args.seq_len, args.past_len, args.dtype, args.attn)
    try:
        records = record_ops(config, workload, fake=not args.real)
    except OracleUnsupported as e:
        print(f"unsupported: {e}", file=sys.stderr)
        return 2
    total_r = sum(r.read for r in records)
    total_w = sum(r.written for r in records)
    if args.layer0:
        records = [r for r in records if not _other_layer(r)]
    if args.module is not None:
        records = [r for r in records if args.module in r.module]
    if args.summary:
        acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for r in records:
            a = acc[(_fold(r.module), r.op)]
            a[0] += 1
            a[1] += r.read
            a[2] += r.written
        for (mod, op), (n, rd, wr) in acc.items():
            print(f"{mod or '(root)':50s} {op:28s} x{n:<4d} read {rd:>14,d}  written {wr:>14,d}")
    else:
        for r in records:
            print(f"#{r.index:<4d} {r.module or '(root)':42s} {r.op:26s} {r.kind:7s} "
                  f"{' '.join(r.inputs)} -> {' '.join(r.outputs)}  R {r.read:,d}  W {r.written:,d}")
    print(f"total (all ops): bytes_read {total_r:,d}  bytes_written {total_w:,d}  ops {len(records)} shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
