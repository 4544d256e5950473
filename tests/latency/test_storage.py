"""Low-precision storage of weights and KV cache, checked against torch's own dtypes where torch has them."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.predict import predict
from lm_predictor.latency.api import LatencyRequest, price_step, storage_from_quantization_config
from lm_predictor.latency.storage import STORAGE_DTYPES, Storage, apply_storage, kv_bytes, weight_bytes

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "int8"])
def test_element_size_is_torchs(name: str) -> None:
    """A [out, in] weight in the torch dtype, built under fake tensors, holds out*in*element_size bytes."""
    torch = pytest.importorskip("torch")
    from torch._subclasses.fake_tensor import FakeTensorMode

    kind = STORAGE_DTYPES[name]
    with FakeTensorMode():
        w = torch.zeros(4096, 11008, dtype=getattr(torch, kind.torch_dtype))
    assert w.numel() * w.element_size() == 4096 * 11008 * kind.element_bytes


def test_int4_packs_two_per_byte_like_torch() -> None:
    """torch's int4 weight packing (`_convert_weight_to_int4pack_for_cpu`) stores [out, in / 2] uint8."""
    torch = pytest.importorskip("torch")
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        packed = torch._convert_weight_to_int4pack_for_cpu(torch.zeros(256, 512, dtype=torch.int32), 2)
    data = weight_bytes(STORAGE_DTYPES["int4"], 256, 512, 128) - 2 * 256 * (512 // 128)  # minus the fp16 group scales
    assert packed.numel() * packed.element_size() == data == 256 * 512 // 2


def test_weight_and_kv_conventions() -> None:
    int4, int8, fp8 = STORAGE_DTYPES["int4"], STORAGE_DTYPES["int8"], STORAGE_DTYPES["fp8_e4m3"]
    # 4096 x 4096, groups of 128: 4096*4096/2 data + 2 bytes * 4096 rows * 32 groups = 8,388,608 + 262,144
    assert weight_bytes(int4, 4096, 4096, 128) == 8_650_752
    assert weight_bytes(int8, 4096, 4096, 128) == 4096 * 4096 + 2 * 4096  # fp16 scale per output channel
    assert weight_bytes(fp8, 4096, 4096, 128) == 4096 * 4096 + 4  # one float32 scale
    assert kv_bytes(int4, 1024, 64) == 512 + 2 * 16 and kv_bytes(fp8, 1024, 64) == 1024


def test_int4_weights_on_llama_decode() -> None:
    p = predict("llama-2-7b", batch=1, seq_len=1, past_len=128, dtype="bfloat16", attn="sdpa")
    q = apply_storage(p, Storage(weight=STORAGE_DTYPES["int4"], group_size=128))
    # matmul weights per layer: q,k,v,o 4 * 4096*4096, gate/up/down 3 * 4096*11008; plus lm_head 32000*4096
    layer = [(4096, 4096)] * 4 + [(11008, 4096), (11008, 4096), (4096, 11008)]
    saved = 32 * sum(r * c * 2 - weight_bytes(STORAGE_DTYPES["int4"], r, c, 128) for r, c in layer)
    saved += 32000 * 4096 * 2 - weight_bytes(STORAGE_DTYPES["int4"], 32000, 4096, 128)
    assert p.totals["bytes_read"] - q.totals["bytes_read"] == saved
    assert q.totals["flops"] == p.totals["flops"] and q.totals["bytes_written"] == p.totals["bytes_written"]
    rows = {r.path: r for r in q.modules}
    assert rows["model.layers.mlp"].totals["bytes_read"] == sum(rows[f"model.layers.mlp.{n}"].totals["bytes_read"] for n in ("gate_proj", "up_proj", "act_fn", "gate_mul", "down_proj"))


def test_fp8_kv_on_sdpa_decode() -> None:
    p = predict("llama-2-7b", batch=1, seq_len=1, past_len=128, dtype="bfloat16", attn="sdpa")
    q = apply_storage(p, Storage(kv=STORAGE_DTYPES["fp8_e4m3"]))
    assert q.totals["kv_cache_bytes"] * 2 == p.totals["kv_cache_bytes"]
    # per layer: the cache cat reads and writes 2 * 32 heads * 129 * 128 elements; the kernel reads
    # the same keys and values: saved 1 byte each, 3 * 2 * 32 * 129 * 128 = 3,170,304 per layer, 32 layers
    assert p.totals["bytes_read"] + p.totals["bytes_written"] - q.totals["bytes_read"] - q.totals["bytes_written"] == 32 * 3 * 2 * 32 * 129 * 128


def test_quantization_config() -> None:
    assert storage_from_quantization_config({"quant_method": "gptq", "bits": 4, "group_size": 64}) == ("int4", 64)
    assert storage_from_quantization_config({"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}) == ("fp8_e4m3", None)
    with pytest.raises(LmPredictorError) as err:
        storage_from_quantization_config({"quant_method": "hqq"})
    assert err.value.diagnostic.code.code == "C083"
    config = json.loads((CONFIGS / "llama-2-7b" / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemm"}
    request = LatencyRequest.from_options(config, hw=None)
    assert request.storage.weight.name == "int4" and request.storage.group_size == 128


def test_group_size_must_divide_hidden() -> None:
    request = LatencyRequest.from_options({}, hw=None, weight_dtype="int4", group_size=96)  # 4096 % 96 = 64
    with pytest.raises(LmPredictorError) as err:
        price_step("llama-2-7b", request, {"batch": 1, "seq_len": 1, "past_len": 4, "dtype": "bfloat16", "attn": "sdpa"})
    assert err.value.diagnostic.code.code == "C082" and "does not divide hidden_size 4096" in err.value.diagnostic.headline()
    assert Fraction(4096, 96).denominator != 1
