"""Per-layer costs: conditions on the layer index solved into counts of the layers they select."""

from __future__ import annotations

import itertools

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num


def rewrite(b: Bool, leaf) -> Bool:
    """b with each part `leaf` decides (a Bool, else None) replaced, through and / or / not."""
    got = leaf(b)
    if got is not None:
        return got
    if b.kind in ("and", "or"):
        parts = [rewrite(x, leaf) for x in b.args]
        return X.band(*parts) if b.kind == "and" else X.bor(*parts)
    if b.kind == "not":
        return X.bnot(rewrite(b.args[0], leaf))
    return b


def eval_defined(b: Bool, values: dict) -> Bool:
    """defined(x) decided by the config (a key present with a non-null value)."""
    return rewrite(b, lambda a: X.bconst(values.get(a.args[0]) is not None) if a.kind == "defined" else None)


def conditions_on(b: Bool, index: str) -> set:
    """Atomic conditions inside b that mention the index (an or of equalities counts as one)."""
    if index not in X.free_params(b):
        return set()
    if b.kind in ("and", "or"):
        if b.kind == "or" and all(x.kind == "cmp" and x.args[0] == "==" for x in b.args):
            return {b}
        out: set = set()
        for x in b.args:
            out |= conditions_on(x, index)
        return out
    if b.kind == "not":
        return conditions_on(b.args[0], index)
    if b.kind == "cmp":  # `1 < (if i % p == c then E else 1)`: decided by the conditions inside
        inner = num_conditions(b.args[1] - b.args[2], index)
        if inner:
            return inner
    return {b}


def num_conditions(num: Num, index: str) -> set | None:
    """Conditions on the index inside a number; None when the index is used as a size."""
    if index not in X.free_params(num):
        return set()
    out: set = set()
    for mono, _ in num.terms:
        for atom, _ in mono:
            if isinstance(atom, X.Sym):
                if atom.name == index:
                    return None
            elif atom.kind == "if":
                out |= conditions_on(atom.args[0], index)
                for arm in atom.args[1:]:
                    got = num_conditions(arm, index)
                    if got is None:
                        return None
                    out |= got
            elif atom.kind == "call":
                continue
            elif index in X.free_params(Num.atom(atom)):
                # max/min/floordiv/... of numbers that read the index only through conditions
                # (a sliding layer's cache length): the same conditions split the layers
                for arg in atom.args:
                    got = num_conditions(arg, index) if isinstance(arg, Num) else (conditions_on(arg, index) if isinstance(arg, X.Bool) else None)
                    if got is None:
                        if index in X.free_params(arg):
                            return None
                        continue
                    out |= got
    return out


def solve_index(cond: Bool, index: str, n: Num) -> tuple | None:
    """(count of i in [0, n) where cond holds, an i where it holds, an i where it fails)."""
    i = Num.sym(index)
    if cond.kind == "or":  # i == k1 or i == k2 ...: a concrete list of layer types
        ks = []
        for x in cond.args:
            _, a, b = x.args
            d = a - b
            k = _linear(d, index)
            if k is None or k[0] not in (1, -1):
                return None
            value = (-k[1] * k[0]).const_value()
            if not isinstance(value, int):
                return None
            ks.append(value)
        ks = sorted(set(ks))
        count = ZERO
        for k in ks:
            count = count + X.ifnum(X.cmp(">", n, k), ONE, ZERO)
        rep_false = next(j for j in range(len(ks) + 1) if j not in ks)
        return count, Num.const(ks[0]), Num.const(rep_false)
    if cond.kind != "cmp":
        return None
    op, a, b = cond.args
    d = a - b
    lin = _linear(d, index)
    if lin is not None:
        s, r = lin
        if s == -1:
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}[op]
            r = -r
        # i + r op 0  ->  i op t
        t = -r
        if op == ">":
            op, t = ">=", t + 1
        if op == "<=":
            op, t = "<", t + 1
        if op in (">=", "<"):
            start = X.fn("min", X.fn("max", t, ZERO), n)
            count_ge = n - start
            rep_ge, rep_lt = X.fn("max", t, ZERO), ZERO
            if op == ">=":
                return count_ge, rep_ge, rep_lt
            return n - count_ge, rep_lt, rep_ge
        if op in ("==", "!="):
            inside = X.band(X.cmp(">=", t, 0), X.cmp("<", t, n))
            count_eq = X.ifnum(inside, ONE, ZERO)
            rep_ne = X.ifnum(X.cmp("==", t, 0), ONE, ZERO)
            if op == "==":
                return count_eq, t, rep_ne
            return n - count_eq, rep_ne, t
        return None
    # (i + r) % p == c / != c
    modular = _modular(cond, index)
    if modular is not None:
        r, p, valid, _ = modular
        count_zero = X.floordiv(n + r - 1, p) - X.floordiv(r - 1, p)
        rep_zero = X.mod(p - X.mod(r, p), p)
        rep_nonzero = X.ifnum(X.cmp("==", X.mod(r, p), 0), ONE, ZERO)
        if valid != X.TRUE:  # a remainder outside [0, p): no layer matches
            count_zero, rep_nonzero = X.ifnum(valid, count_zero, ZERO), X.ifnum(valid, rep_nonzero, ZERO)
        if op == "==":
            return count_zero, rep_zero, rep_nonzero
        return n - count_zero, rep_nonzero, rep_zero
    return None


