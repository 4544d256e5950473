"""Training-step and memory oracle: one forward + loss + backward + optimizer step, measured.

Definitions are in docs/training.md; this module measures each one on the real model, built
under ``FakeTensorMode`` (no memory, any size) with eager attention:

- flops: ``FlopCounterMode`` around ``m(input_ids=ids, labels=ids).loss.backward()``
  (forward, loss and backward; the optimizer step runs no matmul), with the CPU SDPA kernel and its
  backward counted by torch's CUDA SDPA formulas (``oracle.cpu_sdpa_formulas``), as for inference;
- weight_bytes: distinct storages of parameters and buffers; grad_bytes: distinct storages of
  ``p.grad`` after backward; optimizer_bytes: distinct storages of every tensor in
  ``optimizer.state`` after the step (plus fp32 master weights under mixed precision);
- activation_bytes: distinct storages that ``torch.autograd.graph.saved_tensors_hooks`` packs
  during the forward and loss, parameters and buffers excluded;
- peak_bytes: ``torch.distributed._tools.mem_tracker.MemTracker`` peak (all live storages:
  weights, grads, optimizer state, activations, temporaries, KV cache) over the step; and
  forward_peak_bytes, backward_peak_bytes, optimizer_peak_bytes: the same maximum over the ops
  of each phase (forward with the loss, ``loss.backward()``, ``optimizer.step()``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from lm_predictor.verify.errors import OracleUnsupported
from lm_predictor.workload import Workload

OPTIMIZERS = ("adamw", "sgd", "adafactor")


@dataclass
class TrainMeasurement:
    """What one measured training step (or inference call, for peak_bytes) held and did."""

    totals: dict[str, int]
    peak_by_kind: dict[str, int] = field(default_factory=dict)  # MemTracker's kinds at the peak
    notes: list[str] = field(default_factory=list)


def measure_train(
    config: dict[str, Any],
    workload: Workload,
    *,
    optimizer: str = "adamw",
    grad_checkpointing: bool = False,
    mixed_precision: bool = False,
    peak: bool = True,
) -> TrainMeasurement:
    """Measure one training step of `config` (see the module docstring for each metric).

    Fake tensors first; a model whose forward needs data (e.g. Phi-3 longrope picks its factors
    from the largest position) runs with real tensors, seeded, if it is small."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    step = (config, workload, optimizer, grad_checkpointing, mixed_precision, peak)
    try:
        return _measure_train_either(*step, use_cache=None)
    except Exception as e:
        if isinstance(e, (OracleUnsupported, *_data_dependent())):
            raise
        try:
            result = _measure_train_either(*step, use_cache=False)
        except Exception:  # noqa: BLE001 - the first failure is the finding
            raise e from None
        result.notes.append(f"use_cache=False: the step with the model's default cache raised {type(e).__name__}")
        return result


def _measure_train_either(
    config: dict[str, Any], workload: Workload, optimizer: str, grad_checkpointing: bool, mixed_precision: bool, peak: bool, *, use_cache: bool | None
) -> TrainMeasurement:
    """measure_train with fake tensors, else (a forward that reads data) real ones on a small model."""
    step = (config, workload, optimizer, grad_checkpointing, mixed_precision, peak)
    try:
        return _measure_train(*step, fake=True, use_cache=use_cache)
    except _data_dependent() as e:
        from lm_predictor.verify.oracle import REAL_MAX_PARAMS

        with _built_model(config, workload, train=False) as (model, _):
            n_params = sum(p.numel() for p in model.parameters())
        if n_params > REAL_MAX_PARAMS:
            raise OracleUnsupported(f"fake tensors cannot run this step ({type(e).__name__}) and the model is too big for real tensors") from e
        result = _measure_train(*step, fake=False, use_cache=use_cache)
        result.notes.append(f"real tensors (seed 0): fake tensors raised {type(e).__name__}")
        return result


def _data_dependent() -> tuple[type[BaseException], ...]:
    """Exceptions by which fake tensors refuse a model whose control flow reads tensor values."""
    from torch._subclasses.fake_tensor import DataDependentOutputException, DynamicOutputShapeException

    return (DataDependentOutputException, DynamicOutputShapeException)


