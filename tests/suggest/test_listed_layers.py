"""Per-layer sums over a config that lists its layers: conditions on the layer index that test it
against listed layers (layer_types read at the layer) become groups of layers with exact counts."""

from __future__ import annotations

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.layers import index_cells, layer_sets, split_layers

I = Num.sym("#i")


def listed(*layers: int) -> X.Bool:
    return X.bor(*(X.cmp("==", I, k) for k in layers))


def counts_at(cells: list, n: int) -> list:
    return [X.substitute(count, {"n": Num.const(n)}).const_value() for count, _, _ in cells]


def test_gemma3_270m_sliding_and_full_layers() -> None:
    # layer_types of google/gemma-3-270m: 18 layers, full attention at 5, 11, 17, the rest sliding
    sliding = listed(*[j for j in range(18) if (j + 1) % 6])
    cells = index_cells([sliding], "#i", Num.sym("n"))
    assert counts_at(cells, 18) == [15, 3]  # 18 - 3 full = 15 sliding
    assert [rep.const_value() for _, rep, _ in cells] == [0, 5]  # the first layer of each kind
    assert counts_at(cells, 12) == [10, 2]  # fewer layers than listed: the runs are cut at n


def test_two_lists_give_every_combination_that_occurs() -> None:
    # a sliding list and an MoE list over 6 layers: (sliding, moe) per layer 0..5 is
    # (1,0) (1,1) (0,0) (1,1) (1,0) (0,1): four combinations, counted 2, 2, 1, 1
    sliding, moe = listed(0, 1, 3, 4), listed(1, 3, 5)
    cells = index_cells([sliding, moe], "#i", Num.sym("n"))
    assert sorted(counts_at(cells, 6)) == [1, 1, 2, 2]
    assert sum(counts_at(cells, 6)) == 6
    assert sum(counts_at(cells, 9)) == 9  # layers past the lists fall in the all-false group


def test_negated_forms_are_the_same_sets() -> None:
    # not (i == 2 or i == 4), and i != 2 and i != 4: both hold everywhere but layers 2 and 4
    for atom in (X.bnot(listed(2, 4)), X.band(X.cmp("!=", I, 2), X.cmp("!=", I, 4))):
        assert layer_sets([atom], "#i") == [({2, 4}, True)]
        cells = index_cells([atom, X.cmp("==", I, 0)], "#i", Num.sym("n"))
        assert sorted(counts_at(cells, 5)) == [1, 2, 2]  # layer 0; layers 1, 3; layers 2, 4


def test_a_condition_that_is_not_a_list_is_left_to_the_other_rules() -> None:
    assert layer_sets([X.cmp(">=", I, Num.sym("m"))], "#i") is None


def test_listed_layers_and_a_threshold_together() -> None:
    # afmoe: layer_types read at the layer (sliding at 0, 1, 2, full after) and MoE from layer m on.
    # Layers 0..2 (up to the last listed one) are cells of their own; from layer 3 on the
    # threshold alone splits the layers: [max(3, m), n) and [3, min(n, m)).
    sliding, moe = listed(0, 1, 2), X.cmp(">=", I, Num.sym("m"))
    with X.using(X.SymbolFacts(positive={"m", "n"})):
        cells = index_cells([sliding, moe], "#i", Num.sym("n"))
    at = lambda n, m: [X.substitute(c, {"n": Num.const(n), "m": Num.const(m)}).const_value() for c, _, _ in cells]
    assert at(10, 2) == [1, 1, 1, 7, 0]  # layers 3..9: 7 layers, all >= 2
    assert at(10, 6) == [1, 1, 1, 4, 3]  # layers 6..9 (4) >= 6; layers 3, 4, 5 (3) below
    assert at(2, 1) == [1, 1, 0, 0, 0]  # two layers: only 0 and 1 exist
    assert [rep.const_value() for _, rep, _ in cells[:3]] == [0, 1, 2]


def test_listed_layers_and_a_threshold_carry_the_threshold_truths() -> None:
    # the per-layer sum assumes, in each group, the truths split_layers gives (it crashed on gemma3n_text's
    # to_json config when this mixed split gave none): layers 0..2 assume nothing (their index decides),
    # the groups from layer 3 on assume the threshold held or failed, and the listed test failed (3 is not listed)
    sliding, moe = listed(0, 1, 2), X.cmp(">=", I, Num.sym("m"))
    with X.using(X.SymbolFacts(positive={"m", "n"})):
        cells = split_layers([sliding, moe], "#i", Num.sym("n"))
    assert [truths for *_, truths in cells] == [{}, {}, {}, {sliding: False, moe: True}, {sliding: False, moe: False}]


