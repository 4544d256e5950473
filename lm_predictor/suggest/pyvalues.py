"""Python-level values the interpreter and the brains exchange (public: brains build and read them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import ZERO, Bool, Num
from lm_predictor.suggest.sources import ParsedModule
from lm_predictor.suggest.values import FunctionV


@dataclass(eq=False)
class BoundMethod:
    receiver: Any
    name: str


@dataclass(eq=False)
class ModuleNS:
    pm: ParsedModule


@dataclass(eq=False)
class ConfigV:
    model: Any  # config.ConfigModel


@dataclass(eq=False)
class Lazy:
    thunk: Any


def force(value: Any) -> Any:
    return value.thunk() if isinstance(value, Lazy) else value


@dataclass(eq=False)
class Property:
    fv: FunctionV


@dataclass(eq=False)
class ClassMethod:
    fv: FunctionV
    cls: Any


@dataclass(frozen=True)
class Slice:
    start: Any
    stop: Any
    step: Any


@dataclass(eq=False)
class Range:
    start: Num
    stop: Num
    step: Num

    def length(self) -> Num:
        step = self.step.const_value()
        if step == 1:
            return X.fn("max", self.stop - self.start, ZERO) if not (self.stop - self.start).is_const() else Num.const(max((self.stop - self.start).const_value(), 0))
        if isinstance(step, int) and step > 0:
            return X.fn("ceil_div", self.stop - self.start, self.step)
        return X.fn("ceil_div", self.stop - self.start, self.step)


@dataclass(eq=False)
class Enumerate:
    inner: Any
    start: int = 0


@dataclass(eq=False)
class Zip:
    inners: list


def hashable(key: Any) -> Any:
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


@dataclass(eq=False)
class BrainFunc:
    """A method or function implemented by a brain; `bound` is its receiver once bound."""

    name: str
    fn: Callable
    bound: Any = None
