"""The vectorised sweep equals the scalar path exactly: int64 where safe, Python ints where not."""

from __future__ import annotations

import numpy as np
import pytest

from lm_predictor.codegen.runtime import backend_for
from lm_predictor.codegen.sweep import sweep
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.engine.evaluate import evaluate
from lm_predictor.evaluate.binding import bind, find_root_rule, resolve
from lm_predictor.evaluate.config_source import load_config
from lm_predictor.evaluate.predict import default_library
from lm_predictor.workload import Workload
from tests.codegen.util import library_from_yaml


def scalar(library, rule, metric, base, arrays, i):
    bindings = dict(base, **{k: int(v[i]) for k, v in arrays.items()})
    try:
        return evaluate(library, rule, metric, bindings).value
    except LmPredictorError as err:
        return err.diagnostic.code.code


def assert_matches(library, rule, metrics, base, arrays, result, sample=None):
    size = len(next(iter(arrays.values())))
    for i in sample if sample is not None else range(size):
        for metric in metrics:
            got = result[metric][i]
            want = scalar(library, rule, metric, base, arrays, i)
            if isinstance(got, LmPredictorError):
                assert got.diagnostic.code.code == want, (metric, i)
            else:
                assert type(want) is int and int(got) == want, (metric, i, got, want)


def grid(nb, ns, npast):
    b, s, p = np.meshgrid(np.arange(1, nb + 1), np.arange(1, 20 * ns + 1, 20), np.arange(0, 50 * npast, 50), indexing="ij")
    return {"batch": b.ravel(), "seq_len": s.ravel(), "past_len": p.ravel()}


def test_llama_sweep_is_exact_in_int64():
    library = default_library()
    raw, _ = load_config("llama-2-7b")
    resolved = resolve(raw)
    rule = find_root_rule(library, resolved)
    base = bind(rule, resolved, Workload(1, 1, 0))
    arrays = grid(8, 6, 5)
    metrics = list(rule.metrics)
    result = sweep(library, rule.name, metrics, base, arrays)
    assert all(result[m].dtype == np.int64 for m in metrics)
    assert_matches(library, rule.name, metrics, base, arrays, result, sample=range(0, 240, 7))


def test_huge_sizes_switch_to_exact_python_ints(tmp_path):
    library = library_from_yaml(
        tmp_path,
        "rules:\n"
        "  s.Big:\n"
        "    params: {batch: int, seq_len: int, past_len: int, hidden: int}\n"
        "    flops: \"$batch * $seq_len * $hidden * $hidden * ($past_len + $seq_len)\"\n"
        "    param_count: \"{inner: s.Inner}(n=$batch * $hidden) // 3 - $past_len % 7\"\n"
        "  s.Inner:\n"
        "    params: {n: int}\n"
        "    param_count: \"max($n, 5) * ceil_div($n, 3) + (if $n > 100 then $n * $n else -$n)\"\n"
    )
    base = {"hidden": 2**40}
    arrays = grid(4, 3, 3)
    result = sweep(library, "s.Big", ["flops", "param_count"], base, arrays)
    assert result["flops"].dtype == object  # bound >= 2**63: exact Python ints
    assert_matches(library, "s.Big", ["flops", "param_count"], base, arrays, result)


def test_errors_and_fractions_fall_back_per_workload(tmp_path):
    library = library_from_yaml(
        tmp_path,
        "rules:\n"
        "  s.Odd:\n"
        "    params: {batch: int, seq_len: int, past_len: int}\n"
        "    flops: \"$batch * $seq_len // $past_len\"\n"
        "    param_count: \"$seq_len / 3\"\n"
        "    bytes_read: \"if $batch > 2 then $seq_len else $past_len * 2\"\n"
    )
    arrays = grid(4, 3, 3)  # past_len 0 divides by zero in some workloads
    result = sweep(library, "s.Odd", ["flops", "bytes_read"], {}, arrays)
    assert result["flops"].dtype == object
    assert any(isinstance(x, LmPredictorError) for x in result["flops"])
    assert result["bytes_read"].dtype == np.int64  # a per-workload condition: both branches, selected
    assert_matches(library, "s.Odd", ["flops", "bytes_read"], {}, arrays, result)
    fractions = sweep(library, "s.Odd", ["param_count"], {}, arrays)["param_count"]
    for i in range(len(fractions)):
        assert fractions[i] == evaluate(library, "s.Odd", "param_count", {k: int(v[i]) for k, v in arrays.items()}).value


def test_requirements_that_fail_somewhere_fall_back(tmp_path):
    if not _has_requires():
        pytest.skip("no requires: in this tree")
    library = library_from_yaml(
        tmp_path,
        "rules:\n"
        "  s.Req:\n"
        "    params: {batch: int, seq_len: int}\n"
        "    requires: [\"$batch < 3\"]\n"
        "    flops: \"$batch * $seq_len\"\n"
    )
    arrays = {"batch": np.array([1, 2, 3, 4]), "seq_len": np.array([5, 6, 7, 8])}
    result = sweep(library, "s.Req", ["flops"], {}, arrays)["flops"]
    assert list(result[:2]) == [5, 12]
    assert all(isinstance(x, LmPredictorError) and x.diagnostic.code.code == "E014" for x in result[2:])


def _has_requires() -> bool:
    from lm_predictor.rules.model import Rule

    return "requires" in Rule.__dataclass_fields__


def test_the_sweep_uses_the_backend_for_fallbacks():
    library = default_library()
    assert backend_for(library) is backend_for(library)
