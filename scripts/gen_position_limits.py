"""Generate lm_predictor/data/position_limits.json from the pinned transformers sources.

`.venv/bin/python scripts/gen_position_limits.py` (after `lmpredict vendor`). For every causal-LM
model type of the pinned table, it reads the module that defines the causal-LM class and
records the config field that sizes a learned position table (`nn.Embedding(config.<field>,
...)` or a `*LearnedPositionalEmbedding(config.<field>, ...)`). A model with such a table
cannot run past it: `lmpredict eval` refuses `past_len + seq_len` beyond the field's value,
less the rows the model reserves (RoBERTa-style position ids start after `pad_token_id`).
Models without one (rotary, ALiBi, sinusoidal, none) get only a warning past
`max_position_embeddings`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lm_predictor.data.transformers_table import causal_lm_for, model_types  # noqa: E402

OUT = REPO / "lm_predictor" / "data" / "position_limits.json"
SOURCE = REPO / "third_party" / "transformers"
LEARNED = re.compile(r"(nn\.Embedding|\w*LearnedPositionalEmbedding)\(\s*(?:self\.)?config\.(\w+)")
POSITION_FIELDS = ("max_position_embeddings", "n_positions", "n_ctx", "max_target_positions")
PAD_OFFSET = "create_position_ids_from_input_ids"  # with nn.Embedding: ids start at padding_idx + 1
# Read by hand from the pinned sources: the learned table is used only when a config bool is
# true ("when") or false ("unless").
GUARDS = {
    "reformer": {"unless": "axial_pos_embds"},  # ReformerEmbeddings: AxialPositionEmbeddings if axial_pos_embds
    "trocr": {"when": "use_learned_position_embeddings"},  # else sinusoidal, which has no end
}


def _module_file(qualname: str) -> Path | None:
    parts = qualname.split(".")[:-1]
    for root in (SOURCE, SOURCE / "src"):
        path = root.joinpath(*parts).with_suffix(".py")
        if path.is_file():
            return path
    return None


def learned_positions() -> dict[str, dict]:
    """model_type -> {"field", "reserved_after", ["when" | "unless"]} for learned position tables."""
    table = {}
    for model_type in model_types():
        qualname = causal_lm_for(model_type)
        path = _module_file(qualname) if qualname else None
        if path is None:
            continue
        text = path.read_text(encoding="utf-8")
        found = [(ctor, f) for ctor, f in LEARNED.findall(text) if f in POSITION_FIELDS]
        if found:
            ctor, field = found[0]
            pad = ctor == "nn.Embedding" and PAD_OFFSET in text
            table[model_type] = {"field": field, "reserved_after": "pad_token_id" if pad else None, **GUARDS.get(model_type, {})}
    return table


def main() -> int:
    table = learned_positions()
    if not table:
        print("no pinned transformers sources under third_party/ (run `lmpredict vendor`)", file=sys.stderr)
        return 1
    lock = json.loads((REPO / "third_party" / "sources.lock.json").read_text())
    payload = {"generated_by": "scripts/gen_position_limits.py", "source": lock["sources"]["transformers"]["requirement"], "learned": table}
    OUT.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(REPO)}: {len(table)} model types with learned position tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
