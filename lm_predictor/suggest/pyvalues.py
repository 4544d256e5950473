"""Python-level values the interpreter and the brains exchange (public: brains build and read them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ZERO, Bool, Num


@dataclass(eq=False)
class BoundMethod:
    """A method of a value the brains implement (str.join, dict.get, Tensor.view, ...), bound to its receiver."""

    receiver: Any
    name: str


@dataclass(eq=False)
class ConfigV:
    """The model config object (`self.config`), backed by the config model (config.ConfigModel);
    with `layer`, one layer's view of a 5.x heterogeneous config (`config.per_layer_config[i]`):
    the attributes `overrides` ({layer: {name: value}}) sets at that layer, the config's elsewhere."""

    model: Any  # config.ConfigModel
    layer: Any = None  # Num: the layer index
    overrides: Any = None  # dict: layer -> {attribute: value}


@dataclass(eq=False)
class Lazy:
    """A value computed when first needed (the arms of a conditional expression)."""

    thunk: Any


def force(value: Any) -> Any:
    """The value, computed if it is Lazy."""
    return value.thunk() if isinstance(value, Lazy) else value


@dataclass(frozen=True)
class Slice:
    """`start:stop:step` as written in a subscript."""

    start: Any
    stop: Any
    step: Any


@dataclass(eq=False)
class Range:
    """`range(start, stop, step)` over symbolic bounds."""

    start: Num
    stop: Num
    step: Num

    def length(self) -> Num:
        """len(range(...)): max(stop - start, 0) for step 1, else ceil_div(stop - start, step)."""
        span = self.stop - self.start
        step = self.step.const_value()
        if isinstance(step, float) and step.is_integer():  # torch.arange(0, d, 2.0): the same count as step 2
            return Range(self.start, self.stop, Num.const(int(step))).length()
        if step == 1:
            return Num.const(max(span.const_value(), 0)) if span.is_const() else X.fn("max", span, ZERO)
        return X.fn("ceil_div", span, self.step)


@dataclass(eq=False)
class Enumerate:
    """`enumerate(inner, start)`."""

    inner: Any
    start: int = 0


@dataclass(eq=False)
class Zip:
    """`zip(*inners)`."""

    inners: list


def hashable(key: Any) -> Any:
    """A dict key for an abstract value: constants by value, other values by identity if unhashable."""
    if isinstance(key, Num):
        c = key.const_value()
        return c if c is not None else key
    if isinstance(key, Bool):
        v = X.bool_value(key)
        return v if v is not None else key
    try:
        hash(key)
        return key
    except TypeError:
        return id(key)


def set_items(items: list) -> list:
    """The items of a Python set built from `items`, in first-seen order: equal constants (and
    structurally equal values) kept once, as `{theta for theta in config.layer_rope_theta}` does."""
    out: dict = {}
    for item in items:
        out.setdefault(hashable(item), item)
    return list(out.values())


@dataclass(eq=False)
class BrainFunc:
    """A method or function implemented by a brain; `bound` is its receiver once bound."""

    name: str
    fn: Callable
    bound: Any = None
    saves_itself: bool = False  # it records what autograd keeps (brains/autograd_fn.py): the saved-tensor table is not asked


@dataclass(eq=False)
class IterV:
    """`iter(source)`: `next()` takes its items in order; `taken` counts the items taken outside loops of symbolic length."""

    source: Any
    taken: int = 0
    depth: int = 0  # how many loops of symbolic length enclose the iter() call