def _bound(cond: Bool, index: str) -> tuple | None:
    """('lo', t) for i >= t, ('hi', t) for i < t; None when cond is not a threshold on i."""
    if cond.kind != "cmp":
        return None
    op, a, b = cond.args
    lin = _linear(a - b, index)
    if lin is None:
        return None
    s, r = lin
    if s == -1:
        op = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}[op]
        r = -r
    t = -r  # i op t
    if op == ">=":
        return ("lo", t)
    if op == ">":
        return ("lo", t + 1)
    if op == "<":
        return ("hi", t)
    if op == "<=":
        return ("hi", t + 1)
    return None


def _modular(cond: Bool, index: str) -> tuple | None:
    """(r, p, valid, (r0, c)) when cond is `(i + r0) % p == c` (or !=) with c free of i: it holds
    exactly where (i + r) % p == 0 with r = r0 - c, when 0 <= c < p (valid); never otherwise, as
    a Python remainder lies in [0, p). jamba's `i % attn_layer_period == attn_layer_offset` is one."""
    if cond.kind != "cmp" or cond.args[0] not in ("==", "!="):
        return None
    _, a, b = cond.args
    d = a - b
    mods = [t for t in d.terms if any(isinstance(x, X.Op) and x.kind == "mod" for x, _ in t[0])]
    if len(mods) != 1:
        return None
    (mono, coeff), = mods
    if len(mono) != 1 or mono[0][1] != 1 or coeff not in (1, -1):
        return None
    rest = Num(tuple(t for t in d.terms if t is not mods[0]))
    c = -rest if coeff == 1 else rest  # coeff * mod + rest == 0
    inner, p = mono[0][0].args
    lin = _linear(inner, index)
    if lin is None or lin[0] != 1 or index in X.free_params(p) or index in X.free_params(c):
        return None
    valid = X.TRUE if c == ZERO else X.band(X.cmp(">=", c, 0), X.cmp("<", c, p))
    return (lin[1] - c, p, valid, (lin[1], c))


def _residue_cells(lo: Num, hi: Num, labels: list, held: dict, mods: list) -> list:
    """Layers in [lo, hi) split by several periodic conditions (jamba: attention every 8th layer
    from 4, experts every 2nd from 1): counted and found by residue_count / residue_first."""
    cells = []
    for truths in itertools.product((True, False), repeat=len(mods)):
        args: list = []
        for (_, (_, p, _, (r0, c))), truth in zip(mods, truths):
            args += [p, r0, c, ONE if truth else ZERO]
        upto = lambda m: ZERO if m == ZERO else X.fn("residue_count", m, *args)  # noqa: E731
        top = hi if lo == ZERO else X.fn("max", hi, lo)
        label = " and ".join(labels + [X.render_bool(a if t else X.bnot(a)) for (a, _), t in zip(mods, truths)])
        cells.append((upto(top) - upto(lo), X.fn("residue_first", lo, *args), label, {**held, **{a: t for (a, _), t in zip(mods, truths)}}))
    return cells


def index_cells(atoms: list, index: str, n: Num) -> list | None:
    """(count, a layer, label) per group of layers (split_layers without the truths)."""
    cells = split_layers(atoms, index, n)
    return None if cells is None else [cell[:3] for cell in cells]


def assume(b: Bool, truths: dict) -> Bool:
    """b with the atoms of `truths` (or their negations) replaced by their truth in a group of layers."""
    def leaf(a: Bool) -> Bool | None:
        if a in truths:
            return X.bconst(truths[a])
        return X.bconst(not truths[X.bnot(a)]) if X.bnot(a) in truths else None
    return rewrite(b, leaf)


