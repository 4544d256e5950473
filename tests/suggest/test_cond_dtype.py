"""A tensor whose dtype is one of two by a config condition (branch w17-elem, suggest/dtype_arms.py).

4.56 Mamba's block keeps its residual in float32 under `residual_in_fp32`; the join of the float32
and the model-dtype residual carries `if residual_in_fp32 then 4 else dtype_bytes` bytes an element
into the residual adds, the final norm (`input_dtype = hidden_states.dtype`, `self.weight *
hidden_states.to(input_dtype)` keeps a float32 tensor where the switch holds) and lm_head's input
cast. In bfloat16 the switch changes the step's activation_bytes (the final norm's saved product:
4 - 2 bytes on each of batch x seq_len x hidden elements); in float32 it does not. Expected numbers
are train_oracle's (fake tensors, batch 2, 7 tokens).
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.suggest import expr as X  # noqa: E402
from lm_predictor.suggest.brains.layout import elem_bytes, promote  # noqa: E402
from lm_predictor.suggest.dtype_arms import CondDtype, same_dtype  # noqa: E402
from lm_predictor.suggest.expr import Num  # noqa: E402
from lm_predictor.suggest.valueops import make_phi  # noqa: E402
from lm_predictor.suggest.values import Tensor  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
MAMBA = dict(hidden_size=64, num_hidden_layers=3, state_size=8, expand=2, conv_kernel=4, vocab_size=300)
SWITCH = X.bsym("residual_in_fp32")


def test_join_of_float32_and_model_dtype_is_a_conditional_dtype() -> None:
    shape = (Num.sym("batch"), Num.sym("hidden_size"))
    joined = make_phi(SWITCH, Tensor(shape, "float32"), Tensor(shape, "model"))
    assert isinstance(joined.dtype, CondDtype)
    assert elem_bytes(joined) == X.ifnum(SWITCH, Num.const(4), Num.sym("dtype_bytes"))
    # float32 + model is float32 where the switch holds, the model dtype elsewhere; model * model stays model
    assert promote([joined, Tensor(shape, "model")]) == joined.dtype
    assert promote([joined, Tensor(shape, "float32")]) == "float32"
    # a cast to the model dtype is a no-op where the switch is off, or where the model is float32
    noop = same_dtype(joined.dtype, "model")
    for switch, size, want in ((True, 2, False), (True, 4, True), (False, 2, True), (False, 4, True)):
        at = X.substitute(noop, {"residual_in_fp32": X.bconst(switch), "dtype_bytes": Num.const(size)})
        assert X.bool_value(at) is want
    assert same_dtype(joined.dtype, "long") is None  # not a dtype it can be compared with: the caller makes a gap


def test_int_and_float_arms_stay_unsized() -> None:
    joined = make_phi(SWITCH, Tensor((Num.const(3),), "long"), Tensor((Num.const(3),), "model"))
    assert elem_bytes(joined) is None


@pytest.mark.skipif(MAJOR >= 5, reason="4.56 Mamba (5.x runs mamba_selective_scan, not sized yet)")
@pytest.mark.parametrize("model_type", ["mamba", "falcon_mamba"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("ckpt", [False, True])
def test_residual_in_fp32_both_ways(model_type: str, dtype: str, ckpt: bool, tmp_path: Path) -> None:
    step = Workload(2, 7, dtype=dtype)
    got = {}
    for switch in (True, False):
        (tmp_path / str(switch)).mkdir()
        config = written_config(model_type, {**MAMBA, "residual_in_fp32": switch}, tmp_path / str(switch))
        predicted = predict_train(config, batch=2, seq_len=7, dtype=dtype, survey_checked=False, transformers="4.56.0",
                                  options=TrainOptions(grad_checkpointing=ckpt)).totals
        got[switch] = predicted.get("activation_bytes")
        assert got[switch] == measure_train(config, step, grad_checkpointing=ckpt, peak=False).totals["activation_bytes"]
    # bfloat16 without checkpointing: the final norm keeps a float32 product with the switch on, a bfloat16 one
    # off (2 x 7 x 64 x 2 bytes); with checkpointing the kept inputs of the two layers after the first are float32
    # too (3 x 1,792 with the norm's), which a count of 3 x the first layer's input missed (29,004 vs 32,588)
    want = {("bfloat16", False): 2 * 7 * 64 * 2, ("bfloat16", True): 3 * 2 * 7 * 64 * 2}.get((dtype, ckpt), 0)
    assert got[True] - got[False] == want
