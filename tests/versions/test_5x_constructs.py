"""Constructs of the transformers 5.x sources that suggest derives, each verified against the 5.23.0
oracle in .venv-tf5 at prefill and decode (flops, param_count and kv_cache_bytes, in total and per
module). Every config was written by transformers 5.23.0 itself, in .venv-tf5:
`CONFIG_MAPPING[t](**sizes)` with `architectures` set, then `.to_json_file()` (sizes below).

- qwen3-moe-tiny-5x (hidden 64, 2 layers, 4 experts, top 2): the fused experts' eager loop, whose
  `if expert_idx == self.num_experts: continue` skips the padding class of a one_hot with
  num_experts + 1 classes (top-k ids are below the router's width, so it never holds);
- gpt2-tiny-5x (n_embd 64, 2 layers, tied): a dataclass config with no `__post_init__` of its own,
  and an input embedding built over a nullable `padding_idx` (the tie is still found);
- bert-tiny-5x (hidden 64, 2 layers, is_decoder): `_tied_weights_keys` ties the decoder's bias too;
- gpt-oss-tiny-5x (2 layers, sliding window 4, 4 experts): alternating sliding/full layers summed
  per kind, `.max(...).values`, attention sinks;
- mistral-tiny-5x (sliding window 4): the 5.23 sliding cache layer also holds its window as a long
  tensor (8 bytes per sliding layer of kv_cache_bytes).
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lm_predictor.cli.main import main

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["qwen3-moe-tiny-5x", "gpt2-tiny-5x", "bert-tiny-5x", "gpt-oss-tiny-5x", "mistral-tiny-5x"])
def test_derived_rules_agree_with_the_5x_oracle(name):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["verify", str(DATA / name), "--batch", "2", "--seq-len", "7", "--past-len", "0,5"])
    text = out.getvalue()
    assert status == 0, text[-2000:] + err.getvalue()
    assert text.count("transformers=5.23.0") == 2 and "MISMATCH" not in text
    assert text.count(" 0 mismatched") == 2
