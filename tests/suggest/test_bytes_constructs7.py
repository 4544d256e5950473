"""Derived bytes of constructs priced for the sdpa survey's remaining 4.56 types (issue 14, round 7).

- A cache class the model defines whose `update` keeps a layer's first states as given
  (lfm2's `Lfm2HybridConvCache`: `self.key_cache.append(key_states)` while the layer is empty,
  `torch.cat` after): the prefill's update copies nothing and hands back the keys in the memory
  order they came in (lfm2's are transposed: `k_layernorm(view(...)).transpose(1, 2)`); the
  decode step's update is the `cat` of the held and the new states, as for DynamicCache. Until
  round 7 the analysis priced the `cat` in prefill too: lfm2 at its default config read and wrote
  2,293,760 bytes too many under sdpa (32 layers x 2 x [2, 8, 7, 80] float32), 1,146,880 under eager.
- repeat_kv (the library's and a model's own expand + reshape) on keys whose layout depends on a
  branch (transposed in prefill, concatenated in decode) is priced per arm: a copy under the
  conditions where the arm cannot view.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact

pytest.importorskip("torch")

# every layer full attention: lfm2's short-convolution layers stay without bytes (the conv's slow path)
SMALL_LFM2 = {"model_type": "lfm2", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
              "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 128,
              "layer_types": ["full_attention", "full_attention"]}


@lru_cache(maxsize=None)
def _derived(qualname: str):
    """(library with the derived rules, root rule name)."""
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import suggest
    from tests.suggest.families import base_paths, library_with

    result = suggest(qualname, recursive=True, library=load_library(base_paths()))
    library, _ = library_with(result.text)
    return library, result.rules[0]


def test_lfm2_root_rule_has_bytes() -> None:
    library, root = _derived("transformers.models.lfm2.Lfm2ForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("kv", [1, 2, 4], ids=["mqa", "gqa", "mha"])
def test_lfm2_bytes_exact(workload, attn: str, kv: int) -> None:
    library, _ = _derived("transformers.models.lfm2.Lfm2ForCausalLM")
    assert_exact({**SMALL_LFM2, "num_key_value_heads": kv}, replace(workload, attn=attn), library=library)


def test_a_cache_that_stores_its_first_states_is_recognised() -> None:
    """lfm2's update appends the key states to an empty layer; a cache that always concatenates does not."""
    from astroid import extract_node

    from lm_predictor.suggest.brains.cache import stores_given

    appends = extract_node("""
def update(self, key_states, value_states, layer_idx):
    if len(self.key_cache) <= layer_idx:
        self.key_cache.append(key_states)
    else:
        self.key_cache[layer_idx] = torch.cat([self.key_cache[layer_idx], key_states], dim=-2)
""")
    assigns = extract_node("""
def update(self, key_states, value_states, layer_idx):
    if self.key_cache[layer_idx].shape[-1] == 0:
        self.key_cache[layer_idx] = key_states
""")
    cats = extract_node("""
def update(self, key_states, value_states, layer_idx):
    self.key_cache[layer_idx] = torch.cat([self.key_cache[layer_idx], key_states], dim=-2)
""")
    assert stores_given(appends) and stores_given(assigns) and not stores_given(cats)
