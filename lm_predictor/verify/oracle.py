"""Runtime oracle: run a Hugging Face causal LM and measure FLOPs, parameters, bytes and KV cache.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add, matmul-class
ops only, eager attention so QK^T and AV are two counted bmm's). How it keys modules:

- keys are module paths prefixed with the root class name ("LlamaForCausalLM.model.layers.0");
  we strip that prefix, so the root is "" and children are "model", "lm_head", ...
- a count is added to every module on the stack, so a module's value is inclusive;
- a module instance has one key: if it is called several times (the rotary embedding of
  Llama is called once per forward in ``LlamaModel``, not per layer; a module reused in a loop),
  its calls accumulate under that key;
- a module instance reachable under two paths gets one key, the path its parent's
  named_children walk assigned last (ModuleTracker names children depth-first from the root),
  and all its calls count there; the other path has no key;
- modules that ran no counted op (norms, activations, embeddings) have no key: read 0.

Bytes come from ``bytes_counter.BytesCounter`` (see its docstring for the convention).
Decode (past_len > 0): a prefill of past_len tokens builds the cache the model creates itself
(``DynamicCache(config=...)`` in 4.56, sliding-window layers for Mistral-like configs); only the
step feeding seq_len new tokens with ``past_key_values=cache`` is counted. The step is the
minimal call ``model(input_ids=..., past_key_values=cache, use_cache=True)``: no attention_mask,
so position_ids = cache_position[None] has batch 1 (generate() would pass a (batch, seq) one,
which multiplies the tiny rotary ``inv_freq @ position_ids`` matmul by batch).
A model that raises inside the cache it builds itself (5.23 bamba with no attention layer, blenderbot's
cache sized by its encoder layers) is measured at prefill with use_cache=False, without kv_cache_bytes;
its decode is DecodeUnsupported. MoE experts of 5.x are measured eagerly (experts_implementation="eager",
the per-expert loop of counted matmuls); a fused experts module that counted 0 FLOPs is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from lm_predictor.verify.errors import DecodeUnsupported, OracleUnsupported
from lm_predictor.verify.shrink import shrink_config
from lm_predictor.workload import ATTN_IMPLEMENTATIONS, Workload

__all__ = ["DecodeUnsupported", "Measurement", "OracleUnsupported", "Workload", "cpu_sdpa_formulas", "main", "measure", "measure_generation", "shrink_config"]

MODES = ("auto", "fake", "real")
REAL_MAX_PARAMS = 500_000_000  # real mode allocates weights: refuse configs that are not small


@dataclass
class Measurement:
    """What one measured forward call did."""

    totals: dict[str, int]  # flops, param_count, bytes_read, bytes_written, kv_cache_bytes
    module_flops: dict[str, int]  # inclusive, path relative to the root ("" = root)
    module_params: dict[str, int]  # inclusive, tied parameters counted once at their first owner
    mode: str  # "fake" or "real"
    notes: list[str]
    module_bytes: dict[str, dict[str, int]] = field(default_factory=dict)  # path -> {bytes_read, bytes_written}
    op_flops: dict[str, int] = field(default_factory=dict)  # aten op -> flops (whole model)


def measure(config: dict[str, Any], workload: Workload, *, mode: str = "auto") -> Measurement:
    """Run the model of `config` on `workload` and count what it does.

    mode "fake": fake tensors (any size, no memory); "real": real tensors (small configs only,
    seeded); "auto": fake, and OracleUnsupported when fake tensors cannot run the model
    (data-dependent routing or masks). auto never shrinks: the caller shrinks and asks "real".
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "real":
        _check_small(config)
        return _run(config, workload, fake=False)
    try:
        return _run(config, workload, fake=True)
    except OracleUnsupported:
        raise
    except Exception as e:
        reason = _fake_unsupported_reason(e)
        if reason is None:
            raise
        raise OracleUnsupported(f"fake tensors cannot run {config.get('model_type')}: {reason}") from e


def _run(config: dict[str, Any], workload: Workload, *, fake: bool) -> Measurement:
    """Build the model in the chosen tensor mode, run prefill (if any) and the counted step.

    Under no_grad; a model that hands views of its parameters to a submodule (DBRX's chunked
    expert weights) trips FlopCounterMode's module tracker there (a tensor that requires grad
    without a grad_fn), so it runs again with grad on: the forward counts are the same."""
    try:
        return _run_once(config, workload, fake=fake, grad=False)
    except AssertionError as e:
        if "Expected gradient function to be set" not in str(e):
            raise
        return _run_once(config, workload, fake=fake, grad=True)


