"""Every rule of the shipped library, at 3 model configs, through all backends: identical results.

For each of 3 bundled configs whose architecture the library covers, every rule gets bindings
built from that config (parameters named like config keys take the config's value; workload
parameters the workload's; others a per-config size), and every metric is evaluated by the
interpreter, the compiled closures, the generated engine path and the generated fast path.
The root predictions are compared too, call tree included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.evaluate.binding import bind, find_root_rule, resolve
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.formula.interpreter import interpreted_runner
from lm_predictor.resources import configs_dir
from lm_predictor.workload import Workload
from tests.codegen.util import backend, compiled_library
from tests.differential.test_generated_vs_reference import outcome

PREFERRED = ("llama-2-7b", "gpt2", "falcon-7b", "mistral-7b", "phi-3-mini", "pythia-160m", "qwen2.5-7b", "gemma-7b")
WORKLOADS = (Workload(2, 7, 0, "float32"), Workload(3, 1, 5, "bfloat16"), Workload(1, 128, 0, "float16"))
SIZES = (3, 17, 64)


@pytest.fixture(scope="module")
def compiled():
    library, out = compiled_library()
    return library, backend(library, out)


def covered_configs(library) -> list[tuple[str, dict, object]]:
    found = []
    for name in PREFERRED + tuple(sorted(p.name for p in configs_dir().iterdir() if p.is_dir())):
        if any(f[0] == name for f in found) or not (configs_dir() / name).is_dir():
            continue
        try:
            raw, _ = load_config(name)
            resolved = resolve(raw)
            rule = find_root_rule(library, resolved)
        except LmPredictorError:
            continue
        found.append((name, resolved, rule))
        if len(found) == 3:
            break
    return found


def bindings_for(rule, resolved: dict, workload: Workload, size: int) -> dict:
    values = {"batch": workload.batch, "seq_len": workload.seq_len, "past_len": workload.past_len, "dtype_bytes": workload.itemsize, "tokens": workload.batch * workload.seq_len}
    out = {}
    for i, (name, spec) in enumerate(rule.params.items()):
        value = resolved.get(name, values.get(name))
        if spec.type == "bool":
            out[name] = value if isinstance(value, bool) else bool((size + i) % 2)
        elif spec.type == "int":
            out[name] = value if type(value) is int else size + i
        else:
            out[name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else size / 2 + i
    return out


def test_every_rule_at_three_configs(compiled):
    library, generated = compiled
    configs = covered_configs(library)
    assert len(configs) == 3, configs
    checked = values = 0
    for (name, resolved, _), workload, size in zip(configs, WORKLOADS, SIZES):
        for rule in library:
            bindings = bindings_for(rule, resolved, workload, size)
            for metric in rule.metrics:
                interp = outcome(lambda: evaluate(library, rule.name, metric, bindings, runner=interpreted_runner).value)
                compiled_value = outcome(lambda: evaluate(library, rule.name, metric, bindings).value, detailed=True)
                engine = outcome(lambda: evaluate(library, rule.name, metric, bindings, runner=generated.runner).value, detailed=True)
                fast = outcome(lambda: generated.evaluate(rule.name, metric, bindings).value, detailed=True)
                where = f"{name}: {rule.name}.{metric} {bindings}"
                assert compiled_value == engine == fast, where
                assert interp == compiled_value[: len(interp)] if interp[0] == "value" else interp[:2] == compiled_value[:2], where
                checked += 1
                values += compiled_value[0] == "value"
    assert checked >= 3 * len(library)
    assert values > checked * 0.9


def test_root_predictions_and_trees_at_three_configs(compiled):
    library, generated = compiled
    for (name, resolved, rule), workload in zip(covered_configs(library), WORKLOADS):
        bindings = bind(rule, resolved, workload)
        for metric in rule.metrics:
            reference = evaluate(library, rule.name, metric, bindings, trace=True)
            assert generated.evaluate(rule.name, metric, bindings).value == reference.value, (name, metric)
            assert generated.fast_path(rule.name, metric) is not None, (name, metric)
            traced = evaluate(library, rule.name, metric, bindings, trace=True, runner=generated.runner)
            assert traced.tree == reference.tree and traced.value == reference.value, (name, metric)
            assert evaluate(library, rule.name, metric, bindings, runner=interpreted_runner).value == reference.value