def _measure_train(
    config: dict[str, Any], workload: Workload, optimizer: str, grad_checkpointing: bool, mixed_precision: bool, peak: bool, *, fake: bool, use_cache: bool | None = None
) -> TrainMeasurement:
    """measure_train in one tensor mode (`use_cache`: None, the model's default)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from lm_predictor.verify.oracle import cpu_sdpa_formulas

    totals: dict[str, int] = {}
    with _built_model(config, workload, train=True, grad_checkpointing=grad_checkpointing, fake=fake) as (model, ids):
        totals["weight_bytes"] = _storage_bytes([*model.parameters(), *model.buffers()])
        owned = {_key(t) for t in [*model.parameters(), *model.buffers()]}
        saved: dict[Any, int] = {}
        # the CPU SDPA kernel and its backward counted as torch counts the CUDA ones (as the inference oracle does)
        with FlopCounterMode(display=False, custom_mapping=cpu_sdpa_formulas()) as fc:
            with torch.autograd.graph.saved_tensors_hooks(_pack_into(saved, owned), lambda t: t):
                loss = _loss(model, ids, use_cache)
            loss.backward()
        totals["flops"] = int(fc.get_total_flops())
        totals["activation_bytes"] = sum(saved.values())
        totals["grad_bytes"] = _storage_bytes([p.grad for p in model.parameters() if p.grad is not None])
        opt, masters = _optimizer(model, optimizer, mixed_precision)
        _step(opt, optimizer)
        totals["optimizer_bytes"] = _state_bytes(opt) + _storage_bytes(masters)
    result = TrainMeasurement(totals)
    if optimizer == "adafactor":
        result.notes.append("adafactor: state measured after _init_group; its update calls .item(), so no peak under fake tensors")
    elif peak and not mixed_precision:
        (result.totals["peak_bytes"], result.peak_by_kind), tracker = _train_peak(config, workload, optimizer, grad_checkpointing, fake, use_cache)
        result.totals.update({f"{phase}_peak_bytes": value for phase, value in tracker.phase_peaks.items()})
        result.notes += [f"{phase} peak at {where}" for phase, where in tracker.phase_where.items()]
    return result


def measure_infer_peak(config: dict[str, Any], workload: Workload) -> TrainMeasurement:
    """MemTracker peak of one forward call (use_cache=True, no_grad), weights and KV cache included.

    Decode (past_len > 0): a prefill of past_len tokens fills the cache first, untracked; its
    tensors are then registered with the tracker (they are live when the step starts), and the
    step feeds seq_len new tokens with past_key_values=<that cache>. A model whose forward needs
    data (Phi-3 longrope) runs with real tensors, seeded, if it is small, as measure_train does."""
    try:
        return _measure_infer_peak(config, workload, fake=True)
    except _data_dependent() as e:
        from lm_predictor.verify.oracle import REAL_MAX_PARAMS

        with _built_model(config, workload, train=False) as (model, _):
            n_params = sum(p.numel() for p in model.parameters())
        if n_params > REAL_MAX_PARAMS:
            raise OracleUnsupported(f"fake tensors cannot run this forward ({type(e).__name__}) and the model is too big for real tensors") from e
        result = _measure_infer_peak(config, workload, fake=False)
        result.notes.append(f"real tensors (seed 0): fake tensors raised {type(e).__name__}")
        return result


def _measure_infer_peak(config: dict[str, Any], workload: Workload, *, fake: bool) -> TrainMeasurement:
    """measure_infer_peak in one tensor mode."""
    import torch

    with _built_model(config, workload, train=False, fake=fake) as (model, ids):
        cache = None
        if workload.past_len:
            with torch.no_grad():
                prefill = model(input_ids=torch.zeros(workload.batch, workload.past_len, dtype=torch.long), use_cache=True)
            cache = prefill.past_key_values
            del prefill
        tracker = _phase_tracker()
        tracker.track_external(model)
        if cache is not None:
            tracker.track_external(*_cache_tensors(cache))
        with torch.no_grad(), tracker:
            tracker.phase = "forward"
            out = model(input_ids=ids, use_cache=True, past_key_values=cache)
        del out
        peak, kinds = _peak(tracker)
    return TrainMeasurement({"peak_bytes": peak}, kinds, [f"peak at {tracker.phase_where.get('forward', '?')}"])


def _cache_tensors(cache: Any) -> list[Any]:
    """The key and value tensors a transformers Cache holds (DynamicCache layers, or the legacy lists;
    an EncoderDecoderCache's self-attention and cross-attention caches)."""
    if hasattr(cache, "self_attention_cache"):
        return _cache_tensors(cache.self_attention_cache) + _cache_tensors(cache.cross_attention_cache)
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return [t for layer in layers for t in (getattr(layer, "keys", None), getattr(layer, "values", None)) if t is not None]
    return [t for t in (*getattr(cache, "key_cache", []), *getattr(cache, "value_cache", [])) if t is not None]


def _train_peak(config: dict[str, Any], workload: Workload, optimizer: str, ckpt: bool, fake: bool, use_cache: bool | None = None) -> tuple[tuple[int, dict[str, int]], Any]:
    """MemTracker peak over forward, backward and optimizer step, in a fresh model; and the
    tracker, which holds the peak of each phase ("forward": forward and loss, "backward",
    "optimizer": optimizer.step()) and where it was reached."""
    with _built_model(config, workload, train=True, grad_checkpointing=ckpt, fake=fake) as (model, ids):
        opt, _ = _optimizer(model, optimizer, False)
        tracker = _phase_tracker()
        tracker.track_external(model, opt)
        with tracker:
            tracker.phase = "forward"
            loss = _loss(model, ids, use_cache)  # kept alive over the step, as a training loop keeps it
            tracker.phase = "backward"
            loss.backward()
            tracker.phase = "optimizer"
            opt.step()
        return _peak(tracker), tracker


def _phase_tracker() -> Any:
    """A MemTracker that also keeps the peak of live bytes (all devices) per named phase: the
    maximum, over the ops run while `phase` held that name, of the total after each op."""
    from torch.distributed._tools.mem_tracker import MemTracker

    class PhaseTracker(MemTracker):
        def __init__(self) -> None:
            super().__init__()
            self.phase = ""
            self.phase_peaks: dict[str, int] = {}
            self.phase_where: dict[str, str] = {}  # "op in module path" at each phase's peak
            self._op = ""

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            self._op = str(func)
            return super().__torch_dispatch__(func, types, args, kwargs)

        def _update_peak_stats(self, peak_state: Any) -> None:
            super()._update_peak_stats(peak_state)
            live = sum(int(snap["Total"]) for snap in self._curr_mem_snap.values())
            if live > self.phase_peaks.get(self.phase, 0):
                self.phase_peaks[self.phase] = live
                module = max(self._mod_tracker.parents, key=len, default="")
                self.phase_where[self.phase] = f"{self._op} in {module}"

    return PhaseTracker()


class _built_model:
    """Context: (model, input_ids) built under FakeTensorMode (or real, seeded), in train or eval mode."""

    def __init__(self, config: dict[str, Any], workload: Workload, *, train: bool, grad_checkpointing: bool = False, fake: bool = True):
        self.config, self.workload, self.train, self.ckpt, self.fake = config, workload, train, grad_checkpointing, fake

    def __enter__(self) -> tuple[Any, Any]:
        import torch
        from torch._subclasses.fake_tensor import FakeTensorMode

        from lm_predictor.verify.hf import hf_config, model_class, quiet_transformers

        self._quiet = quiet_transformers()
        self._quiet.__enter__()
        self._mode = FakeTensorMode(allow_non_fake_inputs=True) if self.fake else nullcontext()
        self._mode.__enter__()
        if not self.fake:
            torch.manual_seed(0)
        cfg, cls = hf_config(self.config), model_class(self.config)
        dtype = getattr(torch, self.workload.dtype)
        model = cls._from_config(cfg, attn_implementation="eager", dtype=dtype)
        if next(model.parameters()).dtype != dtype:
            model = model.to(dtype)
        model.train(self.train)
        if self.ckpt:
            model.gradient_checkpointing_enable()
        ids = torch.zeros(self.workload.batch, self.workload.seq_len, dtype=torch.long)
        return model, ids

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)
        self._quiet.__exit__(None, None, None)


