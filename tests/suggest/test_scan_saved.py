"""What autograd saves in a state-space mixer's training step (branch w16-scan), per module.

4.56 Mamba's `MambaMixer.slow_forward` in a train step: the model defaults `use_cache` with
`self.config.use_cache if not self.training else False`, so a step that passes none runs without a
cache (analysis.py: the root's `use_cache` is `None` under the workload fact `training` where the
source reads it so); `nn.Conv1d` keeps its input (a view of in_proj's output); the Python loop over
sequence positions makes one `ssm_state` per step, which `torch.matmul(ssm_state.to(dtype), C_i)`
keeps (a 3-d operand that folds to itself: a view, whatever C_i's layout), and the next step's
`discrete_A_i * ssm_state` keeps the same storage again: the zero state once and one state per
position. RWKV's `rwkv_linear_attention_cpu` carries three states (num, den, max) that only the
next step saves (n - 1 each beyond the first), its states read from a cache only where not
training (a join whose other branch has no known storage), and `hidden_states / 2` every
`rescale_every` layers is one storage either way. Mamba's own total stays unavailable (the block's `residual_in_fp32` join of two
dtypes leaves the lm_head input's storage unknown), so the mixer's rule is compared with the
storages the oracle sees packed during each mixer's forward, its input excluded (the caller's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf5  # run again under .venv-tf5 by `make test` (the 5.23 cases)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lm_predictor.data.versions import reading  # noqa: E402
from lm_predictor.engine.evaluate import evaluate  # noqa: E402
from lm_predictor.evaluate.binding import resolve  # noqa: E402
from lm_predictor.evaluate.predict import library_at, root_rule  # noqa: E402
from lm_predictor.evaluate.train import TrainOptions, predict_train, train_bindings  # noqa: E402
from lm_predictor.verify.train_oracle import _built_model, _key, _loss, measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.harness import written_config  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
PIN = "4.56.0"
RWKV = dict(hidden_size=64, attention_hidden_size=64, intermediate_size=96, num_hidden_layers=3, vocab_size=300)
MAMBA = dict(hidden_size=64, num_hidden_layers=2, state_size=8, expand=2, conv_kernel=4, vocab_size=300)
STEP = Workload(2, 7)


def predicted_mixers(config: dict) -> list[int]:
    """activation_bytes of each MambaMixer call the derived model's train-step flops tree records."""
    with reading(PIN):
        library, _ = library_at(None, PIN)
        library, rule, _, derived = root_rule(library, resolve(config, PIN, "test"), PIN, STEP)
    assert derived
    bindings = train_bindings(rule, resolve(config, PIN, "test"), STEP, TrainOptions())
    tree = evaluate(library, rule.name, "flops", bindings, trace=True).tree
    return [evaluate(library, rec.rule, "activation_bytes", rec.bindings).value
            for _, rec in tree.walk() if rec.rule.endswith(".MambaMixer")]


def measured_mixer(config: dict) -> int:
    """Bytes of the storages first packed for backward while a MambaMixer's forward runs (the first
    mixer's), its input's storage excluded, parameters never counted."""
    with _built_model(config, STEP, train=True) as (model, ids):
        owned = {_key(t) for t in [*model.parameters(), *model.buffers()]}
        mixer = model.backbone.layers[0].mixer
        state: dict = {"on": False, "input": None}
        seen: dict = {}
        mine: set = set()

        def pre(_m, args, kwargs):
            state["on"], state["input"] = True, _key((args or tuple(kwargs.values()))[0])

        def post(*_):
            state["on"] = False

        def pack(t):
            k = _key(t)
            if k not in owned and k not in seen:
                seen[k] = t.untyped_storage().nbytes()
                if state["on"] and k != state["input"]:
                    mine.add(k)
            return t

        mixer.register_forward_pre_hook(pre, with_kwargs=True)
        mixer.register_forward_hook(post)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            _loss(model, ids)
        return sum(seen[k] for k in mine)


@pytest.mark.skipif(MAJOR >= 5, reason="4.56 Mamba's slow_forward (5.x moved the scan into mamba_selective_scan)")
@pytest.mark.parametrize("overrides", [{}, {"use_conv_bias": False, "time_step_rank": 8}])
def test_mamba_mixer_saves_its_conv_input_and_one_state_per_position(overrides: dict, tmp_path: Path) -> None:
    config = written_config("mamba", {**MAMBA, **overrides}, tmp_path)
    got = predicted_mixers(config)
    assert got and all(v == got[0] for v in got)
    assert got[0] == measured_mixer(config)


@pytest.mark.parametrize("rescale_every", [6, 2])  # (0 divides by zero in the derived bytes formula: a separate fault)
def test_rwkv_scan_states_and_rescaled_layers(rescale_every: int, tmp_path: Path) -> None:
    config = written_config("rwkv", {**RWKV, "rescale_every": rescale_every}, tmp_path)
    pin = "5.23.0" if MAJOR >= 5 else PIN
    predicted = predict_train(config, batch=STEP.batch, seq_len=STEP.seq_len, survey_checked=False, transformers=pin).totals
    assert predicted.get("activation_bytes") == measure_train(config, STEP, peak=False).totals["activation_bytes"]
