"""Derived bytes (issue 14): layouts as size conditions, and a bytes metric only where every op is priced.

The oracle checks are in test_families.py and test_sdpa.py: `assert_exact` compares bytes_read and
bytes_written in total and at every module path wherever the derived root defines them. This file
checks that the llama-derived rules do define them (so the coverage cannot vanish silently), a
reduced-precision case, the gating, and the layout arithmetic against torch itself.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.layout import Layout, is_contiguous, view_of, with_layout
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.values import CondLayout, Tensor
from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.test_families import FAMILIES, suggested

torch = pytest.importorskip("torch")

B, H, S, D = (Num.sym(n) for n in ("b", "h", "s", "d"))


def _value(cond: X.Bool, **sizes: int) -> bool:
    got = X.bool_value(X.substitute(cond, {k: Num.const(v) for k, v in sizes.items()}))
    assert got is not None, X.render_bool(cond)
    return got


# q_proj(x).view(b, s, h, d).transpose(1, 2): logical [b, h, s, d], memory order b, s, h, d
QUERY = with_layout(Tensor((B, H, S, D)), Layout((0, 2, 1, 3)))


@pytest.mark.parametrize("b,h,s,d", list(itertools.product((1, 2), (1, 3), (1, 4), (1, 5))))
def test_layout_conditions_match_torch(b: int, h: int, s: int, d: int) -> None:
    """is_contiguous() and whether reshape(b * h, s, d) can view, for the transposed query, as torch says."""
    _check_against_torch(QUERY, torch.empty(b, s, h, d).transpose(1, 2), b, h, s, d)


def _check_against_torch(tensor: Tensor, real: torch.Tensor, b: int, h: int, s: int, d: int) -> None:
    """is_contiguous() and whether torch.matmul's reshape(b * h, s, d) of `real` can view, as the layout says."""
    sizes = {"b": b, "h": h, "s": s, "d": d}
    assert _value(is_contiguous(tensor), **sizes) == real.is_contiguous()
    ok, _ = view_of(tensor, (B * H, S, D))
    # torch.matmul reshapes the query to [b * h, s, d]: a view exactly where view() succeeds
    try:
        real.view(b * h, s, d)
        viewable = True
    except RuntimeError:
        viewable = False
    assert _value(ok, **sizes) == viewable


def test_expanded_heads_merge_only_at_one_group() -> None:
    """repeat_kv: [b, g, n_rep (stride 0), s, d] viewed as [b, g * n_rep, s, d] copies unless g or n_rep is 1."""
    g, n = Num.sym("g"), Num.sym("n")
    t = with_layout(Tensor((B, g, n, S, D)), Layout((0, 1, 2, 3, 4), frozenset({2})))
    ok, _ = view_of(t, (B, g * n, S, D))
    for gv, nv in itertools.product((1, 2), (1, 3)):
        real = torch.empty(2, gv, 1, 4, 5).expand(2, gv, nv, 4, 5)
        try:
            real.view(2, gv * nv, 4, 5)
            viewable = True
        except RuntimeError:
            viewable = False
        assert _value(ok, b=2, g=gv, n=nv, s=4, d=5) == viewable


def test_joined_branches_keep_both_layouts() -> None:
    """A tensor from two branches (transposed or not) is contiguous as each branch makes it."""
    c = X.bsym("c")
    t = with_layout(Tensor((B, H, S, D)), CondLayout(c, QUERY.layout, None))
    cond = is_contiguous(t)
    assert _value(X.substitute(cond, {"c": X.TRUE}), b=2, h=3, s=4, d=5) is False
    assert _value(X.substitute(cond, {"c": X.FALSE}), b=2, h=3, s=4, d=5) is True


@pytest.mark.parametrize("family", ["llama", "qwen2", "phi3", "gpt2"])
def test_derived_rules_define_bytes(family: str) -> None:
    """Every llama-derived rule is priced op by op: the root and each module rule have bytes."""
    library, _, result = suggested(family)
    for name in result.rules:
        rule = library.get(name)
        assert {"bytes_read", "bytes_written"} <= set(rule.metrics), name


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [replace(PREFILL, dtype="bfloat16"), replace(DECODE, dtype="float16")], ids=["prefill-bf16", "decode-fp16"])
def test_derived_bytes_exact_in_reduced_precision(workload, attn: str) -> None:
    """bf16 / fp16: the float32 interiors (RMSNorm, rotary, softmax) and their casts, as measured."""
    library, _, result = suggested("llama")
    config = {"model_type": result.model_type, **FAMILIES["llama"][1][1]}
    assert_exact(config, replace(workload, attn=attn), library=library)


