"""Sums over a loop of ceil(S / B) blocks whose cost depends on the block's index.

A loop `for i in range(num_blocks)` with `num_blocks = (S + B - 1) // B` (or `range(S)`: B = 1)
that slices `x[:, start:end]` with `start = i * B`, `end = min(start + B, S)` costs the same in
every block but the last, which is shorter when B does not divide S. For i <= num_blocks - 2,
(i + 1) * B <= (num_blocks - 1) * B < S, so S = i * B + B + r with r >= 0: substituting that for S
lets the sign rules of expr.py settle every min / max / comparison of the slice bounds. When the
cost then no longer reads i (nor r), the sum over the loop is exactly

    (num_blocks - 1) * cost(interior) + cost(i = num_blocks - 1)

(MiniMax's lightning attention: blocks of `block_size` in prefill, single tokens in decode). That
holds for a loop that runs at least once; the caller guards both terms with num_blocks >= 1 (a
`range(past_len)` in prefill runs no block and costs nothing).
"""

from __future__ import annotations

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, Num

INTERIOR_INDEX = "#blk_i"
SLACK = "#blk_r"


def block_count(count: Num) -> tuple[str, Num] | None:
    """(S's name, B) of a trip count `(S + B - 1) // B`, or (S, 1) of a count that is the symbol S."""
    name = count.sym_name()
    if name is not None:
        return name, ONE
    atom = count.single_atom()
    if not isinstance(atom, X.Op) or atom.kind not in ("floordiv", "ceil_div"):
        return None
    top, size = atom.args
    rest = top - size + ONE if atom.kind == "floordiv" else top
    name = rest.sym_name()
    return (name, size) if name is not None else None


def split_block_sum(expr: Num, count: Num, index: str) -> tuple[Num, Num] | None:
    """(cost of an interior block, cost of the last block) of a term of a loop over blocks,
    or None when the loop is not one over ceil(S / B) blocks or the interior cost still reads the index."""
    found = block_count(count)
    if found is None:
        return None
    seq, size = found
    if seq not in X.free_params(expr):
        return None
    facts = X.symbol_facts()
    if isinstance(facts.nonneg, set):
        facts.nonneg.update((INTERIOR_INDEX, SLACK))
    i, r = Num.sym(INTERIOR_INDEX), Num.sym(SLACK)
    interior = X.substitute(expr, {index: i, seq: i * size + size + r})
    if {INTERIOR_INDEX, SLACK} & X.free_params(interior) or index in X.free_params(interior):
        return None
    last = X.substitute(expr, {index: count - ONE})
    return interior, last