def split_layers(atoms: list, index: str, n: Num) -> list | None:
    """Split the layers i in [0, n) by the truth of each atom: (count, a layer in the cell, label).

    Atoms may be thresholds (i >= t, i < t, ...), at most one modular pattern ((i + r) % p == 0),
    any number of tests against listed layers (concrete_cells), or one other condition solve_index
    handles.
    Counts are closed forms; a cell's representative layer is only used when its count is > 0."""
    listed = layer_sets(atoms, index)
    if listed is not None:
        return concrete_cells(atoms, listed, n)
    mixed = listed_and_bounds(atoms, index, n)
    if mixed is not None:
        return mixed
    if len(atoms) == 1:
        solved = solve_index(atoms[0], index, n)
        if solved is None:
            return None
        count_true, rep_true, rep_false = solved
        label = X.render_bool(atoms[0])
        return [(count_true, rep_true, label, {atoms[0]: True}), (n - count_true, rep_false, f"not ({label})", {atoms[0]: False})]
    bounds, mods, other = _periodic_parts(atoms, index)
    if other or len(atoms) > 4:
        return None
    return range_cells(bounds, mods, ZERO, n, [], {})


def _periodic_parts(atoms: list, index: str) -> tuple:
    """(thresholds, modular patterns, the rest) of atoms on the layer index."""
    bounds, mods, other = [], [], []
    for a in atoms:
        b = _bound(a, index)
        m = _modular(a, index) if b is None else None
        if b is not None:
            bounds.append((a, b))
        elif m is not None:
            mods.append((a if a.args[0] == "==" else X.bnot(a), m))
        else:
            other.append(a)
    return bounds, mods, other


def range_cells(bounds: list, mods: list, start: Num, n: Num, labels0: list, held0: dict) -> list:
    """The layers in [start, n) split by thresholds and modular patterns (each cell also assumes held0)."""
    cells = []
    for truths in itertools.product((True, False), repeat=len(bounds)):
        lo, hi = start, n
        labels, held = list(labels0), dict(held0)
        for (a, (kind, t)), truth in zip(bounds, truths):
            held[a] = truth
            if (kind == "lo") == truth:  # i >= t
                lo = X.fn("max", lo, t)
            else:  # i < t
                hi = X.fn("min", hi, t)
            labels.append(X.render_bool(a if truth else X.bnot(a)))
        width = X.fn("max", hi - lo, ZERO)
        if not mods:
            cells.append((width, lo, " and ".join(labels), held))
            continue
        if len(mods) > 1:
            cells += _residue_cells(lo, hi, labels, held, mods)
            continue
        (a, (r, p, valid, _)), = mods
        upto = lambda m: X.floordiv(m + r - 1, p) - X.floordiv(r - 1, p)  # i < m with (i + r) % p == 0
        top = X.fn("max", hi, lo)
        hits = upto(top) - upto(lo)
        first = lo + X.mod(p - X.mod(lo + r, p), p)
        miss = lo + X.ifnum(X.cmp("==", X.mod(lo + r, p), 0), ONE, ZERO)
        if valid != X.TRUE:  # a remainder outside [0, p): no layer matches
            hits, miss = X.ifnum(valid, hits, ZERO), X.ifnum(valid, miss, lo)
        cells.append((hits, first, " and ".join(labels + [X.render_bool(a)]), {**held, a: True}))
        cells.append((width - hits, miss, " and ".join(labels + [X.render_bool(X.bnot(a))]), {**held, a: False}))
    return cells


def _layer_set(atom: Bool, index: str) -> tuple | None:
    """(layers, negated) when `atom` is `i == k`, `i != k`, an or of equalities, an and of
    inequalities, or a not of those: it holds exactly at `layers` (negated: everywhere else)."""
    if atom.kind == "not":
        inner = _layer_set(atom.args[0], index)
        return None if inner is None else (inner[0], not inner[1])
    want = {"or": "==", "and": "!="}.get(atom.kind, atom.args[0] if atom.kind == "cmp" else None)
    if want not in ("==", "!="):
        return None
    ks = set()
    for x in atom.args if atom.kind in ("or", "and") else (atom,):
        if x.kind != "cmp" or x.args[0] != want:
            return None
        lin = _linear(x.args[1] - x.args[2], index)
        value = None if lin is None else (-lin[1] * lin[0]).const_value()
        if not isinstance(value, int) or value < 0:
            return None
        ks.add(value)
    return ks, want == "!="


def layer_sets(atoms: list, index: str) -> list | None:
    """Per atom, (layers, negated), when every atom tests the index against listed layers: a
    per-layer list of the config (layer_types, per-layer sizes) read at the layer index."""
    sets = [_layer_set(a, index) for a in atoms]
    return None if any(x is None for x in sets) else sets