def _run_once(config: dict[str, Any], workload: Workload, *, fake: bool, grad: bool) -> Measurement:
    """One run of _run, with autograd off (the default) or on."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from lm_predictor.verify.hf import hf_config, model_class, quiet_transformers
    from lm_predictor.verify.kv_cache import cache_bytes

    notes: list[str] = []
    cfg, cls = hf_config(config), model_class(config)
    dtype = getattr(torch, workload.dtype)
    tensor_mode = FakeTensorMode(allow_non_fake_inputs=True) if fake else nullcontext()
    t0 = time.perf_counter()
    with quiet_transformers(), tensor_mode, (nullcontext() if grad else torch.no_grad()):
        if not fake:
            torch.manual_seed(0)
        model = build_model(cls, cfg, dtype, workload.attn)
        t_build = time.perf_counter() - t0
        impl = getattr(model.config, "_attn_implementation", None)
        if impl != workload.attn:
            notes.append(f"WARNING: attention implementation is {impl!r}, not {workload.attn!r}")
        if workload.attn == "sdpa":
            notes.append(SDPA_NOTE)
        param_count = sum(p.numel() for p in model.parameters())
        module_params = _module_params(model)
        ids = make_input_ids(cfg, workload, fake)
        cache = None
        if workload.past_len > 0:
            try:
                prefill = model(input_ids=ids(workload.past_len), use_cache=True)
            except Exception as e:
                if not raised_in_cache_code(e):
                    raise
                raise DecodeUnsupported(f"{cls.__name__} raises in its own cache ({type(e).__name__}: {_first_line(e)}): decode unsupported") from e
            cache = prefill.past_key_values
            if cache is None:
                raise DecodeUnsupported(f"{cls.__name__} returned no past_key_values: decode unsupported")
            notes.append(f"decode: prefill {workload.past_len} tokens into {type(cache).__name__}, counted one step")
        kwargs: dict[str, Any] = {"input_ids": ids(workload.seq_len), "use_cache": True}
        if cache is not None:
            kwargs["past_key_values"] = cache
        t1 = time.perf_counter()
        cacheless = False
        try:
            out, fc, bc = _counted_call(model, kwargs)
        except Exception as e:
            if cache is not None or not raised_in_cache_code(e):
                raise
            # the model cannot hold the cache it builds (bamba with no attention layer in 5.x, blenderbot's cache
            # sized by encoder layers): the prefill forward without a cache is the one it can run
            notes.append(f"{cls.__name__} raises in its own cache ({type(e).__name__}: {_first_line(e)}): measured with use_cache=False, kv_cache_bytes not measured")
            out, fc, bc = _counted_call(model, {**kwargs, "use_cache": False})
            cacheless = True
        t_step = time.perf_counter() - t1
        if cache is None and _built_during_forward(model, fc):
            # the forward built modules of its own (BigBird's set_attention_type when seq_len is short): the
            # counter named them by class, outside the model; a second call, with them in place, names them by path
            # (same FLOPs; the bytes stay the first call's, which also initialised the new modules' weights)
            again = _counted_call(model, kwargs)[1]
            if again.get_total_flops() == fc.get_total_flops():
                fc = again
                notes.append("the forward built modules of its own: FLOPs per module from a second call, which names them by their path")
        kv_logical, kv_storage = cache_bytes(getattr(out, "past_key_values", None))
    root = type(model).__name__
    module_flops = _strip_root({k: sum(v.values()) for k, v in fc.get_flop_counts().items()}, root)
    module_flops.setdefault("", fc.get_total_flops())
    if cacheless:
        pass  # the note above says why there is no cache
    elif getattr(out, "past_key_values", None) is None:
        notes.append("model returned no cache: kv_cache_bytes is 0")
    elif kv_storage != kv_logical:
        notes.append(f"cache tensors are views: logical {kv_logical} bytes, storage held {kv_storage} bytes")
    notes += _attention_zero_warnings(model, module_flops)
    _refuse_uncounted_experts(model, module_flops, {k for k in _strip_root(dict(bc.by_module), root)})
    notes.append(f"{'fake' if fake else 'real'}: {cls.__name__} built in {t_build:.2f}s, step ran in {t_step:.2f}s")
    if not fake:
        notes.append("real: random input_ids (seed 0); MoE bytes depend on which experts get tokens")
    totals = {
        "flops": int(fc.get_total_flops()),
        "param_count": int(param_count),
        "bytes_read": int(bc.bytes_read),
        "bytes_written": int(bc.bytes_written),
        "kv_cache_bytes": int(kv_logical),
    }
    if cacheless:  # no cache was built: its size is unknown, not 0
        del totals["kv_cache_bytes"]
    return Measurement(
        totals=totals,
        module_flops=module_flops,
        module_params=module_params,
        mode="fake" if fake else "real",
        notes=notes,
        module_bytes={
            k: {"bytes_read": v[0], "bytes_written": v[1]}
            for k, v in _strip_root(dict(bc.by_module), root).items()
        },
        op_flops={str(k): int(v) for k, v in fc.get_flop_counts().get("Global", {}).items()},
    )


def _counted_call(model: Any, kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(output, FlopCounterMode, BytesCounter) of one forward call, counted from a clean start."""
    from torch.utils.flop_counter import FlopCounterMode

    from lm_predictor.verify.bytes_counter import BytesCounter

    with FlopCounterMode(display=False, depth=None, custom_mapping=cpu_sdpa_formulas()) as fc, BytesCounter(track_modules=True) as bc:
        out = model(**kwargs)
    return out, fc, bc


