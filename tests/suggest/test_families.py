"""Acceptance: `suggest --recursive <Family>ForCausalLM` alone is exact against the real model.

For each of the 8 families, one suggested rule file (derived from the pinned source with the
configuration class defaults) is evaluated at 3 varied configs, prefill and decode, with a
library built from rules/torch/**, transformers/activations.yaml, transformers/pytorch_utils.yaml
and the suggested file only: the hand-written family rules are not loaded. `assert_exact`
compares totals and every module path (flops, param_count, and kv_cache_bytes where defined).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import base_paths, library_with

SMALL = {"num_hidden_layers": 2, "vocab_size": 1000}

FAMILIES = {
    "llama": ("transformers.models.llama.LlamaForCausalLM", [
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4},
        {**SMALL, "hidden_size": 128, "intermediate_size": 200, "num_attention_heads": 8, "num_key_value_heads": 2,
         "attention_bias": True, "mlp_bias": True, "tie_word_embeddings": True},
        {**SMALL, "hidden_size": 96, "intermediate_size": 160, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 40},
    ]),
    "mistral": ("transformers.models.mistral.MistralForCausalLM", [
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window": None},
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window": 3},
        {**SMALL, "hidden_size": 128, "intermediate_size": 192, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 48,
         "tie_word_embeddings": True},
    ]),
    "qwen2": ("transformers.models.qwen2.Qwen2ForCausalLM", [
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2},
        {"num_hidden_layers": 4, "vocab_size": 1000, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4,
         "num_key_value_heads": 2, "use_sliding_window": True, "sliding_window": 3, "max_window_layers": 2},
        {**SMALL, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 4, "tie_word_embeddings": True},
    ]),
    "gemma": ("transformers.models.gemma.GemmaForCausalLM", [
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 32},
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 48},
        {**SMALL, "hidden_size": 96, "intermediate_size": 200, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 64,
         "tie_word_embeddings": False},
    ]),
    "phi3": ("transformers.models.phi3.Phi3ForCausalLM", [
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "pad_token_id": 999, "eos_token_id": 999},
        {**SMALL, "hidden_size": 256, "intermediate_size": 384, "num_attention_heads": 8, "num_key_value_heads": 2,
         "partial_rotary_factor": 0.5, "tie_word_embeddings": True, "pad_token_id": 999, "eos_token_id": 999},
        {**SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 40,
         "partial_rotary_factor": 0.75, "sliding_window": 4, "pad_token_id": 999, "eos_token_id": 999},
    ]),
    "gpt2": ("transformers.models.gpt2.GPT2LMHeadModel", [
        {**SMALL, "n_embd": 128, "n_head": 4},
        {**SMALL, "n_embd": 96, "n_head": 3, "n_inner": 200, "scale_attn_by_inverse_layer_idx": True, "tie_word_embeddings": False},
        {**SMALL, "n_embd": 64, "n_head": 4, "reorder_and_upcast_attn": True, "n_positions": 64},
    ]),
    "gpt_neox": ("transformers.models.gpt_neox.GPTNeoXForCausalLM", [
        {**SMALL, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4},
        {**SMALL, "hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 8, "rotary_pct": 0.5,
         "use_parallel_residual": False, "attention_bias": False},
        {**SMALL, "hidden_size": 96, "intermediate_size": 128, "num_attention_heads": 2, "rotary_pct": 1.0, "tie_word_embeddings": True},
    ]),
    "falcon": ("transformers.models.falcon.FalconForCausalLM", [
        {**SMALL, "hidden_size": 128, "num_attention_heads": 4},
        {**SMALL, "hidden_size": 128, "num_attention_heads": 8, "num_kv_heads": 2, "new_decoder_architecture": True, "bias": True},
        {**SMALL, "hidden_size": 128, "num_attention_heads": 4, "multi_query": False, "parallel_attn": False, "alibi": True},
    ]),
}


def suggested(family: str, index: int | None = None):
    """(library, rule file, result) for one family, derived once per test session; for a config
    that sets a value to None (mistral's `sliding_window: None`), derived for that config, as eval
    specialises derived rules on non-numeric config values (suggest/derive.py)."""
    configs = FAMILIES[family][1]
    if index is not None and any(v is None for v in configs[index].values()):
        return _suggested(family, index)
    return _suggested(family, None)


@lru_cache(maxsize=None)
def _suggested(family: str, index: int | None):
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import suggest

    qualname, configs = FAMILIES[family]
    kwargs = {}
    if index is not None:
        model_type = suggest(qualname, recursive=True, library=load_library(base_paths())).model_type
        kwargs = {"config": {"model_type": model_type, **configs[index]}, "specialise": True}
    result = suggest(qualname, recursive=True, library=load_library(base_paths()), **kwargs)
    library, path = library_with(result.text)
    return library, path, result


@pytest.mark.parametrize("family", list(FAMILIES))
def test_suggested_rules_lint_clean_and_resolved(family: str) -> None:
    from lm_predictor.lint import lint_paths

    library, path, result = suggested(family)
    assert result.unresolved == [], result.text
    assert not library.diagnostics, [d.headline() for d in library.diagnostics]
    lint = lint_paths([*base_paths(), path], with_library=False)
    errors = [d for d in lint.diagnostics if d.severity.value == "error"]
    assert not errors, "\n".join(d.render() for d in errors)
    hand = Path("rules/transformers/models").resolve()
    assert not any(hand in Path(rule.location.path).resolve().parents for rule in library), "hand-written family rules leaked in"


@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("index", [0, 1, 2], ids=["config-a", "config-b", "config-c"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_suggested_rules_exact(family: str, index: int, workload) -> None:
    library, _, result = suggested(family, index)
    config = {"model_type": result.model_type, **FAMILIES[family][1][index]}
    assert_exact(config, workload, library=library)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_suggested_rules_price_the_training_step(family: str) -> None:
    """Train FLOPs and gradients through the derived rules, with and without checkpointing:
    suggest gives the rotary matmul of a buffer and the position ids grad_operands=0 and the
    decoder layers checkpoint_layers: 1 (tests/families/test_train_derived.py has types without
    hand rules); weights (suggest sizes the rotary inv_freq and GPT-2's causal-mask buffers) and
    the AdamW state are exact too."""
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload

    library, _, result = suggested(family)
    config = {"model_type": result.model_type, **FAMILIES[family][1][0]}
    for ckpt in (False, True):
        measured = measure_train(config, Workload(2, 6), grad_checkpointing=ckpt, peak=False).totals
        predicted = predict_train(config, batch=2, seq_len=6, options=TrainOptions(grad_checkpointing=ckpt), library=library).totals
        assert {k: predicted.get(k) for k in ("flops", "weight_bytes", "grad_bytes")} == {k: measured[k] for k in ("flops", "weight_bytes", "grad_bytes")}
        # AdamW keeps a step per tensor: suggest counts a module's own tensors, a config-guarded
        # bias as `if $bias then 1 else 0` (falcon's FalconLinear)
        assert predicted.get("optimizer_bytes") == measured["optimizer_bytes"]
