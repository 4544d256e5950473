"""Liveness of child module calls (suggest/liveness.py), against train_oracle and on the pass itself.

4.56 RecurrentGemma's attention hands `k_proj(x)` and `v_proj(x)` to its `@torch.no_grad()`
`_update_cache` and attends to the cache's copies: where the model set up a cache (use_cache and
seq_len != 1) k_proj and v_proj get no gradient and no AdamW state. Under gradient checkpointing
the model turns its cache off in training, and they train again. Its attention always calls
F.scaled_dot_product_attention: the train oracle counts the CPU kernel and its backward with
torch's CUDA formulas (as the inference oracle does), and so does the rule's backward_flops.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

from lm_predictor.suggest import liveness
from lm_predictor.suggest.scope import Instance, Recorder, RuleDraft
from lm_predictor.suggest.values import Tensor
from lm_predictor.suggest.expr import Num

RECURRENT_GEMMA = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
                       lru_width=64, attention_window_size=16, vocab_size=300, block_types=["recurrent", "recurrent", "attention"])  # fmt: skip


_TEMPLATE = object()


class _Interp:
    """What the pass asks of the interpreter: the recorder, grad_off and the branch guard."""

    def __init__(self) -> None:
        self.recorder = Recorder(draft=RuleDraft("model", _TEMPLATE, ""))  # the model's own forward: its return is used
        self.grad_off = 0

    def guard(self):
        from lm_predictor.suggest.expr import TRUE

        return TRUE


def _tensor() -> Tensor:
    return Tensor((Num.sym("batch"), Num.sym("seq_len"), Num.const(8)))


def _run(ops) -> tuple:
    """A forward of `x`: ops(interp, x, k, q) returns what it returns; (k, q) child instances after finish."""
    interp = _Interp()
    x, k, q = _tensor(), Instance(None, {}, "k_proj"), Instance(None, {}, "q_proj")
    liveness.begin(interp, [x], {})
    try:
        liveness.finish(interp, ops(interp, x, k, q))
    finally:
        liveness.end(interp)
    return k, q


def _call(interp, inst, x) -> Tensor:
    out = _tensor()
    liveness.child(interp, inst, [x], {}, out)
    return out


def test_a_child_whose_result_feeds_only_no_grad_code_gets_no_gradient() -> None:
    def forward(interp, x, k, q):
        keys, query = _call(interp, k, x), _call(interp, q, x)
        interp.grad_off += 1  # @torch.no_grad() _update_cache: its copy requires no grad
        cached = Tensor(keys.shape, no_grad=True)
        liveness.op(interp, [keys], cached)
        interp.grad_off -= 1
        out = _tensor()
        liveness.op(interp, [query, cached], out)
        return out

    k, q = _run(forward)
    assert (k.grad_used, q.grad_used) == (False, True)


def test_a_tensor_the_pass_did_not_see_made_leaves_every_child_used() -> None:
    def forward(interp, x, k, q):
        _call(interp, k, x)
        return _tensor()  # made by a path with no hook: it may come from anything

    k, _ = _run(forward)
    assert k.grad_used


def test_a_value_written_elsewhere_is_live() -> None:
    def forward(interp, x, k, q):
        liveness.escape(interp, _call(interp, k, x))  # `self.state = k_proj(x)`: a later read may find it
        return x

    k, _ = _run(forward)
    assert k.grad_used


def test_a_branch_keeps_its_condition() -> None:
    from lm_predictor.suggest import expr as X
    from lm_predictor.suggest.valueops import make_phi

    cond = X.cmp("!=", Num.sym("seq_len"), Num.const(1))

    def forward(interp, x, k, q):
        keys = _call(interp, k, x)
        cached = Tensor((Num.sym("batch"), Num.const(16), Num.const(8)), no_grad=True)
        return make_phi(cond, cached, keys)  # `if seq_len != 1: keys = cache(keys)`

    k, _ = _run(forward)
    assert not k.grad_used and X.render_bool(k.live_when) == "$seq_len == 1"


@pytest.mark.parametrize("checkpointing", [False, True])
def test_recurrent_gemma_keys_behind_a_no_grad_cache(checkpointing: bool, tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    if int(transformers.__version__.split(".")[0]) != 4:
        pytest.skip("the 4.56 source updates its cache under @torch.no_grad()")
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload
    from tests.families.harness import written_config

    config = written_config("recurrent_gemma", RECURRENT_GEMMA, tmp_path)
    measured = measure_train(config, Workload(2, 5), grad_checkpointing=checkpointing, peak=False).totals
    options = TrainOptions(grad_checkpointing=checkpointing)
    prediction = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="4.56.0", options=options)
    predicted = prediction.totals
    # the checkpointed step is priced with its own derivation (suggest/derive.py), the plain step with the plain one
    assert any("derived with that test true" in n for n in prediction.notes) == checkpointing
    # with checkpointing the model turns use_cache off (`self.gradient_checkpointing and self.training`: the
    # rules for that step are derived with the test true, interp/train_arms.py), so no attention window is set up
    metrics = ("flops", "grad_bytes", "optimizer_bytes")
    assert {m: predicted.get(m) for m in metrics} == {m: measured[m] for m in metrics}
    # not vacuous: without checkpointing k_proj and v_proj (64 -> 2 KV heads x 16, no bias) get no gradient,
    # 2 x 64 x 32 float32 = 16,384 B fewer than with it
    if not checkpointing:
        with_ckpt = measure_train(config, Workload(2, 5), grad_checkpointing=True, peak=False).totals["grad_bytes"]
        assert with_ckpt - measured["grad_bytes"] == 2 * 64 * 32 * 4


def test_a_field_its_caller_drops_leaves_what_made_it_without_gradient() -> None:
    """big_bird's causal-LM head reads its model's `last_hidden_state` only: the pooler that makes
    `pooler_output` gets no gradient; the encoder that makes the hidden states does."""
    from lm_predictor.suggest.values import Record

    interp = _Interp()
    root = interp.recorder
    model = RuleDraft("model.inner", _TEMPLATE, "")
    model.caller = root.draft
    encoder, pooler = Instance(None, {}, "encoder"), Instance(None, {}, "pooler")
    interp.recorder = Recorder(draft=model)  # the inner model's own forward
    x = _tensor()
    liveness.begin(interp, [x], {})
    hidden = _call(interp, encoder, x)
    pooled = _call(interp, pooler, hidden)
    liveness.finish(interp, Record("Out", {"last_hidden_state": hidden, "pooler_output": pooled}))
    liveness.end(interp)
    assert not encoder.grad_used and not pooler.grad_used  # decided by the caller
    interp.recorder = root
    liveness.begin(interp, [x], {})
    out = Record("Out", {"last_hidden_state": _tensor(), "pooler_output": _tensor()})  # the caller's copy
    liveness.returned(interp, model, out)
    liveness.finish(interp, out.fields["last_hidden_state"])
    liveness.end(interp)
    assert (encoder.grad_used, pooler.grad_used) == (True, False)


TWO_MODULE_ATTRIBUTES = {
    # `self.post_norm1 = RMSNorm(...) if config.use_post_norm else nn.Identity()`: priced idle where
    # use_post_norm held (98,304 B short at the survey's varied A: 3 layers x 2 norms x 4,096 float32)
    "an RMSNorm or an Identity (hyperclovax)": ("hyperclovax", dict(head_dim=16, num_hidden_layers=3), "use_post_norm", (True, False)),
    # `nn.Embedding(vocab, hidden, self.padding_idx)`, two instances by whether pad_token_id is set: the
    # embedding was priced idle wherever a config sets pad_token_id (arcee: 76,800 B short, 300 x 64 float32)
    "an Embedding with or without padding_idx (arcee)": ("arcee", dict(num_hidden_layers=2), "pad_token_id", (0, None)),
}


@pytest.mark.parametrize("case", list(TWO_MODULE_ATTRIBUTES))
def test_an_attribute_of_two_modules_by_a_config_branch_is_live_where_either_is(case: str, tmp_path: Path) -> None:
    """5.23: each arm's instance is live under its own condition; the attribute is live where either
    is, not only where the last arm is. grad and optimizer bytes against train_oracle at both values."""
    transformers = pytest.importorskip("transformers")
    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("5.23 sources (run under .venv-tf5)")
    from lm_predictor.evaluate.train import predict_train
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload
    from tests.families.harness import written_config

    model_type, sizes, field, values = TWO_MODULE_ATTRIBUTES[case]
    metrics = ("grad_bytes", "optimizer_bytes")
    for value in values:
        overrides = dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128, vocab_size=300, **sizes)
        (directory := tmp_path / str(value)).mkdir()
        config = written_config(model_type, {**overrides, field: value}, directory)
        measured = measure_train(config, Workload(2, 7), peak=False).totals
        predicted = predict_train(config, batch=2, seq_len=7, survey_checked=False, transformers="5.23.0").totals
        assert {m: predicted.get(m) for m in metrics} == {m: measured[m] for m in metrics}, value
