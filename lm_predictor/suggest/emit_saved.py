"""The `activation_bytes` metric of derived rules: what autograd saves (brains/saved.py), and the loss.

A rule gets the metric only where its forward and every forward it calls saved nothing the
table cannot size (a gap anywhere leaves the model's metric out, never a partial sum). The
model's own rule adds the causal-LM loss that `model(input_ids, labels=input_ids)` computes
(transformers' ForCausalLMLoss: `cross_entropy` of the float32 logits keeps its float32
log-softmax output, the shifted targets and a 0-dim float32 total weight)."""

from __future__ import annotations

import os
import re
from typing import Any

from lm_predictor.limits import MAX_FORMULA_CHARS
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import saved
from lm_predictor.suggest.brains.layout import elem_bytes
from lm_predictor.suggest.expr import ONE, Bool, Num
from lm_predictor.suggest.layers import eval_defined
from lm_predictor.suggest.ruletext import call_atoms, unresolved_slugs
from lm_predictor.suggest.scope import RuleDraft, RuleRef, Term
from lm_predictor.suggest.values import ATTN_SDPA, TRAINING, Record, Tensor

LOSS_CALL = "self.loss_function("
"""How the causal-LM heads of the pinned transformers compute their loss from `labels`."""
UNSHIFTED_LOSS = re.compile(r"(?:loss_fct|loss_func)\(\w+\.view\(-1, [\w.]+(?:\(-1\))?\), labels\.(?:view|reshape)\(-1\)\)")
"""The loss of the heads that compute it themselves on unshifted labels (BartForCausalLM and its copies; XLNet's
`logits.view(-1, logits.size(-1))`; CPM-Ant's `loss_func`)."""
SHIFTED_LOSS = (re.compile(r"shift_logits = \w+\[\.\.\., :-1, :\](\.contiguous\(\))?\n"),
                re.compile(r"shift_labels = labels\[\.\.\., 1:\](\.contiguous\(\))?\n"),
                re.compile(r"shift_labels = shift_labels\.contiguous\(\)|shift_labels = labels\[\.\.\., 1:\]\.contiguous\(\)"))
"""The heads that shift by hand (mamba, xlstm, 4.56 Gemma 3 multimodal): `CrossEntropyLoss()` of the
contiguous `logits[..., :-1, :]` against the contiguous `labels[..., 1:]`."""
NGRAM_LOSS = (re.compile(r"expend_targets = labels\.new_zeros\(self\.config\.ngram, labels\.size\(0\), labels\.size\(1\)\)"),
              re.compile(r"lprobs = nn\.functional\.log_softmax\(logits\.view\(-1, logits\.size\(-1\)\), dim=-1, dtype=torch\.float32\)"),
              re.compile(r"nn\.functional\.nll_loss\(lprobs, expend_targets\.view\(-1\), reduction='mean'\)"),
              re.compile(r"self\._compute_loss\(predict_logits, labels\)"),
              re.compile(r"predict_logits = self\.lm_head\(predicting_streams\)"),
              re.compile(r"logits = predict_logits\[:, 0\]"))
"""ProphetNet's head (as astroid writes it): the [batch, ngram, seq_len, V] `predict_logits`, of which `logits` is
stream 0, and an nll_loss of their float32 log_softmax against the labels repeated per stream."""
NGRAM_EPS = "eps"
"""The config field of ProphetNet's label smoothing."""
SHIFTED_LOSS_CALL = re.compile(r"self\.loss_function\(\s*shift_logits,\s*shift_labels")
"""A head that shifts by hand, then calls the usual loss on the shifted tensors (4.56's MoshiForCausalLM)."""
UPCAST = re.compile(r"logits = logits\.float\(\)")


PAST = "past_len"
"""The workload's past length, 0 wherever activation_bytes is bound (train_bindings refuses any other): a
training step runs `model(input_ids, labels=...)` with no past, so the arms a past cache takes (a cache's
concatenation of past and new keys, lfm2's) are never reached and are left out of the formula and of its gaps."""


