"""Derived bytes under transformers 5.23 (issue 14): the 7 families priced on 4.56, against the oracle.

Run under `.venv-tf5` (`.venv-tf5/bin/python -m pytest tests/suggest/test_bytes_tf5.py`); skipped
under 4.56. Each family's 3 configs of test_families.py are written as transformers 5.23 writes
them (`to_json_file`, so eval reads them with the 5.23 pin and derives every model rule from its
source) and compared with the oracle in total and at every module path, bytes_read and
bytes_written included, eager and sdpa, prefill, decode and a chunked decode (batch 2, 3 tokens
after 4: 5.23's create_causal_mask builds the mask there, and sdpa_attention_forward repeats keys
and values for it).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")

from lm_predictor.evaluate.predict import predict  # noqa: E402
from tests.families.harness import DECODE, PREFILL, assert_exact, written_config  # noqa: E402
from tests.suggest.test_families import FAMILIES  # noqa: E402

MAJOR = int(transformers.__version__.split(".")[0])
PRICED = ("llama", "mistral", "qwen2", "gemma", "phi3", "gpt2", "gpt_neox")
CHUNKED = replace(DECODE, batch=2, seq_len=3, past_len=4)

pytestmark = [pytest.mark.tf5, pytest.mark.skipif(MAJOR < 5, reason="transformers 5.x sources (run under .venv-tf5)")]


def _config(family: str, index: int, tmp_path: Path) -> dict:
    return written_config(family, FAMILIES[family][1][index], tmp_path)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE, CHUNKED], ids=["prefill", "decode", "chunked"])
@pytest.mark.parametrize("index", [0, 1, 2], ids=["config-a", "config-b", "config-c"])
@pytest.mark.parametrize("family", PRICED)
def test_derived_bytes_exact_on_5x(family: str, index: int, workload, attn: str, tmp_path: Path) -> None:
    config = _config(family, index, tmp_path)
    workload = replace(workload, attn=attn)
    assert {"bytes_read", "bytes_written"} <= set(predict(config, **asdict(workload)).totals), "no derived bytes"
    assert_exact(config, workload)
