"""Hypothesis strategies: formulas that follow grammar/formula.lark, and rule-file-shaped YAML.

`formulas()` builds text production by production of the grammar (hypothesis.extra.lark.from_lark
was tried: it needs ~0.4 s per example on this grammar, filters most of them, and glues keywords
together, `notnot`, so it cannot reach 2,000 examples in CI). Every alias of the grammar is
produced (test_grammar_coverage checks that against the .lark file), with small name pools so
that parameters, built-ins and rule calls resolve often enough to be evaluated, and with
optional mutations (a dropped, doubled or foreign character) so that near-misses reach the
parser too.
"""

from __future__ import annotations

from hypothesis import strategies as st

PARAMS = ("x", "y", "n", "f", "b", "q")
"""Parameters of the rule under test (see fuzz_library): ints, a float, a bool, an optional."""

UNKNOWN_NAMES = ("z", "__class__", "__import__", "nan", "inf", "lambda", "os")
BUILTINS = {"min": (1, 3), "max": (1, 3), "abs": (1, 1), "ceil": (1, 1), "floor": (1, 1), "ceil_div": (2, 2), "log2": (1, 1)}
RULES = ("fz.Leaf", "fz.Pair", "fz.R", "fz.Missing", "fz.LeafAlias")
METRICS = ("flops", "param_count", "bytes_read", "__dict__")

INTS = st.one_of(
    st.sampled_from(["0", "1", "2", "3", "7", "10", "64", "4096", "1_000", "007", "9" * 40, "2" * 201]),
    st.integers(min_value=0, max_value=10**6).map(str),
)
FLOATS = st.sampled_from(["0.5", "1.0", "0.0", "1e308", "1.8e308", "1e-320", "2.5e3", ".25", "3.", "1_0.5", "1e400"])
COMPARE = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
ADD = st.sampled_from(["+", "-"])
MUL = st.sampled_from(["*", "/", "//", "%"])
SPACE = st.sampled_from([" ", " ", " ", "", "  ", "\n", "\t"])


def _names() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(PARAMS), st.sampled_from(UNKNOWN_NAMES))


LEAVES = st.one_of(
    INTS,
    FLOATS,
    st.sampled_from(["true", "false"]),
    _names().map(lambda s: "${" + s + "}"),
    _names().map(lambda s: "$" + s),
    _names().map(lambda s: f"defined({s})"),
)

KINDS = (
    "conditional", "or_op", "and_op", "not_op", "compare", "sum", "product", "neg", "pos", "power",
    "param_default", "function", "call", "metric_select", "parens",
)
"""One kind per alias of grammar/formula.lark (sum and product are the two `binary` productions)."""


@st.composite
def _expr(draw: st.DrawFn, budget: list[int]) -> str:
    """One expression; `budget` (shared, mutable) bounds the nodes of the whole formula."""
    budget[0] -= 1
    if budget[0] <= 0 or draw(st.integers(0, 2)) == 0:
        return draw(LEAVES)
    sub = lambda: draw(_expr(budget))  # noqa: E731
    operand = lambda: (f"({sub()})" if draw(st.booleans()) else sub())  # noqa: E731  bare: precedence
    kind = draw(st.sampled_from(KINDS))
    if kind == "conditional":
        return f"if {sub()} then {sub()} else {sub()}"
    if kind in ("or_op", "and_op"):
        return f"{operand()} {kind[:-3]} {operand()}"
    if kind == "not_op":
        return f"not {operand()}"
    if kind == "compare":
        return f"{operand()} {draw(COMPARE)} {operand()}"
    if kind == "sum":
        return f"{operand()} {draw(ADD)} {operand()}"
    if kind == "product":
        return f"{operand()} {draw(MUL)} {operand()}"
    if kind in ("neg", "pos"):
        return ("-" if kind == "neg" else "+") + operand()
    if kind == "power":
        return f"({sub()}) ** {operand()}"
    if kind == "param_default":
        return "${" + draw(_names()) + ":-" + sub() + "}"
    if kind == "function":
        name = draw(st.sampled_from(sorted(BUILTINS)))
        low, high = BUILTINS[name]
        count = draw(st.integers(max(0, low - 1), high + 1))  # sometimes one too few or too many
        return f"{name}({', '.join(sub() for _ in range(count))})"
    if kind in ("call", "metric_select"):
        call = _call_text(draw, sub)
        return f"{call}.{draw(st.sampled_from(METRICS))}" if kind == "metric_select" else call
    return f"({sub()})"


