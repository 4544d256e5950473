"""Derived bytes of constructs priced in issue 14's sdpa recount (branch w16-sdpa).

- A library rule called at a grandchild's path (fuyu's `self.language_model.get_input_embeddings()(input_ids)`:
  `nn.Embedding` at `language_model.embed_tokens`, called from FuyuModel, whose child PersimmonModel gets
  `inputs_embeds` and never runs it) is written through a path helper, as a derived grandchild already
  was (bart's `self.model.decoder`). Until this branch such a call left the caller without bytes
  ("called through a grandchild path"), so fuyu and got_ocr2 had none.
- nn.RMSNorm (diffllama's groupnorm) and `sum(dim, dtype=torch.float32)` (diffllama's lambdas), against
  BytesCounter op by op; diffllama itself keeps other gaps.
- A forward's comprehension over a symbolic range multiplies its body's costs by the trip count, as a loop
  does (they were counted once), and torch.cat of its fresh per-iteration tensors is one copy: stablelm's
  per-head LayerNorms (`qk_layernorm`), which left stablelm without bytes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import derived_library

pytest.importorskip("torch")


class CostHost:
    """The least of an interpreter the byte brains need: the costs they add."""

    label_hint = recorder = None
    current_loc = ""

    def __init__(self) -> None:
        self.costs: list = []

    def add_cost(self, metric: str, expr, note: str = "") -> None:
        self.costs.append((metric, expr, note))


def test_fuyu_root_rule_has_bytes_through_its_grandchild_embedding() -> None:
    library, root = derived_library("transformers.models.fuyu.FuyuForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)
    helper = library.get("transformers.models.fuyu.modeling_fuyu.FuyuModel.path_language_model_to_embed_tokens")
    assert helper is not None and {"bytes_read_via", "bytes_written_via"} <= set(helper.metrics)


# at the default config, as bench/sdpa_survey.py measures it (fake tensors): eval does not read a nested
# text_config's sizes into the derived rules yet (see test_bytes_constructs7.py's gemma3)
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_fuyu_bytes_exact(workload, attn: str, tmp_path) -> None:
    from tests.families.harness import written_config

    library, _ = derived_library("transformers.models.fuyu.FuyuForCausalLM")
    assert_exact(written_config("fuyu", {}, tmp_path), replace(workload, attn=attn), library=library)


# ---------------------------------------------------------------- nn.RMSNorm and sum(dtype=)

def _formula(text: str, env: dict) -> int:
    """A static rule's bytes text (sums, products, `(if c then a else b)`) evaluated at `env`."""
    import re

    body = re.sub(r"\$\{?(\w+)\}?", lambda m: repr(env[m.group(1)]), text)
    body = re.sub(r"\(if ([^()]+?) then (\d+) else (\d+)\)", r"(\2 if \1 else \3)", body)
    return eval(body)  # noqa: S307 - the rule text of STATIC_RULES, integers only


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("affine", [False, True], ids=["plain", "affine"])
@pytest.mark.parametrize("strided", [False, True], ids=["contiguous", "transposed"])
def test_rms_norm_module_bytes_are_torchs(dtype: str, affine: bool, strided: bool) -> None:
    """nn.RMSNorm(8) on [2, 3, 5, 8] (or its transpose(1, 2), dense but not contiguous): F.rms_norm's ops as
    BytesCounter counts them (torch 2.13 CPU), e.g. bf16 with a weight, contiguous: _to_copy 480 / 960, pow
    960 / 960, mean 960 / 120, add_ 120 / 120, rsqrt 120 / 120, mul 1080 / 960, weight mul 976 / 960,
    _to_copy 960 / 480 (5,656 read, 4,680 written); the transposed input adds a float32 clone 960 / 960."""
    import torch

    from lm_predictor.suggest.brains import STATIC_RULES
    from lm_predictor.verify.bytes_counter import BytesCounter

    dt = getattr(torch, dtype)
    x = torch.randn(2, 3, 5, 8, dtype=dt)
    x = x.transpose(1, 2) if strided else x
    norm = torch.nn.RMSNorm(8, eps=1e-6, elementwise_affine=affine).to(dt)
    with BytesCounter() as counter:
        norm(x)
    rule = STATIC_RULES["torch.nn.modules.normalization.RMSNorm"]
    env = {"tokens": 30, "normalized_shape": 8, "dtype_bytes": x.element_size(), "elementwise_affine": affine, "strided": strided}
    assert (_formula(rule["bytes_read"], env), _formula(rule["bytes_written"], env)) == (counter.bytes_read, counter.bytes_written)


