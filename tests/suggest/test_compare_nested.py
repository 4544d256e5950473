"""verify.compare.aggregate with ModuleLists inside ModuleLists (MoE experts in every layer)."""

from lm_predictor.verify.compare import aggregate


def test_nested_module_lists_count_each_parameter_once() -> None:
    # 2 layers, each with an `experts` ModuleList of 2 experts of 10 parameters
    params = {
        "model.layers": 2 * (5 + 20),
        "model.layers.0": 5 + 20, "model.layers.1": 5 + 20,
        "model.layers.0.norm": 5, "model.layers.1.norm": 5,
        "model.layers.0.experts": 20, "model.layers.1.experts": 20,
        "model.layers.0.experts.0": 10, "model.layers.0.experts.1": 10,
        "model.layers.1.experts.0": 10, "model.layers.1.experts.1": 10,
    }
    totals = aggregate(params)
    assert totals["model.layers"] == 50
    assert totals["model.layers.norm"] == 10
    assert totals["model.layers.experts"] == 40  # not 80: the entries are inside their container


def test_called_entries_of_an_uncalled_container_are_summed() -> None:
    # flops: the experts run, the ModuleList holding them does not (no key of its own)
    flops = {"model.layers.0": 30, "model.layers.1": 30, "model.layers.0.experts.0": 10, "model.layers.0.experts.1": 20}
    totals = aggregate(flops)
    assert totals["model.layers"] == 60
    assert totals["model.layers.experts"] == 30
