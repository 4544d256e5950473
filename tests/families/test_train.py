"""`--mode train` is exact against the training-step oracle for the eight hand-written families.

The varied configs of each family's inference test (three each, five for falcon). Each config runs
twice: (float32, AdamW, no checkpointing) and (bfloat16, Adafactor, gradient checkpointing);
one config per family also runs mixed precision. Compared: train flops, weight_bytes,
grad_bytes, optimizer_bytes and activation_bytes, each against lm_predictor/verify/train_oracle.py.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families import test_falcon, test_gemma, test_gpt2, test_gpt_neox, test_llama, test_mistral, test_phi3, test_qwen2  # noqa: E402

FAMILIES = {
    "llama": test_llama.VARIED,
    "mistral": test_mistral.VARIED,
    "qwen2": test_qwen2.VARIED,
    "gemma": test_gemma.VARIED,
    "phi3": test_phi3.VARIED,
    "falcon": test_falcon.VARIED,
    "gpt2": test_gpt2.VARIED,
    "gpt_neox": test_gpt_neox.VARIED,
}
CASES = [(fam, name) for fam, configs in FAMILIES.items() for name in configs]
STEPS = {
    "fp32-adamw": (Workload(2, 7), TrainOptions()),
    "bf16-adafactor-ckpt": (Workload(2, 7, 0, "bfloat16"), TrainOptions(optimizer="adafactor", grad_checkpointing=True)),
}
COMPARED = ("flops", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")


def _check(config: dict, workload: Workload, options: TrainOptions) -> None:
    measured = measure_train(
        config, workload, optimizer=options.optimizer, grad_checkpointing=options.grad_checkpointing,
        mixed_precision=options.mixed_precision, peak=False,
    ).totals
    predicted = predict_train(config, batch=workload.batch, seq_len=workload.seq_len, dtype=workload.dtype, options=options).totals
    bad = [f"{m}: predicted {predicted.get(m)} measured {measured[m]}" for m in COMPARED if predicted.get(m) != measured[m]]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize(("family", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_train_step_exact(family: str, name: str, step: str) -> None:
    _check(FAMILIES[family][name], *STEPS[step])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_mixed_precision_exact(family: str) -> None:
    config = next(iter(FAMILIES[family].values()))
    _check(config, Workload(1, 5, 0, "bfloat16"), TrainOptions(mixed_precision=True))


PHI3_SMALL = {"model_type": "phi3", "vocab_size": 1000, "num_hidden_layers": 2, "pad_token_id": 999, "eos_token_id": 999, "hidden_size": 128, "intermediate_size": 200, "num_attention_heads": 4}


@pytest.mark.parametrize("kv_heads", [4, 1], ids=["mha", "mqa"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_batch_one_views(kv_heads: int, dtype: str) -> None:
    """At batch 1 a single kv head stays a view through torch.matmul, and the loss targets are a view."""
    _check({**PHI3_SMALL, "num_key_value_heads": kv_heads}, Workload(1, 6, 0, dtype), TrainOptions(optimizer="sgd"))
