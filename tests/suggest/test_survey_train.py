"""The survey's train column: per-config results, and a metric exact only when exact at every config that ran."""

from __future__ import annotations

import json

from tests.cli.util import load_script

EXACT = {m: "exact" for m in ("flops", "flops_ckpt", "weight_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes")}


def _survey():
    return load_script("survey", "bench")


def test_a_metric_wrong_at_one_config_is_not_exact() -> None:
    survey = _survey()
    wrong_b = {**EXACT, "grad_bytes": "mismatch: predicted 10 measured 8"}
    train = survey.combine_train({"varied_a": dict(EXACT), "varied_b": wrong_b, "to_json": dict(EXACT)})
    assert train["grad_bytes"] == "mismatch: varied_b: predicted 10 measured 8"
    assert train["flops"] == "exact" and train["flops_ckpt"] == "exact"
    assert train["configs"]["varied_b"]["grad_bytes"].startswith("mismatch")  # the per-config result is kept


def test_unavailable_at_one_config_is_not_exact_and_a_mismatch_wins() -> None:
    survey = _survey()
    train = survey.combine_train({
        "varied_a": {**EXACT, "activation_bytes": "unavailable"},
        "varied_b": {**EXACT, "flops_ckpt": "error: ValueError: does not support gradient checkpointing"},
        "to_json": {**EXACT, "flops_ckpt": "mismatch: predicted 3 measured 4"},
    })
    assert train["activation_bytes"] == "unavailable"
    assert train["flops_ckpt"] == "mismatch: to_json: predicted 3 measured 4"


def test_a_config_whose_step_failed_does_not_count_but_is_kept() -> None:
    survey = _survey()
    train = survey.combine_train({"varied_a": dict(EXACT), "to_json": {"error": "oracle: OracleUnsupported: fake tensors cannot run"}})
    assert train["flops"] == "exact" and "error" not in train
    assert survey.train_ran({"train": train}) == ["varied_a"]
    failed = survey.combine_train({"varied_a": {"error": "eval: LmPredictorError: C013"}})
    assert failed["error"] == "eval: LmPredictorError: C013" and "flops" not in failed


def test_totals_count_types_exact_at_all_three_configs() -> None:
    survey = _survey()
    three = {"model_type": "a", "train": survey.combine_train({n: dict(EXACT) for n in survey.TRAIN_CONFIGS})}
    one = {"model_type": "b", "train": survey.combine_train({"varied_a": dict(EXACT)})}
    old = {"model_type": "c", "train": dict(EXACT)}  # a record from before per-config results: varied A only
    survey.VERSION = "4.56.0"
    t = survey.totals([three, one, old])
    assert t["train_exact"]["flops"] == 3 and t["train_exact_all_configs"]["flops"] == 1
    assert t["train_configs_ran"] == {1: 2, 3: 1} and t["train_surveyed"] == 3


def test_the_trust_table_hides_a_metric_wrong_at_any_config() -> None:
    gen = load_script("gen_survey_trust")
    survey = _survey()
    train = survey.combine_train({"varied_a": dict(EXACT), "varied_b": {**EXACT, "flops_ckpt": "mismatch: predicted 5 measured 6"}})
    record = {"model_type": "a", "exact": True, "configs": {"to_json": {"exact": True, "mode": "fake"}, "minimal": {"exact": True, "mode": "fake"}}, "train": train}
    entry = json.loads(json.dumps(gen.entry(record)))
    assert entry["train_mismatch"] == {"flops_ckpt": "varied_b: predicted 5 measured 6"}


def test_varied_c_is_a_third_train_config_unlike_a_and_b() -> None:
    """Varied C (train column only): 2 layers, a quarter of the KV heads (MQA where 4 does not divide
    the heads), a quarter of the FFN, untied, the last layers of a per-layer list, and a pad token
    where the class leaves it unset."""
    survey = _survey()
    default = {"num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 8, "intermediate_size": 64,
               "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]}
    variants = survey._variants(default)
    assert variants["varied_c"] == {"tie_word_embeddings": False, "num_hidden_layers": 2, "num_key_value_heads": 2,
                                    "intermediate_size": 16, "layer_types": ["sliding_attention", "full_attention"], "pad_token_id": 0}
    assert variants["varied_a"]["num_hidden_layers"] == 3 and variants["varied_b"]["num_hidden_layers"] == 5
    assert survey._variants({**default, "num_attention_heads": 6})["varied_c"]["num_key_value_heads"] == 1
    assert "pad_token_id" not in survey._variants({**default, "pad_token_id": 1})["varied_c"]  # a set one stays
    assert survey.TRAIN_CONFIGS == ("varied_a", "varied_b", "varied_c") and survey.TRAIN_ONLY == ("varied_c",)


def test_a_step_too_big_for_real_tensors_is_priced_and_measured_shrunk(monkeypatch) -> None:
    """4.56 blenderbot: fake tensors refuse LayerDrop's `rand`, the model is over REAL_MAX_PARAMS;
    eval and the oracle then both take shrink_config(config), and the record says so."""
    survey = _survey()
    seen: list[dict] = []

    def step(config: dict, library) -> dict:
        seen.append(config)
        if config["hidden_size"] > 64:
            return {"error": "oracle: OracleUnsupported: fake tensors cannot run this step (X) and the model is too big for real tensors"}
        return dict(EXACT)

    monkeypatch.setattr(survey, "_train_step", step)
    result = survey.survey_train({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 3}, None)
    assert [c["hidden_size"] for c in seen] == [4096, 64] and seen[1]["num_hidden_layers"] == 2
    assert result["activation_bytes"] == "exact" and result["shrunk"].startswith("OracleUnsupported")
    assert survey._train_cell(survey.combine_train({"varied_a": result})).endswith("(shrunk)")
    other = {"error": "oracle: ValueError: Expected input batch_size (0) to match target batch_size (12)."}
    monkeypatch.setattr(survey, "_train_step", lambda config, library: dict(other))
    assert survey.survey_train({"model_type": "llama", "hidden_size": 4096}, None) == other  # any other failure stays


def test_an_interrupted_survey_keeps_what_it_measured(tmp_path, monkeypatch) -> None:
    """run_all rewrites `<json>.partial.json` after each type: a run stopped before its end leaves
    the records so far (a full 5.23 run killed at 138 of 189 types had kept nothing)."""
    survey = _survey()
    monkeypatch.setattr(survey, "survey_one", lambda mt, *a, **k: {"model_type": mt, "configs": {}, "exact": mt == "a"})
    partial = tmp_path / "survey.partial.json"
    records = survey.run_all(["a", "b"], 1, 60.0, partial)
    kept = json.loads(partial.read_text())
    assert kept["partial"] is True
    assert [r["model_type"] for r in kept["records"]] == [r["model_type"] for r in records] == ["a", "b"]