def activation_terms(emitter: Any, draft: RuleDraft) -> list:
    """The rule's activation_bytes terms: its own saved storages, its callees' calls, the loss."""
    got = saved.terms(draft.saved, lambda guard: _reached(emitter, guard, draft))
    if got is None:
        return []
    got = _train_step(emitter, draft, got)
    if draft is emitter.analysis.root:
        loss = loss_term(draft, emitter)
        got = got + [loss] if loss is not None else []
    return _folded(emitter, got) if len(_text(got)) > MAX_FORMULA_CHARS else got


def _no_past(emitter: Any, draft: RuleDraft, names: Any) -> dict:
    """0 for each of `names` that carries the workload's past length (PAST) into `draft`."""
    return {n: Num.const(0) for n in names if n == PAST or n == "@" + PAST and emitter.is_workload(draft, n, PAST)}


def _train_step(emitter: Any, draft: RuleDraft, got: list) -> list:
    """The terms with no past (PAST): equal to them wherever activation_bytes is bound."""
    zero = _no_past(emitter, draft, X.free_params(tuple((t.guard, t.mult, t.expr) for t in got)))
    if not zero:
        return got
    out = [Term(X.substitute(t.guard, zero), X.substitute(t.mult, zero), X.substitute(t.expr, zero), t.note) for t in got]
    return [t for t in out if t.guard != X.FALSE]


def _folded(emitter: Any, got: list) -> list:
    """Terms too long to load, with the config's switches (its bools) folded in: the rule then holds for those
    values only, and eval's derive cache keys on them (specialised_on), as on any value the analysis decides."""
    if emitter.specialise is None:
        return got
    names = X.free_params(tuple((t.guard, t.mult, t.expr) for t in got))
    given = {name: v for name, v in emitter.specialise.items() if name in names}
    out = got
    for kinds in ((bool,),):  # numbers too (tried): 5.23 Doge then priced its unsized 5.x mask (97 B a layer low)
        values = {name: X.bconst(v) if isinstance(v, bool) else Num.const(v) for name, v in given.items() if isinstance(v, kinds)}
        if not values:
            continue
        for name in values:
            emitter.specialised_on[name] = emitter.specialise[name]
        out = [Term(X.substitute(t.guard, values), X.substitute(t.mult, values), X.substitute(t.expr, values), t.note) for t in got]
        out = [t for t in out if t.guard != X.FALSE]
        if len(_text(out)) <= MAX_FORMULA_CHARS:
            break
    return out


def _text(got: list) -> str:
    """The terms as the formula renders them (before hoisting and renaming)."""
    parts = []
    for term in got:
        body = X.render(term.mult * term.expr, X.P_SUM)
        parts.append(body if term.guard == X.TRUE else f"(if {X.render_bool(term.guard)} then {body} else 0)")
    return "\n+ ".join(parts)


def loss_term(draft: RuleDraft, emitter: Any = None) -> Term | None:
    """log_softmax output (float32 logits) + targets + total_weight; None: not the usual loss."""
    cls = draft.template.cls if draft.template is not None else None
    node = getattr(cls, "node", None)
    source = node.as_string() if node is not None else ""
    logits = draft.ret.get("logits") if isinstance(draft.ret, Record) else None
    if not isinstance(logits, Tensor) or logits.shape is None or len(logits.shape) != 3:
        return None
    n = ONE
    for d in logits.shape:
        n = n * d
    if all(p.search(source) for p in NGRAM_LOSS):
        return _ngram_loss(emitter, n)
    if LOSS_CALL not in source:
        return _unshifted_loss(draft, source, logits, n)
    if SHIFTED_LOSS_CALL.search(source) and all(p.search(source) for p in SHIFTED_LOSS):
        # shifted by hand first (moshi): ForCausalLMLoss gets the [batch * (seq_len - 1), V] shift_logits and the
        # flattened shift_labels, pads those by one and takes [1:] (a view of the padded copy, a 1-d tensor)
        shifted = logits.shape[0] * (logits.shape[1] - ONE)
        return Term(X.TRUE, ONE, shifted * logits.shape[2] * Num.const(4) + (shifted + ONE) * Num.const(8) + Num.const(4), "loss")
    batch, seq = Num.sym("batch"), Num.sym("seq_len")
    # labels padded by one position ([batch, seq_len + 1] int64), then [..., 1:].contiguous(): a view at batch 1
    targets = X.ifnum(X.cmp("==", batch, ONE), (seq + ONE) * Num.const(8), batch * seq * Num.const(8))
    return Term(X.TRUE, ONE, n * Num.const(4) + targets + Num.const(4), "loss")