def _built_during_forward(model: Any, fc: Any) -> bool:
    """Whether the counter saw modules outside the model's tree (made while the counted forward ran)."""
    root = type(model).__name__
    return any(k not in ("Global", root) and not k.startswith(root + ".") for k in fc.get_flop_counts())


def raised_in_cache_code(e: BaseException) -> bool:
    """True if `e` was raised inside a call from the model's code into transformers' cache module (directly,
    or through the mask builder or the config it reads): the model failed at building, sizing or reading the
    KV cache it made itself, not at its computation."""
    frames = [f.filename.replace("\\", "/") for f in traceback.extract_tb(e.__traceback__)]
    model = max((i for i, f in enumerate(frames) if "/transformers/models/" in f), default=-1)
    return any(f.endswith("/transformers/cache_utils.py") for f in frames[model + 1 :])


SDPA_NOTE = (
    "sdpa: FlopCounterMode has no formula for the CPU kernel aten._scaled_dot_product_flash_attention_for_cpu "
    "(it would count 0); the oracle registers torch's own sdpa_flop for it, the formula torch registers for the CUDA kernels"
)


def cpu_sdpa_formulas() -> dict[Any, Any]:
    """FlopCounterMode custom_mapping: torch's CUDA SDPA formulas, registered for the CPU flash kernel.

    torch 2.13 counts `_scaled_dot_product_{flash,efficient,cudnn}_attention` (and their
    backwards) with `sdpa_flop` / `sdpa_backward_flop`, but not the CPU kernel
    `_scaled_dot_product_flash_attention_for_cpu`, which SDPA dispatches to on CPU: without
    this mapping, attention would count 0 under the oracle. The CPU kernel takes the same
    leading (query, key, value) arguments, so the same formula applies unchanged.
    """
    import torch
    from torch.utils.flop_counter import sdpa_backward_flop, sdpa_flop

    aten = torch.ops.aten
    # the module attributes are shape-wrapped; custom_mapping wraps again, so pass the raw formulas
    return {
        aten._scaled_dot_product_flash_attention_for_cpu: sdpa_flop.__wrapped__,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: sdpa_backward_flop.__wrapped__,
    }


