"""The interpreter's control records: a call frame, a control-flow exit, a block's flow, the cost recorder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lm_predictor.suggest.expr import TRUE, Bool
from lm_predictor.suggest.scope import RuleDraft, Template, Term
from lm_predictor.suggest.sources import ParsedModule
from lm_predictor.suggest.values import ClassV


@dataclass
class Frame:
    locals: dict
    pm: ParsedModule
    func: str = ""
    self_value: Any = None
    cls: ClassV | None = None
    closure: dict | None = None
    entry: int = 0  # assumption-stack depth at entry


@dataclass
class Exit:
    kind: str  # return | break | continue
    cond: Bool  # relative to the function entry
    value: Any = None
    env: dict | None = None


@dataclass
class Flow:
    exits: list = field(default_factory=list)
    falls: bool = True
    cond: Bool = TRUE  # condition under which control falls through (relative)


class Recorder:
    """Where cost terms go while one rule (or template) is analysed."""

    def __init__(self, draft: RuleDraft | None = None, template: Template | None = None):
        self.draft = draft
        self.template = template
        self.labels: dict[str, Any] = {}
        self.reserved: set = set(template.attrs) if template is not None else set()

    def add(self, metric: str, term: Term) -> None:
        if metric == "param_count":
            if self.template is not None:
                self.template.param_terms.append(term)
        elif self.draft is not None:
            (self.draft.flops_terms if metric == "flops" else self.draft.kv_terms).append(term)

    def label(self, hint: str, key: Any = None) -> str:
        """A label unique within the rule (ops never reuse a submodule's attribute name)."""
        base = hint or "op"
        name, i = base, 2
        while (name in self.labels and self.labels[name] is not key) or name in self.reserved:
            name = f"{base}_{i}"
            i += 1
        self.labels[name] = key
        return name
