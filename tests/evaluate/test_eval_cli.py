"""`lmpredict eval` end to end: published figures, no torch, sweeps, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lm_predictor.evaluate.predict import predict

REPO = Path(__file__).resolve().parents[2]
LMPREDICT = [sys.executable, "-m", "lm_predictor.cli.main"]


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([*LMPREDICT, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_llama2_7b_published_figures():
    result = run_cli("eval", "configs/llama-2-7b", "--batch", "1", "--seq-len", "128", "--json")
    assert result.returncode == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    # published: /work/shared/reference/published-numbers.md (calflops: 1700.06 GFLOPs)
    assert totals["flops"] == 1_700_001_759_232
    assert totals["param_count"] == 6_738_415_616
    # 2 (k, v) * 32 layers * 1 batch * 32 kv heads * 128 tokens * 128 head_dim * 4 bytes
    assert totals["kv_cache_bytes"] == 2 * 32 * 1 * 32 * 128 * 128 * 4 == 134_217_728


def test_llama2_7b_decode_step_by_hand():
    pred = predict("llama-2-7b", batch=1, seq_len=1, past_len=127, dtype="float16")
    h, ff, layers, vocab, kv = 4096, 11008, 32, 32000, 128
    per_layer = (
        4 * 2 * h * h  # q, k, v, o projections of one token
        + 3 * 2 * h * ff  # gate, up, down
        + 2 * 2 * 32 * 1 * kv * 128  # QK^T and AV: 32 heads, 1 query, 128 keys, head_dim 128
    )
    rotary = 2 * 1 * 64 * 1 * 1  # inv_freq [64, 1] @ position_ids [1, 1]
    assert pred.totals["flops"] == layers * per_layer + 2 * h * vocab + rotary
    # fp16: 2 bytes; the cache holds past + new = 128 positions
    assert pred.totals["kv_cache_bytes"] == 2 * layers * 32 * 128 * 128 * 2


def test_breakdown_has_repetition_counts_and_sums_to_total():
    pred = predict("llama-2-7b", batch=2, seq_len=64)
    rows = {row.path: row for row in pred.modules}
    assert rows["model.layers"].count == 32
    assert rows["model.layers.self_attn.q_proj"].count == 32
    top = [row for row in pred.modules if row.depth == 1]
    assert sum(row.totals["flops"] for row in top) == pred.totals["flops"]
    assert sum(row.totals["param_count"] for row in top) == pred.totals["param_count"]


def test_sweep_gives_one_object_per_workload():
    result = run_cli("eval", "llama-2-7b", "--seq-len", "128,1024", "--batch", "1,4", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [(p["workload"]["batch"], p["workload"]["seq_len"]) for p in payload] == [(1, 128), (1, 1024), (4, 128), (4, 1024)]
    # lm_head alone scales with batch * seq_len: the 4 x 1024 run is 32x the 1 x 128 run
    heads = [next(m["flops"] for m in p["modules"] if m["path"] == "lm_head") for p in payload]
    assert heads[3] == 32 * heads[0]


def test_human_output_shows_humanised_totals_and_tree():
    result = run_cli("eval", "llama-2-7b", "--batch", "1", "--seq-len", "128")
    assert result.returncode == 0, result.stderr
    assert "1.70 TFLOPs" in result.stdout
    assert "layers ×32" in result.stdout


def test_eval_never_imports_torch_or_transformers():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers'):\n"
        "            raise ImportError('eval imported ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from lm_predictor.cli.main import main\n"
        "rc = main(['eval', 'llama-2-7b', '--json'])\n"
        "assert rc == 0, rc\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr


BAD_CONFIGS = {
    "empty.json": "",
    "comments.json": '// a comment\n{"model_type": "llama"}',
    "array.json": "[1, 2]",
    "truncated.json": '{"model_type": "llama", "hidden_size": ',
    "unknown_type.json": '{"model_type": "no_such_model"}',
    "no_type.json": '{"hidden_size": 4096}',
    "negative.json": '{"model_type": "llama", "hidden_size": -4096}',
    "zero_layers.json": '{"model_type": "llama", "num_hidden_layers": 0}',
    "string_size.json": '{"model_type": "llama", "hidden_size": "4096"}',
    "nan.json": '{"model_type": "llama", "hidden_size": NaN}',
    "huge.json": '{"model_type": "llama", "hidden_size": 100000000000000000000000}',
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_is_one_line_exit_2(tmp_path, name):
    path = tmp_path / name
    path.write_text(BAD_CONFIGS[name], encoding="utf-8")
    result = run_cli("eval", str(path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("lmpredict eval: ")
    assert " C0" in lines[0]


def test_missing_config_and_bad_workload_exit_2(tmp_path):
    for args in (["eval", str(tmp_path / "nope.json")], ["eval", "llama-2-7b", "--batch", "0"], ["eval", "llama-2-7b", "--seq-len", "x"]):
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_hub_id_from_local_cache_only(tmp_path):
    snapshot = tmp_path / "hub" / "models--acme--tiny-llama" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 256,
    }))
    env = dict(os.environ, HF_HUB_CACHE=str(tmp_path / "hub"), HF_HUB_OFFLINE="1")
    result = subprocess.run([*LMPREDICT, "eval", "acme/tiny-llama", "--json"], capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    # embed 256*64 + 2 layers * (q,k,v,o 4*64*64 + mlp 3*64*128 + 2 norms 2*64) + norm 64 + lm_head 64*256
    expected = 256 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64 + 64 * 256
    assert json.loads(result.stdout)["totals"]["param_count"] == expected