def measure_generation(config: dict[str, Any], *, batch: int, prompt: int, new_tokens: int, dtype: str = "float32", attn: str = "eager") -> dict[str, int]:
    """flops, bytes_read, bytes_written summed over a prefill of `prompt` tokens and `new_tokens`
    one-token forward calls on the model's own DynamicCache (fake tensors), each call counted."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    from lm_predictor.verify.bytes_counter import BytesCounter
    from lm_predictor.verify.hf import hf_config, model_class, quiet_transformers

    cfg, cls = hf_config(config), model_class(config)
    totals = {"flops": 0, "bytes_read": 0, "bytes_written": 0}
    with quiet_transformers(), FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
        model = build_model(cls, cfg, getattr(torch, dtype), attn)
        cache = None
        for n in [prompt] + [1] * new_tokens:
            kwargs: dict[str, Any] = {"input_ids": torch.zeros(batch, n, dtype=torch.long), "use_cache": True}
            if cache is not None:
                kwargs["past_key_values"] = cache
            with FlopCounterMode(display=False, depth=None, custom_mapping=cpu_sdpa_formulas()) as fc, BytesCounter() as bc:
                cache = model(**kwargs).past_key_values
            totals["flops"] += int(fc.get_total_flops())
            totals["bytes_read"] += int(bc.bytes_read)
            totals["bytes_written"] += int(bc.bytes_written)
    return totals


def _no_init_weights() -> Any:
    """transformers' context that skips weight init (modeling_utils in 4.x, initialization in 5.x)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:
        from transformers.modeling_utils import no_init_weights
    return no_init_weights()


def build_model(cls: type, cfg: Any, dtype: Any, attn: str = "eager") -> Any:
    """Instantiate the model with random init, the workload's attention path, eager experts and dtype.

    Eager experts (transformers 5.x): the per-expert loop of matmuls that FlopCounterMode counts.
    The default `grouped_mm` path calls `torch._grouped_mm`, which has no FlopCounterMode formula
    in torch 2.13 and would count 0. 4.56 has one experts implementation, the loop."""
    import transformers

    if attn == "flash_attention_2":
        raise OracleUnsupported("flash_attention_2 runs only on CUDA with the flash_attn package: the oracle cannot measure it here")
    extra = {} if transformers.__version__.startswith("4.") else {"experts_implementation": "eager"}
    try:
        model = cls._from_config(cfg, attn_implementation=attn, dtype=dtype, **extra)
    except Exception as e:
        if _fake_unsupported_reason(e) is not None:
            raise
        raise OracleUnsupported(f"cannot build {cls.__name__}: {type(e).__name__}: {_first_line(e)}") from e
    return model.to(dtype).eval() if _float_dtype(model) != dtype else model.eval()


