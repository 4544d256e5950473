"""What every brain module shares: the call site, the brain registry, shape helpers.

A brain module handles one family of ops. Each producer takes a `CallSite` and returns the abstract
result (recording costs through `site.interp.add_cost`); `@brain(name, keys...)` registers it in
`BRAINS` under what it handles: exact op names, name prefixes, or the callee's / receiver's type,
as torch's `register_flop_formula` keys formulas by op. The interpreter asks `brain_for(site)`
about every call it cannot run from source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ONE, ZERO, Num
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.values import ListV, ObjectV, Phi, Tensor, Unknown


MISSING = object()


@dataclass
class CallSite:
    interp: Host
    callee: Any
    args: list
    kwargs: dict
    node: Any
    hint: str | None
    name: str = ""  # canonical name of the callee (torch.matmul, F.softmax, Tensor.view, ...)
    receiver: Any = None  # the tensor / object a method was called on

    def arg(self, index: int, name: str | None = None, default: Any = MISSING) -> Any:
        if index is not None and index < len(self.args):
            return self.args[index]
        if name is not None and name in self.kwargs:
            return self.kwargs[name]
        return default

    def label(self, fallback: str) -> str:
        rec = self.interp.recorder
        hint = self.hint or fallback
        return rec.label(hint, self.node) if rec is not None else hint


@dataclass(frozen=True)
class Pattern:
    """One brain: the producer for the calls its key selects (`name` for diagnostics)."""

    name: str
    suggest: Callable[[CallSite], Any]


BrainKey = tuple  # ("name", "torch.matmul") | ("prefix", "torch.") | ("callee", Builtin) | ("receiver", CacheV)

BRAINS: dict[BrainKey, Pattern] = {}
"""The brain registry, keyed by what each brain handles (filled by `@brain(...)`, duplicates refused)."""


def op(*names: str) -> list[BrainKey]:
    """Keys for calls of exactly these canonical names (torch.matmul, Tensor.view, F.linear, ...)."""
    return [("name", n) for n in names]


def prefix(*prefixes: str) -> list[BrainKey]:
    """Keys for calls whose canonical name starts with one of these (the longest registered prefix wins)."""
    return [("prefix", p) for p in prefixes]


def callee(cls: type) -> list[BrainKey]:
    """The key for calls of a value of this type (a builtin, a brain function)."""
    return [("callee", cls)]


def receiver(cls: type) -> list[BrainKey]:
    """The key for method calls on a value of this type (the KV cache)."""
    return [("receiver", cls)]


def brain(name: str, *keys: list[BrainKey]) -> Callable[[Callable[[CallSite], Any]], Callable[[CallSite], Any]]:
    """Register the decorated producer for every key given; a key registered twice is an error."""

    def register(fn: Callable[[CallSite], Any]) -> Callable[[CallSite], Any]:
        for group in keys:
            for key in group:
                if key in BRAINS:
                    raise RuntimeError(f"brain {name!r}: {key} is already handled by brain {BRAINS[key].name!r}")
                BRAINS[key] = Pattern(name, fn)
        return fn

    return register


def brain_for(site: CallSite) -> Pattern | None:
    """The brain for a call: by exact name, else by the callee's or receiver's type, else by the longest name prefix."""
    found = BRAINS.get(("name", site.name)) if site.name else None
    if found is None:
        found = next((BRAINS[("callee", t)] for t in type(site.callee).__mro__ if ("callee", t) in BRAINS), None)
    if found is None and site.receiver is not None:
        found = next((BRAINS[("receiver", t)] for t in type(site.receiver).__mro__ if ("receiver", t) in BRAINS), None)
    if found is None and site.name:
        cut = len(site.name)
        while found is None and cut > 0:
            cut = site.name.rfind(".", 0, cut)
            if cut < 0:
                break
            found = BRAINS.get(("prefix", site.name[:cut + 1]))
    return found


def canonical(name: str) -> str:
    """torch.nn.functional.softmax -> F.softmax, torch.nn.modules.linear.Linear -> nn.Linear."""
    for prefix, short in (("torch.nn.functional.", "F."), ("torch._C._nn.", "F."), ("torch.nn.modules.", "nn."), ("torch.nn.", "nn.")):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if short == "nn." and prefix == "torch.nn.modules.":
                rest = rest.rsplit(".", 1)[-1]
            return short + rest
    if name.startswith("torch.functional."):
        return "torch." + name[len("torch.functional."):]
    return name


# ---------------------------------------------------------------------------- shapes


def numel(shape: tuple | None) -> Num | None:
    if shape is None:
        return None
    out = ONE
    for d in shape:
        out = out * d
    return out


def as_int(value: Any) -> int | None:
    if isinstance(value, Num):
        c = value.const_value()
        if isinstance(c, int):
            return c
    return None


def norm_dim(dim: Any, rank: int) -> int | None:
    d = as_int(dim)
    if d is None:
        return None
    if d < 0:
        d += rank
    return d if 0 <= d < max(rank, 1) else None


def le(a: Num, b: Num) -> bool:
    """Whether a <= b is provable (sizes are positive)."""
    r = X.cmp("<=", a, b)
    return r == X.TRUE


def broadcast(a: tuple | None, b: tuple | None) -> tuple | None:
    """Right-aligned broadcast; where two symbolic sizes differ, the left operand's wins."""
    if a is None:
        return b
    if b is None:
        return a
    n = max(len(a), len(b))
    pa = (ONE,) * (n - len(a)) + tuple(a)
    pb = (ONE,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(pa, pb):
        if x == y:
            out.append(x)
        elif x.const_value() == 1:
            out.append(y)
        elif y.const_value() == 1:
            out.append(x)
        else:
            out.append(x)
    return tuple(out)


def shape_of(value: Any) -> tuple | None:
    if isinstance(value, Tensor):
        return value.shape
    if isinstance(value, (Num, X.Bool)):
        return ()
    return None


def tensor(shape: tuple | None, dtype: str = "model", why: str = "") -> Tensor:
    return Tensor(None if shape is None else tuple(shape), dtype, why)


def size_list(site: CallSite, start: int = 0, name: str | None = "size") -> list | None:
    """Sizes given as *ints, a tuple / torch.Size, or a list: a list of Num (or None)."""
    args = site.args[start:]
    if not args and name and name in site.kwargs:
        args = [site.kwargs[name]]
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = list(args[0])
    if len(args) == 1 and isinstance(args[0], ListV):
        args = list(args[0].items)
    out = []
    for a in args:
        if a is None:
            raise DeadPath()  # a None size raises at run time
        if isinstance(a, X.Bool):
            return None
        if not isinstance(a, Num):
            return None
        out.append(a)
    return out


def slice_length(n: Num, start: Any, stop: Any, step: Any) -> Num:
    """len(range(n)[start:stop:step]) for symbolic n and bounds."""
    if (start is None or (isinstance(start, Num) and start.const_value() == 0)) and stop is None:
        length = n
    else:
        lo = ZERO if start is None else _norm_index(start, n)
        hi = n if stop is None else _norm_index(stop, n)
        length = X.fn("max", hi - lo, ZERO)
    if step is not None and isinstance(step, Num) and step.const_value() not in (None, 1):
        length = X.fn("ceil_div", length, step)
    return length


def _norm_index(x: Any, n: Num) -> Num:
    if not isinstance(x, Num):
        raise TypeError("slice bound is not a number")  # callers turn this into an unknown
    c = x.const_value()
    if c is not None:
        if c < 0:
            return X.fn("max", n + x, ZERO)
        return X.fn("min", x, n)
    neg = X.cmp("<", x, 0)
    if neg == X.FALSE:
        return X.fn("min", x, n)
    if neg == X.TRUE:
        return X.fn("max", n + x, ZERO)
    return X.ifnum(neg, X.fn("max", n + x, ZERO), X.fn("min", x, n))


def unknown_tensor(why: str, dtype: str = "model") -> Tensor:
    return Tensor(None, dtype, why)


def first_tensor(values: list) -> Tensor | None:
    for v in values:
        if isinstance(v, Tensor):
            return v
        if isinstance(v, Phi):
            return first_tensor([v.a, v.b])
    return None


def unknown(why: str) -> Unknown:
    return Unknown(why)


TEXT_CONFIG_NAMES = ("decoder", "generator", "text_config")
"""Where PretrainedConfig.get_text_config(decoder=True) looks for a composite config's text part."""


def text_config_object(interp: Host) -> ObjectV | None:
    """The nested text config of a composite model's config (what DynamicCache(config=...) and
    tie_weights read through get_text_config(decoder=True)), or None for a flat config."""
    if interp.config is None:
        return None
    model = interp.config.model
    model.build(interp)
    return next((model.attrs[n] for n in TEXT_CONFIG_NAMES if isinstance(model.attrs.get(n), ObjectV)), None)
