"""The workload a prediction or a measurement is made for (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from lm_predictor.limits import MAX_BATCH, MAX_CONTEXT_TOKENS

DTYPE_BYTES: dict[str, int] = {"float32": 4, "bfloat16": 2, "float16": 2}
ATTN_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2")
"""`attn_implementation` values of transformers that rules model (docs/latency.md)."""


@dataclass(frozen=True)
class Workload:
    """One forward call: `batch` sequences of `seq_len` new tokens after `past_len` cached ones."""

    batch: int = 1
    seq_len: int = 128
    past_len: int = 0
    dtype: str = "float32"
    attn: str = "eager"

    def __post_init__(self) -> None:
        for name, low in (("batch", 1), ("seq_len", 1), ("past_len", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.batch > MAX_BATCH:
            raise ValueError(f"batch {self.batch:,} is past the limit of {MAX_BATCH:,} (MAX_BATCH in limits.py)")
        if self.past_len + self.seq_len > MAX_CONTEXT_TOKENS:
            raise ValueError(
                f"past_len + seq_len = {self.past_len + self.seq_len:,} tokens is past the limit of "
                f"{MAX_CONTEXT_TOKENS:,} (MAX_CONTEXT_TOKENS in limits.py)"
            )
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"dtype must be one of {sorted(DTYPE_BYTES)}, got {self.dtype!r}")
        if self.attn not in ATTN_IMPLEMENTATIONS:
            raise ValueError(f"attn must be one of {', '.join(ATTN_IMPLEMENTATIONS)}, got {self.attn!r}")

    @property
    def itemsize(self) -> int:
        """Bytes per element of `dtype`."""
        return DTYPE_BYTES[self.dtype]
