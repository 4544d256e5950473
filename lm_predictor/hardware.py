"""Hardware presets (`lm_predictor/data/hardware.yaml`) and user hardware files (torch-free).

Public API, for latency and for anyone who needs GPU sizes:
- `preset_names()` -> the preset keys;
- `load_hardware(spec)` -> a `Hardware`, for a preset name or a path to a `.yaml` file;
- `Hardware.peak_flops(dtype)`, `.bandwidth` (bytes/s), `.memory_bytes`.

A user file holds one entry with the preset fields (see the data file's header):

    name: my-gpu
    peak_tflops: {fp32: 60, tf32: 400, bf16: 800, fp16: 800, fp8: null, int8: 1600}
    memory_bandwidth_gbps: 3000
    memory_gb: 80
    interconnect: {name: NVLink, bandwidth_gbps: 900}   # optional

Any missing, unknown, non-numeric or negative field is a one-line C081 error at its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import LmPredictorError, Location

PEAK_DTYPES = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")
"""Keys of `peak_tflops`; every preset gives all of them (null: no such unit)."""

COMPUTE_DTYPE_PEAK = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
"""Workload dtype -> the peak its matmuls run at. float32 uses fp32, not tf32: PyTorch keeps
`torch.backends.cuda.matmul.allow_tf32 = False` by default."""

_REQUIRED = ("peak_tflops", "memory_bandwidth_gbps", "memory_gb")
_OPTIONAL = ("name", "interconnect", "sources")
_DATA_FILE = Path(__file__).resolve().parent / "data" / "hardware.yaml"


@dataclass(frozen=True)
class Hardware:
    """One accelerator: dense peaks, memory bandwidth and size, interconnect."""

    key: str
    name: str
    peak_tflops: Mapping[str, float | None]
    memory_bandwidth_gbps: float
    memory_gb: float
    interconnect: str | None = None
    interconnect_gbps: float | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes per second."""
        return self.memory_bandwidth_gbps * 1e9

    @property
    def memory_bytes(self) -> int:
        """Memory size in bytes (GB = 10^9 bytes, as vendors state it)."""
        return int(self.memory_gb * 1e9)

    def peak_flops(self, dtype: str) -> float:
        """Dense peak FLOP/s for a workload dtype (float32, bfloat16, float16) or a peak key."""
        key = COMPUTE_DTYPE_PEAK.get(dtype, dtype)
        value = self.peak_tflops.get(key)
        if value is None:
            raise LmPredictorError(d.make(d.C_NO_PEAK, None, detail=f"hardware {self.key!r} gives no {key} peak (needed for {dtype} matmuls)"))
        return value * 1e12

    def describe(self) -> dict[str, Any]:
        """The fields a JSON report names."""
        return {"key": self.key, "name": self.name, "memory_bandwidth_gbps": self.memory_bandwidth_gbps, "memory_gb": self.memory_gb, "peak_tflops": dict(self.peak_tflops)}


def _plain(value: Any) -> Any:
    """Positioned YAML (lm_predictor.rules.yaml_loader) -> plain data, keeping the nodes for errors."""
    from lm_predictor.rules.yaml_loader import YMap, YSeq

    if isinstance(value, YMap):
        return {k.value: v for k, v in value.items}
    if isinstance(value, YSeq):
        return list(value.items)
    return value.value


