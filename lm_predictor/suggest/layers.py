"""Per-layer costs: conditions on the layer index solved into counts of the layers they select."""

from __future__ import annotations

import itertools

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num


def eval_defined(b: Bool, values: dict) -> Bool:
    """defined(x) decided by the config (a key present with a non-null value)."""
    if b.kind == "defined":
        return X.bconst(values.get(b.args[0]) is not None)
    if b.kind in ("and", "or"):
        parts = [eval_defined(x, values) for x in b.args]
        return X.band(*parts) if b.kind == "and" else X.bor(*parts)
    if b.kind == "not":
        return X.bnot(eval_defined(b.args[0], values))
    return b


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
                # max(0, n + (if c(i) ...)) and kin: the index only inside conditions of the arguments
                if atom.kind != "fn" or not all(isinstance(a, Num) for a in atom.args[1:]):
                    return None
                for arg in atom.args[1:]:
                    got = num_conditions(arg, index)
                    if got is None:
                        return None
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
    # (i + r) % p == 0 / != 0
    atom = d.single_atom() or (-d).single_atom()
    if op in ("==", "!=") and isinstance(atom, X.Op) and atom.kind == "mod":
        inner, p = atom.args
        lin = _linear(inner, index)
        if lin is None or lin[0] != 1 or index in X.free_params(p):
            return None
        r = lin[1]
        count_zero = X.floordiv(n + r - 1, p) - X.floordiv(r - 1, p)
        rep_zero = X.mod(p - X.mod(r, p), p)
        rep_nonzero = X.ifnum(X.cmp("==", X.mod(r, p), 0), ONE, ZERO)
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
    """(r, p) for (i + r) % p == 0; None otherwise."""
    if cond.kind != "cmp" or cond.args[0] not in ("==", "!="):
        return None
    op, a, b = cond.args
    d = a - b
    atom = d.single_atom() or (-d).single_atom()
    if not (isinstance(atom, X.Op) and atom.kind == "mod"):
        return None
    inner, p = atom.args
    lin = _linear(inner, index)
    if lin is None or lin[0] != 1 or index in X.free_params(p):
        return None
    return (lin[1], p)


def index_cells(atoms: list, index: str, n: Num) -> list | None:
    """Split the layers i in [0, n) by the truth of each atom: (count, a layer in the cell, label).

    Atoms may be thresholds (i >= t, i < t, ...), at most one modular pattern ((i + r) % p == 0),
    any number of tests against listed layers (concrete_cells), or one other condition solve_index
    handles.
    Counts are closed forms; a cell's representative layer is only used when its count is > 0."""
    listed = layer_sets(atoms, index)
    if listed is not None:
        return concrete_cells(atoms, listed, n)
    if len(atoms) == 1:
        solved = solve_index(atoms[0], index, n)
        if solved is None:
            return None
        count_true, rep_true, rep_false = solved
        label = X.render_bool(atoms[0])
        return [(count_true, rep_true, label), (n - count_true, rep_false, f"not ({label})")]
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
    if other or len(mods) > 1 or len(atoms) > 4:
        return None
    cells = []
    for truths in itertools.product((True, False), repeat=len(bounds)):
        lo, hi = ZERO, n
        labels = []
        for (a, (kind, t)), truth in zip(bounds, truths):
            if (kind == "lo") == truth:  # i >= t
                lo = X.fn("max", lo, t)
            else:  # i < t
                hi = X.fn("min", hi, t)
            labels.append(X.render_bool(a if truth else X.bnot(a)))
        width = X.fn("max", hi - lo, ZERO)
        if not mods:
            cells.append((width, lo, " and ".join(labels)))
            continue
        (a, (r, p)), = mods
        upto = lambda m: X.floordiv(m + r - 1, p) - X.floordiv(r - 1, p)  # i < m with (i + r) % p == 0
        top = X.fn("max", hi, lo)
        hits = upto(top) - upto(lo)
        first = lo + X.mod(p - X.mod(lo + r, p), p)
        miss = lo + X.ifnum(X.cmp("==", X.mod(lo + r, p), 0), ONE, ZERO)
        cells.append((hits, first, " and ".join(labels + [X.render_bool(a)])))
        cells.append((width - hits, miss, " and ".join(labels + [X.render_bool(X.bnot(a))])))
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
        cells.append((count, Num.const(layers[0]), label))
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
