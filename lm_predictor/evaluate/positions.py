"""Workload limits that come from the model: learned position tables and trained context.

The table `lm_predictor/data/position_limits.json` (scripts/gen_position_limits.py) names, per
model type, the config field that sizes a learned position table. Past that table the model
cannot run, so the workload is refused (C010). Other models (RoPE, ALiBi) run past their
`max_position_embeddings`; that gets a warning with the number (C011).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Diagnostic, LmPredictorError
from lm_predictor.workload import Workload

TRAINED_CONTEXT_FIELD = "max_position_embeddings"


@functools.lru_cache(maxsize=1)
def learned_tables() -> dict[str, dict]:
    """model_type -> how its learned position table is sized (see the module docstring)."""
    text = resources.files("lm_predictor.data").joinpath("position_limits.json").read_text(encoding="utf-8")
    return json.loads(text)["learned"]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _learned(config: dict) -> dict | None:
    entry = learned_tables().get(str(config.get("model_type")))
    if entry is None:
        return None
    if "when" in entry and not config.get(entry["when"]):
        return None
    if "unless" in entry and config.get(entry["unless"]):
        return None
    return entry


def _table_size(entry: dict, config: dict) -> tuple[int, int | None] | None:
    """(rows of the learned table, rows reserved before the first position) or None where unset."""
    value = _int(config.get(entry["field"]))
    if value is None:
        return None
    return value, _int(config.get(entry["reserved_after"])) if entry["reserved_after"] else None


def learned_limit(config: dict) -> int | None:
    """The most tokens (past + new) the model's learned position table holds; None without one."""
    entry = _learned(config)
    size = _table_size(entry, config) if entry is not None else None
    return None if size is None else size[0] - (size[1] + 1 if size[1] is not None else 0)


def check_positions(config: dict, workload: Workload, model: str) -> list[Diagnostic]:
    """Warnings for `workload` on the resolved `config`; raises C010 past a learned table."""
    tokens = workload.past_len + workload.seq_len
    name = model.rsplit(".", 1)[-1]
    entry = _learned(config)
    if entry is not None:
        size = _table_size(entry, config)
        if size is None:
            return []
        value, pad = size
        limit = value - (pad + 1 if pad is not None else 0)
        if tokens > limit:
            reserved = f", less {pad + 1} rows before the first position" if pad is not None else ""
            raise LmPredictorError(d.make(d.C_PAST_POSITIONS, None, tokens=tokens, model=name, limit=limit, field=entry["field"], value=value, reserved=reserved))
        return []
    trained = _int(config.get(TRAINED_CONTEXT_FIELD))
    if trained is not None and tokens > trained:
        return [d.make(d.C_PAST_CONTEXT, None, tokens=tokens, limit=trained, model=name, field=TRAINED_CONTEXT_FIELD)]
    return []
