"""A fact learned under one branch (what must hold for the code not to raise there) holds only under
that branch: `if a: self.x(...)` where only some configs build `self.x` says `a -> present`, and the
other arm of `if a:` still runs (FalconDecoderLayer: the `ln_attn` arm made the `input_layernorm` arm
look dead, 3,696 B per layer missing from activation_bytes). docs/suggest.md, "Facts under a branch"."""

from __future__ import annotations

from pathlib import Path

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.implied import fact_literals, under_guard
from tests.functional.analysis_run import run

# the falcon shape: __init__ builds one of two layers on one flag, forward picks one on another flag
SNIPPET = '''
from torch import nn


class Config:
    def __init__(self, hidden_size=64, attention_bias=False, mlp_bias=False, **kwargs):
        self.hidden_size = hidden_size
        self.attention_bias = attention_bias
        self.mlp_bias = mlp_bias


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        if config.attention_bias:
            self.ln_attn = nn.Linear(config.hidden_size, config.hidden_size)
        else:
            self.input_layernorm = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states, past_key_values=None):
        if self.config.mlp_bias:
            out = self.ln_attn(hidden_states)  # raises where not attention_bias: a fact only under mlp_bias
        else:
            out = self.input_layernorm(hidden_states)  # raises where attention_bias
        return out
'''


def _flops(tmp_path: Path, source: str) -> str:
    path = tmp_path / "snippet.py"
    path.write_text(source, encoding="utf-8")
    lines = run(path).splitlines()
    start = next(i for i, line in enumerate(lines) if " flops: " in line)
    end = next(i for i in range(start + 1, len(lines) + 1) if i == len(lines) or ": " in lines[i] and not lines[i].startswith("+"))
    return "\n".join(lines[start:end])


def test_the_arm_after_a_branch_fact_still_runs(tmp_path: Path) -> None:
    flops = _flops(tmp_path, SNIPPET)
    # mlp_bias and attention_bias: ln_attn; neither: input_layernorm; the two mixed cases raise
    assert "if $mlp_bias and $attention_bias then {ln_attn: torch.nn.Linear}" in flops
    assert "if not $mlp_bias and not $attention_bias then {input_layernorm: torch.nn.Linear}" in flops


def test_a_fact_outside_every_branch_stays_unconditional(tmp_path: Path) -> None:
    # forward reads ln_attn outside every branch: attention_bias holds wherever forward runs on, so the
    # `else` arm's input_layernorm (absent where attention_bias) raises and adds nothing
    source = SNIPPET.replace("        if self.config.mlp_bias:\n            out = self.ln_attn(hidden_states)", "        out = self.ln_attn(hidden_states)\n        if self.config.mlp_bias:\n            out = self.ln_attn(out)")
    flops = _flops(tmp_path, source)
    assert "{ln_attn: torch.nn.Linear}" in flops
    assert "input_layernorm" not in flops


def test_an_implied_fact_holds_where_its_guard_does() -> None:
    a, b, c = X.bsym("a"), X.bsym("b"), X.bsym("c")
    fact = under_guard(X.band(a, b), c)  # a and b -> c
    assert fact == X.bor(X.bnot(X.band(a, b)), c)
    assert c in fact_literals([fact], [a, b])
    assert c not in fact_literals([fact], [a])  # b undecided: c unknown
    assert c not in fact_literals([fact], [X.bnot(a)])  # the guard fails: nothing follows
    assert under_guard(X.TRUE, c) == c
