"""Latency for one step or a whole generation: prediction -> storage dtypes -> roofline -> report."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError
from lm_predictor.hardware import Hardware, load_hardware
from lm_predictor.latency.generation import Generation, generation_cost
from lm_predictor.latency.roofline import Efficiency, Latency, roofline
from lm_predictor.latency.storage import DEFAULT_GROUP_SIZE, STORAGE_DTYPES, Storage, apply_storage


def _quant_error(detail: str) -> LmPredictorError:
    return LmPredictorError(d.make(d.C_QUANT_CONFIG, None, detail=detail))


def storage_from_quantization_config(qc: Any) -> tuple[str | None, int | None]:
    """(weight storage dtype, group size) a config's quantization_config implies."""
    if not isinstance(qc, dict):
        raise _quant_error("quantization_config must be a mapping")
    method = qc.get("quant_method")
    if method in ("gptq", "awq"):
        bits, group = qc.get("bits", qc.get("w_bit")), qc.get("group_size", qc.get("q_group_size", DEFAULT_GROUP_SIZE))
        if bits not in (4, 8):
            raise _quant_error(f"quantization_config {method} with bits={bits!r}: only 4 and 8 are modelled")
        if not isinstance(group, int) or isinstance(group, bool) or group < 1:
            raise _quant_error(f"quantization_config {method} group_size={group!r}: only positive group sizes are modelled")
        return ("int4" if bits == 4 else "int8"), group
    if method == "fp8":
        fmt = str(qc.get("fmt", "e4m3")).lower()
        if fmt not in ("e4m3", "e5m2"):
            raise _quant_error(f"quantization_config fp8 with fmt={fmt!r}: expected e4m3 or e5m2")
        return f"fp8_{fmt}", None
    if method == "bitsandbytes":
        if qc.get("load_in_8bit"):
            return "int8", None
        if qc.get("load_in_4bit"):
            return "int4", 64  # bitsandbytes 4-bit quantises blocks of 64 with one absmax each
    raise _quant_error(f"quantization_config quant_method {method!r} is not modelled (gptq, awq, fp8, bitsandbytes are)")


@dataclass(frozen=True)
class LatencyRequest:
    """Hardware, efficiency and storage for a latency prediction (hardware None: bytes only)."""

    hardware: Hardware | None
    storage: Storage
    efficiency: Efficiency = Efficiency()

    @classmethod
    def from_options(cls, config: dict, *, hw: str | None, weight_dtype: str | None = None, kv_dtype: str | None = None,
                     group_size: int | None = None, compute: Fraction = Fraction(1), memory: Fraction = Fraction(1)) -> "LatencyRequest":
        """From CLI-style options; a config's quantization_config fills what the options leave open."""
        if "quantization_config" in config and weight_dtype is None:
            weight_dtype, config_group = storage_from_quantization_config(config["quantization_config"])
            group_size = group_size or config_group
        storage = Storage(
            STORAGE_DTYPES[weight_dtype] if weight_dtype else None,
            STORAGE_DTYPES[kv_dtype] if kv_dtype else None,
            group_size or DEFAULT_GROUP_SIZE,
        )
        return cls(load_hardware(hw) if hw else None, storage, Efficiency(compute, memory))


def _exact(value: Any) -> Any:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else str(value)
    return value


@dataclass
class StepResult:
    """One forward step: the (storage-adjusted) prediction and its roofline latency."""

    prediction: Any
    latency: Latency | None
    request: LatencyRequest

    def as_json(self) -> dict[str, Any]:
        """predict()'s JSON plus time_s in totals and modules, hardware and storage in the workload."""
        data = self.prediction.as_json()
        data["workload"].update(self.request.storage.describe())
        if self.latency is None:
            return data
        data["workload"]["hardware"] = self.latency.hardware.describe()
        rows = self.latency.rows
        data["totals"]["time_s"] = float(self.latency.time_s)
        data["totals"]["tokens_per_s"] = float(self.latency.tokens_per_s)
        data["totals"]["compute_bound_s"] = float(rows[""].compute_bound_s)
        data["totals"]["memory_bound_s"] = float(rows[""].memory_bound_s)
        for module in data["modules"]:
            row = rows.get(module["path"])
            if row is not None:
                module["time_s"] = float(row.time_s)
                module["bound"] = row.bound
        data["notes"] = [*data["notes"], *self.latency.notes]
        return data

    def render(self, console: Any, depth: int, metrics: tuple[str, ...]) -> None:
        """The usual eval report, then the latency tree."""
        from lm_predictor.evaluate.report import render
        from lm_predictor.latency.report import render_latency

        render(self.prediction, depth, console, metrics)
        if self.latency is not None:
            render_latency(self.prediction, self.latency, depth, console)


