"""Derived bytes of the constructs priced for the eager-only 4.56 types (issue 14, round 8).

Each case compares bytes_read / bytes_written (and flops, params) with the oracle in total and at
every module path, eager, prefill (batch 2, 7 tokens), decode (batch 3, 1 token after 5) and a
chunked decode (batch 2, 3 tokens after 4) where the model has a cache:

- `_prepare_4d_causal_attention_mask` without a window (mvp, xglm): `_make_causal_mask`'s float32
  `full`, `arange`, `+ 1`, `<`, `masked_fill_`, `.to(dtype)` and, with a past, `zeros` and `cat`;
- nn.Linear on a non-contiguous input (mvp's `out_proj` at head_dim 1: the reshape of the
  transposed heads is a view that is not contiguous, so at::linear runs matmul: clone, mm, add);
- `torch.gather` (gptj's sin/cos table), `index_select` and `torch.max(a, b)` (xglm), the
  sinusoidal table regrown in the forward (xglm at max_position_embeddings 4);
- nn.ZeroPad2d (rwkv's time shift) and two subscript assignments in one rule (rwkv);
- a comparison of branch-dependent tensors, an assert's tensor ops and an integral sum (xlm).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import derived_library
from lm_predictor.workload import Workload

pytest.importorskip("torch")

CHUNK = Workload(batch=2, seq_len=3, past_len=4)
WITH_CACHE = [PREFILL, DECODE, CHUNK]
IDS = ["prefill", "decode", "chunk"]

SMALL = {
    "mvp": {"model_type": "mvp", "d_model": 32, "decoder_layers": 2, "encoder_layers": 2, "decoder_attention_heads": 4,
            "encoder_attention_heads": 4, "decoder_ffn_dim": 64, "encoder_ffn_dim": 64, "vocab_size": 128},
    "xglm": {"model_type": "xglm", "num_layers": 2, "d_model": 32, "attention_heads": 4, "ffn_dim": 64, "vocab_size": 128,
             "max_position_embeddings": 4},
    "gptj": {"model_type": "gptj", "n_layer": 2, "n_embd": 32, "n_head": 4, "rotary_dim": 4, "vocab_size": 128, "n_positions": 64},
    "rwkv": {"model_type": "rwkv", "num_hidden_layers": 2, "hidden_size": 32, "vocab_size": 128, "context_length": 64},
    "xlm": {"model_type": "xlm", "n_layers": 2, "emb_dim": 32, "n_heads": 4, "vocab_size": 128},
}
ROOTS = {"mvp": "transformers.models.mvp.MvpForCausalLM", "xglm": "transformers.models.xglm.XGLMForCausalLM",
         "gptj": "transformers.models.gptj.GPTJForCausalLM", "rwkv": "transformers.models.rwkv.RwkvForCausalLM",
         "xlm": "transformers.models.xlm.XLMWithLMHeadModel"}


@pytest.mark.parametrize("model", sorted(ROOTS))
def test_root_rule_has_bytes(model: str) -> None:
    library, root = derived_library(ROOTS[model])
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)


@pytest.mark.parametrize("workload", WITH_CACHE, ids=IDS)
@pytest.mark.parametrize("model", ["mvp", "xglm", "gptj"])
def test_bytes_exact_with_cache(model: str, workload: Workload) -> None:
    library, _ = derived_library(ROOTS[model])
    assert_exact(SMALL[model], replace(workload, attn="eager"), library=library)


@pytest.mark.parametrize("model", ["rwkv", "xlm"])
def test_bytes_exact_prefill(model: str) -> None:
    """rwkv and xlm return no cache the oracle can decode from: prefill only."""
    library, _ = derived_library(ROOTS[model])
    assert_exact(SMALL[model], replace(PREFILL, attn="eager"), library=library)


@pytest.mark.parametrize("workload", [PREFILL, CHUNK], ids=["prefill", "chunk"])
def test_linear_on_a_non_contiguous_view(workload: Workload) -> None:
    """mvp at head_dim 1 (d_model 4, 4 heads): out_proj's input [b, q, 4] is a view of the transposed
    [b, 4, q, 1] heads with strides (4q, 1, q), not contiguous for q > 1: clone + mm + add, not addmm."""
    library, _ = derived_library(ROOTS["mvp"])
    config = {**SMALL["mvp"], "d_model": 4, "decoder_ffn_dim": 8, "encoder_ffn_dim": 8}
    assert_exact(config, replace(workload, attn="eager"), library=library)
