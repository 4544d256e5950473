"""activation_bytes of 5.23 constructs that left it unavailable (issue 13), derived rules against
train_oracle (fake tensors, batch 2, 5 tokens, float32, with and without gradient checkpointing):

- a 2-d attention mask the decoder makes itself, `torch.ones(batch, past + q)`, handed to 5.x
  `create_causal_mask` (BART-style decoders, BERT-style causal LMs): it masks nothing, so the mask
  has the no-mask shape, and a checkpointed layer keeps that [batch, 1, q, kv] float mask;
- `x.to(y.device)` of positions joined from two dtypes (trocr's learned or sinusoidal positions):
  torch hands back x;
- `copy_` into slices of a `new_empty` that requires grad (minicpm3's key states): nothing saved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
SMALL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=300, max_position_embeddings=64)
SEQ2SEQ = dict(d_model=64, encoder_layers=1, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
               encoder_ffn_dim=96, decoder_ffn_dim=96, vocab_size=300, max_position_embeddings=64,
               pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=1)  # fmt: skip

CASES = {
    "torch.ones mask into create_causal_mask (bart)": ("bart", SEQ2SEQ),
    "torch.ones mask into create_causal_mask (megatron-bert)": ("megatron-bert", dict(SMALL, is_decoder=True)),
    "x.to(y.device) of two dtypes (trocr)": ("trocr", dict(d_model=64, decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=96, vocab_size=300, max_position_embeddings=64)),
    "copy_ into a new_empty (minicpm3)": ("minicpm3", dict(SMALL, num_key_value_heads=4, q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8)),
    # the layer's mask (create_causal_mask with allow_is_causal_skip=False, not modelled) requires no grad,
    # so its masked_fill saves nothing: 200 B over at 1 layer (a [2, 1, 5, 5] float32) before
    "an unsized mask requires no grad (deepseek_v32)": ("deepseek_v32", dict(
        SMALL, num_hidden_layers=1, moe_intermediate_size=32, num_key_value_heads=4, q_lora_rank=32, kv_lora_rank=16,
        qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, first_k_dense_replace=1, index_n_heads=2, index_head_dim=16, index_topk=4)),
}


@pytest.mark.parametrize("checkpointing", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_activation_bytes(case: str, checkpointing: bool, tmp_path: Path) -> None:
    if MAJOR < 5:
        pytest.skip("5.23 sources")
    if checkpointing and "deepseek_v32" in case:
        pytest.skip("checked without checkpointing only")
    if checkpointing and "megatron-bert" in case:
        # BERT-style models build the mask in the model and hand it to the encoder, whose layers keep it:
        # a mask of two branches handed down as an argument has no storage there, so with checkpointing
        # these are short by it (bert too: 33,044 measured, 32,844 predicted; docs/training.md)
        pytest.skip("known undercount with checkpointing: a mask of two branches handed to the encoder")
    model_type, overrides = CASES[case]
    config = written_config(model_type, overrides, tmp_path)
    measured = measure_train(config, Workload(2, 5), grad_checkpointing=checkpointing, peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="5.23.0",
                              options=TrainOptions(grad_checkpointing=checkpointing)).totals.get("activation_bytes")
    assert predicted == measured
