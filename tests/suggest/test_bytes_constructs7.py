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
- falcon's fused split: a view's -1 is the exact quotient also where the given sizes are a sum
  (`view(b, s, -1, h // kv + 2, d)` of (h + 2 kv) * d is kv), sizes are read under the branch that
  runs the view (`if $new_decoder_architecture` inside `if self.new_decoder_architecture:`), one inner
  dim sliced (`qkv[:, :, :, :-2]`) or selected (`fused[..., 0, :]`) keeps a dense layout with a gap,
  and a view whose sizes differ in one dim only pairs that dim (the count is kept, so they are equal).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import Tensor
from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import derived_library

pytest.importorskip("torch")

# every layer full attention: lfm2's short-convolution layers stay without bytes (the conv's slow path)
SMALL_LFM2 = {"model_type": "lfm2", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
              "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 128,
              "layer_types": ["full_attention", "full_attention"]}


def test_lfm2_root_rule_has_bytes() -> None:
    library, root = derived_library("transformers.models.lfm2.Lfm2ForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("kv", [1, 2, 4], ids=["mqa", "gqa", "mha"])
def test_lfm2_bytes_exact(workload, attn: str, kv: int) -> None:
    library, _ = derived_library("transformers.models.lfm2.Lfm2ForCausalLM")
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


# ---------------------------------------------------------------- falcon's fused split

def test_a_view_infers_falcons_kv_heads_from_the_fused_width() -> None:
    """fused [b, s, (h + 2 kv) * d].view(b, s, -1, h // kv + 2, d): the -1 is kv (view() runs only where
    kv divides h), not an integer division the layout code cannot match."""
    from lm_predictor.suggest.brains.viewsize import inferred_size

    b, s, h, kv, d = (Num.sym(n) for n in ("b", "s", "h", "kv", "d"))
    assert inferred_size([b, s, (h + 2 * kv) * d], [b, s, X.floordiv(h, kv) + 2, d]) == kv
    # (h + 2 kv) d / ((h // kv + 2) d) = kv; with 3 in place of 2 there is no one-monomial quotient
    assert X.monomial_quotient((h + 2 * kv) * d, (X.floordiv(h, kv) + 3) * d) is None


def _sizes(**named: int) -> dict:
    return {k: Num.const(v) for k, v in named.items()}


def _holds(cond: X.Bool, **named: int) -> bool:
    got = X.bool_value(X.substitute(cond, _sizes(**named)))
    assert got is not None, X.render_bool(cond)
    return got


def _viewable(real, *shape: int) -> bool:
    try:
        real.view(*shape)
        return True
    except RuntimeError:
        return False


@pytest.mark.parametrize("b,s,k,g,d", list(itertools.product((1, 2), (1, 3), (1, 2), (1, 3), (1, 4))))
def test_an_inner_slice_has_a_gap_outside_it_as_torch_says(b: int, s: int, k: int, g: int, d: int) -> None:
    """falcon's qkv[:, :, :, :-2] of [b, s, k, g + 2, d]: is_contiguous() and the views that merge (k, g)
    and (b, s) hold exactly where torch says."""
    import torch

    from lm_predictor.suggest.brains.layout import is_contiguous, view_of, with_layout
    from lm_predictor.suggest.brains.opbytes import _index_layout
    from lm_predictor.suggest.pyvalues import Slice

    B, S, K, G, D = (Num.sym(n) for n in "bskgd")
    full = Slice(None, None, None)
    sliced = Tensor((B, S, K, G, D))
    t = with_layout(sliced, _index_layout(Tensor((B, S, K, G + 2, D)), [full, full, full, Slice(None, Num.const(-2), None)], sliced))
    real = torch.empty(b, s, k, g + 2, d)[:, :, :, :-2]
    sizes = dict(b=b, s=s, k=k, g=g, d=d)
    assert _holds(is_contiguous(t), **sizes) == real.is_contiguous()
    for shape, sym in (((b, s, k * g, d), (B, S, K * G, D)), ((b * s, k, g, d), (B * S, K, G, D)), ((b, s, k, g * d), (B, S, K, G * D))):
        assert _holds(view_of(t, sym)[0], **sizes) == _viewable(real, *shape)


@pytest.mark.parametrize("b,s,h,d", list(itertools.product((1, 2), (1, 3), (1, 2), (1, 4))))
def test_an_inner_select_has_a_gap_outside_the_dim_inside_it_as_torch_says(b: int, s: int, h: int, d: int) -> None:
    """falcon's fused[..., 0, :] of [b, s, h, 3, d]: is_contiguous() and the views that merge (h, d)
    and (b, s) hold exactly where torch says."""
    import torch

    from lm_predictor.suggest.brains.layout import is_contiguous, view_of, with_layout
    from lm_predictor.suggest.brains.opbytes import _index_layout
    from lm_predictor.suggest.pyvalues import Slice

    B, S, H, D = (Num.sym(n) for n in "bshd")
    picked = Tensor((B, S, H, D))
    t = with_layout(picked, _index_layout(Tensor((B, S, H, Num.const(3), D)), [Ellipsis, Num.const(0), Slice(None, None, None)], picked))
    real = torch.empty(b, s, h, 3, d)[..., 0, :]
    sizes = dict(b=b, s=s, h=h, d=d)
    assert _holds(is_contiguous(t), **sizes) == real.is_contiguous()
    for shape, sym in (((b, s, h * d), (B, S, H * D)), ((b * s, h, d), (B * S, H, D)), ((b * s * h, d), (B * S * H, D))):
        assert _holds(view_of(t, sym)[0], **sizes) == _viewable(real, *shape)


def test_a_view_pairs_the_one_dim_its_sizes_do_not_show_equal() -> None:
    """[b, h, q, d] viewed as [b, kv, q, d] (falcon's keys where the config leaves kv == h): a view keeps
    the element count, so kv is h wherever it runs and the view moves nothing."""
    from lm_predictor.suggest.brains.layout import Layout, view_of, with_layout

    b, h, kv, q, d = (Num.sym(n) for n in ("b", "h", "kv", "q", "d"))
    ok, lay = view_of(with_layout(Tensor((b, h, q, d)), Layout((0, 2, 1, 3))), (b, kv, q, d))
    assert ok == X.TRUE and lay == Layout((0, 2, 1, 3))
    assert view_of(Tensor((b, h, q, d)), (b, kv, q * 2, d)) is None  # two dims differ: not paired


# ---------------------------------------------------------------- gemma3's masks before the cache exists

# Gemma3ForConditionalGeneration: the multimodal model builds both masks before its language model makes
# the cache, so in prefill create_sliding_window_causal_mask gets past_key_values=None and takes the
# window from the config (the brain used to refuse it: no cache layer to read the window from)
# at the default config, as bench/sdpa_survey.py measures it (eval does not read a shrunk nested text_config's sizes
# into the derived rules yet, for flops either: not a bytes question)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE, replace(DECODE, batch=2, seq_len=3, past_len=4)], ids=["prefill", "decode", "chunked"])
def test_gemma3_bytes_exact(workload, attn: str, tmp_path) -> None:
    from tests.families.harness import written_config

    library, root = derived_library("transformers.models.gemma3.Gemma3ForConditionalGeneration")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)
    config = written_config("gemma3", {}, tmp_path)
    assert_exact(config, replace(workload, attn=attn), library=library)


