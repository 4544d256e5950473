"""Derived rules follow transformers' attention dispatch: `--attn sdpa` runs `sdpa_attention_forward`.

`config._attn_implementation` is the workload fact `attn_implementation__sdpa` to the analysis, so
`ALL_ATTENTION_FUNCTIONS[self.config._attn_implementation]` (and Falcon's own
`F.scaled_dot_product_attention` branch) become `if $attn_implementation__sdpa then ... else ...`
in the rules, bound by eval from `--attn` as for hand rules. The oracle counts the CPU SDPA kernel
with torch's CUDA formula (`cpu_sdpa_formulas`), so exact here is not agreement with 0.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from lm_predictor.evaluate.predict import predict
from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.test_families import FAMILIES, suggested

SDPA = "attn_implementation__sdpa"
CHUNKED = replace(DECODE, batch=2, seq_len=3, past_len=4)  # q > 1 after a cache: transformers passes a mask, repeat_kv runs


@pytest.mark.parametrize("workload", [PREFILL, DECODE, CHUNKED], ids=["prefill", "decode", "chunked"])
@pytest.mark.parametrize("index", [0, 1, 2], ids=["config-a", "config-b", "config-c"])  # falcon config-c: alibi
@pytest.mark.parametrize("family", list(FAMILIES))
def test_derived_rules_exact_under_sdpa(family: str, index: int, workload) -> None:
    library, _, result = suggested(family, index)
    config = {"model_type": result.model_type, **FAMILIES[family][1][index]}
    assert_exact(config, replace(workload, attn="sdpa"), library=library)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_derived_rules_take_the_sdpa_path(family: str) -> None:
    """The root rule declares the fact; under sdpa the SDPA kernel's row appears, under eager it does not."""
    library, _, result = suggested(family)
    root = library.get(result.rules[0])
    assert root.params[SDPA].type == "bool" and root.params[SDPA].default.text == "false"
    config = {"model_type": result.model_type, **FAMILIES[family][1][0]}

    def rules(attn: str) -> tuple[set, list]:
        p = predict(config, library=library, batch=2, seq_len=5, attn=attn, breakdown=True)
        return {row.rule for row in p.modules}, p.notes

    kernel = "torch.nn.functional.scaled_dot_product_attention"
    sdpa_rules, sdpa_notes = rules("sdpa")
    assert kernel in sdpa_rules and kernel not in rules("eager")[0]
    assert not [n for n in sdpa_notes if "does not model attn" in n]


def test_a_model_without_sdpa_keeps_eager_rules() -> None:
    """BertGeneration picks its attention class from {"eager": ...}: the sdpa arm is a KeyError
    (transformers refuses sdpa for it), so the rules do not declare the fact and eval says so."""
    from lm_predictor.rules.library import load_library
    from lm_predictor.suggest import suggest
    from tests.suggest.families import base_paths, library_with

    result = suggest("transformers.models.bert_generation.BertGenerationDecoder", recursive=True, library=load_library(base_paths()))
    assert result.unresolved == []
    library, _ = library_with(result.text)
    assert all(SDPA not in rule.params for rule in library)
    notes = predict({"model_type": "bert-generation", "num_hidden_layers": 1}, library=library, batch=1, seq_len=4, attn="sdpa").notes
    assert [n for n in notes if "does not model attn=sdpa" in n]
