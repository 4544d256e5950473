"""Property: eval's config reader and predict() accept a config or raise LmPredictorError, whatever
the bytes of the file or the values of its fields (RecursionError included)."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.config_source import read_config
from lm_predictor.evaluate.predict import predict
from lm_predictor.resources import configs_dir

# the engine raises the recursion limit for deep formulas (ensure_recursion_headroom); hypothesis notes it
pytestmark = pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")

SCRATCH = Path(tempfile.mkdtemp(prefix="lmpredict-fuzz-configs-"))
_names = itertools.count()
LLAMA = json.loads((configs_dir() / "llama-2-7b" / "config.json").read_text(encoding="utf-8"))
BUNDLED = [p.read_bytes() for p in sorted(configs_dir().glob("*/config.json"))]

JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, -1, 7, 33, 4096, 2**62, 10**30]),
        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)


def read(data: bytes) -> dict | None:
    path = SCRATCH / f"c{next(_names)}.json"
    path.write_bytes(data)
    try:
        return read_config(path)
    except LmPredictorError:
        return None
    finally:
        path.unlink()


def predict_or_error(config: dict, **workload: int) -> None:
    try:
        predict(config, breakdown=True, **workload)
    except LmPredictorError:
        pass


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_config_bytes(data: bytes) -> None:
    config = read(data)
    if config is not None:
        predict_or_error(config)


@st.composite
def mutated_bundled_config(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(BUNDLED)))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "digit"]))
        if kind == "delete":
            del data[i:i + draw(st.integers(1, 12))]
        elif kind == "insert":
            data[i:i] = draw(st.sampled_from([b"-", b"0", b"9" * 30, b"e400", b".5", b",", b"}", b"[", b'"', b"null", b"NaN", b"\xff", b"//"]))
        elif data[i:i + 1].isdigit():
            data[i:i + 1] = draw(st.sampled_from([b"0", b"1", b"3", b"7"]))
    return bytes(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_bundled_config())
def test_mutated_bundled_configs(data: bytes) -> None:
    config = read(data)
    if config is not None:
        predict_or_error(config)


FIELDS = ["hidden_size", "num_attention_heads", "num_key_value_heads", "num_hidden_layers", "intermediate_size",
          "vocab_size", "head_dim", "tie_word_embeddings", "attention_bias", "mlp_bias", "model_type", "architectures",
          "rope_scaling", "rope_theta", "max_position_embeddings", "torch_dtype", "hidden_act"]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(FIELDS), st.one_of(JSON_VALUES, st.integers(-2, 70000)), max_size=4),
    st.lists(st.sampled_from(FIELDS), max_size=2),
    st.sampled_from([{}, {"seq_len": 1, "past_len": 4096}, {"batch": 3, "seq_len": 17}]),
)
def test_llama_config_fields(changes: dict, dropped: list, workload: dict) -> None:
    config = {k: v for k, v in LLAMA.items() if k not in dropped}
    config.update(changes)
    predict_or_error(config, **workload)
