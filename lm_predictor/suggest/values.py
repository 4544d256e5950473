"""Abstract values of the symbolic execution.

Numbers are `Num`, truth values `Bool` (see expr.py). Python constants that are not numbers
(None, str, Ellipsis, slices, dtypes) stay plain Python objects; tuples stay tuples. Everything
else is one of the classes below. `Unknown` is a normal value: the analysis carries on, and only
a cost that depends on it becomes an unresolved term with a diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lm_predictor.suggest.expr import Bool, Num, ifnum


@dataclass(frozen=True)
class Loc:
    """A place in the analysed source (for A### diagnostics)."""

    path: str
    line: int
    module: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(eq=False)
class Unknown:
    """A value the analysis could not determine; `reason` says why (shown if it matters)."""

    reason: str
    loc: Loc | None = None

    def __repr__(self) -> str:
        return f"Unknown({self.reason})"


@dataclass(frozen=True)
class Tensor:
    """A tensor with a symbolic shape (None: unknown rank) and a coarse dtype tag."""

    shape: tuple | None
    dtype: str = "model"  # "model", "float32", "long", "bool", ...
    why: str = ""  # why the shape is unknown
    param: bool = False  # an nn.Parameter (counts towards param_count)
    route: tuple = ()  # MoE routing: ("mask", total, expert_dim) | ("slice", total) | ("hit", total); ("arange", start, step): known values; ("offsets",) / ("offset",): running totals of counts
    no_grad: bool = False  # computed only from buffers, integer tensors and constants: autograd gives it no gradient
    values: tuple = ()  # data known from how it was built: ("arange", start, step) | ("scalar", value)
    buffer: bool = False  # made by nn.Buffer(...): assigning it to a module registers a buffer
    layout: Any = None  # memory layout (brains/layout.py): None row-major contiguous, a Layout, or UNKNOWN_LAYOUT
    merged: Any = field(default=None, compare=False)  # (cond, a, b): joined from two branches (its storage is theirs)

    def __post_init__(self) -> None:
        if self.shape is not None and not all(isinstance(d, Num) for d in self.shape):
            sizes = tuple(_size(d) for d in self.shape)
            ok = all(d is not None for d in sizes)
            object.__setattr__(self, "shape", sizes if ok else None)
            if not ok:
                object.__setattr__(self, "why", self.why or "a size that is not a number")

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def requires_grad(self) -> bool:
        """Whether autograd tracks it: a parameter not made frozen (requires_grad=False), or a float
        tensor not known to come from buffers, integer tensors and constants only (the default:
        activations after the embedding)."""
        return not self.no_grad and (self.param or self.dtype not in INTEGER_DTYPES)


@dataclass(frozen=True)
class CondLayout:
    """The layout of a tensor joined from two branches: `a` where `cond` holds, else `b` (brains/layout.py)."""

    cond: Any
    a: Any
    b: Any


MIXED_DTYPE_LAYOUT = "mixed-dtype"
"""The layout of a tensor joined from branches of different dtypes: its bytes per element are not known."""


INTEGER_DTYPES = frozenset({"long", "int", "int32", "int16", "int8", "bool", "uint8"})
"""dtype tags of tensors that never require grad (position ids, masks, indices)."""


def _size(d: Any) -> Num | None:
    """One tensor size as a number: an arm that is None (an optional config value) would raise as a
    size, so the other arm is the size; None where it is not a number."""
    if isinstance(d, Num):
        return d
    if isinstance(d, int) and not isinstance(d, bool):
        return Num.const(d)
    if isinstance(d, Phi):
        a, b = _size(d.a), _size(d.b)
        if a is None or b is None:
            return a if b is None else b
        return ifnum(d.cond, a, b)
    return None


@dataclass(eq=False)
class Phi:
    """`a` when `cond` holds, else `b` (values that cannot be merged into one)."""

    cond: Bool
    a: Any
    b: Any


ATTN_SDPA = "attn_implementation__sdpa"
"""The workload fact that selects transformers' SDPA attention (eval binds it from --attn)."""
TRAINING = "training"
"""module.training as a workload fact: false in inference, true in eval --mode train."""

ATTN_IMPLEMENTATION = Phi(Bool("sym", (ATTN_SDPA,)), "sdpa", "eager")
"""`config._attn_implementation` as the analysis sees it: "sdpa" where the workload runs SDPA, else "eager"."""


@dataclass(eq=False)
class ListV:
    """A mutable Python list (or a ModuleList given element by element).

    `rep` is set when the list was filled by appends inside a loop of symbolic length: it then
    stands for that Repeated (one element per iteration, possibly depending on the index)."""

    items: list
    rep: Any = None


@dataclass(eq=False)
class DictV:
    items: dict


@dataclass(frozen=True)
class Repeated:
    """`count` copies of one value: a ModuleList built by a comprehension over range(count).

    `index` names the comprehension variable's symbol (a layer index); a cost that depends on
    it cannot be multiplied out and is reported.
    """

    elem: Any
    count: Num
    index: str | None = None
    fresh: bool = False  # a comprehension's tensor made anew by each iteration (not an outer local, parameter or buffer)


@dataclass(frozen=True)
class External:
    """An object outside the analysed tree, by qualified name: torch.nn.Linear, math.sqrt, ..."""

    name: str


@dataclass(frozen=True)
class Builtin:
    """A Python builtin by name (len, range, isinstance, ...), implemented by the builtins brain."""

    name: str


@dataclass(eq=False)
class FunctionV:
    """A Python function of the analysed tree (optionally bound to `bound`)."""

    node: Any  # astroid FunctionDef / Lambda
    module: Any  # ParsedModule
    qualname: str
    closure: dict | None = None
    bound: Any = None
    owner_class: Any = None  # ClassV the function was found on (for super())
    kind: str = "function"  # how the class declares it: "function", "staticmethod", "classmethod" or "property"


@dataclass(eq=False)
class ClassV:
    """A class of the analysed tree."""

    node: Any  # astroid ClassDef
    module: Any
    qualname: str

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(eq=False)
class SuperV:
    instance: Any
    after: ClassV | None  # MRO search starts after this class


@dataclass(eq=False)
class Record:
    """A ModelOutput-like record: named fields in declaration order."""

    class_name: str
    fields: dict  # name -> value (declaration order)

    def get(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(eq=False)
class CacheV:
    """The KV cache handed to the model: `past` tokens per layer already stored."""

    past: Num
    layers: dict = field(default_factory=dict)
    own: Any = None  # a cache class the model defines on top of DynamicCache (its ClassV), whose own methods hold per-layer states
    stores_first: bool = False  # its update keeps a layer's first states as given (`key_cache[i] = key_states`), then concatenates
    size: Any = None  # (where, n): `DynamicCache(config=...)` builds n layers there (an index past them raises); None: grown on demand


@dataclass(eq=False)
class ObjectV:
    """An instance of a plain (non-module) class of the analysed tree, or a brain's object."""

    cls: Any
    attrs: dict = field(default_factory=dict)
    kind: str = ""


UNDEF = object()  # a variable defined on one branch only
