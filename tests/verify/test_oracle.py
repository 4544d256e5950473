"""Tests of the runtime oracle: hand-derived and published numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.verify import Measurement, OracleUnsupported, Workload, measure, shrink_config
from lm_predictor.verify.bytes_counter import BytesCounter, classify
from lm_predictor.verify.oracle import main

TINY_LLAMA = {
    "model_type": "llama",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 256,
    "tie_word_embeddings": False,
}
TINY_MIXTRAL = {**TINY_LLAMA, "model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 2}


def test_tiny_llama_prefill_flops_and_params_by_hand() -> None:
    m = measure(TINY_LLAMA, Workload(batch=2, seq_len=5), mode="fake")
    # T = batch*seq = 10 tokens, head_dim = 64/4 = 16, kv width = 2 heads * 16 = 32
    # q_proj 2*T*64*64 = 81,920   k_proj 2*T*64*32 = 40,960   v_proj 40,960   o_proj 81,920
    # mlp gate/up/down 3 * 2*T*64*128 = 491,520
    # attention (GQA: k/v repeated to 4 heads) over batch*heads = 8 matrices:
    #   QK^T 2*8*5*5*16 = 6,400, AV 2*8*5*5*16 = 6,400
    # per layer 81,920+40,960+40,960+81,920 + 491,520 + 12,800 = 750,080, x2 layers = 1,500,160
    # rotary inv_freq (1, 8, 1) @ position_ids (1, 1, 5): 2*1*8*1*5 = 80 (position_ids batch is 1,
    #   once per forward in LlamaModel, not per layer)
    # lm_head 2*T*64*256 = 327,680
    # total 1,500,160 + 80 + 327,680 = 1,827,920
    assert m.totals["flops"] == 1_827_920
    assert m.module_flops[""] == 1_827_920
    assert m.module_flops["model.layers.0.self_attn.q_proj"] == 81_920
    assert m.module_flops["model.layers.1.self_attn.k_proj"] == 40_960
    assert m.module_flops["model.layers.0.self_attn"] == 81_920 * 2 + 40_960 * 2 + 12_800
    assert m.module_flops["model.layers.0.mlp"] == 491_520
    assert m.module_flops["model.rotary_emb"] == 80
    assert m.module_flops["lm_head"] == 327_680
    assert m.module_flops["model"] == 1_500_160 + 80
    assert m.op_flops == {"aten.mm": 1_802_240, "aten.bmm": 25_680}
    # params: embed 256*64 = 16,384; per layer q 4096 + k 2048 + v 2048 + o 4096 + mlp 3*8192
    #   + 2 norms * 64 = 36,992; x2 = 73,984; final norm 64; lm_head 16,384 -> 106,816
    assert m.totals["param_count"] == 106_816
    assert m.module_params[""] == 106_816
    assert m.module_params["model.layers.0"] == 36_992
    assert m.module_params["lm_head"] == 16_384
    # cache after the step: 2 (k,v) * 2 layers * batch 2 * 2 kv heads * 5 tokens * 16 * 4 bytes
    assert m.totals["kv_cache_bytes"] == 2 * 2 * 2 * 2 * 5 * 16 * 4 == 5_120
    assert m.mode == "fake"
    assert not [n for n in m.notes if n.startswith("WARNING")]


def test_tiny_llama_decode_by_hand() -> None:
    m = measure(TINY_LLAMA, Workload(batch=2, seq_len=1, past_len=7), mode="fake")
    # only the step: T = 2*1 = 2 new tokens attending to 7+1 = 8 keys
    # linears per layer 2*T*64*(64+32+32+64) + 3*2*T*64*128 = 49,152 + 98,304 = 147,456; x2 = 294,912
    # attention per layer QK^T 2*(2*4)*1*8*16 = 2,048 + AV 2,048 = 4,096; x2 = 8,192
    # rotary (1,8,1) @ (1,1,1): 2*8 = 16;  lm_head 2*T*64*256 = 65,536
    assert m.totals["flops"] == 294_912 + 8_192 + 16 + 65_536 == 368_656
    # kv cache: 2 (k,v) * 2 layers * batch 2 * 2 kv heads * (7+1) tokens * head_dim 16 * 4 bytes
    assert m.totals["kv_cache_bytes"] == 2 * 2 * 2 * 2 * 8 * 16 * 4 == 8_192
    bf16 = measure(TINY_LLAMA, Workload(batch=2, seq_len=1, past_len=7, dtype="bfloat16"), mode="fake")
    assert bf16.totals["kv_cache_bytes"] == 4_096
    assert bf16.totals["flops"] == 368_656


def test_fake_and_real_agree_on_dense_model() -> None:
    w = Workload(batch=2, seq_len=3, past_len=2)
    fake, real = measure(TINY_LLAMA, w, mode="fake"), measure(TINY_LLAMA, w, mode="real")
    assert real.mode == "real"
    assert fake.totals == real.totals
    assert fake.module_flops == real.module_flops


def test_sliding_window_cache_keeps_window_minus_one() -> None:
    cfg = {**TINY_LLAMA, "model_type": "mistral", "sliding_window": 4}
    m = measure(cfg, Workload(batch=2, seq_len=1, past_len=7), mode="fake")
    # DynamicSlidingWindowLayer keeps the last sliding_window - 1 = 3 tokens:
    # 2 (k,v) * 2 layers * batch 2 * 2 kv heads * 3 * 16 * 4 bytes
    assert m.totals["kv_cache_bytes"] == 2 * 2 * 2 * 2 * 3 * 16 * 4 == 3_072


def test_llama2_7b_published_numbers() -> None:
    cfg = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "intermediate_size": 11008,
        "vocab_size": 32000,
        "tie_word_embeddings": False,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
    }
    m = measure(cfg, Workload(batch=1, seq_len=128), mode="auto")
    assert m.mode == "fake"
    assert m.totals["flops"] == 1_700_001_759_232
    assert m.totals["param_count"] == 6_738_415_616
    # fp32 KV cache: 2 * 32 layers * 32 heads * 128 head_dim * 4 bytes = 1 MiB per token
    assert m.totals["kv_cache_bytes"] == 128 * 2 * 32 * 32 * 128 * 4
    # every weight is read at least once
    assert m.totals["bytes_read"] > 4 * 6_738_415_616 - 4 * 32000 * 4096


def test_gpt2_small_params_tied_once() -> None:
    m = measure({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}, Workload(batch=1, seq_len=4))
    assert m.totals["param_count"] == 124_439_808
    assert m.module_params[""] == 124_439_808
    assert m.module_params["transformer.wte"] == 50257 * 768
    assert m.module_params["lm_head"] == 0  # tied to transformer.wte, counted at its first owner


def test_linear_bytes_by_hand() -> None:
    lin = torch.nn.Linear(8, 4)
    x = torch.zeros(3, 8)
    with torch.no_grad(), BytesCounter() as bc:
        lin(x)
    # addmm(bias, x, weight.t()); t() is a view and moves nothing
    # read: x 3*8*4 = 96 + weight 4*8*4 = 128 + bias 4*4 = 16 -> 240; write: out 3*4*4 = 48
    assert (bc.bytes_read, bc.bytes_written) == (240, 48)


def test_embedding_reads_only_selected_rows() -> None:
    emb = torch.nn.Embedding(1000, 16)
    idx = torch.zeros(2, 3, dtype=torch.long)
    with torch.no_grad(), BytesCounter() as bc:
        emb(idx)
    # read: indices 6*8 = 48 + 6 rows * 16 * 4 = 384 -> 432 (not the 64,000-byte table); write 384
    assert (bc.bytes_read, bc.bytes_written) == (432, 384)


def test_inplace_out_views_and_factories() -> None:
    a, b, c = torch.zeros(4, 4), torch.zeros(4, 4), torch.zeros(4, 4)
    with BytesCounter() as bc:
        a.add_(b)  # read a 64 + b 64, write a 64
    assert (bc.bytes_read, bc.bytes_written) == (128, 64)
    with BytesCounter() as bc:
        torch.add(a, b, out=c)  # read a + b, write c (out= is not read)
    assert (bc.bytes_read, bc.bytes_written) == (128, 64)
    with BytesCounter() as bc:
        a.copy_(b)  # overwrite: read b, write a
    assert (bc.bytes_read, bc.bytes_written) == (64, 64)
    with BytesCounter() as bc:
        a.view(16).t().unsqueeze(0).expand(2, 16).transpose(0, 1)
        torch.zeros(8)  # factory: writes 32, reads nothing
        torch.empty_like(a)  # reads nothing, writes 64
    assert (bc.bytes_read, bc.bytes_written) == (0, 96)
    aten = torch.ops.aten
    assert classify(aten.view.default) == classify(aten._unsafe_view.default) == "skip"
    assert classify(aten.embedding.default) == "gather"
    assert classify(aten.mm.default) == "plain"


def test_bytes_counter_under_fake_tensors() -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        lin = torch.nn.Linear(8, 4)
        x = torch.zeros(3, 8)
        with torch.no_grad(), BytesCounter() as bc:
            lin(x)
    assert (bc.bytes_read, bc.bytes_written) == (240, 48)


def test_moe_needs_real_mode_on_shrunk_config() -> None:
    with pytest.raises(OracleUnsupported, match="nonzero|DataDependent|DynamicOutputShape"):
        measure(TINY_MIXTRAL, Workload(batch=1, seq_len=4), mode="auto")
    small = shrink_config({"model_type": "mixtral"})  # defaults: 8 experts, top-2, hidden 4096, ...
    assert small["hidden_size"] == 64 and small["num_local_experts"] == 4 and small["num_experts_per_tok"] == 2
    m = measure(small, Workload(batch=1, seq_len=4), mode="real")
    assert m.mode == "real"
    # T = 4 tokens; per layer: q 2*4*64*64 = 32,768, k 16,384, v 16,384, o 32,768;
    # attention 2 * 2*4 heads*4*4*16 = 4,096; router 2*4*64*4 = 2,048;
    # experts: every token goes to top_k = 2 experts, 3 linears 64x128 each:
    #   4*2 * 3 * 2*64*128 = 393,216  -> layer 497,664, x2 = 995,328
    # lm_head 2*4*64*256 = 131,072; rotary 2*8*4 = 64 -> 1,126,464 (independent of routing)
    assert m.totals["flops"] == 1_126_464
    with pytest.raises(OracleUnsupported, match="small config"):
        measure({"model_type": "mixtral"}, Workload(batch=1, seq_len=4), mode="real")


def test_shrink_keeps_structure() -> None:
    cfg = {
        "model_type": "qwen2",
        "hidden_size": 3584,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "layer_types": ["full_attention"] * 20 + ["sliding_attention"] * 8,
        "use_sliding_window": True,
        "eos_token_id": 151643,
    }
    s = shrink_config(cfg)
    assert (s["hidden_size"], s["num_hidden_layers"], s["num_attention_heads"]) == (64, 2, 4)
    assert s["num_key_value_heads"] == 2  # GQA stays GQA
    assert s["layer_types"] == ["full_attention", "sliding_attention"]
    assert s["use_sliding_window"] is True and s["model_type"] == "qwen2"
    assert s["eos_token_id"] < 256 and s["vocab_size"] == 256
    assert cfg["hidden_size"] == 3584  # input untouched


@pytest.mark.parametrize(("model_type", "heads", "head_dim", "expand"), [
    ("mamba2", "num_heads", "head_dim", "expand"),
    ("bamba", "mamba_n_heads", "mamba_d_head", "mamba_expand"),
    ("zamba2", "n_mamba_heads", "mamba_headdim", "mamba_expand"),
])
def test_shrunk_mamba2_heads_tile_the_inner_width(model_type, heads, head_dim, expand) -> None:
    # the config classes refuse heads * head_dim != expand * hidden: 4 heads of 2 * 64 / 4 = 32
    s = shrink_config({"model_type": model_type})
    assert s["hidden_size"] == 64 and s[heads] == 4
    assert s[heads] * s[head_dim] == s[expand] * 64 == 128
    measure(s, Workload(batch=1, seq_len=3), mode="real")  # transformers builds and runs it


def test_shrunk_period_layers_keep_both_kinds() -> None:
    # jamba: attention where i % 8 == 4, experts where i % 2 == 1; 2 layers keep one of each
    s = shrink_config({"model_type": "jamba"})
    assert (s["num_hidden_layers"], s["attn_layer_period"], s["attn_layer_offset"]) == (2, 2, 1)
    assert (s["expert_layer_period"], s["expert_layer_offset"]) == (2, 1)
    z = shrink_config({"model_type": "zamba"})
    assert z["attention_hidden_size"] == 2 * 64  # zamba's attention is twice the hidden width
    assert z["attention_head_dim"] == 2 * 64 // 4


def test_shrink_recomputes_derived_fields_and_caps_moe_k() -> None:
    # DeepSeek-V3 writes qk_head_dim = qk_nope_head_dim + qk_rope_head_dim (128 + 64 = 192) into
    # config.json; shrunk to 8 + 8 it must read 16, or the model splits 16 columns as [8, 8] of 192
    from transformers import CONFIG_MAPPING

    v3 = shrink_config(json.loads(CONFIG_MAPPING["deepseek_v3"]().to_json_string()))
    assert (v3["qk_nope_head_dim"], v3["qk_rope_head_dim"], v3["qk_head_dim"]) == (8, 8, 16)
    # ERNIE 4.5 MoE: top-k is `moe_k` (6 of 64 experts by default): capped by the 4 experts kept
    ernie = shrink_config({"model_type": "ernie4_5_moe"})
    assert (ernie["moe_num_experts"], ernie["moe_k"]) == (4, 4)


def test_real_mode_size_check_skips_weight_init() -> None:
    # ModernBERT-decoder initialises with trunc_normal_, which branches on data (mask.any()):
    # the size check under fake tensors must not run it
    m = measure(shrink_config({"model_type": "modernbert-decoder"}), Workload(batch=1, seq_len=4), mode="real")
    assert m.mode == "real" and m.totals["param_count"] > 0


def test_cli_prints_exact_json(tmp_path, capsys) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY_LLAMA))
    assert main([str(path), "--batch", "2", "--seq-len", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"]["flops"] == 1_827_920 and out["mode"] == "fake"
    assert isinstance(Measurement(**out), Measurement)


def test_package_import_does_not_import_torch() -> None:
    code = "import sys, lm_predictor.workload, lm_predictor.verify; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_shrink_cuts_5x_per_layer_kind_lists_keeping_most_kinds() -> None:
    # bailing_hybrid-like: attention kinds and MLP kinds in separate lists; layer 5 is the first that is
    # full attention and sparse, so layers 0 and 5 keep all four kinds (a dense/linear and a sparse/full)
    cfg = {
        "model_type": "no_such_type",
        "num_hidden_layers": 6,
        "layer_types": ["linear_attention"] * 5 + ["full_attention"],
        "mlp_layer_types": ["dense", "dense"] + ["sparse"] * 4,
        "layer_rope_theta": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
    s = shrink_config(cfg)
    assert s["layer_types"] == ["linear_attention", "full_attention"]
    assert s["mlp_layer_types"] == ["dense", "sparse"]
    assert s["layer_rope_theta"] == [1.0, 6.0]


def test_shrink_keeps_expert_groups_whole() -> None:
    # DeepSeek-V3 routing views scores as (n_group, experts // n_group): 4 experts need one group
    s = shrink_config({"model_type": "no_such_type", "n_routed_experts": 256, "n_group": 8, "topk_group": 4, "num_expert_group": 8, "num_experts_per_token": 8})
    assert (s["n_routed_experts"], s["n_group"], s["topk_group"], s["num_expert_group"], s["num_experts_per_token"]) == (4, 1, 1, 1, 4)


def test_config_floats_written_as_tags_are_decoded() -> None:
    from lm_predictor.verify.hf import decode_floats

    assert decode_floats({"a": [0.0, {"__float__": "Infinity"}], "b": {"__float__": "NaN"}, "c": {"__float__": "x"}})["a"] == [0.0, float("inf")]
    assert decode_floats({"c": {"__float__": "x"}}) == {"c": {"__float__": "x"}}  # not a tag transformers writes


def test_shrink_keeps_the_overrides_of_kept_layers() -> None:
    # 5.x per_layer_config: layer "02" overrides its heads; layers 0 and 2 are kept (2 is a kind of its own),
    # renumbered "01" with the same key width, and its sizes shrink like the top level (64 heads -> 4)
    cfg = {"model_type": "no_such_type", "num_hidden_layers": 4, "num_attention_heads": 32,
           "per_layer_config": {"02": {"num_attention_heads": 64, "num_key_value_heads": 64, "kv_lora_rank": 1024}}}
    s = shrink_config(cfg)
    assert s["per_layer_config"] == {"01": {"num_attention_heads": 4, "num_key_value_heads": 4, "kv_lora_rank": 32}}


def test_shrunk_mla_head_dim_stays_the_rotary_part() -> None:
    # MLA configs whose head_dim is qk_rope_head_dim (64 and 64) keep it so (8 and 8), not hidden // heads = 16
    s = shrink_config({"model_type": "no_such_type", "hidden_size": 4096, "head_dim": 64, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128})
    assert (s["head_dim"], s["qk_rope_head_dim"], s["qk_nope_head_dim"]) == (8, 8, 8)


def test_shrink_reaches_every_sub_config() -> None:
    # towers a causal LM also builds (vision, audio) shrink like the text part; a quantization block is no model
    s = shrink_config({"model_type": "no_such_type", "vision_config": {"hidden_size": 1152, "num_hidden_layers": 27, "num_attention_heads": 16},
                       "quantization_config": {"bits": 4, "group_size": 128}})
    assert (s["vision_config"]["hidden_size"], s["vision_config"]["num_hidden_layers"], s["vision_config"]["num_attention_heads"]) == (64, 2, 4)
    assert s["quantization_config"] == {"bits": 4, "group_size": 128}


def test_a_failing_fake_op_is_not_logged(caplog, monkeypatch) -> None:
    """torch's fake_tensor logger prints `failed while attempting to run meta for aten.mul.Tensor` and a
    traceback before raising; verify says the error in one line (C012), so the oracle silences it.
    head_dim 7 is odd: rotate_half's halves (3 + 4) broadcast against an 8-wide cos, which raises."""
    import logging

    from torch._subclasses.fake_tensor import FakeTensorMode

    # the logger as a fresh process has it, whatever earlier tests in this one left (CLI runs of verify used to raise its level)
    caplog.set_level(logging.WARNING, logger="torch._subclasses.fake_tensor")
    monkeypatch.setattr(logging.getLogger("torch._subclasses.fake_tensor"), "disabled", False)
    logged = lambda: [r for r in caplog.records if "failed while attempting to run meta" in r.getMessage()]  # noqa: E731
    with pytest.raises(RuntimeError, match="broadcast"):
        measure({**TINY_LLAMA, "head_dim": 7}, Workload(batch=1, seq_len=4), mode="fake")
    assert not logged()
    with pytest.raises(RuntimeError), FakeTensorMode():  # the logger does log without the oracle's silencing
        torch.ones(2, 3) * torch.ones(2, 4)
    assert logged()