def test_a_gap_leaves_the_rule_and_its_callers_without_bytes() -> None:
    """An op without a bytes model (here: mixtral's expert loop, sized by the tokens routed to each
    expert) leaves its rule, and every rule that calls it, without bytes_read, while flops stay."""
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import suggest
    from tests.suggest.families import base_paths, library_with

    result = suggest("transformers.models.mixtral.MixtralForCausalLM", recursive=True, library=load_library(base_paths()))
    library, _ = library_with(result.text)
    root = library.get(result.rules[0])
    assert "flops" in root.metrics and "bytes_read" not in root.metrics
    priced = [name for name in result.rules if "bytes_read" in library.get(name).metrics]
    assert any(name.endswith("MixtralRMSNorm") for name in priced)  # a rule without a gap keeps its bytes


# GPT-2's query: a third of the fused c_attn output [b, s, 3 * h * d], viewed [b, s, h, d] and
# transposed; memory order b, s, h, d with a stride jump just outside h (the other two thirds)
GAPPED = with_layout(Tensor((B, H, S, D)), Layout((0, 2, 1, 3), gaps=frozenset({1})))


@pytest.mark.parametrize("b,h,s,d", list(itertools.product((1, 2), (1, 3), (1, 4), (1, 5))))
def test_gapped_layout_conditions_match_torch(b: int, h: int, s: int, d: int) -> None:
    """A cut of a fused projection: is_contiguous() and whether torch.matmul's reshape(b * h, s, d) views, as torch says."""
    _check_against_torch(GAPPED, torch.empty(b, s, 3 * h * d).split(h * d, dim=2)[0].view(b, s, h, d).transpose(1, 2), b, h, s, d)


@pytest.mark.parametrize("b,h,s,d", list(itertools.product((1, 2), (1, 3), (1, 4), (1, 5))))
def test_merge_across_a_dim_places_the_merged_dim_as_torch_does(b: int, h: int, s: int, d: int) -> None:
    """attn_output.transpose(1, 2).reshape(b, s, h * d): where it views, the result is contiguous
    exactly where torch says (the merged dim sits at d's place, or at h's when d == 1)."""
    t = with_layout(Tensor((B, S, H, D)), Layout((0, 2, 1, 3)))
    ok, lay = view_of(t, (B, S, H * D))
    real = torch.empty(b, h, s, d).transpose(1, 2)
    sizes = {"b": b, "h": h, "s": s, "d": d}
    if not _value(ok, **sizes):
        return
    merged = real.view(b, s, h * d)
    assert _value(is_contiguous(with_layout(Tensor((B, S, H * D)), lay)), **sizes) == merged.is_contiguous()


@pytest.mark.parametrize("n", range(0, 10))
@pytest.mark.parametrize("flag", [True, False])
def test_count_where_counts_layers_as_a_loop_would(n: int, flag: bool) -> None:
    """Sliding layers of exaone4's default `layer_types` ((i + 1) % pattern != 0, with a window set)
    and of qwen2's (i >= max_window_layers): layers.count_where against counting them one by one."""
    from lm_predictor.suggest.layers import count_where

    i, p, m = Num.sym("#i"), Num.sym("p"), Num.sym("m")
    for cond, sizes, test in (
        (X.band(X.bsym("w"), X.cmp("!=", X.mod(i + 1, p), 0)), {"p": 4}, lambda k: flag and (k + 1) % 4 != 0),
        (X.band(X.bsym("w"), X.cmp(">=", i, m)), {"m": 3}, lambda k: flag and k >= 3),
    ):
        count = count_where(cond, "#i", Num.sym("n"))
        assert count is not None
        values = {"n": Num.const(n), **{k: Num.const(v) for k, v in sizes.items()}}
        got = X.substitute(X.substitute(count, values), {"w": X.bconst(flag)})
        assert got.const_value() == sum(1 for k in range(n) if test(k))


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_a_module_called_on_a_transposed_tensor_keeps_its_layout(attn: str) -> None:
    """exaone4's q_norm runs on the transposed query, so the query the score matmul reads is still
    in [b, s, h, d] order and torch.matmul copies it (b, h, s > 1): the derived bytes have that copy
    (they missed it while callees were analysed as if their input were row-major)."""
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import suggest
    from tests.suggest.families import base_paths, library_with

    result = suggest("transformers.models.exaone4.Exaone4ForCausalLM", recursive=True, library=load_library(base_paths()))
    library, _ = library_with(result.text)
    assert "bytes_read" in library.get(result.rules[0]).metrics
    config = {"model_type": "exaone4", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 4,
              "head_dim": 16, "vocab_size": 100, "num_hidden_layers": 4, "sliding_window": 3}
    assert_exact(config, replace(PREFILL, attn=attn), library=library)
