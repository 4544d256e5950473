"""Training-step constructs (issue 13), derived rules against train_oracle, one small config each.

Each case is priced with rules derived from the pinned source of the transformers installed in the
running venv (`.venv`: 4.56; `.venv-tf5`: 5.23, `.venv-tf5/bin/python -m pytest` runs the 5.x cases)
and compared with `measure_train` (fake tensors, batch 2, 5 tokens, float32, AdamW):

- parameters that get no gradient, hence no AdamW state: a module's own parameter its forward
  never reads (5.x BERT's `cls.predictions.bias` beside an untied decoder that has its own bias);
  one read only where the output-embedding tie hands it to the decoder (the same model, tied); one
  `__init__` hands to a child (4.56 BERT's `self.decoder.bias = self.bias`: trained through the
  decoder); an `nn.Embedding` base built with `_freeze=True` (5.x Marian's sinusoidal positions);
  a weight read only under the module's own `@torch.no_grad()` forward (4.56 Marian, whose
  post-init also sets requires_grad=False); and no other (xlstm's model forward runs its blocks
  under `torch.no_grad()` only when chunking inference: the blocks' own rules are not drafted
  under the caller's no_grad);
- backward FLOPs through a path rule (`flops_via`: OPT's `self.model.decoder(...)`) and of a
  depthwise `nn.Conv1d` (Mamba: FlopCounterMode counts grad_weight as `groups` x the forward);
- buffers made with a Python type as dtype (`torch.ones(..., dtype=bool)`: 5.x GPT-Neo's causal
  masks, 1 byte each, not the model dtype);
- Python sets keep equal items once (5.x granite_swa builds one rotary embedding per distinct
  `layer_rope_theta`, one for the default list of equal thetas), and `torch.tensor(12)` is int64
  (5.x minicpm3's `embed_scale` buffer, 8 bytes); a buffer a parent registers on its children
  (5.x falcon_h1's `mup_vector`) leaves weight_bytes unavailable, not short;
- train mismatches the survey found (w13-mis): a tied lm_head with a bias (phi: one AdamW step
  fewer), a torch.cat of no-grad tensors (xlnet's pos_emb: one backward product of
  einsum(r, self.r)), a head that shifts by hand before self.loss_function (4.56 moshi), an f-string
  that names a buffer per layer type (5.x olmo3's rotary), an op on a parameter that autograd saves
  (5.x apertus's xIELU), and a block the model checkpoints itself (4.56 xlstm);
- the train oracle itself: a model whose default cache cannot run a training step (4.56
  BartForCausalLM's IndexError in its cross-attention cache) is measured with use_cache=False.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
PIN = "5.23.0" if MAJOR >= 5 else "4.56.0"
MEMORY = ("weight_bytes", "grad_bytes", "optimizer_bytes")
ALL = ("flops",) + MEMORY

SEQ2SEQ = dict(d_model=64, encoder_layers=1, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
               encoder_ffn_dim=96, decoder_ffn_dim=96, vocab_size=300, max_position_embeddings=64,
               pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=1)  # fmt: skip
SMALL_DECODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=300, max_position_embeddings=64)
XLNET = dict(d_model=64, n_layer=2, n_head=4, d_inner=96, vocab_size=300)
BERT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=300, max_position_embeddings=64)

# (model type, overrides, metrics compared exactly, the major version of transformers whose source has the construct)
CASES = {
    "own bias never read (5.x BERT, untied)": ("bert", {**BERT, "tie_word_embeddings": False}, ALL, 5),
    "own bias read through the tie (5.x BERT, tied)": ("bert", {**BERT, "tie_word_embeddings": True}, ALL, 5),
    "own bias handed to the decoder in __init__ (4.56 BERT)": ("bert", {**BERT, "tie_word_embeddings": False}, ALL, 4),
    "nn.Embedding base with _freeze=True (5.x Marian)": ("marian", SEQ2SEQ, MEMORY, 5),
    "weight read under its own @torch.no_grad() forward (4.56 Marian)": ("marian", SEQ2SEQ, MEMORY, 4),
    "a caller's torch.no_grad() is not the callee's (xlstm)": ("xlstm", dict(hidden_size=64, embedding_dim=64, num_heads=4, num_blocks=2, vocab_size=300), ("flops", "grad_bytes"), 4),
    "backward through a path rule (OPT's model.decoder)": ("opt", dict(hidden_size=64, word_embed_proj_dim=64, num_hidden_layers=2, ffn_dim=96, num_attention_heads=4, vocab_size=300, max_position_embeddings=64, pad_token_id=1), ALL, 4),
    "depthwise Conv1d backward (Mamba)": ("mamba", dict(hidden_size=64, num_hidden_layers=2, state_size=8, expand=2, conv_kernel=4, vocab_size=300), ALL, 4),
    "causal-mask buffers of dtype=bool (5.x GPT-Neo)": ("gpt_neo", dict(hidden_size=64, num_layers=2, attention_types=[[["global", "local"], 1]], num_heads=4, vocab_size=300, max_position_embeddings=64, window_size=16), ALL, 5),
    "default cache cannot train: use_cache=False (4.56 BartForCausalLM)": ("bart", SEQ2SEQ, ALL, 4),
    "a set of equal thetas builds one rotary module (5.x granite_swa's rotary_embs)": ("granite_swa", dict(SMALL_DECODER, num_key_value_heads=2), ALL, 5),
    "torch.tensor(int) buffer is int64 (5.x minicpm3's embed_scale)": ("minicpm3", dict(SMALL_DECODER, num_key_value_heads=4, q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, scale_emb=12), ALL, 5),
    # a tied lm_head with a bias trains one tensor, not two: one AdamW step counter (4 B) fewer
    "tied lm_head keeps its bias alone (4.56 phi)": ("phi", dict(SMALL_DECODER, tie_word_embeddings=True), ALL, 4),
    "tied lm_head keeps its bias alone (5.x phi)": ("phi", dict(SMALL_DECODER, tie_word_embeddings=True), ALL, 5),
    # pos_emb = torch.cat([sin, cos]) of aranges needs no gradient: einsum(r, self.r) has one backward product
    "a list of no-grad tensors makes a no-grad cat (4.56 xlnet)": ("xlnet", XLNET, ("flops",), 4),
    "a list of no-grad tensors makes a no-grad cat (5.x xlnet)": ("xlnet", XLNET, ("flops",), 5),
    # the loss over batch * (seq_len - 1) rows of shift_logits, and the padded shifted labels
    "shifted by hand, then self.loss_function (4.56 moshi)": ("moshi", dict(SMALL_DECODER, num_key_value_heads=4, ffn_dim=192, audio_vocab_size=64, num_codebooks=2), ("activation_bytes",), 4),
    # setattr/getattr(self, f"{layer_type}_inv_freq"): the f-string is the layer type's name
    "an f-string of known parts names a buffer (5.x olmo3's rotary)": ("olmo3", dict(SMALL_DECODER, num_key_value_heads=2), ALL + ("activation_bytes",), 5),
    # softplus(self.alpha_p) is an activation autograd saves, not a parameter
    "an op on a parameter makes an activation (5.x apertus's xIELU)": ("apertus", dict(SMALL_DECODER, num_key_value_heads=2), ALL + ("activation_bytes",), 5),
}


@pytest.mark.parametrize("case", list(CASES))
def test_train_construct(case: str, tmp_path: Path) -> None:
    model_type, overrides, metrics, major = CASES[case]
    if major != MAJOR:
        pytest.skip(f"a transformers {major}.x construct; this venv has {transformers.__version__}")
    config = written_config(model_type, overrides, tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False)
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers=PIN)
    assert {m: predicted.totals.get(m) for m in metrics} == {m: measured.totals[m] for m in metrics}


def test_frozen_and_unread_parameters_leave_the_gradients() -> None:
    """The construct above is not vacuous: in 5.x BERT (untied) the measured gradients are fewer
    bytes than the parameters, by the unread bias."""
    if MAJOR < 5:
        pytest.skip("5.x sources")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        bert = measure_train(written_config("bert", {**BERT, "tie_word_embeddings": False}, Path(tmp)), Workload(2, 5), peak=False).totals
    buffers_bert = 2 * 64 * 8  # position_ids and token_type_ids: [1, 64] int64 each
    assert bert["weight_bytes"] - buffers_bert - bert["grad_bytes"] == 300 * 4  # cls.predictions.bias: vocab float32


def test_a_buffer_registered_on_a_child_leaves_weight_bytes_unavailable(tmp_path: Path) -> None:
    """5.x falcon_h1 registers `mup_vector` on every layer's mixer from the model's __init__:
    suggest does not price that yet, so weight_bytes is unavailable rather than short by it."""
    if MAJOR < 5:
        pytest.skip("5.x sources")
    config = written_config("falcon_h1", dict(SMALL_DECODER, num_key_value_heads=2, mamba_d_ssm=64, mamba_n_heads=4, mamba_d_head=16, mamba_n_groups=1, mamba_d_state=8), tmp_path)
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers=PIN)
    assert "weight_bytes" in predicted.unavailable and "grad_bytes" in predicted.totals


def test_a_block_its_model_checkpoints_itself_is_recomputed(tmp_path: Path) -> None:
    """4.56 xLSTMModel calls `self._gradient_checkpointing_func(xlstm_block.__call__, ...)` itself (no
    GradientCheckpointingLayer): with checkpointing each block's forward runs again in backward."""
    if MAJOR != 4:
        pytest.skip("the 4.56 source checkpoints its blocks itself")
    from lm_predictor.evaluate.train import TrainOptions

    config = written_config("xlstm", dict(hidden_size=64, embedding_dim=64, num_heads=4, num_blocks=2, vocab_size=300), tmp_path)
    measured = measure_train(config, Workload(2, 5), grad_checkpointing=True, peak=False).totals["flops"]
    plain = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers=PIN).totals["flops"]
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers=PIN, options=TrainOptions(grad_checkpointing=True)).totals["flops"]
    assert predicted == measured and predicted > plain  # the recompute is counted, not left out

