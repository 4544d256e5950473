"""The 4.56 activation_bytes long tail (issue 13): each construct that stopped the derivation, on a
small config, exact against train_oracle's saved_tensors_hooks (batch 2, 5 tokens).

- openai-gpt: `Block` returns a list (`[h] + attn_outputs[1:]`), so the hidden state carried
  through the layer loop is the callee's returned storage (was: "loop-carried 'hidden_states'
  saved in a loop", the list's items never paired with the caller's).
- cpmant: its head writes `loss_func = CrossEntropyLoss(); loss_func(logits.view(-1, V),
  labels.view(-1))` (was: no loss term; the unshifted-loss pattern read only `loss_fct`).
- ctrl: `inputs_embeds *= np.sqrt(self.d_model_size)` (numpy's sqrt of a number is math's) and
  `x.permute([0, 2, 1, 3])` (the layout of a permute given a list).
- xlnet: `self.dropout(pos_emb)` of a view expanded over the batch: in training at p != 0 a new
  dense tensor; and its FloatTensor parameters at two levels (mask_emb and each layer's q, k, v,
  o, r) now priced, so weight, grad and optimizer bytes come back too.
- diffllama: `nn.RMSNorm(2 * head_dim, elementwise_affine=False)` (brains/norm_saved.py) scaled by
  `1 - lambda_init`, a `math.exp` of the layer index (an opaque number, not an unknown value).
- emu3: Emu3ForCausalLM is built on text_config; `--mode train` now prices the text model, as
  `predict` does (was: C013, the composite class derived).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

pytestmark = pytest.mark.skipif(not transformers.__version__.startswith("4.56"), reason="the 4.56 sources these constructs are read from")

CONFIGS = {
    "openai-gpt": dict(n_embd=64, n_layer=2, n_head=4, vocab_size=256, n_positions=64),
    "cpmant": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, dim_head=16, dim_ff=128, vocab_size=256, prompt_length=4),
    "ctrl": dict(n_embd=64, n_layer=2, n_head=4, dff=128, vocab_size=256, n_positions=64),
    "xlnet": dict(d_model=64, n_layer=2, n_head=4, d_inner=128, vocab_size=256),
    "diffllama": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128, vocab_size=256),
    "emu3": dict(text_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
                                vocab_size=256, pad_token_id=0, bos_token_id=1, eos_token_id=2)),
}
TRAIN_BYTES = ("flops", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_train_metrics_exact(model_type: str, tmp_path: Path) -> None:
    config = written_config(model_type, CONFIGS[model_type], tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=5).totals
    assert {m: predicted.get(m) for m in TRAIN_BYTES} == {m: measured.get(m) for m in TRAIN_BYTES}


def test_rms_norm_upcast_copy_in_bfloat16(tmp_path: Path) -> None:
    """Below float32 nn.RMSNorm keeps a float32 copy of its input (in float32, the input itself): the
    bfloat16 step saves more per groupnorm call than half the float32 step's."""
    config = written_config("diffllama", CONFIGS["diffllama"], tmp_path)
    measured = measure_train(config, Workload(2, 5, 0, "bfloat16"), peak=False).totals["activation_bytes"]
    assert predict_train(config, batch=2, seq_len=5, dtype="bfloat16").totals.get("activation_bytes") == measured


def test_xlnet_float_tensor_parameters_stay_float32(tmp_path: Path) -> None:
    """`torch.FloatTensor` parameters are float32 whatever the default dtype `_from_config` sets: in a
    bfloat16 model XLNet's mask_emb [1, 1, d] and, per layer, q, k, v, o, r [d, n_head, d_head] and
    three [n_head, d_head] biases and seg_embed [2, n_head, d_head] keep 4 bytes an element (the
    train oracle casts the whole model, and cannot run it: the weight_bytes of the real build)."""
    import torch
    from transformers import XLNetConfig, XLNetLMHeadModel

    config = written_config("xlnet", CONFIGS["xlnet"], tmp_path)
    model = XLNetLMHeadModel._from_config(XLNetConfig(**CONFIGS["xlnet"]), dtype=torch.bfloat16)
    real = sum(p.numel() * p.element_size() for p in model.parameters()) + sum(b.numel() * b.element_size() for b in model.buffers())
    # d = 64, 4 heads of 16: per layer 5 * 64 * 64 + 3 * 64 + 2 * 64 = 20,800 float32 elements, 2 bytes each above bfloat16
    float32_elements = 64 + 2 * 20_800
    assert sum(p.numel() for p in model.parameters() if p.dtype == torch.float32) == float32_elements
    predicted = predict_train(config, batch=2, seq_len=5, dtype="bfloat16").totals
    assert predicted.get("weight_bytes") == real