class _Checker:
    """Reads one hardware entry; every error names the file, line and column."""

    def __init__(self, source: Any, key: str):
        self.source, self.key = source, key

    def error(self, at: Any, detail: str) -> LmPredictorError:
        return LmPredictorError(self.source.diagnostic(d.C_BAD_HARDWARE, at.node, detail=detail))

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        from lm_predictor.rules.yaml_loader import YMap

        if not isinstance(value, YMap):
            raise self.error(value, f"{where} must be a mapping")
        return _plain(value)

    def number(self, value: Any, where: str, *, nullable: bool = False) -> float | None:
        raw = _plain(value)
        if raw is None and nullable:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:
            raise self.error(value, f"{where} must be a number, got {raw!r}")
        if raw <= 0 or raw == float("inf"):
            raise self.error(value, f"{where} must be positive and finite, got {raw!r}")
        return float(raw)

    def entry(self, node: Any) -> Hardware:
        fields = self.mapping(node, f"hardware {self.key!r}")
        unknown = sorted(set(fields) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise self.error(node, f"unknown field {unknown[0]!r}; expected {', '.join(_REQUIRED + _OPTIONAL)}")
        missing = [f for f in _REQUIRED if f not in fields]
        if missing:
            raise self.error(node, f"hardware {self.key!r} lacks {', '.join(missing)}")
        peaks_node = fields["peak_tflops"]
        peaks = self.mapping(peaks_node, "peak_tflops")
        bad = sorted(set(peaks) - set(PEAK_DTYPES))
        if bad:
            raise self.error(peaks_node, f"peak_tflops has unknown dtype {bad[0]!r}; expected {', '.join(PEAK_DTYPES)}")
        peak_values = {k: self.number(peaks[k], f"peak_tflops.{k}", nullable=True) if k in peaks else None for k in PEAK_DTYPES}
        if all(v is None for v in peak_values.values()):
            raise self.error(peaks_node, "peak_tflops gives no peak at all")
        link, link_gbps = None, None
        if fields.get("interconnect") is not None and _plain(fields["interconnect"]) is not None:
            inter = self.mapping(fields["interconnect"], "interconnect")
            link = str(_plain(inter["name"])) if "name" in inter else "link"
            if "bandwidth_gbps" not in inter:
                raise self.error(fields["interconnect"], "interconnect lacks bandwidth_gbps")
            link_gbps = self.number(inter["bandwidth_gbps"], "interconnect.bandwidth_gbps")
        sources = {k: str(_plain(v)) for k, v in self.mapping(fields["sources"], "sources").items()} if "sources" in fields else {}
        return Hardware(
            key=self.key,
            name=str(_plain(fields["name"])) if "name" in fields else self.key,
            peak_tflops=MappingProxyType(peak_values),
            memory_bandwidth_gbps=self.number(fields["memory_bandwidth_gbps"], "memory_bandwidth_gbps"),
            memory_gb=self.number(fields["memory_gb"], "memory_gb"),
            interconnect=link,
            interconnect_gbps=link_gbps,
            sources=MappingProxyType(sources),
        )


def _read(path: Path) -> tuple[Any, Any]:
    """(source file, positioned YAML root) of a hardware file, refusing non-mappings."""
    from lm_predictor.rules.yaml_loader import YMap, load_yaml, read_text

    try:
        source = read_text(str(path))
        root = load_yaml(source)
    except LmPredictorError as err:  # S-coded YAML problems are reported as a hardware-file error
        raise LmPredictorError(d.make(d.C_BAD_HARDWARE, None, detail=err.diagnostic.headline())) from None
    if not isinstance(root, YMap):
        raise LmPredictorError(d.make(d.C_BAD_HARDWARE, Location(str(path)), detail="a hardware file must hold a mapping"))
    return source, root


@lru_cache(maxsize=1)
def presets() -> Mapping[str, Hardware]:
    """Every preset of the shipped data file, by key."""
    source, root = _read(_DATA_FILE)
    table = _plain(root)["hardware"]
    return MappingProxyType({key: _Checker(source, key).entry(node) for key, node in _plain(table).items()})


def preset_names() -> list[str]:
    """The preset keys, in file order."""
    return list(presets())


def load_hardware(spec: str) -> Hardware:
    """A preset by name, or the one entry of a user `.yaml` / `.yml` file."""
    table = presets()
    if spec in table:
        return table[spec]
    path = Path(spec)
    if path.suffix not in (".yaml", ".yml"):
        raise LmPredictorError(d.make(d.C_UNKNOWN_HARDWARE, None, name=spec, known=", ".join(table)))
    if not path.exists():
        raise LmPredictorError(d.make(d.C_BAD_HARDWARE, Location(spec), detail="no such file"))
    source, root = _read(path)
    return _Checker(source, path.stem).entry(root)
