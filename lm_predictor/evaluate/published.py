"""What a published config.json says beyond the architecture, read the way transformers 4.56 reads it.

- Composite configs (`text_config`, `vision_config`, ...): where the causal-LM class is built
  on the text sub-config (Llama4ForCausalLM on Llama4TextConfig, MllamaForCausalLM, Emu3ForCausalLM),
  `AutoModelForCausalLM.from_pretrained` passes `config.get_text_config()`, so the text model is
  what runs and what eval prices. Other composite classes take the whole config and read their
  sub-configs themselves.
- `torch_dtype` (written by 4.56) and `dtype` (its newer name): either is read; both, disagreeing,
  is an error. The checkpoint dtype is reported in `--json` (`config_facts.dtype`); the workload's
  `--dtype` is what gets priced.
- `quantization_config`: reported, never silently dropped. eval prices the unquantized model.
- Per-layer lists are checked against the config (lm_predictor.evaluate.layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.evaluate.layers import check_layer_lists, check_list_types

DTYPE_KEYS = ("torch_dtype", "dtype")

_QUANT_FIELDS = ("quant_method", "bits", "load_in_4bit", "load_in_8bit", "bnb_4bit_quant_type", "weight_dtype", "fmt", "group_size")
"""quantization_config fields worth a word in the report (the rest stay in --json)."""


@dataclass
class Published:
    """The config to price, and what the file said that pricing does not use."""

    config: dict
    dtype: str | None = None
    quantization: dict | None = None
    text_of: str | None = None
    notes: list[str] = field(default_factory=list)

    def facts(self) -> dict:
        """The `config_facts` block of `eval --json`."""
        return {"dtype": self.dtype, "quantization": self.quantization, "text_config_of": self.text_of}


def read_published(raw: dict, workload_dtype: str) -> Published:
    """The config eval prices for `raw`, with the dtype / quantization it declares, as notes."""
    dtype = _checkpoint_dtype(raw)
    quant = raw.get("quantization_config")
    out = Published(raw, dtype, dict(quant) if isinstance(quant, dict) else None)
    if out.quantization is not None:
        out.notes.append(f"the config is quantized ({_describe_quant(out.quantization)}); eval prices the unquantized model at dtype {workload_dtype}")
    text = _bound_text_config(raw)
    if text is not None:
        out.text_of = str(raw.get("model_type"))
        out.config = text
        out.notes.append(f"{out.text_of} builds its causal LM on text_config: priced the text model ({text['model_type']})")
    return out


def check_published(raw: dict, resolved: dict) -> None:
    """One-line C errors for a config that disagrees with itself."""
    check_layer_lists(raw, resolved)
    for key, sub in raw.items():
        if key.endswith("_config") and isinstance(sub, dict) and isinstance(sub.get("model_type"), str):
            check_layer_lists(sub, sub, where=key)
        elif key.endswith("_config") and isinstance(sub, dict):
            check_list_types(sub, f"{key}.")


def _checkpoint_dtype(raw: dict) -> str | None:
    given = {key: raw[key] for key in DTYPE_KEYS if raw.get(key) is not None}
    if len(given) == 2 and given["torch_dtype"] != given["dtype"]:
        raise LmPredictorError(d.make(d.C_DTYPE_CONFLICT, None, detail=f"'torch_dtype' is {given['torch_dtype']!r} but 'dtype' is {given['dtype']!r}; a config names one checkpoint dtype"))
    value = next(iter(given.values()), None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LmPredictorError(d.make(d.C_CONFIG, None, detail=f"'{next(iter(given))}' must be a dtype name such as \"bfloat16\", got {value!r}"))
    return value.removeprefix("torch.")


def _describe_quant(quant: dict) -> str:
    shown = [f"{k}={quant[k]}" for k in _QUANT_FIELDS if k in quant and quant[k] not in (None, False)]
    return ", ".join(shown) if shown else "quantization_config without quant_method"


def _bound_text_config(raw: dict) -> dict | None:
    """The text sub-config as a config of its own, where the causal-LM class is built on it."""
    from lm_predictor.data.transformers_table import load_table

    model_type = raw.get("model_type")
    facts = load_table()["model_types"].get(model_type) if isinstance(model_type, str) else None  # read only: no copy
    if not facts or not facts.get("binds_text_config"):
        return None
    text = raw.get("text_config")
    if text is None:
        text = {}
    if not isinstance(text, dict):
        raise LmPredictorError(d.make(d.C_CONFIG, None, detail=f"'text_config' must be an object, got {type(text).__name__}"))
    text_class = facts["sub_configs"]["text_config"]
    text_type = next((t for t, f in load_table()["model_types"].items() if f["config_class"] == text_class), None)
    given = text.get("model_type", text_type)
    if given != text_type:
        raise LmPredictorError(d.make(d.C_CONFIG, None, detail=f"'text_config' has model_type {given!r}; {model_type} expects {text_type!r}"))
    bound = {**text, "model_type": text_type}
    for key in DTYPE_KEYS:  # the checkpoint dtype is stated once, at the top
        if key in raw and key not in bound:
            bound[key] = raw[key]
    return bound
