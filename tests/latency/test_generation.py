"""Whole generations in closed form: equal to the summed steps and to a measured loop of forward calls."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from lm_predictor.evaluate.predict import predict
from lm_predictor.hardware import load_hardware
from lm_predictor.latency.api import LatencyRequest, price_generation
from lm_predictor.latency.generation import sum_of_max, polynomial_sum, fit_polynomial
from lm_predictor.latency.roofline import roofline

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
H100 = load_hardware("h100-sxm")


def _mistral(window: int) -> dict:
    config = json.loads((CONFIGS / "mistral-7b" / "config.json").read_text())
    return {**config, "num_hidden_layers": 2, "sliding_window": window}


def test_polynomial_helpers() -> None:
    # x^2 + 1 through x = 0, 2, 5: sum over x = 0..9 is 285 + 10 = 295
    poly = fit_polynomial([0, 2, 5], [Fraction(1), Fraction(5), Fraction(26)])
    assert poly == [1, 0, 1] and polynomial_sum(poly, 10) == 295
    # max(x, 5) over 0..9: 5*6 (x <= 5) ... a >= b on x in 5..9 -> 5+6+7+8+9 = 35, b on 0..4 -> 25
    assert sum_of_max([Fraction(0), Fraction(1)], [Fraction(5)], 10) == (35, 25)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("name, config", [("llama-2-7b", "llama-2-7b"), ("mistral-window-37", None)])
def test_closed_form_equals_summed_steps(name: str, config: str | None, attn: str) -> None:
    """prefill 5 + 60 decode steps; mistral's window of 37 fills up mid-way (a piecewise sum)."""
    cfg = config or _mistral(37)
    result = price_generation(cfg, LatencyRequest.from_options({}, hw="h100-sxm"), prompt=5, new_tokens=60, batch=2, dtype="bfloat16", attn=attn)
    g = result.generation
    direct = {m: Fraction(0) for m in g.totals}
    time = Fraction(0)
    for i in range(61):  # the N + 1 step predictions: the prefill, then one token after 5 + i - 1
        step = predict(cfg, batch=2, seq_len=5 if i == 0 else 1, past_len=0 if i == 0 else 5 + i - 1, dtype="bfloat16", attn=attn)
        for metric in direct:
            direct[metric] += step.totals[metric]
        time += roofline(step, H100).time_s
    assert g.totals == direct
    assert g.rows[""].time_s == time
    assert g.ttft_s == roofline(predict(cfg, batch=2, seq_len=5, dtype="bfloat16", attn=attn), H100).time_s


def test_a_million_steps_are_priced_in_pieces() -> None:
    result = price_generation("llama-2-7b", LatencyRequest.from_options({}, hw="h100-sxm"), prompt=512, new_tokens=1_000_000, dtype="bfloat16", attn="sdpa")
    g = result.generation
    assert g.pieces == 1  # every Llama decode cost is one polynomial in the cache length
    # flops of step p: linear in p, so the sum is (first + last) * n / 2
    first = predict("llama-2-7b", seq_len=1, past_len=512, dtype="bfloat16", attn="sdpa").totals["flops"]
    last = predict("llama-2-7b", seq_len=1, past_len=512 + 999_999, dtype="bfloat16", attn="sdpa").totals["flops"]
    prefill = predict("llama-2-7b", seq_len=512, dtype="bfloat16", attn="sdpa").totals["flops"]
    assert g.totals["flops"] == prefill + Fraction((first + last) * 1_000_000, 2)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_closed_form_equals_measured_loop(attn: str) -> None:
    """The oracle runs prefill + 7 one-token forward calls on the model's DynamicCache, counting each."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from lm_predictor.verify.oracle import measure_generation

    cfg = _mistral(6) if attn == "eager" else json.loads((CONFIGS / "llama-2-7b" / "config.json").read_text()) | {"num_hidden_layers": 2}
    measured = measure_generation(cfg, batch=2, prompt=3, new_tokens=7, dtype="bfloat16", attn=attn)
    g = price_generation(cfg, LatencyRequest.from_options(cfg, hw=None), prompt=3, new_tokens=7, batch=2, dtype="bfloat16", attn=attn).generation
    assert {k: int(v) for k, v in g.totals.items()} == measured
