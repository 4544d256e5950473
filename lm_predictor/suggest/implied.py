"""Facts learned under a branch: recorded as `guard -> fact`, used where the guard holds.

A fact is what must hold for the code not to raise (`self.ln_attn` read where only some config
builds it). Learned inside `if a:` it says `a -> fact`, not `fact`: recorded unconditionally it
would make the other arm of `if a:` look dead (FalconDecoderLayer's `else: self.input_layernorm(x)`).
An implication is stored as the disjunction `not guard or fact`; the literals that hold are found
by unit propagation: a disjunctive fact whose other disjuncts the known literals contradict
gives its last one.
"""

from __future__ import annotations

from typing import Iterable

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool
from lm_predictor.suggest.valueops import decide_in


def under_guard(guard: Bool, fact: Bool) -> Bool:
    """`guard -> fact` as one Bool: the fact itself where the guard is true (no branch taken)."""
    return fact if guard == X.TRUE else X.bor(X.bnot(guard), fact)


def _literals(cond: Bool) -> tuple:
    """The literals a condition asserts (the parts of a conjunction; itself otherwise)."""
    return cond.args if cond.kind == "and" else (cond,)


def fact_literals(facts: Iterable[Bool], context: Iterable[Bool] = ()) -> set:
    """The literals the facts give, with each disjunctive fact's last open disjunct where the
    context's and the facts' literals contradict all its others (the context's own literals left out)."""
    known: set = set()
    for cond in context:
        known.update(_literals(cond))
    lits: set = set()
    pending: list = []
    for fact in facts:
        lits.update(_literals(fact))
        if fact.kind == "or":
            pending.append(fact)
    changed = True
    while pending and changed:
        changed = False
        for fact in list(pending):
            held = lits | known
            open_parts = [x for x in fact.args if decide_in(x, held) is not False]
            if len(open_parts) > 1 and not any(decide_in(x, held) is True for x in open_parts):
                continue
            pending.remove(fact)
            if len(open_parts) == 1:
                lits.update(_literals(open_parts[0]))
                changed = True
    return lits
