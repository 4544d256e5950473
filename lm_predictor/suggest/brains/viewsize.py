"""The size a view infers for its -1, and a receiver's sizes read under the branch that runs it."""

from __future__ import annotations

from dataclasses import replace

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.implied import fact_literals
from lm_predictor.suggest.values import Tensor


def flags_decided(interp: Host) -> dict:
    """Config flags (bool parameters) the enclosing branches fix: name -> TRUE / FALSE."""
    out: dict = {}
    lits = [lit for cond in interp.assume for lit in (cond.args if cond.kind == "and" else (cond,))]
    for lit in lits + list(fact_literals(interp.facts, interp.assume)):  # a fact learned under a branch where it runs
        if lit.kind == "sym" and not lit.args[0].startswith("?"):
            out[lit.args[0]] = X.TRUE
        elif lit.kind == "not" and lit.args[0].kind == "sym" and not lit.args[0].args[0].startswith("?"):
            out[lit.args[0].args[0]] = X.FALSE
    return out


def settled(interp: Host, t: object) -> object:
    """t with every size that branches on a flag the enclosing branches fix read as that arm
    (falcon's fused width `if $new_decoder_architecture then ... else ...` inside
    `if self.new_decoder_architecture:`); anything else as it is."""
    if isinstance(t, Num):
        mapping = flags_decided(interp)
        return X.substitute(t, mapping) if mapping else t
    if not isinstance(t, Tensor) or t.shape is None:
        return t
    mapping = flags_decided(interp)
    if not mapping:
        return t
    shape = tuple(X.substitute(d, mapping) for d in t.shape)
    return t if shape == t.shape else replace(t, shape=shape)


def inferred_size(dims: list, given: list) -> Num:
    """The -1 of `view(*given, -1)` on a tensor of sizes `dims`: their quotient, which view() only
    runs where it is exact (3 * h / 4; a key of s + past tokens; kv heads of falcon's fused
    (h + 2 kv) * d viewed as (h // kv + 2, d)); an integer division where none is found."""
    total, known = X.ONE, X.ONE
    for d in dims:
        total = total * d
    for g in given:
        known = known * g
    q = X.exact_div(total, known)
    if q is None:  # cancel the given sizes against the tensor's own dims, then divide what is left
        rest, left = X.ONE, list(dims)
        for g in given:
            if g in left:
                left.remove(g)
            else:
                rest = rest * g
        kept = X.ONE
        for d in left:
            kept = kept * d
        q = kept if rest == X.ONE else X.exact_div(kept, rest)
        if q is None:
            q = X.monomial_quotient(kept, rest)
    return q if q is not None else X.floordiv(total, known)
