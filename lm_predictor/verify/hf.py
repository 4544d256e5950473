"""Turn a config.json dict into a transformers config and causal-LM class."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lm_predictor.verify.errors import OracleUnsupported

# Keys of a hub config.json that describe the checkpoint, not the architecture.
_DROP_KEYS = ("model_type", "quantization_config", "auto_map", "_name_or_path", "transformers_version")


TORCH_LOGGERS = ("torch._subclasses.fake_tensor",)
"""Torch loggers that print an op's failure with its traceback (`failed while attempting to run meta
for aten.mul.Tensor`) before raising it: the exception reaches verify, which says it in one line (C012)."""


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' info/warning logging and torch's fake-tensor error logs for the
    duration (their errors reach us as exceptions)."""
    import logging as std_logging

    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    loggers = [std_logging.getLogger(name) for name in TORCH_LOGGERS]
    disabled = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        logging.set_verbosity(level)
        for logger, was in zip(loggers, disabled):
            logger.disabled = was


def hf_config(config: dict[str, Any]) -> Any:
    """Build a PretrainedConfig from a config.json dict (eager attention)."""
    from transformers import AutoConfig

    model_type = config.get("model_type")
    if not model_type:
        raise OracleUnsupported("config has no model_type")
    rest = {k: decode_floats(v) for k, v in config.items() if k not in _DROP_KEYS}
    try:
        with quiet_transformers():  # e.g. an unknown rope_type warns here, then fails the build
            cfg = AutoConfig.for_model(model_type, **rest)
    except Exception as e:  # unknown type, invalid values, missing sub-configs
        raise OracleUnsupported(f"cannot build {model_type} config: {type(e).__name__}: {_first_line(e)}") from e
    # as AutoModelForCausalLM.from_pretrained does: a class built on the text sub-config gets it
    subs = getattr(cfg, "sub_configs", None) or {}
    if "text_config" in subs and getattr(model_class(config), "config_class", None) is subs["text_config"]:
        cfg = cfg.get_text_config()
    cfg._attn_implementation = "eager"
    if getattr(cfg, "use_mamba_kernels", False):  # fused CUDA kernels: the build refuses them on CPU, and
        cfg.use_mamba_kernels = False  # FlopCounterMode could not count them; the torch path is what is measured
    return cfg


_FLOAT_TAGS = {"Infinity": float("inf"), "-Infinity": float("-inf"), "NaN": float("nan")}
"""transformers 5.x `to_json_file()` writes non-finite floats as {"__float__": "Infinity"}; its reader decodes them."""


def decode_floats(value: Any) -> Any:
    """`value` with every {"__float__": tag} object replaced by its float, as transformers 5.x reads config.json
    (`PreTrainedConfig._decode_special_floats`); a config built from the raw dict fails its field validation."""
    if isinstance(value, dict):
        if set(value) == {"__float__"} and value["__float__"] in _FLOAT_TAGS:
            return _FLOAT_TAGS[value["__float__"]]
        return {k: decode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_floats(v) for v in value]
    return value


def model_class(config: dict[str, Any]) -> type:
    """The causal-LM class: architectures[0] if it is one, else the model_type's default."""
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    known = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    archs = config.get("architectures") or []
    name = archs[0] if archs and (archs[0] in known or archs[0].endswith("ForCausalLM")) else None
    if name is None or not hasattr(transformers, name):
        name = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(config.get("model_type", ""))
    if name is None:
        raise OracleUnsupported(f"no causal-LM class for model_type {config.get('model_type')!r}")
    return getattr(transformers, name)


def _first_line(e: BaseException) -> str:
    """First line of an exception message."""
    text = str(e).strip()
    return text.splitlines()[0] if text else ""