# ---------------------------------------------------------------- BERT's masks and tied head

# BertLMHeadModel without an attention_mask (the oracle passes none): warn_if_padding_and_no_attention_mask
# runs `pad_token_id in input_ids[:, [-1, 0]]` (index, ==, any, a one-byte read back: 85 bytes read and 37
# written at batch 2); the model's own torch.ones mask goes through _prepare_4d_attention_mask_for_sdpa
# (`torch.all(mask == 1)`, then no mask) under sdpa and get_extended_attention_mask ((1 - mask) * min) under
# eager; the head's decoder reads the bias it shares with its owner (`self.decoder.bias = self.bias`).
SMALL_BERT = {"model_type": "bert", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
              "num_hidden_layers": 2, "vocab_size": 128}


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("pad", [0, None], ids=["pad", "no-pad"])
def test_bert_bytes_exact(attn: str, pad) -> None:
    """Derived for the config as eval derives it (the rules read its pad_token_id: None runs no check)."""
    from lm_predictor.evaluate.predict import predict

    config = {**SMALL_BERT, "pad_token_id": pad}
    assert {"bytes_read", "bytes_written"} <= set(predict(config, batch=2, seq_len=7, attn=attn, breakdown=False).totals)
    assert_exact(config, replace(PREFILL, attn=attn))
