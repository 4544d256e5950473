"""Constructs `suggest` learned for the survey's analysis gaps (issue 10), against the oracle.

Each case is a config whose cost depends on one construct, priced with the derived rules only (no
hand-written model rules) and compared with the oracle (fake tensors; real tensors on
`shrink_config` where fake tensors cannot run the model), total and per module, prefill and decode:

- llama4_text, its per-layer lists left to the config class: `moe_layers = list(range(s - 1, n, s))`
  read as `i in moe_layers` (an arithmetic progression: a threshold and a modulo pattern), and
  `layer_types` built by a comprehension over the comprehension `no_rope_layers` (its items keep
  the layer index, so the cache's chunked layers are counted per layer).
- zamba, 7 layers: `layers_block_type = ["mamba", "mamba", "hybrid"] + [... for i in range(n - 3)]` (a
  list of fixed items plus a comprehension: one Repeated over a fresh index), the layers taken by
  `next(iter(list))` once per iteration of a loop over that list, and one attention block handed to
  every hybrid layer (its parameters counted once, at model.layers.shared_transf, its first owner);
  the same with the list given by the file (it wins over the one ZambaConfig.__init__ derives, as
  PretrainedConfig sets leftover keys last; the loop is unrolled and the block's first holder counts it).
  Fake tensors cannot run zamba (data-dependent masks): these small configs run with real tensors.
- prophetnet, 3 n-gram streams: `cat([main] + [ngram items], 1)` (pieces whose sizes depend on their
  position: summed over the groups of positions), `chunk(1 + ngram)` with a count from the config,
  `[0]` / `[1:]` of the pieces, stacks and comprehensions over them; a slice bound from a nullable
  field (`max_target_positions`); the word embeddings handed to the decoder counted by their first
  owner. Its decode runs only on real tensors (data-dependent position checks).
"""

from __future__ import annotations

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import assert_exact_real, base_library

pytest.importorskip("transformers")

SMALL_LLAMA4 = {
    "model_type": "llama4_text", "hidden_size": 64, "intermediate_size": 32, "intermediate_size_mlp": 96,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 256, "num_local_experts": 4,
    "num_hidden_layers": 6,
    "interleave_moe_layer_step": 2,  # MoE at layers 1, 3, 5
    "no_rope_layer_interval": 3,  # NoPE (full attention) at layers 2, 5; chunked attention elsewhere
    "attention_chunk_size": 4,  # shorter than the decode's 5 + 1 tokens: chunked layers keep fewer
}

SMALL_ZAMBA = {
    "model_type": "zamba", "vocab_size": 256, "hidden_size": 64, "attention_hidden_size": 128, "intermediate_size": 128,
    "num_attention_heads": 4, "attention_head_dim": 32, "num_key_value_heads": 4, "n_mamba_heads": 4, "mamba_expand": 2,
    "num_hidden_layers": 7, "attn_layer_period": 2, "attn_layer_offset": 1,  # hybrid at 2 (fixed), then 4 and 6
}

SMALL_PROPHETNET = {
    "model_type": "prophetnet", "vocab_size": 256, "hidden_size": 64, "num_decoder_attention_heads": 4,
    "num_encoder_attention_heads": 4, "decoder_ffn_dim": 128, "encoder_ffn_dim": 128, "num_decoder_layers": 2,
    "num_encoder_layers": 2, "max_position_embeddings": 64,
    "ngram": 3,  # the main stream plus 3 predicting streams
}

CASES = {
    "prophetnet n-gram streams": SMALL_PROPHETNET,
    "llama4_text derived layer lists": SMALL_LLAMA4,
    "zamba derived layers_block_type": SMALL_ZAMBA,
    "zamba layers_block_type from the file": {**SMALL_ZAMBA, "layers_block_type": ["mamba", "hybrid", "mamba", "mamba", "hybrid", "hybrid", "mamba"]},
}






@pytest.mark.parametrize("case", sorted(CASES))
def test_gap_construct_is_exact(case: str) -> None:
    config = dict(CASES[case])
    if config["model_type"] == "zamba":
        assert_exact_real(config, PREFILL)  # ZambaForCausalLM returns no cache: no decode to measure
        return
    if config["model_type"] == "prophetnet":
        for workload in (PREFILL, DECODE):  # small as it is: real tensors, no shrinking
            assert_exact_real(config, workload)
        return
    for workload in (PREFILL, DECODE):
        assert_exact(config, workload, library=base_library())
