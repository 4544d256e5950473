"""Parameters that get no gradient, as suggest finds them: children no forward runs
(`idle_params`) and a module's own parameters that are frozen or never read (`idle_own_params`);
evaluate/train.py leaves both out of grad_bytes and optimizer_bytes."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.ruletext import calls_naming
from lm_predictor.suggest.scope import Template, Term
from lm_predictor.suggest.values import Tensor


GRADIENT_CHECKPOINTING = "gradient_checkpointing"
"""The workload fact of `gradient_checkpointing_enable()` (suggest/analysis.py WORKLOAD_FACTS)."""


def idle_terms(template: Template) -> list:
    """The template's param_count terms of children that no forward the analysis ran ever
    called or read (GPT-2-style cross-attention without encoder states, Fuyu's image patch
    projection without pixel_values), or called only under torch.no_grad(): their parameters get no gradient. An attribute that holds
    one of several modules by a config branch is idle only if none of them ran."""
    used = {attr for attr, ref in template.children if _subtree_used(ref.inst)}  # any module an attribute may hold (with gradients on)
    # a child read to be called (`self.k_proj(x)`, `self.pooler is not None`) is decided by the liveness pass
    # (suggest/liveness.py): used where its result reaches the loss, idle where that holds only under a condition that fails
    live_when = _live_when(template, used)
    called = {attr for attr, ref in template.children if ref.inst.live_seen}
    idle = {attr for attr, _ in template.children} - used - (template.read_attrs - called - set(live_when))
    out = []
    for term in template.param_terms:
        atom = term.expr.single_atom()
        if isinstance(atom, X.Op) and atom.kind == "call" and atom.args[0] in idle:  # calls name param_count
            cond = live_when.get(atom.args[0])
            # the analysis reads `self.gradient_checkpointing` as false (recurrent_gemma's model then turns its
            # cache off, and the keys reach the attention again): with checkpointing the child counts as used
            guard = term.guard if cond is None else X.band(term.guard, X.bnot(cond), X.bnot(X.bsym(GRADIENT_CHECKPOINTING)))
            out.append(Term(guard, term.mult, calls_naming(term.expr, "param_count"), term.note))
    return out


def _live_when(template: Template, used: set) -> dict:
    """Children whose result reaches the forward's return only under a condition of its forward's
    parameters (suggest/liveness.py: recurrent_gemma's k_proj where no cache was set up): attribute ->
    that condition. An attribute that holds one of several modules by a config branch (hyperclovax's
    `RMSNorm if use_post_norm else Identity`) is live where any of them is. With more than one forward
    draft the condition names one draft's parameters, and a condition on a loop index holds in some
    iterations only, so such a child counts as used (no idle term)."""
    out: dict = {}
    for attr, ref in template.children:
        cond = getattr(ref.inst, "live_when", None)
        if attr in used or cond is None:
            continue
        # a loop index (`#i1`) in the condition: live in some iterations, which no idle term can say
        if len(template.rules) != 1 or ref.inst.live_owner is not template or any(n.startswith("#") for n in X.free_params(cond)):
            used.add(attr)
            continue
        out[attr] = X.bor(out[attr], cond) if attr in out else cond
    return {attr: cond for attr, cond in out.items() if attr not in used}


def idle_own_terms(template: Template) -> list:
    """The template's own parameters (`parameter X` terms) that get no gradient: made frozen
    (`nn.Parameter(..., requires_grad=False)`, an `nn.Embedding` base built with `_freeze=True`),
    or never read by a forward the analysis ran nor handed to a child in __init__ (BERT 5.x's
    untied `cls.predictions.bias` beside the decoder's own bias). A parameter an output-embedding
    tie hands to the decoder (`tie_reads`) is read where that tie holds. Only for a module some
    forward ran: a module no forward ran has its whole parameter count in its parent's idle_params."""
    if not template.rules:
        return []
    out = []
    for term in template.param_terms:
        if not term.note.startswith("parameter "):
            continue
        attr = term.note[len("parameter "):]
        value = template.attrs.get(attr)
        frozen = isinstance(value, Tensor) and value.param and value.no_grad
        if not frozen and attr in template.read_attrs:
            continue
        guard = term.guard if frozen or attr not in template.tie_reads else X.band(term.guard, X.bnot(template.tie_reads[attr]))
        out.append(Term(guard, term.mult, term.expr, term.note))
    return out


def _subtree_used(inst: Any) -> bool:
    """Whether a module instance, or one inside it, was called or read by a forward with gradients
    on (a child called only under torch.no_grad(), as by deepseek_v32's `@torch.no_grad()` indexer,
    gets no gradient)."""
    if inst.grad_used:
        return True
    module = inst.template
    return isinstance(module, Template) and any(_subtree_used(ref.inst) for _, ref in module.children)
