"""The module tree shows each layer kind with its count where layers differ, against the model itself.

ai21labs/AI21-Jamba-1.5-Mini as published (tests/data/ai21-jamba-1.5-mini.config.json, the fields
of its config.json): 32 layers, attention where i % 8 == 4 (layers 4, 12, 20, 28) and Mamba
elsewhere, experts where i % 2 == 1. transformers derives the kinds from the periods (the file has
no per-layer list), so eval sums over the kinds the source's `i % period == offset` selects.
The file was written from the published values (no hub access here); its sizes are the ones
JambaConfig documents as Jamba's, and the fake-built model below checks what they build.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lm_predictor.evaluate.breakdown import ModuleRow, row_kinds
from lm_predictor.evaluate.config_source import read_config
from lm_predictor.resources import configs_dir

JAMBA = Path(__file__).resolve().parents[1] / "data" / "ai21-jamba-1.5-mini.config.json"


def test_kinds_come_from_the_config_list_at_the_layer_index() -> None:
    # gemma-3-270m-like: 6 layers, full at 5; sites are (rule, layer_idx, count)
    kinds = ["sliding_attention"] * 5 + ["full_attention"]
    sites = [("m.Gemma3DecoderLayer", 0, 4), ("m.Gemma3DecoderLayer", 4, 1), ("m.Gemma3DecoderLayer", 5, 1)]
    assert row_kinds(sites, kinds) == [("sliding_attention", 5), ("full_attention", 1)]  # 4 + 1 sliding, 1 full


def test_kinds_fall_back_to_the_class_names_that_differ() -> None:
    sites = [("m.JambaAttentionDecoderLayer", 4, 4), ("m.JambaMambaDecoderLayer", 0, 12), ("m.JambaMambaDecoderLayer", 1, 16)]
    assert row_kinds(sites, None) == [("attention", 4), ("mamba", 28)]  # 12 + 16 Mamba layers
    assert row_kinds([("m.JambaMLP", 0, 16), ("m.JambaMLP_v2", 2, 4)], None) == []  # variants of one class: one kind
    assert ModuleRow("layers", "m.X", 1, 32).kinds == []


pytest.importorskip("torch")
pytest.importorskip("transformers")


def _fake_model(config: dict):
    """The causal LM transformers builds from `config`, on fake tensors (no memory)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from lm_predictor.verify.hf import hf_config, model_class

    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
        return model_class(config)(hf_config(config))


def test_jamba_as_published_tree_counts_each_kind_as_the_model_builds_it() -> None:
    from lm_predictor.evaluate.predict import predict

    config = read_config(JAMBA)
    prediction = predict(config, batch=1, seq_len=8, breakdown=True)
    rows = {row.path: row for row in prediction.modules}
    model = _fake_model(config)
    built = Counter(type(layer).__name__ for layer in model.model.layers)
    assert built == {"JambaMambaDecoderLayer": 28, "JambaAttentionDecoderLayer": 4}
    assert dict(rows["model.layers"].kinds) == {"attention": 4, "mamba": 28}
    ffn = Counter(type(layer.feed_forward).__name__ for layer in model.model.layers)
    assert ffn == {"JambaMLP": 16, "JambaSparseMoeBlock": 16}
    assert dict(rows["model.layers.feed_forward"].kinds) == {"mlp": 16, "sparsemoeblock": 16}
    assert prediction.totals["param_count"] == sum(p.numel() for p in model.parameters())


def test_jamba_as_published_is_exact_shrunk() -> None:
    # fake tensors cannot run the Mamba scan (data-dependent), so the oracle runs real tensors on
    # the shrunk file: 2 layers, attention and experts every 2nd layer from 1 (both kinds kept).
    # Prefill only: JambaForCausalLM in 4.56 returns no cache unless the caller builds one
    from lm_predictor.verify.oracle import shrink_config
    from lm_predictor.workload import Workload
    from tests.families.harness import assert_exact

    shrunk = shrink_config(read_config(JAMBA))
    assert (shrunk["attn_layer_period"], shrunk["attn_layer_offset"]) == (2, 1)
    assert_exact(shrunk, Workload(batch=2, seq_len=7, past_len=0))


def test_gemma_3_270m_as_published_tree_has_sliding_and_full() -> None:
    from lm_predictor.evaluate.predict import predict

    config = read_config(configs_dir() / "gemma-3-270m" / "config.json")
    rows = {row.path: row for row in predict(config, batch=1, seq_len=8, breakdown=True).modules}
    # layer_types lists 18 layers: full at 5, 11, 17, sliding elsewhere
    assert dict(rows["model.layers"].kinds) == {"sliding_attention": 15, "full_attention": 3}


@pytest.mark.parametrize("past_len", [0, 5], ids=["prefill", "decode"])
def test_lfm2_2_6b_as_published_hybrid_is_exact(past_len: int) -> None:
    # LiquidAI/LFM2-2.6B (configs/lfm2-2.6b): 30 layers listed in layer_types, 22 short-convolution
    # and 8 attention; fake tensors run it. The cache holds a [batch, hidden, conv_L_cache] conv
    # state for every layer besides the attention layers' keys and values
    from lm_predictor.workload import Workload
    from tests.families.harness import assert_exact

    assert_exact(read_config(configs_dir() / "lfm2-2.6b" / "config.json"), Workload(batch=2, seq_len=1 if past_len else 7, past_len=past_len))


def test_lfm2_2_6b_as_published_tree_has_conv_and_attention() -> None:
    from lm_predictor.evaluate.predict import predict

    config = read_config(configs_dir() / "lfm2-2.6b" / "config.json")
    rows = {row.path: row for row in predict(config, batch=1, seq_len=8, breakdown=True).modules}
    kinds = Counter(config["layer_types"])
    assert kinds == {"conv": 22, "full_attention": 8}
    assert dict(rows["model.layers"].kinds) == dict(kinds)
