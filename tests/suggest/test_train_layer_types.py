"""activation_bytes of models whose layers differ by `layer_types` (issue 13), derived rules against train_oracle.

Rotary cos and sin are made once per layer type before the decoder loop and saved by every layer that
reads them: each storage counts once when at least one layer saves it (suggest/brains/saved_loops.py),
and two pairs alike in shape and dtype (gemma3's local and global, olmo3's per-type dict) stay two
storages when a branch picks one (valueops.make_phi). Priced with rules derived from the pinned
source of the transformers in the running venv (`.venv`: 4.56; `.venv-tf5/bin/python -m pytest`: the
5.x cases) and compared with `measure_train` (fake tensors, batch 2, 5 tokens, float32, AdamW).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains.saved_loops import some_iteration
from lm_predictor.suggest.values import Phi, Tensor
from lm_predictor.suggest.valueops import make_phi, under

MIXED = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]
SMALL = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
             intermediate_size=96, vocab_size=300, max_position_embeddings=64, sliding_window=4, layer_types=MIXED)  # fmt: skip

# (model type, overrides, the major version of transformers whose source has the construct)
CASES = {
    "rotary only on sliding layers (4.56 cohere2)": ("cohere2", SMALL, 4),
    "local and global rotary modules (4.56 gemma3_text)": ("gemma3_text", SMALL, 4),
    "rotary only on sliding layers (4.56 exaone4)": ("exaone4", SMALL, 4),
    "no-rope layers (4.56 smollm3)": ("smollm3", dict(SMALL, layer_types=["full_attention"] * 4, no_rope_layers=[1, 0, 1, 0], pad_token_id=1), 4),
    "one rotary pair per layer type in a dict (5.x olmo3)": ("olmo3", SMALL, 5),
    "one rotary pair per layer type in a dict (5.x gemma3_text)": ("gemma3_text", SMALL, 5),
    "rotary only on sliding layers (5.x cohere2)": ("cohere2", SMALL, 5),
    "sinks through logsumexp, layer types (5.x granite_swa)": ("granite_swa", SMALL, 5),
    # the layer gets `position_embeddings[layer_type]` (a cos, sin pair, or None on the no-rope full layers)
    # and `attention_scalings[layer_type]` (None, or a [1, 1, q, 1] scale): forward inputs of two branches,
    # each arm the model's storage (unavailable before: "mul: saves a tensor whose storage is not known")
    "a rotary pair or None per layer type (5.x beam)": ("beam", dict(SMALL, mlp_layer_types=["dense"] * 4), 5),
    # the model re-binds its rotary pairs at `i == num_hidden_layers - num_kv_shared_layers` (to slices
    # of themselves, `_maybe_slice_kv_shared_inputs`); a layer saves the pair of its type on both arms
    # of that branch (unavailable before: the layer index stayed in the term). With KV-shared layers
    # (num_kv_shared_layers > 0) the inference rules are not resolved yet (A112), so none here;
    # [s, f, s, f] makes the formula too long (over 20,000 characters): [s, s, s, f]
    "rotary pairs re-bound at the first KV-shared layer (5.x gemma4_text)": (
        "gemma4_text", dict(SMALL, num_kv_shared_layers=0, hidden_size_per_layer_input=8,
                            layer_types=["sliding_attention"] * 3 + ["full_attention"]), 5),
}


def test_some_iteration_counts_the_layers_a_condition_selects() -> None:
    # layers 0 and 4 are full: in 3 layers one of them (layer 0) is, so the pair is saved (1 > 0)
    i, n = "#i1", X.Num.sym("num_hidden_layers")
    cond = X.bor(X.cmp("==", X.Num.sym(i), 0), X.cmp("==", X.Num.sym(i), 4))
    loop = {"count": n, "index": None, "items": i}
    got = some_iteration(cond, (loop,))
    assert i not in X.free_params(got)
    assert X.substitute(got, {"num_hidden_layers": X.Num.const(3)}) == X.TRUE
    # 4 of [1, 2, 3]: none in a 1-layer model (0 is the first), so that model never saves it
    cond = X.bor(*(X.cmp("==", X.Num.sym(i), k) for k in (1, 2, 3)))
    got = some_iteration(cond, (loop,))
    assert X.substitute(got, {"num_hidden_layers": X.Num.const(1)}) == X.FALSE
    assert X.substitute(got, {"num_hidden_layers": X.Num.const(2)}) == X.TRUE


def test_alike_tensors_of_two_branches_stay_two() -> None:
    shape = (X.Num.const(1), X.Num.sym("seq_len"), X.Num.const(16))
    local, glob = Tensor(shape, "float32"), Tensor(shape, "float32")
    cond = X.bsym("is_sliding")
    cos = make_phi(cond, local, glob)
    assert cos == local and cos.merged == (cond, local, glob)  # one value, both storages
    pair = make_phi(cond, (local, local), (glob, glob))
    assert all(t.merged is not None for t in pair)
    assert make_phi(cond, local, local) is local  # one tensor is still one


def test_the_arm_a_condition_selects() -> None:
    # beam's layer gets `position_embeddings[layer_type]`: the model's (cos, sin) where the layer is sliding, else None;
    # the layer saves cos under that condition, and the caller takes the pair's arm, not a value of branches
    shape = (X.Num.const(1), X.Num.sym("seq_len"), X.Num.const(16))
    pair = (Tensor(shape, "float32"), Tensor(shape, "float32"))
    sliding, other = X.bsym("is_sliding"), X.bsym("training")
    value = Phi(sliding, pair, None)
    assert under(value, sliding) is pair
    assert under(value, X.band(other, sliding)) is pair  # one part of an `and`
    assert under(value, X.bnot(sliding)) is None  # the other arm
    assert under(value, other) is value


@pytest.mark.parametrize("case", list(CASES))
def test_layer_types_activation_bytes(case: str, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from lm_predictor.evaluate.train import TrainOptions, predict_train
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload
    from tests.families.harness import written_config

    major = int(transformers.__version__.split(".")[0])
    model_type, overrides, wanted = CASES[case]
    if wanted != major:
        pytest.skip(f"a transformers {wanted}.x construct; this venv has {transformers.__version__}")
    config = written_config(model_type, overrides, tmp_path)
    measured = measure_train(config, Workload(2, 5), peak=False).totals["activation_bytes"]
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="5.23.0" if major >= 5 else "4.56.0")
    assert predicted.totals.get("activation_bytes") == measured
    if model_type == "beam":  # and with checkpointing (the layer keeps its positional inputs only)
        options = TrainOptions(grad_checkpointing=True)
        measured = measure_train(config, Workload(2, 5), grad_checkpointing=True, peak=False).totals["activation_bytes"]
        predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="5.23.0", options=options)
        assert predicted.totals.get("activation_bytes") == measured


def test_a_second_layer_type_saves_a_second_rotary_pair(tmp_path: Path) -> None:
    """The cases above are not vacuous: gemma3_text with two layer types saves one more cos, sin pair
    than with one, [1, 5, 16] float32 each: 2 x 5 x 16 x 4 = 640 bytes."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload
    from tests.families.harness import written_config

    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = measure_train(written_config("gemma3_text", dict(SMALL, layer_types=["sliding_attention"] * 4), tmp_path / "one"), Workload(2, 5), peak=False)
    two = measure_train(written_config("gemma3_text", SMALL, tmp_path / "two"), Workload(2, 5), peak=False)
    assert two.totals["activation_bytes"] - one.totals["activation_bytes"] == 640


