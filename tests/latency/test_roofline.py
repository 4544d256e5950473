"""Roofline latency: the per-row max(flops / peak, bytes / bandwidth) and the Llama-2-7B acceptance."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.hardware import load_hardware
from lm_predictor.latency.roofline import Efficiency, excess, roofline

H100 = load_hardware("h100-sxm")
PEAK_BF16 = Fraction("989.4") * 10**12  # FLOP/s, H100 SXM dense bf16 (lm_predictor/data/hardware.yaml)
BANDWIDTH = Fraction(3350) * 10**9  # bytes/s


def test_leaf_is_max_of_compute_and_memory() -> None:
    p = predict("llama-2-7b", batch=1, seq_len=1, past_len=512, dtype="bfloat16", attn="sdpa")
    lat = roofline(p, H100)
    q = lat.rows["model.layers.self_attn.q_proj"]
    # q_proj, 32 layers, one token: flops 32 * 2 * 4096 * 4096 = 1,073,741,824
    # bytes: read 32 * (4096 + 4096*4096) * 2 = 1,074,003,968, written 32 * 4096 * 2 = 262,144
    assert q.own_flops == 1_073_741_824 and q.own_bytes == 1_074_003_968 + 262_144
    assert q.time_s == max(Fraction(1_073_741_824) / PEAK_BF16, Fraction(1_074_266_112) / BANDWIDTH)
    assert q.bound == "memory"
    # a parent's time is the sum of its children's (Linear rows have no own remainder)
    attn = lat.rows["model.layers.self_attn"]
    kids = [r for path, r in lat.rows.items() if path.startswith("model.layers.self_attn.") and path.count(".") == 3]
    assert attn.time_s == sum((k.time_s for k in kids), Fraction(0)) + max(attn.own_flops / PEAK_BF16, attn.own_bytes / BANDWIDTH)


def test_decode_batch1_is_weight_bytes_over_bandwidth() -> None:
    """Acceptance: Llama-2-7B, bf16, sdpa, H100 SXM, batch 1: within 5% of weight bytes / bandwidth."""
    p = predict("llama-2-7b", batch=1, seq_len=1, past_len=512, dtype="bfloat16", attn="sdpa")
    lat = roofline(p, H100)
    # 6,738,415,616 parameters (published) * 2 bytes = 13,476,831,232 bytes; / 3.35e12 B/s = 4.0229 ms
    floor = Fraction(6_738_415_616 * 2) / BANDWIDTH
    ratio = lat.time_s / floor
    assert 1 <= ratio < Fraction(105, 100), float(ratio)  # measured: 1.0424 (KV cache copy + activations)
    assert lat.rows[""].bound == "memory"


def test_prefill_4096_against_flops_over_peak() -> None:
    """Acceptance: prefill of 4096 tokens vs flops / peak, with the modules that make the excess.

    flops = 62,921,271,410,688 (exact against the oracle for Llama) / 989.4e12 = 63.60 ms. Every
    matmul row and the SDPA kernel are compute-bound; the elementwise ops that eager transformers
    runs as separate kernels are memory-bound and add 25.71 ms: 89.31 ms = 1.404 x flops / peak.
    The 10% target is not met by eager transformers: the excess is listed and its bytes derived
    below, not hidden (docs/latency.md).
    """
    p = predict("llama-2-7b", batch=1, seq_len=4096, past_len=0, dtype="bfloat16", attn="sdpa")
    lat = roofline(p, H100)
    root = lat.rows[""]
    # tokens T, hidden H, intermediate I, head_dim d; one activation A = T * H elements
    t, h, i, d = 4096, 4096, 11008, 128
    a = t * h
    # per RMSNorm, bytes: to_float32 2A+4A, pow 4A+4A, mean 4A+4T, add_eps 4T+4T, rsqrt 4T+4T,
    # normalize 4A+4T+4A, to_dtype 4A+2A, weight_mul 2A+2H+2A = 36A + 24T + 2H
    norm = 36 * a + 24 * t + 2 * h
    # rotary, q and k (32 heads each): cos and sin products 2 * (2A + 2*T*d + 2A), rotate_half neg A + A,
    # cat 2A + 2A, add 4A + 2A = 20A + 4*T*d each
    rotary = 2 * (20 * a + 4 * t * d)
    # a layer: 2 norms, 2 residual adds (2A + 2A + 2A each), the KV cache cat of key and value
    # (2A + 2A each), SiLU (2I + 2I) and gate * up (4I + 2I) with I = T * 11008 elements
    layer = 2 * norm + 2 * 6 * a + rotary + 2 * 4 * a + 10 * t * i
    # the model: embedding (8T index + 2A rows + 2A out), final norm, cache_position arange (8T), rotary
    # tables: position ids to float (8T + 4T), inv_freq @ positions (read 4*(64 + T), write 4*64*T; its
    # 524,288 FLOPs are memory-bound), cat to 128 (4*64*T + 4*128*T), cos, sin and their two products by
    # attention_scaling (4 * (4*128*T + 4*128*T)), cast to bf16 (2 * (4*128*T + 2*128*T))
    tables = 12 * t + 4 * (64 + t) + 4 * 64 * t + 4 * 192 * t + 4 * 8 * 128 * t + 2 * 6 * 128 * t
    memory_bytes = 32 * layer + (4 * a + 8 * t) + norm + 8 * t + tables
    assert memory_bytes == 86_134_989_056
    assert root.memory_bound_s == Fraction(memory_bytes) / BANDWIDTH  # 25.712 ms
    assert root.compute_bound_s == Fraction(p.totals["flops"] - 524_288) / PEAK_BF16  # 63.595 ms
    assert root.time_s == root.compute_bound_s + root.memory_bound_s
    ideal = Fraction(p.totals["flops"]) / PEAK_BF16
    assert Fraction(1404, 1000) < root.time_s / ideal < Fraction(1405, 1000)  # 89.307 / 63.595 = 1.4043
    top = [path for path, _ in excess(lat, 3)]
    assert top == ["model.layers.mlp.gate_mul", "model.layers.residual_add", "model.layers.mlp.act_fn.single_op"]  # ACT2FN: SiLU is its one-op leaf
    # gate_mul: 32 layers * (read 2 + write 1) * 4096 * 11008 * 2 bytes = 8,657,043,456 bytes / 3.35e12 = 2.584 ms
    assert lat.rows["model.layers.mlp.gate_mul"].time_s == Fraction(32 * 3 * 4096 * 11008 * 2) / BANDWIDTH


def test_fused_attention_kernel_is_one_row() -> None:
    """The SDPA kernel is one kernel: one row holding its FLOPs and its bytes, priced at their max.

    Before, its FLOPs sat in two matmul child rows and its bytes in the kernel row, so the roofline
    added a compute time and a memory time for the same kernel (1.287 ms more at 4096 tokens).
    """
    p = predict("llama-2-7b", batch=1, seq_len=4096, past_len=0, dtype="bfloat16", attn="sdpa")
    lat = roofline(p, H100)
    row = lat.rows["model.layers.self_attn.attention.sdpa"]
    assert not [path for path in lat.rows if path.startswith("model.layers.self_attn.attention.sdpa.")]
    # 32 layers * 4 * 32 heads * 4096 * 4096 * 128 = 8,796,093,022,208 FLOPs (sdpa_flop, causality not discounted)
    # bytes: 32 * (q, k, v, out: 4 * 2 * 4096 * 4096 + float32 log-sum-exp 32 * 4096 * 4) = 4,311,744,512
    assert row.own_flops == 8_796_093_022_208 and row.own_bytes == 4_311_744_512
    assert row.time_s == Fraction(8_796_093_022_208) / PEAK_BF16 and row.bound == "compute"  # 8.890 ms > 1.287 ms


def test_efficiency_scales_the_roofline() -> None:
    p = predict("llama-2-7b", batch=1, seq_len=1, past_len=512, dtype="bfloat16", attn="sdpa")
    full, half = roofline(p, H100), roofline(p, H100, Efficiency(Fraction(1), Fraction(1, 2)))
    # every row is memory-bound at batch 1 except the few tiny compute-bound ones
    assert half.rows["model.layers.mlp"].time_s == 2 * full.rows["model.layers.mlp"].time_s


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("name", ["llama-2-7b", "gpt2", "pythia-160m", "falcon-7b", "gemma-7b", "mistral-7b", "phi-3-mini", "qwen2.5-7b"])
def test_no_row_has_flops_without_bytes(name: str, attn: str) -> None:
    """Every kernel that does arithmetic also reads memory: a row with FLOPs and no bytes means the
    rule put one kernel's FLOPs and its bytes on different rows, and the roofline would add a
    compute time and a memory time for it (FalconLinear and Falcon's SDPA call did, until fixed)."""
    for past in (0, 16):
        lat = roofline(predict(name, batch=2, seq_len=8, past_len=past, dtype="bfloat16", attn=attn), H100)
        split = [path for path, r in lat.rows.items() if path and r.own_flops > 0 and r.own_bytes == 0]
        assert not split, split
