"""Constructs of the transformers 5.x sources that suggest derives, each verified against the 5.23.0
oracle in .venv-tf5 at prefill and decode (flops, param_count and kv_cache_bytes, in total and per
module). Every config was written by transformers 5.23.0 itself, in .venv-tf5:
`CONFIG_MAPPING[t](**sizes)` with `architectures` set, then `.to_json_file()` (sizes below).

- qwen3-moe-tiny-5x (hidden 64, 2 layers, 4 experts, top 2): the fused experts' eager loop, whose
  `if expert_idx == self.num_experts: continue` skips the padding class of a one_hot with
  num_experts + 1 classes (top-k ids are below the router's width, so it never holds);
- gpt2-tiny-5x (n_embd 64, 2 layers, tied): a dataclass config with no `__post_init__` of its own,
  and an input embedding built over a nullable `padding_idx` (the tie is still found);
- bert-tiny-5x (hidden 64, 2 layers, is_decoder): `_tied_weights_keys` ties the decoder's bias too;
- gpt-oss-tiny-5x (2 layers, sliding window 4, 4 experts): alternating sliding/full layers summed
  per kind, `.max(...).values`, attention sinks;
- mistral-tiny-5x (sliding window 4): the 5.23 sliding cache layer also holds its window as a long
  tensor (8 bytes per sliding layer of kv_cache_bytes);
- bigbird-pegasus-tiny-5x (tie_word_embeddings true): 5.x ties only what `_tied_weights_keys` declares,
  and BigBirdPegasusForCausalLM declares nothing (None), so lm_head keeps its own weight;
- camembert-tiny-5x (tied): 5.23 registers lm_head before roberta; the tied decoder weight is still
  counted at its source, roberta.embeddings.word_embeddings;
- cpmant-tiny-5x (tied, prefill): `_tied_weights_keys = {}`, so lm_head is untied in 5.x.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lm_predictor.cli.main import main

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(("name", "past"), [
    *((name, "0,5") for name in ("qwen3-moe-tiny-5x", "gpt2-tiny-5x", "bert-tiny-5x", "gpt-oss-tiny-5x", "mistral-tiny-5x", "bigbird-pegasus-tiny-5x", "camembert-tiny-5x")),
    ("cpmant-tiny-5x", "0"),
])
def test_derived_rules_agree_with_the_5x_oracle(name, past):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["verify", str(DATA / name), "--batch", "2", "--seq-len", "7", "--past-len", past])
    text = out.getvalue()
    runs = len(past.split(","))
    assert status == 0, text[-2000:] + err.getvalue()
    assert text.count("transformers=5.23.0") == runs and "MISMATCH" not in text
    assert text.count(" 0 mismatched") == runs


@pytest.mark.parametrize(("model_type", "alias", "stored"), [("qwen3_moe", "num_experts", "num_local_experts"), ("glm4_moe", "num_local_experts", "n_routed_experts")])
def test_an_attribute_map_alias_stays_a_parameter(tmp_path, monkeypatch, model_type, alias, stored):
    """5.x configs name some fields by an alias (attribute_map): the derived rules keep the stored
    field a parameter, so rules derived (and cached) for one size price another. Before, the alias
    was set as a constant over it: a config with 4 experts priced with rules cached for 128."""
    from lm_predictor.evaluate.predict import predict

    monkeypatch.setenv("LMPREDICT_CACHE", str(tmp_path))
    small = {"model_type": model_type, "transformers_version": "5.23.0", "hidden_size": 64, "intermediate_size": 128, "moe_intermediate_size": 32,
             "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 256, stored: 4, "num_experts_per_tok": 2}
    big = {**small, stored: 8}
    # router weight [experts, hidden]: 4 more experts add 4 * 64 router weights and 4 experts of
    # 3 * 64 * 32 weights (gate, up, down) in every MoE layer
    first = predict(small, batch=1, seq_len=4).totals["param_count"]
    second = predict(big, batch=1, seq_len=4).totals["param_count"]  # the rules cached for `small`
    moe_layers = 2 if model_type == "qwen3_moe" else 1  # glm4_moe: first_k_dense_replace = 1 dense layer
    assert second - first == moe_layers * 4 * (64 + 3 * 64 * 32)
