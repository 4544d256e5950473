"""Find the tensors a transformers KV cache holds, whatever its API generation."""

from __future__ import annotations

from typing import Any


def cache_tensors(cache: Any) -> list[Any]:
    """Distinct tensors held by a cache: 4.56 `cache.layers[i].keys/.values` (and any other
    tensor attribute of a layer), older `key_cache`/`value_cache` lists, or legacy tuples."""
    import torch

    found: dict[int, torch.Tensor] = {}
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> None:
        if obj is None or depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            found.setdefault(id(obj), obj)
        elif isinstance(obj, (list, tuple)):
            for x in obj:
                walk(x, depth + 1)
        elif isinstance(obj, dict):
            for x in obj.values():
                walk(x, depth + 1)
        elif type(obj).__module__.startswith("transformers.") and hasattr(obj, "__dict__"):
            for x in vars(obj).values():
                if isinstance(x, (torch.Tensor, list, tuple, dict)) or type(x).__module__.startswith(
                    "transformers.cache_utils"
                ):
                    walk(x, depth + 1)

    walk(cache, 0)
    return list(found.values())


def cache_bytes(cache: Any) -> tuple[int, int]:
    """(logical bytes, storage bytes) of the tensors a cache holds.

    Logical = sum of numel * element_size. Storage counts each underlying storage once; it is
    larger when layers keep slices of bigger tensors (sliding-window layers keep a view of
    the concatenated keys until the next update)."""
    from torch.multiprocessing.reductions import StorageWeakRef

    tensors = cache_tensors(cache)
    logical = sum(t.numel() * t.element_size() for t in tensors)
    storages: dict[int, int] = {}
    for t in tensors:
        s = t.untyped_storage()
        storages[StorageWeakRef(s).cdata] = s.nbytes()
    return logical, sum(storages.values())