def test_sum_with_a_float32_dtype_is_one_kernel() -> None:
    """`torch.sum(p * q, dim=-1, dtype=torch.float32)` of bf16 [8]: aten.sum reads 8 * 2 = 16 bytes and writes
    one float32, 4 (BytesCounter: 16 / 4; diffllama's lambdas); the result is float32."""
    import torch

    from lm_predictor.suggest.brains.base import CallSite
    from lm_predictor.suggest import expr as X
    from lm_predictor.suggest.brains.opbytes import price_method
    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.ruletext import call_atoms
    from lm_predictor.suggest.values import External, Tensor
    from lm_predictor.verify.bytes_counter import BytesCounter

    p = torch.randn(8, dtype=torch.bfloat16)
    with BytesCounter() as counter:
        torch.sum(p, dim=-1, dtype=torch.float32)
    assert (counter.bytes_read, counter.bytes_written) == (16, 4)

    host = CostHost()
    t = Tensor((Num.const(8),), "model")
    site = CallSite(host, None, [], {"dim": Num.const(-1), "dtype": External("torch.float32")}, None, None, "Tensor.sum", t)
    out = price_method(site, "sum", t, Tensor((), "float32"))
    (atom,) = [a for metric, expr, _ in host.costs if metric == "bytes" for a in call_atoms(expr)]
    kw = dict(atom.args[2])
    # torch.elementwise(numel=1, n_inputs=0, extra_read=8 * dtype_bytes, dtype_bytes=4): at dtype_bytes 2, 16 / 4
    assert X.substitute(kw["extra_read"], {"dtype_bytes": Num.const(2)}).const_value() == 16
    assert (kw["numel"].const_value(), kw["n_inputs"].const_value(), kw["dtype_bytes"].const_value()) == (1, 0, 4)
    assert out.dtype == "float32"


# ---------------------------------------------------------------- a forward's comprehension

# StableLmLayerNormPerHead: `torch.cat([norm(h) for norm, h in zip(self.norms, torch.split(x, 1, dim=1))], dim=1)`.
# The comprehension runs num_heads LayerNorms (its costs are multiplied as a loop's; they were counted once) and
# the cat reads each new per-head tensor once and writes the output (it was a gap, so stablelm had no bytes).
SMALL_STABLELM = {"model_type": "stablelm", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
                  "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 128, "qk_layernorm": True}


@pytest.fixture
def buildable_qk_layernorm(monkeypatch):
    """transformers 4.56 cannot build stablelm with qk_layernorm: its _init_weights zeroes the bias of every
    nn.LayerNorm, and the per-head norms have none (AttributeError). Skip that None: weights only, same ops."""
    from torch import nn
    from transformers.models.stablelm import modeling_stablelm

    orig = modeling_stablelm.StableLmPreTrainedModel._init_weights

    def init(self, module) -> None:
        if isinstance(module, nn.LayerNorm) and module.bias is None:
            module.weight.data.fill_(1.0)
            return
        orig(self, module)

    monkeypatch.setattr(modeling_stablelm.StableLmPreTrainedModel, "_init_weights", init)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE, replace(DECODE, batch=2, seq_len=3, past_len=4, dtype="bfloat16")],
                         ids=["prefill", "decode", "chunked-bf16"])
