"""Derived bytes of constructs priced for the sdpa survey's remaining 4.56 types (issue 14, round 6).

- SDPA that may take torch's math fallback (key/value heads not provably the query's, no
  enable_gqa): the sdpa rule is called with `kv_heads`, `enable_gqa`, `is_causal` and the query's
  memory order, and picks the fused kernel or `torch._scaled_dot_product_attention_math` by the
  sizes (moshi: `F.scaled_dot_product_attention` on repeat_kv'd keys, kv * (h // kv) heads).
  The math path is modelled for one broadcast key/value head; any other head count makes torch
  raise, so the rule is exact wherever the model runs.
- `x[..., [i], :]` (one list of ints among slices): one aten.index that reads the int64 index and
  the selected elements and writes a dense row-major output; `torch.broadcast_to` is a view.
- int32 (`mask.int()`, roberta's position ids): 4 bytes per element; cumsum of int32 gives int64.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact

pytest.importorskip("torch")

SMALL_MOSHI = {"model_type": "moshi", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
               "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 2, "vocab_size": 128}


@lru_cache(maxsize=None)
def _derived(qualname: str):
    """(library with the derived rules, root rule name)."""
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import suggest
    from tests.suggest.families import base_paths, library_with

    result = suggest(qualname, recursive=True, library=load_library(base_paths()))
    library, _ = library_with(result.text)
    return library, result.rules[0]


def test_moshi_root_rule_has_bytes() -> None:
    library, root = _derived("transformers.models.moshi.MoshiForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("kv", [2, 4], ids=["gqa", "mha"])
def test_moshi_bytes_exact(workload, attn: str, kv: int) -> None:
    library, _ = _derived("transformers.models.moshi.MoshiForCausalLM")
    assert_exact({**SMALL_MOSHI, "num_key_value_heads": kv}, replace(workload, attn=attn), library=library)


def test_list_index_and_broadcast_to_are_priced_as_torch_runs_them() -> None:
    """Falcon's MQA split `fused[..., [-2], :]`: aten.index reads 8 bytes of index and the output's
    2 * 5 * 1 * 4 = 40 floats (160 bytes), writes 160: 168 / 160, as the oracle's counter measures."""
    import torch

    from lm_predictor.verify.bytes_counter import BytesCounter

    x = torch.randn(2, 5, 6, 4)
    with BytesCounter() as counter:
        y = x[..., [-2], :]
        z = torch.broadcast_to(y, (2, 5, 3, 4))
    assert (counter.bytes_read, counter.bytes_written) == (8 + 160, 160)
    assert y.is_contiguous() and z.stride() == (20, 4, 0, 1)