def _float_dtype(model: Any) -> Any:
    """dtype of the first floating-point parameter."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def make_input_ids(cfg: Any, workload: Workload, fake: bool) -> Any:
    """Factory for (batch, n) input ids: zeros under fake tensors, seeded random ids for real ones."""
    import torch

    vocab = getattr(cfg.get_text_config(), "vocab_size", None) or 2

    def make(n: int) -> torch.Tensor:
        if fake:
            return torch.zeros(workload.batch, n, dtype=torch.long)
        return torch.randint(0, vocab, (workload.batch, n), dtype=torch.long)

    return make


def _module_params(model: Any) -> dict[str, int]:
    """Inclusive parameter count per module path; a shared tensor belongs to its first owner, except a
    tensor the model ties (5.x `all_tied_weights_keys`, {target: source}): it belongs to the source's module,
    whatever order the modules were registered in (5.x CamembertForCausalLM registers lm_head before
    roberta, and its tied decoder weight is still roberta's word embedding)."""
    owner: dict[int, str] = {}
    size: dict[int, int] = {}
    paths = []
    for path, mod in model.named_modules(remove_duplicate=False):
        paths.append(path)
        for p in mod.parameters(recurse=False):
            owner.setdefault(id(p), path)
            size[id(p)] = p.numel()
    for source in (getattr(model, "all_tied_weights_keys", None) or {}).values():
        try:
            owner[id(model.get_parameter(source))] = source.rpartition(".")[0]
        except (AttributeError, KeyError):  # a tied buffer, or a key the model does not have
            continue
    own: dict[str, int] = {}
    for pid, path in owner.items():
        own[path] = own.get(path, 0) + size[pid]
    result = dict.fromkeys(paths, 0)
    for path, n in own.items():  # add each owner's count to it and every ancestor: O(params x depth)
        parts = path.split(".") if path else []
        for ancestor in ["", *(".".join(parts[: i + 1]) for i in range(len(parts)))]:
            if ancestor in result:
                result[ancestor] += n
    return result


def _strip_root(counts: dict[str, Any], root: str) -> dict[str, Any]:
    """Drop 'Global' and make FlopCounterMode / ModuleTracker keys relative to the root module."""
    out = {}
    for k, v in counts.items():
        if k == "Global":
            continue
        if k == root:
            out[""] = v
        elif k.startswith(root + "."):
            out[k[len(root) + 1 :]] = v
        else:
            out[k] = v
    return out


def _attention_zero_warnings(model: Any, module_flops: dict[str, int]) -> list[str]:
    """Warn about attention modules that counted no FLOPs beyond their children (SDPA/flash)."""
    notes = []
    for path, mod in model.named_modules():
        if "Attention" not in type(mod).__name__ or path not in module_flops:
            continue
        children = sum(module_flops.get(f"{path}.{name}" if path else name, 0) for name, _ in mod.named_children())
        if module_flops[path] <= children:
            notes.append(f"WARNING: {path} ({type(mod).__name__}) counted no attention matmul FLOPs")
    return notes


def _refuse_uncounted_experts(model: Any, module_flops: dict[str, int], ran: set[str]) -> None:
    """A fused experts module that ran but counted 0 FLOPs is a measurement gap, never a 0."""
    for path, mod in model.named_modules():
        impl = getattr(getattr(mod, "config", None), "_experts_implementation", None)
        if path in ran and type(mod).__name__.endswith("Experts") and not module_flops.get(path):
            raise OracleUnsupported(f"{path} ({type(mod).__name__}, experts implementation {impl!r}) ran but FlopCounterMode counted 0 FLOPs")


def _fake_unsupported_reason(e: BaseException) -> str | None:
    """One-line reason if `e` (or its cause) is a fake-tensor limitation, else None."""
    from torch._subclasses import fake_tensor as ft

    kinds = tuple(
        getattr(ft, n)
        for n in (
            "DataDependentOutputException",
            "DynamicOutputShapeException",
            "UnsupportedOperatorException",
            "UnsupportedFakeTensorException",
            "UnsupportedMutationAliasingException",
        )
        if hasattr(ft, n)
    )
    try:
        from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode

        kinds += (GuardOnDataDependentSymNode,)
    except ImportError:
        pass
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, kinds):
            return f"{type(e).__name__}: {_first_line(e)}"
        if isinstance(e, RuntimeError) and "fake" in str(e).lower():
            return f"{type(e).__name__}: {_first_line(e)}"
        e = e.__cause__ or e.__context__
    return None


def _check_small(config: dict[str, Any]) -> None:
    """Refuse real mode for configs too big to allocate (count parameters under fake tensors)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from lm_predictor.verify.hf import hf_config, model_class, quiet_transformers

    cfg, cls = hf_config(config), model_class(config)
    # weights are not initialised: a size check needs shapes only, and some inits (trunc_normal_)
    # branch on data; embeddings stay untied (no init, no tie_weights), an upper bound is enough here
    with quiet_transformers(), FakeTensorMode(allow_non_fake_inputs=True), _no_init_weights():
        n = sum(p.numel() for p in build_model(cls, cfg, torch.float32).parameters())
    if n > REAL_MAX_PARAMS:
        raise OracleUnsupported(f"real mode needs a small config ({n:,} parameters); use shrink_config")


def _first_line(e: BaseException) -> str:
    """First line of an exception message."""
    text = str(e).strip()
    return text.splitlines()[0] if text else ""


def main(argv: list[str] | None = None) -> int:
    """python -m lm_predictor.verify.oracle CONFIG.json [--batch B --seq-len S --past-len P --dtype D]"""
    ap = argparse.ArgumentParser(prog="python -m lm_predictor.verify.oracle", description=main.__doc__)
    ap.add_argument("config", help="path to a Hugging Face config.json")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--past-len", type=int, default=0)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--attn", default="eager", choices=list(ATTN_IMPLEMENTATIONS))
    ap.add_argument("--mode", default="auto", choices=list(MODES))
    ap.add_argument("--shrink", action="store_true", help="measure shrink_config(config) instead")
    args = ap.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    if args.shrink:
        config = shrink_config(config)
    workload = Workload(batch=args.batch, seq_len=args.seq_len, past_len=args.past_len, dtype=args.dtype, attn=args.attn)
    try:
        m = measure(config, workload, mode=args.mode)
    except OracleUnsupported as e:
        print(f"unsupported: {e}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(m), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