def test_a_layer_type_without_rope_first(tmp_path: Path) -> None:
    """5.x beam with a full (no-rope) layer first: its rotary `__init__` loops over the sorted layer
    types and `continue`s past the one whose rope parameters are None, then registers the sliding
    buffers. An unrolled loop goes on after a `continue` (it had left every later iteration under a
    false guard: no buffers, and `forward` raised, A102). Inference and the train step against the
    oracle; activation_bytes here stays unavailable (a rotary pair of nested branches), never wrong."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("a transformers 5.x model")
    from lm_predictor.evaluate.train import predict_train
    from lm_predictor.verify.train_oracle import measure_train
    from lm_predictor.workload import Workload
    from tests.families.harness import assert_exact, written_config

    full_first = ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    config = written_config("beam", dict(SMALL, mlp_layer_types=["dense"] * 4, layer_types=full_first), tmp_path)
    assert_exact(config, Workload(2, 5))
    measured = measure_train(config, Workload(2, 5), peak=False).totals
    predicted = predict_train(config, batch=2, seq_len=5, survey_checked=False, transformers="5.23.0").totals
    for metric in ("flops", "weight_bytes", "grad_bytes", "optimizer_bytes"):
        assert predicted[metric] == measured[metric], metric
    assert predicted.get("activation_bytes") in (None, measured["activation_bytes"])