def _call_text(draw: st.DrawFn, sub) -> str:
    rule = draw(st.sampled_from(RULES))
    head = "{" + rule + "}" if draw(st.booleans()) else "{" + draw(st.sampled_from(["lab", "q_proj", "a.b"])) + ": " + rule + "}"
    args = []
    for _ in range(draw(st.integers(0, 3))):
        form = draw(st.integers(0, 3))
        name = draw(st.sampled_from(PARAMS + ("w",)))
        args.append(f"{name}={sub()}" if form < 2 else name if form == 2 else "...")
    trailing = "," if args and draw(st.booleans()) else ""
    return f"{head}({', '.join(args)}{trailing})"


@st.composite
def formulas(draw: st.DrawFn, *, mutate: bool = True, max_nodes: int = 40) -> str:
    """A formula from the grammar; with `mutate`, sometimes one character is dropped, doubled or replaced."""
    text = draw(_expr([draw(st.integers(1, max_nodes))]))
    if mutate and text and draw(st.integers(0, 9)) == 0:
        i = draw(st.integers(0, len(text) - 1))
        kind = draw(st.sampled_from(["drop", "double", "replace"]))
        if kind == "drop":
            text = text[:i] + text[i + 1:]
        elif kind == "double":
            text = text[:i] + text[i] + text[i:]
        else:
            text = text[:i] + draw(st.sampled_from(list("\"'[].;:@#`\\${}()_\u00a0\u2212\u200b\x00\ufeff"))) + text[i + 1:]
    return text


FORMULA_CHARS = st.sampled_from(list("0123456789 +-*/%()<>=!.,:{}$_abcdefinorstxyzIFTE\"'[]\\\n\t#@&|^~;?`") + ["**", "//", "if ", " then ", " else ", "${", ":-", "...", "\u00e9", "\u0445", "\uff11", "\u202e"])
"""Characters and tokens for free-form text near the language (not following the grammar)."""


def near_formula_text() -> st.SearchStrategy[str]:
    return st.lists(FORMULA_CHARS, max_size=60).map("".join)


# ------------------------------------------------------------------------------------------
# YAML rule files
# ------------------------------------------------------------------------------------------

RULE_KEYS = ("aliases", "doc", "params", "metrics", "source", "requires", "flops", "param_count", "bytes_read", "kv_cache_bytes", "flop", "<<")
PARAM_KEYS = ("type", "default", "doc", "optional", "defualt")
TYPES = ("int", "float", "number", "bool", "str", "tensor", "")


def _scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12), formulas(mutate=False), st.sampled_from(["int", "bool", "${x}", "$x + 1", "2 * $n", "{fz.A}(x=1)"]),
    )


def _param_spec() -> st.SearchStrategy[object]:
    spec = st.dictionaries(st.sampled_from(PARAM_KEYS), st.one_of(st.sampled_from(TYPES), _scalars()), max_size=4)
    return st.one_of(st.sampled_from(TYPES), spec, _scalars())


def _rule_name() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["fz.A", "fz.B", "fz.C", "fz.a__b.C", "fz.a.b__C"]), st.text(max_size=10))


def _rule_body() -> st.SearchStrategy[object]:
    params = st.dictionaries(st.one_of(st.sampled_from(PARAMS), st.text(max_size=6)), _param_spec(), max_size=4)
    values = {
        "params": st.one_of(params, _scalars()),
        "aliases": st.one_of(st.lists(_rule_name(), max_size=3), _scalars()),
        "metrics": st.one_of(st.dictionaries(st.sampled_from(["energy", "flops", "__x"]), _scalars(), max_size=2), _scalars()),
        "requires": st.one_of(st.lists(st.one_of(formulas(mutate=False), _scalars()), max_size=2), _scalars()),
    }
    body = st.dictionaries(st.sampled_from(RULE_KEYS), _scalars(), max_size=5).flatmap(
        lambda base: st.fixed_dictionaries({}, optional={k: v for k, v in values.items()}).map(lambda extra: {**base, **extra})
    )
    return st.one_of(body, _scalars(), st.lists(_scalars(), max_size=2))


def rule_documents() -> st.SearchStrategy[object]:
    """Python data shaped like a rule file, right or wrong at every level."""
    rules = st.dictionaries(_rule_name(), _rule_body(), max_size=4)
    return st.one_of(
        st.fixed_dictionaries({"rules": rules}),
        st.fixed_dictionaries({"rules": rules}, optional={"doc": _scalars(), "rule": rules}),
        _scalars(),
        st.lists(_scalars(), max_size=3),
    )
