"""The generated transformers table: reader behaviour and agreement with transformers."""

import importlib
import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lm_predictor.data import transformers_table as tt

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ["llama", "gpt2", "gpt_neox", "mistral", "mixtral", "qwen2", "gemma", "phi3", "falcon", "t5", "bert", "llava", "mamba2"]
# (model_type, key) whose value __init__ rewrites from a given value; resolve_config keeps raw.
REWRITTEN = {("qwen2", "sliding_window"), ("deepseek_v3", "rope_scaling")}  # deepseek_v3 adds rope_type from "type"


def _transformers():
    """Import transformers, or skip the test."""
    return pytest.importorskip("transformers")


def _load_generator():
    """Import scripts/gen_transformers_table.py as a module."""
    spec = importlib.util.spec_from_file_location("gen_transformers_table", ROOT / "scripts" / "gen_transformers_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_shape():
    table = tt.load_table()
    assert table["transformers_version"] == "4.56.0"
    assert table["pretrained_defaults"]["tie_word_embeddings"] is True
    assert len(table["model_types"]) > 300
    assert tt.causal_lm_for("llama") == "transformers.models.llama.modeling_llama.LlamaForCausalLM"
    assert tt.causal_lm_for("bert") == "transformers.models.bert.modeling_bert.BertLMHeadModel"
    assert tt.causal_lm_for("llava") is None
    assert tt.causal_lm_for("no-such-type") is None
    assert tt.config_facts("no-such-type") is None


def test_config_facts_is_a_copy():
    facts = tt.config_facts("llama")
    facts["init_defaults"]["hidden_size"] = 1
    assert tt.config_facts("llama")["init_defaults"]["hidden_size"] == 4096


def test_resolve_fills_llama_defaults():
    raw = {"model_type": "llama", "hidden_size": 2048, "num_attention_heads": 16}
    resolved = tt.resolve_config(raw)
    assert resolved is not raw and raw == {"model_type": "llama", "hidden_size": 2048, "num_attention_heads": 16}
    assert resolved["hidden_size"] == 2048
    assert resolved["intermediate_size"] == 11008
    assert resolved["num_hidden_layers"] == 32
    assert resolved["vocab_size"] == 32000
    assert resolved["rms_norm_eps"] == 1e-6
    assert resolved["rope_theta"] == 10000.0
    assert resolved["tie_word_embeddings"] is False  # LlamaConfig's default beats PretrainedConfig's
    assert resolved["attention_bias"] is False
    assert "num_key_value_heads" not in resolved  # default None: derived by __init__, not given
    assert "head_dim" not in resolved


def test_resolve_pretrained_defaults_and_overrides():
    assert tt.resolve_config({"model_type": "falcon"})["tie_word_embeddings"] is True
    assert tt.resolve_config({"model_type": "dbrx"})["tie_word_embeddings"] is False


def test_resolve_exposes_attribute_map_aliases():
    resolved = tt.resolve_config({"model_type": "gpt2", "n_embd": 1024})
    assert resolved["n_embd"] == resolved["hidden_size"] == 1024
    assert resolved["n_layer"] == resolved["num_hidden_layers"] == 12
    by_alias = tt.resolve_config({"model_type": "gpt2", "hidden_size": 1600})
    assert by_alias["n_embd"] == by_alias["hidden_size"] == 1600


def test_resolve_results_do_not_share_state():
    first = tt.resolve_config({"model_type": "gpt_neo"})
    first["attention_types"].append("mutated")
    assert "mutated" not in tt.resolve_config({"model_type": "gpt_neo"})["attention_types"]
    assert "mutated" not in json.dumps(tt.load_table()["model_types"]["gpt_neo"])


@pytest.mark.parametrize("raw", [{"model_type": "not-a-model"}, {}, {"model_type": None}])
def test_resolve_unknown_model_type_is_one_line_error(raw):
    with pytest.raises(ValueError) as err:
        tt.resolve_config(raw)
    assert "\n" not in str(err.value)


def test_reader_imports_neither_torch_nor_transformers():
    code = (
        "import sys\n"
        "from lm_predictor.data import transformers_table as t\n"
        "t.resolve_config({'model_type': 'llama'}); t.causal_lm_for('gpt2')\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_generated_file_is_deterministic_json():
    path = ROOT / "lm_predictor" / "data" / "transformers_configs.json"
    text = path.read_text()
    assert text == json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("model_type", SAMPLE)
def test_table_agrees_with_transformers(model_type):
    transformers = _transformers()
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    assert transformers.__version__ == tt.load_table()["transformers_version"]
    facts = tt.config_facts(model_type)
    cls = CONFIG_MAPPING[model_type]
    assert facts["config_class"] == f"{cls.__module__}.{cls.__qualname__}"
    assert facts["attribute_map"] == dict(cls.attribute_map)
    params = inspect.signature(cls.__init__).parameters
    for name, default in facts["init_defaults"].items():
        expected = params[name].default
        assert default == (list(expected) if isinstance(expected, tuple) else expected), name
    for name in facts["unrepresentable"]:
        assert facts["unrepresentable"][name] == repr(params[name].default)
    assert facts["in_causal_lm_mapping"] == (model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    if facts["causal_lm"]:
        module, _, name = facts["causal_lm"].rpartition(".")
        lm_cls = getattr(importlib.import_module(module), name)
        assert lm_cls.__module__ == module and name == MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type]


def test_pretrained_defaults_match_signature():
    transformers = _transformers()
    params = inspect.signature(transformers.PretrainedConfig.__init__).parameters
    defaults = tt.load_table()["pretrained_defaults"]
    for name, param in params.items():
        if param.default is not param.empty:
            assert defaults[name] == param.default, name
    assert defaults["use_bfloat16"] is False and defaults["transformers_version"] is None


@pytest.mark.parametrize("config_path", sorted((ROOT / "configs").glob("*/config.json")), ids=lambda p: p.parent.name)
def test_resolve_matches_transformers_on_bundled_configs(config_path):
    _transformers()
    from transformers import AutoConfig

    raw = json.loads(config_path.read_text())
    resolved = tt.resolve_config(raw)
    config = AutoConfig.for_model(**raw)
    for key, value in resolved.items():
        actual = getattr(config, key)
        if key in ("dtype", "torch_dtype"):
            assert str(actual) == f"torch.{value}"
        elif (raw["model_type"], key) not in REWRITTEN:
            assert actual == value, key


def test_checked_in_table_is_current():
    _transformers()
    generator = _load_generator()
    path = ROOT / "lm_predictor" / "data" / "transformers_configs.json"
    assert path.read_text() == generator.render(generator.build_table()), "rerun scripts/gen_transformers_table.py"
