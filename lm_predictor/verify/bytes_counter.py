"""Count the bytes aten ops read and write, as a TorchDispatchMode.

Convention (one executed aten op at a time, logical sizes, nbytes = numel * element_size):

- Every tensor input is read once (the same tensor object passed twice to one op counts
  once); every tensor output is written once.
- View / metadata ops move no data and count nothing: ops whose schema says an output
  aliases an input without writing it (view, reshape-as-view, transpose, t, permute, expand,
  unsqueeze, squeeze, slice, select, split, unbind, as_strided, alias, detach, lift_fresh),
  ``_unsafe_view`` (a view without alias annotation), ``inplace_view`` ops (``t_``,
  ``unsqueeze_``, ...), size/stride queries and ``prim::`` ops.
  A reshape that cannot be a view shows up as ``clone`` + ``_unsafe_view`` and counts the clone.
- Expanded inputs (stride 0) count their logical numel, not their storage.
- Gather-like ops (``embedding``, ``index_select``, ``gather``, ``index``, ``take``) read only
  the selected elements: the index tensors plus as many source bytes as the output holds
  (embedding: indices bytes + rows * dim * itemsize), not the whole source tensor.
- In-place ops (schema marks an argument as written, ``Tensor(a!)``) read the mutated
  argument once and write it once; the returned alias is not counted again.
  ``out=`` arguments and pure overwrites (``copy_``, ``fill_``, ``zero_``) are written, not read.
- Factory ops read nothing: ``zeros``/``arange``/``full``/``empty`` have no tensor inputs, and
  ``*_like`` / ``new_*`` use their tensor argument for metadata only.

Works with real tensors and inside ``FakeTensorMode`` (enter the fake mode first, this one
inside it). With ``track_modules=True`` bytes are also attributed to every module on the
stack, keyed like ``FlopCounterMode`` (root class name prefix), via ``ModuleTracker``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

_METADATA_OPS = frozenset(
    {
        "size", "stride", "storage_offset", "is_contiguous", "is_strides_like_format",
        "is_non_overlapping_and_dense", "dim", "numel", "is_same_size", "is_complex",
        "is_floating_point", "_nested_tensor_size", "_unsafe_view", "_reshape_alias",
    }
)
_FACTORY_OPS = frozenset(
    {"zeros", "ones", "full", "empty", "empty_strided", "arange", "scalar_tensor", "eye",
     "linspace", "rand", "randn", "randint", "randperm", "tensor"}
)
_OVERWRITE_OPS = frozenset({"copy_", "fill_", "zero_"})
_GATHER_OPS = frozenset({"embedding", "index_select", "gather", "index", "take"})


def nbytes(t: torch.Tensor) -> int:
    """Logical size of a tensor in bytes (numel * element_size)."""
    return t.numel() * t.element_size()


def _op_name(func: Any) -> str:
    """Base aten name of an OpOverload, e.g. 'add_' for aten.add_.Tensor."""
    return func._schema.name.split("::")[-1]


def _tensors(tree: Any) -> list[torch.Tensor]:
    """Distinct tensors in a pytree, in order (deduped by identity)."""
    seen: set[int] = set()
    out = []
    for x in tree_flatten(tree)[0]:
        if isinstance(x, torch.Tensor) and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def classify(func: Any) -> str:
    """One of 'skip', 'factory', 'gather', 'mutate', 'plain' for an aten op overload."""
    schema = func._schema
    name = _op_name(func)
    if schema.name.startswith("prim::") or name.startswith("sym_") or name in _METADATA_OPS:
        return "skip"
    if torch.Tag.inplace_view in getattr(func, "tags", ()):
        return "skip"
    writes = any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments)
    if not writes and any(r.alias_info is not None for r in schema.returns):
        return "skip"  # output aliases an input: a view
    if writes:
        return "mutate"
    if name in _FACTORY_OPS or name.endswith("_like") or name.startswith("new_"):
        return "factory"
    if name in _GATHER_OPS:
        return "gather"
    return "plain"


def op_bytes(func: Any, args: tuple, kwargs: dict, out: Any) -> tuple[int, int]:
    """(bytes_read, bytes_written) of one executed op under the module's convention."""
    kind = classify(func)
    if kind == "skip":
        return 0, 0
    outs = _tensors(out)
    if kind == "factory":
        return 0, sum(map(nbytes, outs))
    if kind == "gather":
        source = args[0]  # embedding(weight, indices), index_select(self, dim, index), ...
        idx = [t for t in _tensors((args, kwargs)) if t is not source]
        written = sum(map(nbytes, outs))
        return sum(map(nbytes, idx)) + written, written
    if kind == "mutate":
        return _mutate_bytes(func, args, kwargs, outs)
    return sum(map(nbytes, _tensors((args, kwargs)))), sum(map(nbytes, outs))


def _mutate_bytes(func: Any, args: tuple, kwargs: dict, outs: list) -> tuple[int, int]:
    """Bytes of an op that writes one of its arguments (in-place or out=)."""
    schema = func._schema
    name = _op_name(func)
    bound: dict[str, Any] = dict(zip((a.name for a in schema.arguments), args))
    bound.update(kwargs)
    read = written = 0
    mutated: set[int] = set()
    for a in schema.arguments:
        if a.alias_info is None or not a.alias_info.is_write or a.name not in bound:
            continue
        for t in _tensors(bound[a.name]):
            if id(t) in mutated:
                continue
            mutated.add(id(t))
            written += nbytes(t)
            if not (a.kwarg_only or name in _OVERWRITE_OPS):
                read += nbytes(t)
    read += sum(nbytes(t) for t in _tensors((args, kwargs)) if id(t) not in mutated)
    written += sum(nbytes(t) for t in outs if id(t) not in mutated)
    return read, written


class BytesCounter(TorchDispatchMode):
    """Accumulate bytes_read / bytes_written of every executed aten op (see module docstring)."""

    def __init__(self, track_modules: bool = False) -> None:
        super().__init__()
        self.bytes_read = 0
        self.bytes_written = 0
        self.by_op: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.by_module: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._tracker = None
        if track_modules:
            from torch.utils.module_tracker import ModuleTracker

            self._tracker = ModuleTracker()

    def __enter__(self) -> BytesCounter:
        if self._tracker is not None:
            self._tracker.__enter__()
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._tracker is not None:
            self._tracker.__exit__(*exc)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        read, written = op_bytes(func, args, kwargs, out)
        if read or written:
            self.bytes_read += read
            self.bytes_written += written
            acc = self.by_op[str(func.overloadpacket)]
            acc[0] += read
            acc[1] += written
            if self._tracker is not None:
                for mod in set(self._tracker.parents):
                    self.by_module[mod][0] += read
                    self.by_module[mod][1] += written
        return out
