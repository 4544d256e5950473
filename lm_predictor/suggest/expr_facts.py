"""Symbol facts seen through a rule's renames (emit.py): a rule's final names are its own.

The analysis records facts by internal name (`@dropout`, a constructor argument, may be 0) and by
config name (`dropout`, the config's field, 0.1 > 0 in MVP's config). Where a rule renames the
internal name to the config's (`@dropout` -> `$dropout`), simplifying its formula under the config
name's facts folds `$dropout != 0` to true: the rule's dropout terms lost their guard. The renamed
view gives each final name the facts of the internal name it stands for.
"""

from __future__ import annotations

from dataclasses import replace

from lm_predictor.suggest import expr as X

SIGN_SETS = ("positive", "nonneg", "floats", "counts")
"""The SymbolFacts sets a name belongs to or not."""


def renamed_facts(renames: dict) -> X.SymbolFacts:
    """The facts now active, with each renamed name's facts those of the name it stands for; the active
    facts themselves where no rename changes what is known (the usual case)."""
    facts = X.symbol_facts()
    pairs = [(old, _sym_name(new)) for old, new in renames.items() if _sym_name(new) not in (None, old)]
    clash = [(old, new) for old, new in pairs if any((old in getattr(facts, s)) != (new in getattr(facts, s)) for s in SIGN_SETS)
             or facts.upper.get(old) != facts.upper.get(new)]
    if not clash:
        return facts
    sets = {s: set(getattr(facts, s)) for s in SIGN_SETS}
    upper = dict(facts.upper)
    for old, new in clash:
        for s in SIGN_SETS:
            (sets[s].add if old in getattr(facts, s) else sets[s].discard)(new)
        if old in facts.upper:
            upper[new] = facts.upper[old]
        else:
            upper.pop(new, None)
    return replace(facts, upper=upper, **sets)


def _sym_name(value: object) -> str | None:
    """The name of a bare symbol (a Num or a Bool sym); None otherwise."""
    if isinstance(value, X.Num):
        return value.sym_name()
    if isinstance(value, X.Bool) and value.kind == "sym":
        return value.args[0]
    return None
