"""Derived bytes of constructs priced for the sdpa survey's remaining 4.56 types (issue 14, round 6).

- SDPA that may take torch's math fallback (key/value heads not provably the query's, no
  enable_gqa): the sdpa rule is called with `kv_heads`, `enable_gqa`, `is_causal` and the query's
  memory order, and picks the fused kernel or `torch._scaled_dot_product_attention_math` by the
  sizes (moshi: `F.scaled_dot_product_attention` on repeat_kv'd keys, kv * (h // kv) heads).
  The math path is modelled for one broadcast key/value head; any other head count makes torch
  raise, so the rule is exact wherever the model runs.
- `x[..., [i], :]` (one list of ints among slices): one aten.index that reads the int64 index and
  the selected elements and writes a dense row-major output; `torch.broadcast_to` is a view.
- int32 (`mask.int()`, roberta's position ids): 4 bytes per element; cumsum of int32 gives int64.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import derived_library

pytest.importorskip("torch")

SMALL_MOSHI = {"model_type": "moshi", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
               "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 2, "vocab_size": 128}


def test_moshi_root_rule_has_bytes() -> None:
    library, root = derived_library("transformers.models.moshi.MoshiForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("kv", [2, 4], ids=["gqa", "mha"])
def test_moshi_bytes_exact(workload, attn: str, kv: int) -> None:
    library, _ = derived_library("transformers.models.moshi.MoshiForCausalLM")
    assert_exact({**SMALL_MOSHI, "num_key_value_heads": kv}, replace(workload, attn=attn), library=library)


def test_list_index_is_one_gather_and_broadcast_to_a_view() -> None:
    """Falcon's MQA split `fused[..., [-2], :]` on [2, 5, 6, 4] float32: aten.index reads 8 bytes
    of index and the output's 2 * 5 * 1 * 4 = 40 floats (160 bytes), writes 160 (BytesCounter:
    168 / 160, output contiguous); broadcast_to then moves nothing (stride 0)."""
    import torch

    from lm_predictor.suggest.brains.opbytes import price_getitem
    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.pyvalues import Slice
    from lm_predictor.suggest.ruletext import call_atoms
    from lm_predictor.suggest.values import ListV
    from lm_predictor.verify.bytes_counter import BytesCounter

    x = torch.randn(2, 5, 6, 4)
    with BytesCounter() as counter:
        y = x[..., [-2], :]
        z = torch.broadcast_to(y, (2, 5, 3, 4))
    assert (counter.bytes_read, counter.bytes_written) == (8 + 160, 160)
    assert y.is_contiguous() and z.stride() == (20, 4, 0, 1)

    host = _Host()
    out = price_getitem(host, _t(2, 5, 6, 4), (Ellipsis, ListV([Num.const(-2)]), Slice(None, None, None)), _t(2, 5, 1, 4))
    (atom,) = [a for metric, expr, _ in host.costs if metric == "bytes" for a in call_atoms(expr)]
    kw = {k: v.const_value() for k, v in atom.args[2]}
    # torch.elementwise: reads numel * dtype_bytes + extra_read = 40 * 4 + 8, writes 40 * 4
    assert (kw["numel"] * kw["dtype_bytes"] + kw["extra_read"], kw["numel"] * kw["dtype_bytes"]) == (168, 160)
    assert out.layout is None
    _, terms = _priced("torch.broadcast_to", [out, (Num.const(2), Num.const(5), Num.const(3), Num.const(4))], {}, _t(2, 5, 3, 4))
    assert terms == []


class _Host:
    """The little of the interpreter the bytes brains use: costs are collected, nothing labelled."""

    label_hint = None
    recorder = None
    current_loc = ""

    def __init__(self) -> None:
        self.costs: list = []

    def add_cost(self, metric: str, expr, note: str = "") -> None:
        self.costs.append((metric, expr, note))


def _priced(name: str, args: list, kwargs: dict, result):
    """(rule, kwargs as ints) of the one op term price_function records for `name(*args)`."""
    from lm_predictor.suggest.brains.base import CallSite
    from lm_predictor.suggest.brains.opbytes import price_function
    from lm_predictor.suggest.ruletext import call_atoms

    host = _Host()
    out = price_function(CallSite(host, None, args, kwargs, None, None, name), result)
    terms = [atom for metric, expr, _ in host.costs if metric == "bytes" for atom in call_atoms(expr)]
    assert [m for m, _, _ in host.costs if m == "bytes_gap"] == []
    return out, [(atom.args[1], {k: v.const_value() for k, v in atom.args[2]}) for atom in terms]


def _t(*shape: int, dtype: str = "float32"):
    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.values import Tensor

    return Tensor(tuple(Num.const(d) for d in shape), dtype)


def test_f_pad_reads_the_input_and_writes_the_padded_output() -> None:
    """F.pad(x [2, 5, 6], (3, 0)) in float32: constant_pad_nd reads 2 * 5 * 6 * 4 = 240 bytes and
    writes 2 * 5 * 9 * 4 = 360 (BytesCounter: 240 / 360); torch.copy(numel=90, in_numel=60)."""
    from lm_predictor.suggest.expr import Num

    out, terms = _priced("F.pad", [_t(2, 5, 6), (Num.const(3), Num.const(0))], {}, _t(2, 5, 9))
    assert terms == [("torch.copy", {"numel": 90, "in_numel": 60, "dtype_bytes": 4})]
    assert out.layout is None  # row-major, as torch's (45, 9, 1)


def test_torch_split_is_views() -> None:
    """torch.split(x, [2, 4], dim=-1): two views, no op (BytesCounter: 0 / 0)."""
    from lm_predictor.suggest.expr import Num

    pieces = (_t(2, 5, 2), _t(2, 5, 4))
    out, terms = _priced("torch.split", [_t(2, 5, 6), [Num.const(2), Num.const(4)]], {"dim": Num.const(-1)}, pieces)
    assert terms == [] and len(out) == 2


def test_tensor_repeat_reads_the_input_once_and_writes_the_tiles() -> None:
    """x [2, 3, 4] float32 .repeat(1, 2, 1): one aten.repeat reading 2 * 3 * 4 * 4 = 96 bytes and
    writing 2 * 6 * 4 * 4 = 192 (BytesCounter: 96 / 192, output contiguous)."""
    from lm_predictor.suggest.brains.base import CallSite
    from lm_predictor.suggest.brains.opbytes import price_method
    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.ruletext import call_atoms

    host = _Host()
    x = _t(2, 3, 4)
    out = price_method(CallSite(host, None, [Num.const(1), Num.const(2), Num.const(1)], {}, None, None, "Tensor.repeat", x), "repeat", x, _t(2, 6, 4))
    (atom,) = [a for metric, expr, _ in host.costs if metric == "bytes" for a in call_atoms(expr)]
    assert (atom.args[1], {k: v.const_value() for k, v in atom.args[2]}) == ("torch.copy", {"numel": 48, "in_numel": 24, "dtype_bytes": 4})
    assert out.layout is None


def test_a_called_child_without_bytes_leaves_the_parent_without_bytes(tmp_path) -> None:
    """Whisper's decoder reads its positional embedding through `self.weight[position_ids]` (an index the
    bytes model does not price yet) and never names that rule in its bytes terms: its total was partial,
    102,964,882 bytes read against the oracle's 102,986,498 (batch 2, 7 tokens, 3 layers). A child the
    forward calls without bytes now leaves every caller without bytes, never a partial total."""
    from transformers import WhisperConfig

    from lm_predictor.evaluate.config_source import read_config
    from lm_predictor.evaluate.predict import predict

    path = tmp_path / "config.json"
    WhisperConfig(decoder_layers=3, encoder_layers=3, tie_word_embeddings=False).to_json_file(path)
    p = predict(read_config(path), batch=2, seq_len=7, breakdown=False)
    assert "bytes_read" in p.unavailable and "bytes_read" not in p.totals and "flops" in p.totals