def _loss(model: Any, ids: Any, use_cache: bool | None = None) -> Any:
    """The causal-LM loss of `ids` against themselves; refused for a model that computes none.

    `use_cache` None runs the model's default, as a training loop that does not set it does (the
    cache it builds is part of what the step holds). measure_train retries with use_cache=False
    where that default cannot run: the encoder-decoder decoders run as causal LMs in 4.56
    (BartForCausalLM and its copies) index the cross-attention half of their cache, which nothing
    fills (IndexError), and 5.23's Bamba asks its all-linear-attention cache for a sequence
    length (ValueError); a training loop for them must turn the cache off the same way."""
    out = model(input_ids=ids, labels=ids) if use_cache is None else model(input_ids=ids, labels=ids, use_cache=use_cache)
    loss = getattr(out, "loss", None)
    if loss is None:
        raise OracleUnsupported(f"{type(model).__name__} computes no loss from labels")
    return loss


def _optimizer(model: Any, name: str, mixed_precision: bool) -> tuple[Any, list[Any]]:
    """The torch optimizer over the parameters, or over fp32 master copies under mixed precision."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    masters: list[Any] = []
    if mixed_precision:
        masters = [p.detach().float().requires_grad_(True) for p in params]
        for master, p in zip(masters, params):
            master.grad = p.grad.float() if p.grad is not None else None
        params = masters
    factory: dict[str, Callable[..., Any]] = {
        "adamw": torch.optim.AdamW,
        "sgd": lambda ps: torch.optim.SGD(ps, lr=1e-3),
        "adafactor": torch.optim.Adafactor,
    }
    return factory[name](params), masters


def _step(opt: Any, name: str) -> None:
    """opt.step(); Adafactor's update reads scalars (.item()), which fake tensors refuse after its
    state is allocated (Adafactor._init_group runs first): the state is then complete."""
    from torch._subclasses.fake_tensor import DataDependentOutputException

    try:
        opt.step()
    except DataDependentOutputException:
        if name != "adafactor":
            raise


def _key(t: Any) -> Any:
    """Identity of a tensor's storage (fake storages have no address)."""
    from torch.multiprocessing.reductions import StorageWeakRef

    return StorageWeakRef(t.untyped_storage())


