"""CI: a transformers 5.x-only architecture, priced from the 5.23.0 source and verified against the
5.23.0 oracle in .venv-tf5 (what `make test` sets up), at prefill and decode.

tests/versions/data/nanochat-tiny/config.json was written by transformers 5.23.0 itself, in .venv-tf5:
`CONFIG_MAPPING["nanochat"](hidden_size=64, intermediate_size=128, num_hidden_layers=2,
num_attention_heads=4, num_key_value_heads=2, vocab_size=256)` with `architectures` set, then
`.to_json_file()`. nanochat is not in transformers 4.56.0.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from lm_predictor.cli.main import main
from lm_predictor.data import transformers_table as tt

CONFIG = Path(__file__).parent / "data" / "nanochat-tiny"


def test_nanochat_is_5x_only():
    assert tt.causal_lm_for("nanochat", "4.56.0") is None
    assert tt.causal_lm_for("nanochat", "5.23.0") == "transformers.models.nanochat.modeling_nanochat.NanoChatForCausalLM"


def test_verify_a_5x_only_architecture_against_the_5x_oracle():
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["verify", str(CONFIG), "--batch", "2", "--seq-len", "7", "--past-len", "0,5"])
    text = out.getvalue()
    assert status == 0, text[-2000:] + err.getvalue()
    assert text.count("transformers=5.23.0") == 2 and "MISMATCH" not in text
    assert text.count(" 0 mismatched") == 2