def _ngram_loss(emitter: Any, n: Num) -> Term | None:
    """ProphetNet's `_compute_loss` (NGRAM_LOSS) where `config.eps` is 0: `log_softmax(dtype=float32)` of the
    [ngram * batch * seq_len, V] logits (its float32 output, which nll_loss keeps too), the int64 targets
    `new_zeros(ngram, batch, seq_len)` and nll_loss's 0-dim float32 total_weight. With eps > 0 the
    smoothing indexes by a boolean mask (saved indices of a data-dependent count): no term."""
    spec = getattr(emitter, "specialise", None)
    if emitter is None or spec is None:
        return None
    eps = spec.get(NGRAM_EPS)
    emitter.specialised_on[NGRAM_EPS] = eps  # eval's cache keys on it (specialise.py), whichever way it decides
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps != 0:
        return None
    ngram, batch, seq = Num.sym("ngram"), Num.sym("batch"), Num.sym("seq_len")
    return Term(X.TRUE, ONE, ngram * n * Num.const(4) + ngram * batch * seq * Num.const(8) + Num.const(4), "loss")


def _unshifted_loss(draft: RuleDraft, source: str, logits: Tensor, n: Num) -> Term | None:
    """`CrossEntropyLoss()(logits.view(-1, V), labels.view(-1))` (4.56's encoder-decoder decoders run
    as causal LMs: no shift): the log_softmax output at the logits' dtype, a 0-dim total_weight of
    that dtype, and the targets, a view of `labels` = the input_ids (counted once, with the
    embedding's saved indices where that saves them)."""
    if "CrossEntropyLoss()" not in source:
        return None
    ids = draft.saved.inputs.get(("kw", "input_ids")) if draft.saved is not None else None
    if ids is None or ids.nbytes is None:
        return None
    entry = draft.saved.saved.get(id(ids))
    ids_bytes = ids.nbytes if entry is None else X.ifnum(entry[1], X.ZERO, ids.nbytes) if entry[1] != X.TRUE else X.ZERO
    if UNSHIFTED_LOSS.search(source):
        size = elem_bytes(logits)
        return Term(X.TRUE, ONE, n * size + ids_bytes + size, "loss") if size is not None else None
    if not all(p.search(source) for p in SHIFTED_LOSS):
        return None
    # logits[..., :-1, :].contiguous() (a copy) and labels[..., 1:].contiguous(): a view of the
    # input_ids at batch 1, else a copy; float32 where the head upcasts the logits first
    size = Num.const(4) if UPCAST.search(source) else elem_bytes(logits)
    batch, seq, vocab = logits.shape
    if size is None:
        return None
    shifted = batch * (seq - ONE)
    targets = X.ifnum(X.cmp("==", batch, ONE), ids_bytes, shifted * Num.const(8))
    return Term(X.TRUE, ONE, shifted * vocab * size + targets + size, "loss")


