"""transformers 5.x linear-attention / recurrent cache states (`cache.get_conv_state` /
`update_conv_state`, `get_recurrent_state` / `update_recurrent_state`), verified against the 5.23.0
oracle in .venv-tf5. Configs written by transformers 5.23.0 itself: `CONFIG_MAPPING[t](**sizes)`
with `architectures` set, then `.to_json_file()`.

- qwen3-5-tiny-5x (qwen3_5_text: hidden 64, layer_types [linear_attention, full_attention]; linear:
  2 key heads x 16, 4 value heads x 16, conv kernel 4): prefill and decode after 5. Decode's
  kv_cache_bytes at batch 2, float32, 5 + 7 = 12 tokens (arithmetic, not the code under test):
  conv state [2, 2*32 + 64 = 128 channels, 4] = 1,024 elements; recurrent state [2, 4, 16, 16] =
  2,048; the full layer's keys and values [2, 2, 12, 16] x 2 = 1,536; (1,024 + 2,048 + 1,536) * 4
  = 18,432 bytes, what the oracle measures.
- mamba-tiny-5x (hidden 64, state 8, conv 4): prefill only (MambaForCausalLM returns `cache_params`,
  not `past_key_values`, so the oracle has no decode to measure); exercises the functional conv1d
  of the torch fallback and `update_conv_state`'s left padding of a prompt shorter than the kernel
  (seq 3 < 4).
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lm_predictor.cli.main import main

DATA = Path(__file__).parent / "data"


def _verify(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["verify", *args])
    text = out.getvalue()
    assert status == 0, text[-2000:] + err.getvalue()
    assert "MISMATCH" not in text
    return text


def test_linear_attention_states_prefill_and_decode():
    text = _verify(str(DATA / "qwen3-5-tiny-5x"), "--batch", "2", "--seq-len", "7", "--past-len", "0,5")
    assert text.count("transformers=5.23.0") == 2 and text.count(" 0 mismatched") == 2
    assert "18,432 │    18,432 │ exact" in text


@pytest.mark.parametrize("seq", ["7", "3"])
def test_recurrent_conv_state_prefill(seq):
    text = _verify(str(DATA / "mamba-tiny-5x"), "--batch", "2", "--seq-len", seq, "--past-len", "0")
    assert "transformers=5.23.0" in text and " 0 mismatched" in text
