"""`--mode train` options of `lmpredict eval` (and `fit`): one training step's settings."""

from __future__ import annotations

import argparse
from typing import Any

from lm_predictor.diagnostics import LmPredictorError

TREE_METRICS = ("activation_bytes",)
"""Per-module metrics of a training step that `--metrics` may show in the tree."""


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """--mode, and the options of a training step (definitions: docs/training.md)."""
    group = parser.add_argument_group("training step (--mode train, see docs/training.md)")
    group.add_argument("--mode", choices=("infer", "train"), default="infer", help="infer: one forward call (default); train: forward + loss + backward + optimizer step")
    group.add_argument("--grad-checkpointing", action="store_true", help="model.gradient_checkpointing_enable(): layers recompute their forward in backward")
    group.add_argument("--optimizer", default="adamw", help="adamw | sgd | adafactor (torch.optim defaults)")
    group.add_argument("--mixed-precision", action="store_true", help="float32 master weights and optimizer state for a bfloat16/float16 model")
    group.add_argument("--zero", type=int, default=0, help="ZeRO stage 0..3: shard optimizer state (1), gradients (2), parameters (3)")
    group.add_argument("--data-parallel", type=int, default=1, help="data-parallel GPUs the ZeRO stage shards across")


def train_options(args: argparse.Namespace) -> Any:
    """The TrainOptions of parsed arguments."""
    from lm_predictor.evaluate.train import TrainOptions

    return TrainOptions(args.optimizer, args.grad_checkpointing, args.mixed_precision, args.zero, args.data_parallel)


def predict_train_workload(args: argparse.Namespace, workload: dict, library: Any) -> Any:
    """predict_train for one workload of the sweep (a training step has no past: decode is refused)."""
    from lm_predictor import diagnostics as d
    from lm_predictor.evaluate.train import predict_train

    if workload["past_len"]:
        raise LmPredictorError(d.make(d.C_TRAIN_OPTION, None, detail="--mode train prices a step over fresh sequences: --past-len must be 0"))
    if workload.get("attn", "eager") != "eager":
        raise LmPredictorError(d.make(d.C_TRAIN_OPTION, None, detail=f"--mode train prices eager attention (what the oracle measures), not --attn {workload['attn']}"))
    fields = {k: v for k, v in workload.items() if k not in ("past_len", "attn")}
    return predict_train(args.config, library=library, options=train_options(args), **fields)