def activations_known(emitter: Any, draft: RuleDraft) -> bool:
    """Whether the rule and every rule it calls have every saved tensor sized."""
    known = emitter.activations_known
    if id(draft) in known:
        return known[id(draft)]
    known[id(draft)] = False  # cycle guard
    ok = saved.terms(draft.saved, lambda guard: _reached(emitter, guard, draft)) is not None
    why = "" if ok else "a saved tensor not sized"
    if ok and draft is emitter.analysis.root:
        ok = loss_term(draft, emitter) is not None
        why = "" if ok else "no loss term"
        if ok and draft.saved is not None and any(_reached(emitter, g, draft) for g in draft.saved.past_cache):
            ok, why = False, "a cache update past the layers DynamicCache(config) built: IndexError, the step runs without a cache"
    if ok and any(unresolved_slugs(t.expr) for t in emitter.metric_terms(draft, "flops")):
        ok, why = False, "unresolved flops"  # the analysis did not see every op
    for term in emitter.metric_terms(draft, "activation_bytes") if ok else []:
        if unresolved_slugs(term.expr) or any(n.startswith("?") for n in X.free_params(term.guard)):
            ok, why = False, "a runtime branch or unsummed per-layer cost"  # a runtime branch, or a per-layer cost the emitter could not sum
        if not _reached(emitter, term.guard, draft):
            continue
        for atom in call_atoms(term.expr):
            label, rule = atom.args[0], atom.args[1]
            # a grandchild's call (`self.model.decoder(...)`) is written through a path helper (emit._via)
            if not isinstance(rule, RuleRef) or not activations_known(emitter, _primary(rule.target)):
                ok, why = False, why or f"call {label}"
    for term in activation_terms(emitter, draft) if ok else []:
        # a callee whose gaps only this call rules out (its guard names the caller's `not $training`)
        # has no activation_bytes of its own, and its call would drop out of the cleaned terms: unknown
        if _reached(emitter, term.guard, draft) and any(isinstance(a.args[1], RuleRef) and not activations_known(emitter, _primary(a.args[1].target))
                                                 for a in call_atoms(term.expr)):
            ok, why = False, why or "a callee without activation_bytes"
    if ok and len(_raw_text(emitter, draft)) > MAX_FORMULA_CHARS:
        ok, why = False, "formula too long"  # the formula would not load (or come close): no metric rather than a rule that fails
    known[id(draft)] = ok
    if not ok and os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
        print("activation gaps:", draft.qualname, why, [(X.render_bool(g), w) for g, w in (draft.saved.gaps if draft.saved is not None else []) if _reached(emitter, g, draft)][:12])
    return ok


def _primary(target: Any) -> RuleDraft:
    """The draft a call names (a module template: its first forward, or its parameters-only rule)."""
    if isinstance(target, RuleDraft):
        return target
    return next(iter(target.rules.values())) if target.rules else target.params_rule()


def _reached(emitter: Any, guard: Bool, draft: RuleDraft) -> bool:
    """Whether a gap's guard may hold for the config the rules are specialised to (the emitter's) in a train step."""
    if guard == X.TRUE:
        return True
    values: dict = {ATTN_SDPA: X.FALSE, TRAINING: X.TRUE}  # a train step: eager attention, model.train()
    values.update(_no_past(emitter, draft, X.free_params(guard)))
    if emitter.specialise is None:
        return X.substitute(guard, values) != X.FALSE
    for name in X.free_params(guard):
        value = emitter.specialise.get(name)
        if name in emitter.specialise or name in emitter.analysis.config.params:
            emitter.specialised_on[name] = value  # the choice read it: eval's cache keys on it (specialise.py)
        if isinstance(value, bool):
            values[name] = X.bconst(value)
        elif isinstance(value, (int, float)):
            values[name] = Num.const(value)
    return eval_defined(X.substitute(guard, values), emitter.specialise) != X.FALSE


def _raw_text(emitter: Any, draft: RuleDraft) -> str:
    """The activation_bytes formula before final renaming (its length decides whether it loads)."""
    parts = []
    for term in emitter.metric_terms(draft, "activation_bytes"):
        body = X.render(term.mult * term.expr, X.P_SUM)
        parts.append(body if term.guard == X.TRUE else f"(if {X.render_bool(term.guard)} then {body} else 0)")
    return "\n+ ".join(parts)
