"""Derived bytes of constructs priced for the sdpa survey's types without bytes (issue 14, round 4).

Each case derives the rules from the pinned source (suggest --recursive), checks that the root
rule has bytes_read / bytes_written, and compares them with the oracle (fake tensors, every
module path) at prefill and decode, eager and sdpa:

- interleaved rotary (glm, helium, ernie4_5): `cos[..., :d // 2].repeat_interleave(2, dim=-1)` is
  one clone of the expanded input (read and written at the output's size), `x[..., 0::2]`,
  `torch.stack((-x2, x1), -1).flatten(-2)`; glm's partial rotary cuts q into a gapped half;
- cohere's rotary calls `torch.repeat_interleave(freqs, 2, dim=-1)` (the function form);
- phi with `qk_layernorm`: nn.LayerNorm on the transposed query (native_layer_norm reads any
  layout at its logical size and writes a contiguous output);
- a 2-layer cohere2 has no full-attention layer (`(i + 1) % 4`), so create_causal_mask takes the
  sliding layer's sizes too (3 more 0-dim kv_offset ops): a layer count's quotient may be 0;
- persimmon: GPT-J's `_update_causal_mask` without an attention_mask (a float [q, past + q + 1]
  mask: full, triu, arange, gt, an in-place mul; sdpa skips it at prefill and one-token decode, so
  the chunked decode step is the one that builds it there), q/k layer norms on [b, s, h, d];
- biogpt: the same mask with the model's own 2D attention_mask of ones (float32 `torch.ones`):
  sdpa first runs `torch.all(attention_mask == 1)` and reads it back; a built mask is cloned,
  the padding mask added (float32 + model dtype), compared with 0, filled and copied back; the
  positions are a float32 `cumsum` of that mask;
- opt: the same mask and positions, called through `self.model.decoder` (a grandchild: the path
  helper passes bytes_read and bytes_written on as `bytes_read_via` / `bytes_written_via`).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import derived_library

pytest.importorskip("torch")

SMALL = {"hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
         "num_hidden_layers": 2, "vocab_size": 128, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}

CASES = {
    "glm": ("transformers.models.glm.GlmForCausalLM", {"partial_rotary_factor": 0.5}),
    "helium": ("transformers.models.helium.HeliumForCausalLM", {}),
    "cohere": ("transformers.models.cohere.CohereForCausalLM", {}),
    "phi": ("transformers.models.phi.PhiForCausalLM", {"qk_layernorm": True, "partial_rotary_factor": 0.5}),
    "cohere2": ("transformers.models.cohere2.Cohere2ForCausalLM", {"sliding_window": 4, "num_key_value_heads": 4}),
    "persimmon": ("transformers.models.persimmon.PersimmonForCausalLM", {}),
    "biogpt": ("transformers.models.biogpt.BioGptForCausalLM", {}),
    "opt": ("transformers.models.opt.OPTForCausalLM", {"ffn_dim": 96, "word_embed_proj_dim": 32}),
}


def _derived(model_type: str):
    """(library with the derived rules, root rule name) for one case."""
    return derived_library(CASES[model_type][0])


def _config(model_type: str) -> dict:
    return {"model_type": model_type, **SMALL, **CASES[model_type][1]}


@pytest.mark.parametrize("model_type", sorted(CASES))
def test_the_root_rule_has_bytes(model_type: str) -> None:
    library, root = _derived(model_type)
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE, replace(DECODE, seq_len=3, dtype="bfloat16")], ids=["prefill", "decode", "chunk-bf16"])
@pytest.mark.parametrize("model_type", sorted(CASES))
def test_derived_bytes_exact(model_type: str, workload, attn: str) -> None:
    library, _ = _derived(model_type)
    assert_exact(_config(model_type), replace(workload, attn=attn), library=library)


def test_a_shrunk_bart_keeps_its_decoder_and_cache_alike() -> None:
    """Under sdpa the oracle measures bart on real tensors, shrunk (`torch.all(attention_mask == 1)`
    cannot run on fake ones). The shrink cut num_hidden_layers (the cache's layers) to 2 and left
    decoder_layers at 12, so the measured cache missed 10 layers' `cat`s and the derived bytes
    (bart's root gets them through its grandchild call `model.decoder`) read as wrong."""
    from lm_predictor.rules.library import load_library
    from lm_predictor.verify.shrink import shrink_config
    from tests.suggest.families import base_paths

    small = shrink_config({"model_type": "bart"})
    assert small["num_hidden_layers"] == small["decoder_layers"] == small["encoder_layers"] == 2
    assert_exact({"model_type": "bart"}, replace(PREFILL, attn="sdpa"), library=load_library(base_paths()))


def test_a_library_rule_called_through_a_grandchild_path_is_priced_through_a_path_helper() -> None:
    """Fuyu embeds through `self.language_model.get_input_embeddings()`: an nn.Embedding at the path
    language_model.embed_tokens. A path helper passes the library rule's bytes on (branch w16-sdpa; before,
    the root got no bytes, and earlier still its rules failed to load: F010, a dotted call label); bytes,
    flops and params are exact in total and per module path."""
    from lm_predictor.evaluate.predict import predict

    config = {"model_type": "fuyu", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "vocab_size": 256, "patch_size": 4, "num_channels": 3}
    assert "bytes_read" in predict(config, batch=2, seq_len=7).totals
    assert_exact(config, PREFILL)