def price_step(config: Any, request: LatencyRequest, workload: dict, *, library: Any = None) -> StepResult:
    """predict() one step, apply storage, then the roofline when hardware is given."""
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.evaluate.predict import predict

    raw, _ = load_config(config) if not isinstance(config, dict) else (config, "")
    request.storage.check(raw)
    prediction = apply_storage(predict(config, library=library, breakdown=True, **workload), request.storage)
    latency = roofline(prediction, request.hardware, request.efficiency) if request.hardware else None
    return StepResult(prediction, latency, request)


@dataclass
class GenerationResult:
    """A priced generation, with what is needed to print it."""

    model: str
    generation: Generation
    request: LatencyRequest
    workload: dict = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        g = self.generation
        data: dict[str, Any] = {
            "model": self.model,
            "workload": {**self.workload, "prompt": g.prompt, "generate": g.new_tokens, **self.request.storage.describe()},
            "totals": {k: _exact(v) for k, v in g.totals.items()},
            "prefill": {k: _exact(v) for k, v in g.prefill_totals.items()},
            "pieces": g.pieces,
        }
        if g.rows is not None and self.request.hardware is not None:
            data["workload"]["hardware"] = self.request.hardware.describe()
            data["totals"]["time_s"] = float(g.rows[""].time_s)
            data["prefill"]["time_s"] = float(g.ttft_s)
            data["decode"] = {"time_s": float(g.decode_s), "time_per_token_s": float(g.decode_s / g.new_tokens) if g.new_tokens else None,
                              "tokens_per_s": float(g.decode_tokens_per_s) if g.decode_tokens_per_s else None}
            data["modules"] = [{"path": p, "time_s": float(r.time_s), "bound": r.bound} for p, r in g.rows.items() if p]
        return data

    def render_text(self) -> str:
        """A few plain lines: totals, TTFT, decode time per token, tokens/s."""
        g = self.generation
        lines = [f"{self.model}  generation: prompt={g.prompt} generate={g.new_tokens} batch={g.batch} "
                 f"dtype={self.workload.get('dtype')} attn={self.workload.get('attn')} ({g.pieces} closed-form pieces)"]
        for metric, value in g.totals.items():
            lines.append(f"  {metric:14s} {int(value) if value.denominator == 1 else float(value):,}")
        if g.rows is not None and self.request.hardware is not None:
            hw = self.request.hardware
            lines.append(f"  hardware       {hw.name}")
            lines.append(f"  time           {float(g.rows[''].time_s):.6g} s")
            lines.append(f"  TTFT (prefill) {float(g.ttft_s):.6g} s")
            if g.new_tokens:
                lines.append(f"  decode         {float(g.decode_s):.6g} s, {float(g.decode_s / g.new_tokens) * 1e3:.4g} ms/token, {float(g.decode_tokens_per_s):,.1f} tokens/s")
        return "\n".join(lines)


def price_generation(config: Any, request: LatencyRequest, *, prompt: int, new_tokens: int, batch: int = 1, dtype: str = "float32",
                     attn: str = "eager", library: Any = None) -> GenerationResult:
    """Prefill `prompt` tokens then `new_tokens` decode steps, in closed form."""
    from lm_predictor.evaluate.config_source import load_config
    from lm_predictor.evaluate.predict import predict

    raw, _ = load_config(config) if not isinstance(config, dict) else (config, "")
    request.storage.check(raw)
    models: list[str] = []

    def step(seq_len: int, past_len: int) -> Any:
        prediction = predict(config, batch=batch, seq_len=seq_len, past_len=past_len, dtype=dtype, attn=attn, library=library, breakdown=True)
        models.append(prediction.model)
        return apply_storage(prediction, request.storage)

    generation = generation_cost(step, prompt=prompt, new_tokens=new_tokens, batch=batch, hardware=request.hardware, efficiency=request.efficiency)
    return GenerationResult(models[0], generation, request, {"batch": batch, "dtype": dtype, "attn": attn})