def _storage_bytes(tensors: list[Any]) -> int:
    """Bytes of the distinct storages behind `tensors`."""
    seen: dict[Any, int] = {}
    for t in tensors:
        seen.setdefault(_key(t), t.untyped_storage().nbytes())
    return sum(seen.values())


def _state_bytes(opt: Any) -> int:
    """Bytes of the distinct storages of every tensor in an optimizer's state."""
    import torch

    return _storage_bytes([v for state in opt.state.values() for v in state.values() if isinstance(v, torch.Tensor)])


def _pack_into(saved: dict[Any, int], owned: set[Any]) -> Callable[[Any], Any]:
    """A pack hook recording each saved storage once, skipping parameters and buffers."""

    def pack(t: Any) -> Any:
        key = _key(t)
        if key not in owned:
            saved.setdefault(key, t.untyped_storage().nbytes())
        return t

    return pack


def _peak(tracker: Any) -> tuple[int, dict[str, int]]:
    """(peak total bytes, bytes per kind at the peak) over all devices of a MemTracker."""
    snap = tracker.get_tracker_snapshot("peak")
    kinds: dict[str, int] = {}
    for dev_snap in snap.values():
        for kind, value in dev_snap.items():
            name = str(getattr(kind, "value", kind))
            kinds[name] = kinds.get(name, 0) + int(value)
    return kinds.pop("Total", 0), kinds


def run_train_step(config: dict[str, Any], workload: Workload, optimizer: str, tracker: Any) -> None:
    """One training step (fake tensors, eager, as measure_train runs it) inside a caller's MemTracker:
    `tracker.phase` is set to "forward", "backward" and "optimizer" as the step passes through them
    (bench/peak_trace.py lists what is live at each phase's peak)."""
    with _built_model(config, workload, train=True) as (model, ids):
        opt, _ = _optimizer(model, optimizer, False)
        tracker.track_external(model, opt)
        with tracker:
            tracker.phase = "forward"
            loss = _loss(model, ids)  # kept alive over the step, as a training loop keeps it
            tracker.phase = "backward"
            loss.backward()
            tracker.phase = "optimizer"
            _step(opt, optimizer)