@pytest.mark.parametrize("qk_layernorm", [True, False], ids=["qk-norm", "no-qk-norm"])
def test_stablelm_bytes_exact(workload, attn: str, qk_layernorm: bool, buildable_qk_layernorm) -> None:
    library, root = derived_library("transformers.models.stablelm.StableLmForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)
    assert_exact({**SMALL_STABLELM, "qk_layernorm": qk_layernorm}, replace(workload, attn=attn), library=library)


def test_a_comprehension_of_an_outer_tensor_is_not_fresh() -> None:
    """`torch.cat([x for _ in range(n)])` reads x once (BytesCounter dedups by identity: [2, 3] float32 n = 4
    reads 24 bytes, writes 96), so a repeated element that is an outer local is not priced as n reads."""
    import torch

    from lm_predictor.verify.bytes_counter import BytesCounter

    x = torch.randn(2, 3)
    with BytesCounter() as counter:
        torch.cat([x for _ in range(4)])
    assert (counter.bytes_read, counter.bytes_written) == (24, 96)


def test_flash_on_derived_rules_leaves_bytes_out() -> None:
    """Derived rules bind `attn_implementation__sdpa` only: under flash_attention_2 their bytes would be eager
    attention's (score matrix, softmax), not the kernel's, so eval leaves bytes out; flops stay (torch counts flash as
    the two matmuls). Under sdpa the same rules keep their bytes."""
    from lm_predictor.evaluate.predict import predict

    config = {"model_type": "olmo", "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
              "num_hidden_layers": 2, "vocab_size": 128}
    flash = predict(config, batch=2, seq_len=7, attn="flash_attention_2", breakdown=False)
    eager = predict(config, batch=2, seq_len=7, attn="eager", breakdown=False)
    sdpa = predict(config, batch=2, seq_len=7, attn="sdpa", breakdown=False)
    assert {"bytes_read", "bytes_written"} <= set(flash.unavailable) and "bytes_read" not in flash.totals
    assert [n for n in flash.notes if "does not model attn=flash_attention_2" in n]
    assert flash.totals["flops"] == eager.totals["flops"] == sdpa.totals["flops"]
    assert "bytes_read" in sdpa.totals and sdpa.totals["bytes_read"] != eager.totals["bytes_read"]


# ---------------------------------------------------------------- a cast of an expanded tensor

def test_a_cast_between_fixed_dtypes_of_an_expanded_tensor_is_row_major() -> None:
    """modernbert-decoder's `position_ids[:, None, :].float()` with position_ids = cache_position[None].expand(b, -1):
    int64 -> float32 always runs, and empty_like(preserve_format) of an overlapping (stride-0) tensor is row-major
    (torch: contiguous, strides (5, 5, 1) at [3, 1, 5]; BytesCounter 120 read at the logical size, 60 written), so
    the result's layout is row-major, not unknown (which left modernbert-decoder without bytes)."""
    import torch

    from lm_predictor.suggest.brains.base import CallSite
    from lm_predictor.suggest.brains.layout import Layout
    from lm_predictor.suggest.brains.opbytes import price_method
    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.values import Tensor
    from lm_predictor.verify.bytes_counter import BytesCounter

    pos = torch.arange(5).unsqueeze(0).expand(3, -1)[:, None, :]
    with BytesCounter() as counter:
        out = pos.float()
    assert out.is_contiguous() and (counter.bytes_read, counter.bytes_written) == (120, 60)

    shape = (Num.const(3), Num.const(1), Num.const(5))
    t = Tensor(shape, "long", layout=Layout((0, 1, 2), bcast=frozenset({0})))
    result = price_method(CallSite(CostHost(), None, [], {}, None, None, "Tensor.float", t), "float", t, Tensor(shape, "float32"))
    assert result.dtype == "float32" and result.layout is None
