"""Low-precision storage of weights and KV cache (`--weight-dtype`, `--kv-dtype`, `--group-size`).

The storage convention (docs/latency.md, "Low-precision storage") in one table, for a matmul
weight of `out x in` elements and a KV-cache tensor of `n` elements:

| dtype              | weight bytes                          | KV bytes            |
|--------------------|---------------------------------------|---------------------|
| bf16, fp16         | 2 * out * in                          | 2n                  |
| fp8_e4m3, fp8_e5m2 | out * in + 4 (one float32 scale)      | n                   |
| int8               | out * in + 2 * out (fp16 per channel) | n + 2 n / group     |
| int4               | out * in / 2 + 2 * out * in / group   | n / 2 + 2 n / group |

Only matmul weights (`torch.nn.Linear`, GPT-2's `Conv1D`) are stored low; biases, norms and
embeddings stay in the compute dtype, as GPTQ, AWQ and the FP8 checkpoints of transformers do.
Compute stays in the workload dtype (weight-only quantisation: the kernel dequantises what it
reads), so only bytes change, never FLOPs. The KV dtype changes the cache bytes, the cache
update copy, and the fused attention kernel's key/value reads; eager attention's matmuls keep
reading the compute dtype.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError

DEFAULT_GROUP_SIZE = 128


@dataclass(frozen=True)
class StorageDtype:
    """One storage format: bits per element and how its scales are laid out."""

    name: str
    bits: int
    scale: str  # "none" | "tensor" | "channel" | "group"
    torch_dtype: str | None  # the torch dtype holding one element, where torch has one

    @property
    def element_bytes(self) -> Fraction:
        """Bytes per stored element (1/2 for int4)."""
        return Fraction(self.bits, 8)


STORAGE_DTYPES: dict[str, StorageDtype] = {
    s.name: s
    for s in (
        StorageDtype("bf16", 16, "none", "bfloat16"),
        StorageDtype("fp16", 16, "none", "float16"),
        StorageDtype("fp8_e4m3", 8, "tensor", "float8_e4m3fn"),
        StorageDtype("fp8_e5m2", 8, "tensor", "float8_e5m2"),
        StorageDtype("int8", 8, "channel", "int8"),
        StorageDtype("int4", 4, "group", None),
    )
}
SCALE_BYTES = {"tensor": 4, "channel": 2, "group": 2}
"""float32 per-tensor scales; fp16 per-channel and per-group scales."""

LINEAR_RULES = {
    "torch.nn.modules.linear.Linear": ("in_features", "out_features"),
    "transformers.pytorch_utils.Conv1D": ("nx", "nf"),
}
SDPA_RULE = "torch.nn.functional.scaled_dot_product_attention"


def weight_bytes(kind: StorageDtype, rows: int, cols: int, group: int) -> Fraction:
    """Stored bytes of one [rows(out), cols(in)] matmul weight, scales included."""
    n = rows * cols
    data = n * kind.element_bytes
    if kind.scale == "tensor":
        return data + SCALE_BYTES["tensor"]
    if kind.scale == "channel":
        return data + SCALE_BYTES["channel"] * rows
    if kind.scale == "group":
        return data + SCALE_BYTES["group"] * rows * (cols // group)
    return data


def kv_bytes(kind: StorageDtype, numel: int, group: int) -> Fraction:
    """Stored bytes of `numel` KV-cache elements (int8 / int4: one fp16 scale per group)."""
    data = numel * kind.element_bytes
    if kind.scale in ("channel", "group"):
        return data + Fraction(SCALE_BYTES["group"] * numel, group)
    return data


def _group_error(detail: str) -> LmPredictorError:
    return LmPredictorError(d.make(d.C_GROUP_SIZE, None, detail=detail))


@dataclass(frozen=True)
class Storage:
    """What --weight-dtype / --kv-dtype / --group-size ask for (None: the compute dtype)."""

    weight: StorageDtype | None = None
    kv: StorageDtype | None = None
    group_size: int = DEFAULT_GROUP_SIZE

    def describe(self) -> dict[str, Any]:
        """The fields a JSON workload block names."""
        return {"weight_dtype": self.weight.name if self.weight else None, "kv_dtype": self.kv.name if self.kv else None, "group_size": self.group_size}

    def check(self, config: dict) -> None:
        """A group size must divide the hidden size it groups (one-line C082 otherwise)."""
        weight_grouped = self.weight is not None and self.weight.scale == "group"
        kv_grouped = self.kv is not None and self.kv.scale in ("channel", "group")
        if not (weight_grouped or kv_grouped):
            return
        if self.group_size < 1:
            raise _group_error(f"--group-size must be a positive integer, got {self.group_size}")
        hidden = config.get("hidden_size") or config.get("n_embd")
        if isinstance(hidden, int) and hidden % self.group_size:
            raise _group_error(f"--group-size {self.group_size} does not divide hidden_size {hidden}")


def _exact(value: Fraction) -> Any:
    """Fractions that are whole become ints."""
    return int(value) if value.denominator == 1 else value


def apply_storage(prediction: Any, storage: Storage) -> Any:
    """A copy of `prediction` whose bytes follow the storage convention; the original is untouched."""
    if storage.weight is None and storage.kv is None:
        return prediction
    out = copy.deepcopy(prediction)
    compute = out.workload.itemsize
    deltas: dict[str, dict[str, Fraction]] = {}  # path -> metric -> change (this row only)
    for row in out.modules:
        if row.count is None:
            continue
        change = _row_change(row, storage, compute)
        if change:
            deltas[row.path] = change
    for path, change in deltas.items():  # every ancestor and the totals move by the same amount
        prefixes = {path.rsplit(".", i)[0] for i in range(path.count(".") + 1)}
        for row in out.modules:
            if row.path in prefixes:
                for metric, delta in change.items():
                    if isinstance(row.totals.get(metric), (int, Fraction)):
                        row.totals[metric] = _exact(row.totals[metric] + delta)
        for metric, delta in change.items():
            if isinstance(out.totals.get(metric), (int, Fraction)):
                out.totals[metric] = _exact(out.totals[metric] + delta)
    if storage.kv is not None and isinstance(out.totals.get("kv_cache_bytes"), int):
        numel = Fraction(out.totals["kv_cache_bytes"], compute)
        out.totals["kv_cache_bytes"] = _exact(kv_bytes(storage.kv, int(numel), storage.group_size))
    out.notes = [*out.notes, f"storage: {storage.describe()} (docs/latency.md)"]
    return out


def _row_change(row: Any, storage: Storage, compute: int) -> dict[str, Fraction]:
    """The byte change of one row's own traffic under `storage` (empty: unchanged)."""
    b = row.bindings
    if storage.weight is not None and row.rule in LINEAR_RULES:
        cols_name, rows_name = LINEAR_RULES[row.rule]
        cols, rows = b.get(cols_name), b.get(rows_name)
        if not isinstance(cols, int) or not isinstance(rows, int):
            return {}
        if storage.weight.scale == "group" and cols % storage.group_size:
            raise _group_error(f"--group-size {storage.group_size} does not divide in_features {cols} of {row.path}")
        per_call = weight_bytes(storage.weight, rows, cols, storage.group_size) - rows * cols * compute
        return {"bytes_read": per_call * row.count}
    if storage.kv is None:
        return {}
    if row.path.rsplit(".", 1)[-1] == "cache_update" and isinstance(b.get("numel"), int):
        per_call = kv_bytes(storage.kv, b["numel"], storage.group_size) - b["numel"] * compute
        return {"bytes_read": per_call * row.count, "bytes_written": per_call * row.count}
    if row.rule == SDPA_RULE:
        heads = b.get("kv_heads", b.get("num_heads"))
        dims = b.get("head_dim", 0) + b.get("v_head_dim", b.get("head_dim", 0))
        numel = b.get("batch", 0) * heads * b.get("kv_len", 0) * dims
        per_call = kv_bytes(storage.kv, numel, storage.group_size) - numel * compute
        return {"bytes_read": per_call * row.count}
    return {}
