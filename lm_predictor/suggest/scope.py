"""Rule scopes: the parameter namespace of one rule under construction, module instances, and the recorder of their costs.

A module class is analysed once per constructor signature (a `Template`: the symbolic
`__init__`) and once per forward signature (a `RuleDraft`). Values inside a template live in
its own namespace: constructor arguments, forward inputs and config fields become that rule's
parameters. An `Instance` records how its template's parameters are bound in the owner's
namespace; a `ModRef` is an instance as seen from some other rule (bindings composed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lm_predictor.suggest.expr import ZERO, Bool, Num


@dataclass
class ParamInfo:
    name: str
    kind: str  # config | ctor | input | workload | extra
    type: str  # int | number | bool
    doc: str
    default: Any = None  # Num / Bool / python literal, or None
    optional: bool = False


@dataclass(eq=False)
class Scope:
    """Names of one rule's parameters; allocates fresh ones without clashes."""

    name: str
    params: dict[str, ParamInfo] = field(default_factory=dict)
    reserved: set = field(default_factory=set)

    def fresh(self, hint: str) -> str:
        base = _identifier(hint)
        name = base
        i = 2
        while name in self.params or name in self.reserved:
            name = f"{base}_{i}"
            i += 1
        return name

    def declare(self, info: ParamInfo) -> str:
        existing = self.params.get(info.name)
        if existing is None:
            self.params[info.name] = info
        return info.name


def _identifier(hint: str) -> str:
    out = "".join(ch if (ch.isalnum() or ch == "_") else "_" for ch in hint).strip("_") or "p"
    if out[0].isdigit():
        out = "p_" + out
    if out in ("if", "then", "else", "and", "or", "not", "true", "false", "defined") or out.startswith("__"):
        out = out.strip("_") + "_"
    return out


@dataclass(eq=False)
class RuleRef:
    """A rule name resolved when the rules are emitted (a template may get its name late)."""

    target: Any  # RuleDraft or Template
    fixed: str | None = None

    def __str__(self) -> str:
        if self.fixed:
            return self.fixed
        return self.target.rule_name()


@dataclass(eq=False)
class Term:
    """One additive piece of a metric: `mult * expr` under `guard`."""

    guard: Bool
    mult: Num
    expr: Num
    note: str = ""


@dataclass(eq=False)
class Template:
    """A module class's symbolic __init__ for one constructor signature."""

    cls: Any  # ClassV, or None for torch modules
    qualname: str
    signature: str
    scope: Scope
    attrs: dict = field(default_factory=dict)
    present: dict = field(default_factory=dict)  # attribute -> where __init__ set it (hasattr), where not everywhere
    param_terms: list = field(default_factory=list)
    buffers: list = field(default_factory=list)  # names given to register_buffer in __init__, in order
    buffer_terms: list = field(default_factory=list)  # buffer_bytes terms: own buffers, then children's
    buffers_known: bool = True  # False: a buffer (own or a child's) the analysis cannot size
    excess_terms: list = field(default_factory=list)  # own parameters not at the model dtype: numel * (bytes - dtype_bytes)
    has_odd_params: bool = False  # it or a descendant owns a parameter not at the model dtype
    param_dtypes_known: bool = True  # False: such a parameter cannot be priced (see interp/buffers.py)
    read_attrs: set = field(default_factory=set)  # attributes some forward read (its submodules that may run), or own parameters __init__ hands to a child
    tie_reads: dict = field(default_factory=dict)  # own parameter -> the tie condition under which a tied child reads it (BERT 5.x's bias)
    children: list = field(default_factory=list)  # (attr, value) registration order
    rules: dict = field(default_factory=dict)  # forward signature -> RuleDraft
    params_only: "RuleDraft | None" = None
    init_diagnostics: list = field(default_factory=list)
    variant: int = 1
    tied: list = field(default_factory=list)  # (output path, input path, tie condition, bias tied too)
    binding_info: dict = field(default_factory=dict)
    first_binding: dict = field(default_factory=dict)
    caller: Any = None
    caller_draft: Any = None
    names: list = field(default_factory=list)
    torch_base: Any = None
    shared: tuple = ()  # (attr, why) of modules handed in that other instances hold too: not counted here

    def rule_name(self) -> str:
        if self.rules:
            return next(iter(self.rules.values())).rule_name()
        return self.params_rule().rule_name()

    def params_rule(self) -> "RuleDraft":
        if self.params_only is None:
            self.params_only = RuleDraft(self.qualname, self, "", kind="module")
            self.params_only.variant = self.variant
        return self.params_only