def listed_and_bounds(atoms: list, index: str, n: Num) -> list | None:
    """Tests against listed layers together with thresholds or modular patterns (afmoe: layer_types
    read at the index, and `i >= num_dense_layers`; qwen3_next: layer_types, and MoE where
    `(i + 1) % decoder_sparse_step == 0`): each layer below `top` (one past the largest listed index)
    is a cell of its own, counted when it is below n; from `top` on every listed test is decided
    (it holds exactly where it is negated), and the thresholds and patterns alone split the layers."""
    listed, rest = [], []
    for a in atoms:
        got = _layer_set(a, index)
        if got is not None:
            listed.append((a, got))
        else:
            rest.append(a)
    bounds, mods, other = _periodic_parts(rest, index)
    if not listed or other or not (bounds or mods) or len(bounds) + len(mods) > 4:
        return None
    top = max((k for _, (ks, _) in listed for k in ks), default=-1) + 1
    # a single layer's cell: its representative decides every test, so it assumes none
    cells = [(X.fn("max", X.fn("min", n, Num.const(j + 1)) - Num.const(j), ZERO), Num.const(j), f"layer {j}", {}) for j in range(top)]
    held = {a: negated for a, (_, negated) in listed}
    return cells + range_cells(bounds, mods, Num.const(top), n, [f"layer >= {top}"], held)


def concrete_cells(atoms: list, sets: list, n: Num) -> list:
    """The layers grouped by which atoms hold: (count of them below n, the first one, label).

    Layer `top` (one past the largest listed index) stands for every later layer, where each
    atom holds exactly when it is negated. A group's count is a sum of runs [a, b) cut at n,
    max(0, min(n, b) - a), so it is exact for any n; 26 layers of gemma-3 (5 sliding, 1 full)
    give two groups, counted 22 and 4 at n = 26 (and 15 and 3 at n = 18)."""
    top = max((k for ks, _ in sets for k in ks), default=-1) + 1
    groups: dict = {}
    for j in range(top + 1):
        groups.setdefault(tuple((j in ks) != negated for ks, negated in sets), []).append(j)
    cells = []
    for truth, layers in groups.items():
        count, start = ZERO, layers[0]
        for prev, cur in zip(layers, [*layers[1:], None]):
            if cur != prev + 1:  # the run [start, prev] ends here
                end = n if prev == top else X.fn("min", n, Num.const(prev + 1))
                count = count + X.fn("max", end - Num.const(start), ZERO)
                start = cur
        label = " and ".join(X.render_bool(a if t else X.bnot(a)) for a, t in zip(atoms, truth))
        cells.append((count, Num.const(layers[0]), label, dict(zip(atoms, truth))))
    return cells


def _linear(d: Num, index: str) -> tuple | None:
    """(s, r) with d == s * i + r, s in {1, -1}, r free of i; else None."""
    s = None
    rest = []
    for mono, coeff in d.terms:
        if any(isinstance(a, X.Sym) and a.name == index for a, _ in mono):
            if mono != ((X.Sym(index), 1),) or coeff not in (1, -1) or s is not None:
                return None
            s = coeff
        else:
            rest.append((mono, coeff))
    if s is None:
        return None
    r = Num(tuple(rest))
    if index in X.free_params(r):
        return None
    return s, r


def list_period(items: list) -> int:
    """The shortest p with items[j] == items[j % p] for every j, where the list holds the pattern at
    least twice (else its length)."""
    n = len(items)
    for p in range(1, n // 2 + 1):
        if all(items[j] == items[j % p] for j in range(p, n)):
            return p
    return n


def periodic_condition(index: Num, flags: list) -> Bool | None:
    """`flags[index]` for a list of truths that repeats with a shorter period p (recurrent_gemma's 300
    layer types, (linear, linear, sliding) * 100): `index % p == r` where one residue holds,
    `index % p != r` where one fails (a modulo pattern the per-layer sums count); else None."""
    p = list_period(flags)
    if p == len(flags):
        return None
    held = [r for r in range(p) if flags[r]]
    failed = [r for r in range(p) if not flags[r]]
    if not held or not failed:
        return X.bconst(bool(held))
    if len(held) == 1:
        return X.cmp("==", X.mod(index, p), held[0])
    if len(failed) == 1:
        return X.cmp("!=", X.mod(index, p), failed[0])
    return None


def count_where(cond: Bool, index: str, n: Num) -> Num | None:
    """How many layers i in [0, n) satisfy cond (conditions free of i allowed alongside); None when
    the conditions on i cannot be split into counted cells."""
    atoms = sorted(conditions_on(cond, index), key=X.render_bool)
    if not atoms:
        return X.ifnum(cond, n, ZERO)
    cells = split_layers(atoms, index, n)
    if cells is None:
        return None
    total = ZERO
    for count, rep, *_ in cells:
        total = total + X.ifnum(X.substitute(cond, {index: rep}), count, ZERO)
    return total
