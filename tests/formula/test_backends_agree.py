"""Differential test: random formulas (fixed seed) give the same value, exact type, error code
and call tree in the compiled and the interpreted backend."""

from __future__ import annotations

import random

ATOMS = ["0", "1", "2", "3", "-1", "7", "0.5", "2.5", "1e308", "true", "false", "${a}", "${b}", "${x}",
         "${flag}", "${c:-4}", "${d1}", "${d2}", "defined(a)", "defined(c)", "{t.Sq}()", "{t.Sq}(a=${a})",
         "{t.Lin}(i=2, o=3).param_count", "{t.Tok}(...)", "(1 / 3)", "10 ** 18"]
BINARY = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", "==", "!=", ">", ">=", "and", "or"]


def formula(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(ATOMS)
    r = rng.random()
    if r < 0.45:
        return f"({formula(rng, depth - 1)} {rng.choice(BINARY)} {formula(rng, depth - 1)})"
    if r < 0.55:
        return f"(-{formula(rng, depth - 1)})"
    if r < 0.6:
        return f"(not {formula(rng, depth - 1)})"
    if r < 0.75:
        return f"(if {formula(rng, depth - 1)} then {formula(rng, depth - 1)} else {formula(rng, depth - 1)})"
    if r < 0.9:
        if rng.random() < 0.6:
            return f"{rng.choice(['min', 'max', 'abs', 'ceil', 'floor', 'log2'])}({formula(rng, depth - 1)})"
        return f"{rng.choice(['min', 'max', 'ceil_div'])}({formula(rng, depth - 1)}, {formula(rng, depth - 1)})"
    return f"({formula(rng, depth - 1)} * {{t.Sq}}(a={formula(rng, depth - 1)}))"


def test_random_formulas_agree(bench) -> None:
    rng = random.Random(1234)
    outcomes = {"value": 0, "error": 0}
    for _ in range(400):
        text = formula(rng, 4)
        bindings = {"a": rng.choice([0, 1, 2, -3]), "b": rng.choice([0, 5]), "x": rng.choice([0.0, 1.5]),
                    "flag": rng.choice([True, False])}
        outcome = bench.agreed(text, bindings)  # asserts that the backends agree
        outcomes["value" if outcome.code is None else "error"] += 1
    # the generator exercises both paths substantially
    assert outcomes["value"] > 80 and outcomes["error"] > 80, outcomes