def test_listed_layers_a_threshold_and_a_modulo_pattern_together() -> None:
    # zamba: ["mamba", "mamba", "hybrid"] + ["hybrid" if i % p == o else "mamba" for i in range(n - 3)]:
    # layers 0, 1 listed, layer 2 below the threshold 3, then every p-th layer from 3 + o on.
    # n = 7, p = 2, o = 1: layers 3..6 hold (i - 3) % 2 == 1 at 4 and 6 (2 layers), fail at 3 and 5 (2 layers)
    listed01, below3 = listed(0, 1), X.cmp("<", I, 3)
    periodic = X.cmp("==", X.mod(I - 3, Num.sym("p")), Num.sym("o"))
    with X.using(X.SymbolFacts(positive={"p", "n"}, nonneg={"o"})):
        cells = split_layers([listed01, below3, periodic], "#i", Num.sym("n"))
    at = lambda n, p, o: [X.substitute(c, {"n": Num.const(n), "p": Num.const(p), "o": Num.const(o)}).const_value() for c, *_ in cells]
    counts = at(7, 2, 1)
    assert sum(counts) == 7
    assert counts[:2] == [1, 1]  # layers 0 and 1, each a cell of its own
    by_truth = {(t.get(below3), t.get(periodic)): c for (_, _, _, t), c in zip(cells, counts)}
    assert by_truth[(True, True)] + by_truth[(True, False)] == 1  # layer 2
    assert by_truth[(False, True)] == 2 and by_truth[(False, False)] == 2  # layers 4, 6 and 3, 5
    assert sum(at(12, 3, 0)) == 12  # every layer in exactly one cell


def test_listed_layers_and_a_modular_pattern_together() -> None:
    # qwen3_next: layer_types read at the layer (linear attention at 0, 1, 2, 4, 5, 6: full every 4th) and
    # MoE where (i + 1) % p == 0. Layers 0..6 are cells of their own; from layer 7 on the pattern splits.
    linear, moe = listed(0, 1, 2, 4, 5, 6), X.cmp("==", X.mod(I + 1, Num.sym("p")), 0)
    with X.using(X.SymbolFacts(positive={"p", "n"})):
        cells = split_layers([linear, moe], "#i", Num.sym("n"))
    at = lambda n, p: [X.substitute(c, {"n": Num.const(n), "p": Num.const(p)}).const_value() for c, *_ in cells]
    assert at(12, 1) == [1] * 7 + [5, 0]  # every layer MoE: layers 7..11 (5) in the MoE cell
    assert at(12, 3) == [1] * 7 + [2, 3]  # layers 7..11: 8 and 11 have (i + 1) % 3 == 0; 7, 9, 10 do not
    assert at(4, 2) == [1, 1, 1, 1, 0, 0, 0, 0, 0]  # four layers: only 0..3 exist
    assert [truths for *_, truths in cells[7:]] == [{linear: False, moe: True}, {linear: False, moe: False}]
    rep = X.substitute(cells[7][1], {"p": Num.const(3)}).const_value()
    assert rep == 8  # the first MoE layer from 7 on: (8 + 1) % 3 == 0


def test_per_layer_config_overrides_read_at_the_layer_index() -> None:
    # gemma4_text's to_json config: per_layer_config {"04": {"head_dim": 512}, "09": {"head_dim": 512}} over a
    # global head_dim; config.per_layer_config[i].head_dim is 512 at layers 4 and 9 and the global value elsewhere
    from lm_predictor.suggest.brains.transformers_lib import layer_config, nested_config_attr
    from lm_predictor.suggest.values import DictV, ObjectV

    overrides = DictV({"04": DictV({"head_dim": Num.const(512)}), "09": DictV({"head_dim": Num.const(512)})})
    owner = ObjectV(None, {"head_dim": Num.sym("head_dim"), "hidden_size": Num.sym("hidden"), "per_layer_config": overrides}, kind="config")
    assert nested_config_attr(None, owner, "is_heterogeneous") == X.TRUE
    view = nested_config_attr(None, owner, "per_layer_config")
    layer = layer_config(None, view, I)
    at = lambda i: X.substitute(layer.attrs["head_dim"], {"#i": Num.const(i), "head_dim": Num.const(256)}).const_value()
    assert [at(i) for i in (0, 4, 5, 9)] == [256, 512, 256, 512]
    assert layer.attrs["hidden_size"] == Num.sym("hidden")  # not overridden: the config's own value
    assert layer_config(None, view, Num.const(9)).attrs["head_dim"] == Num.const(512)