@dataclass(eq=False)
class RuleDraft:
    """A rule being built: its name, its template (for modules), its metric terms."""

    qualname: str
    template: Template | None
    signature: str
    kind: str = "module"  # module | function
    flops_terms: list = field(default_factory=list)
    kv_terms: list = field(default_factory=list)
    bytes_terms: list = field(default_factory=list)  # one per op that moves bytes (bytes_read and bytes_written)
    bytes_gaps: list = field(default_factory=list)  # ops that could not be priced: the rule gets no bytes
    backward_gaps: list = field(default_factory=list)  # where autograd's records are not known (brains/gradflow.py): no backward_flops
    saved: Any = None  # brains/saved.SavedLog: what autograd keeps for backward (activation_bytes)
    ckpt_tail: list = field(default_factory=list)  # flops Terms run after the forward's last save (checkpoint_tail_flops)
    ckpt_saves: bool = False  # its forward (or a callee's) saves some tensor for backward
    ckpt_unsure: bool = False  # an op the saved-tensor table does not know ran after the last save, with FLOPs before it
    checkpointed_by_func: bool = False  # a caller checkpoints it through self._gradient_checkpointing_func (interp/ckpt_calls.py)
    variant: int = 1
    called: bool = False
    doc: str = ""
    notes: list = field(default_factory=list)
    source_loc: str = ""
    final_name: str | None = None
    ret: Any = None  # forward()'s return value, in this rule's names
    fwd_params: dict = field(default_factory=dict)  # forward-input parameter -> ParamInfo
    has_kv: bool = False
    first_binding: dict = field(default_factory=dict)
    caller: Any = None
    liveness: dict | None = None  # returned field -> {child token: condition}: what reaches it (suggest/liveness.py)
    liveness_targets: dict = field(default_factory=dict)  # child token -> its instance, or (child draft, field)
    names: list = field(default_factory=list)

    def rule_name(self) -> str:
        if self.final_name:
            return self.final_name
        return self.qualname if self.variant == 1 else f"{self.qualname}_v{self.variant}"

    @property
    def scope(self) -> Scope:
        return self.template.scope


@dataclass(eq=False)
class TorchModule:
    """An instance of a torch.nn module a brain knows (Linear, Embedding, LayerNorm, ...)."""

    kind: str  # the brain's name, e.g. "linear"
    rule: str | None  # library rule it maps to
    args: dict  # constructor values in the creating scope
    params: Num | None = None  # parameter count in the creating scope


@dataclass(eq=False)
class Instance:
    """A module object: its template (or torch module) and its owner-side bindings."""

    template: Template | TorchModule
    binding: dict  # template-scope name -> owner-scope Num/Bool
    attr: str = ""
    loop_depth: int = 0  # loops of symbolic length around its construction
    handed: list = field(default_factory=list)  # bindings it was handed to constructors with (zamba's shared attention block)
    used: bool = False  # a forward called it or read one of its attributes (its parameters may get gradients)
    grad_used: bool = False  # ... with gradients on (not only under torch.no_grad(): deepseek_v32's indexer's children)
    live_when: Any = None  # a Bool of the caller's forward: its result reaches the loss only where it holds (suggest/liveness.py)
    live_owner: Any = None  # the template whose forward found live_when (its names are that forward's)
    live_seen: bool = False  # some forward called it with gradients on, so the liveness pass decides whether it is used


@dataclass(eq=False)
class ModRef:
    """A module instance seen from one rule: `binding` maps its names into that rule's names."""

    inst: Instance
    binding: dict
    path: str  # attribute path from the viewing rule's self ("" = self)
    count: Num | None = None  # for an element of a Repeated ModuleList

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModRef) and other.inst is self.inst and other.path == self.path

    def __hash__(self) -> int:
        return hash((id(self.inst), self.path))


class Recorder:
    """Where cost terms go while one rule (or template) is analysed."""

    def __init__(self, draft: RuleDraft | None = None, template: Template | None = None):
        self.draft = draft
        self.template = template
        self.labels: dict[str, Any] = {}
        self.reserved: set = set(template.attrs) if template is not None else set()
        self.bytes_marks = 0  # bytes terms and gaps recorded (a tensor op that adds neither is a gap)

    def add(self, metric: str, term: Term) -> None:
        if metric in ("bytes", "bytes_gap"):
            self.bytes_marks += 1
            if self.draft is not None:
                if metric == "bytes_gap":
                    self.draft.bytes_gaps.append(term.note)
                elif term.expr != ZERO:
                    self.draft.bytes_terms.append(term)
            return
        if metric == "param_count":
            if self.template is not None:
                self.template.param_terms.append(term)
        elif self.draft is not None:
            (self.draft.flops_terms if metric == "flops" else self.draft.kv_terms).append(term)
            if metric == "flops":  # the tail a non-reentrant checkpoint does not recompute, until a save cuts it
                self.draft.ckpt_tail.append(term)

    def label(self, hint: str, key: Any = None) -> str:
        """A label unique within the rule (ops never reuse a submodule's attribute name)."""
        base = hint or "op"
        name, i = base, 2
        while (name in self.labels and self.labels[name] is not key) or name in self.reserved:
            name = f"{base}_{i}"
            i += 1
        self.labels[name] = key
        return name
