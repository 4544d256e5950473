"""Rule drafts -> YAML rules in lmpredict's format (lint-clean unless something is unresolved).

Per rule: terms with the same cost are merged and their guards simplified (a cost that is the
same on both sides of a data-dependent branch loses the branch); calls to rules whose metric is
identically zero are dropped; internal names (`@hidden_size`) get their final names; every
parameter gets a type, a default where the configuration class has one, and a doc string.
Anything unresolved stays visible as a call to a rule `unresolved.<code>_<file>_L<line>`, which
does not exist, so `lmpredict lint` and `eval` fail on it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from lm_predictor.diagnostics import A_LAYER_INDEX, A_RUNTIME_BRANCH
from lm_predictor.limits import MAX_FORMULA_CHARS
from lm_predictor.suggest import expr as X
from lm_predictor.suggest import hoist
from lm_predictor.suggest.analysis import WORKLOAD, WORKLOAD_FACTS, Analysis
from lm_predictor.suggest.brains import STATIC_RULES
from lm_predictor.suggest.emit_idle import idle_own_terms, idle_terms
from lm_predictor.suggest.emit_saved import activation_terms, activations_known
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num
from lm_predictor.suggest.expr_facts import renamed_facts
from lm_predictor.suggest.findings import Finding, slug_for
from lm_predictor.suggest.layers import assume, conditions_on, eval_defined, num_conditions, split_layers
from lm_predictor.suggest.ruletext import call_atoms, calls_naming, merge_terms, unresolved_slugs
from lm_predictor.suggest.scope import RuleDraft, RuleRef, Template, Term
from lm_predictor.suggest.values import CacheV, Phi, Record


METRICS = ("flops", "param_count", "kv_cache_bytes", "bytes")
"""Metrics of a derived rule; "bytes" is written as bytes_read and bytes_written (the same text: each
op rule called gives its own read and written bytes)."""
TRAIN_METRICS = ("buffer_bytes", "param_excess", "idle_params", "idle_own_params", "activation_bytes")
"""Metrics for `metrics:` (evaluate/train.py reads them); param_excess is rendered into param_bytes."""


@dataclass
class RuleText:
    name: str
    text: str
    unresolved: list = field(default_factory=list)
    params: list = field(default_factory=list)
    static: bool = False


def primary(target: Any) -> RuleDraft:
    if isinstance(target, RuleDraft):
        return target
    if isinstance(target, Template):
        if target.rules:
            return next(iter(target.rules.values()))
        return target.params_rule()
    raise TypeError(target)


class Emitter:
    """Turns the drafts of one analysis into rule texts."""

    def __init__(self, analysis: Analysis, library: Any = None, specialise: dict | None = None):
        self.analysis = analysis
        self.library = library
        self.interp = analysis.interp
        self.specialise = specialise  # config values: unresolved terms they never reach are dropped
        self.specialised_on: dict = {}
        self._terms: dict = {}
        self._params: dict = {}
        self._zero: dict = {}
        self.activations_known: dict = {}  # id(draft) -> every saved tensor sized (emit_saved.py)
        self._renames: dict = {}
        self.findings: list[Finding] = []
        self.static_needed: set = set()
        self._active: set = set()
        self.helpers: dict = {}
        self._lets: dict = {}

    # ------------------------------------------------------------ terms

    def raw_terms(self, draft: RuleDraft, metric: str) -> list:
        if metric == "flops":
            return list(draft.flops_terms)
        if metric == "kv_cache_bytes":
            return list(draft.kv_terms)
        if metric == "bytes":
            return list(draft.bytes_terms)
        if metric == "buffer_bytes":
            return list(draft.template.buffer_terms) if draft.template is not None else []
        if metric == "param_excess":
            return list(draft.template.excess_terms) if draft.template is not None else []
        if metric == "idle_params":
            return idle_terms(draft.template) if draft.template is not None else []
        if metric == "idle_own_params":
            return idle_own_terms(draft.template) if draft.template is not None else []
        if metric == "activation_bytes":
            return activation_terms(self, draft)
        if metric == "checkpoint_tail_flops":  # library leaves and save-free callees price their flops
            return [Term(t.guard, t.mult, calls_naming(t.expr, "flops"), t.note) for t in draft.ckpt_tail]
        return list(draft.template.param_terms) if draft.template is not None else []

    def terms(self, draft: RuleDraft, metric: str) -> list:
        key = (id(draft), metric)
        if key in self._terms:
            return self._terms[key]
        self._terms[key] = []  # cycle guard
        saved_hint = self._metric_hint
        self._metric_hint = metric
        try:
            return self._compute_terms(draft, metric, key)
        finally:
            self._metric_hint = saved_hint

    def _compute_terms(self, draft: RuleDraft, metric: str, key: tuple) -> list:
        out: list = []
        for term in self.raw_terms(draft, metric):
            expr = self._clean(term.expr, draft)
            if expr is None:
                continue
            out.append(Term(term.guard, term.mult, expr, term.note))
        merged = merge_terms(out)
        final = []
        for term in merged:
            opaque = [n for n in X.free_params((term.guard, term.mult, term.expr)) if n.startswith("?")]
            if metric == "bytes" and (opaque or any(n.startswith("#") for n in self._term_names(term, metric, keep_internal=True))):
                # bytes never report: a term the flops would report (a runtime branch, a per-layer cost
                # the cells cannot sum) is a gap, and the rule simply gets no bytes
                split = None if opaque else self._split_by_index(draft, metric, term, next(n for n in self._term_names(term, metric, keep_internal=True) if n.startswith("#")))
                if split is None:
                    draft.bytes_gaps.append("a runtime branch or a per-layer cost the analysis cannot sum")
                else:
                    final.extend(split)
                continue
            if opaque:
                finding = self.interp.opaque.get(opaque[0]) or Finding(A_RUNTIME_BRANCH, None, "branch on a runtime value changes the cost")
                finding.slug = slug_for(A_RUNTIME_BRANCH, finding.loc)
                if finding not in self.findings:
                    self.findings.append(finding)
                term = Term(X.TRUE, ONE, X.unresolved(finding.slug), term.note)
            index = [n for n in self._term_names(term, metric, keep_internal=True) if n.startswith("#")]
            if index:
                split = self._split_by_index(draft, metric, term, index[0])
                if split is not None:
                    final.extend(split)
                    continue
                if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
                    print("A150 term:", draft.qualname, metric, "guard", X.render_bool(term.guard) if isinstance(term.guard, Bool) else term.guard, "mult", X.render(term.mult), "expr", X.render(term.expr)[:600])
                finding = self.interp.report(A_LAYER_INDEX, _node_of(draft), f"{draft.qualname}: a {metric} term depends on the layer index in a way the analysis cannot sum (layers differ)")
                if finding not in self.findings:
                    self.findings.append(finding)
                term = Term(term.guard, term.mult, X.unresolved(finding.slug), term.note)
            final.append(term)
        if self.specialise is not None:
            final = [t for t in final if not self._unreached(t, metric)]
        self._terms[key] = final
        return final

    # ------------------------------------------------------------ specialisation

    def _unreached(self, term: Term, metric: str) -> bool:
        """An unresolved term (or a call into unresolved rules) under a guard this config makes false."""
        if term.guard == X.TRUE or not self._term_unresolved(term, metric):
            return False
        names = X.free_params(term.guard)
        values = {}
        for name in names:
            if name.startswith(("@", "#", "?")):
                return False
            if name not in self.specialise:
                continue  # only defined(name) can be decided: absent means not defined
            value = self.specialise[name]
            if isinstance(value, bool):
                values[name] = X.bconst(value)
            elif isinstance(value, (int, float)):
                values[name] = Num.const(value)
            elif value is None:
                continue
            else:
                return False
        guard = X.substitute(term.guard, values)
        guard = eval_defined(guard, self.specialise)
        for name in names:  # kept or dropped, the choice read these values: eval's cache keys on them
            if name in self.specialise or name in self.analysis.config.params:
                self.specialised_on[name] = self.specialise.get(name)
        return guard == X.FALSE


    def _term_unresolved(self, term: Term, metric: str) -> bool:
        if unresolved_slugs(term.expr) or any(n.startswith("?") for n in X.free_params((term.guard, term.mult, term.expr))):
            return True
        for atom in call_atoms(term.expr):
            rule = atom.args[1]
            if isinstance(rule, RuleRef):
                callee = primary(rule.target)
                if any(self._term_unresolved(t, atom.args[4] or metric) for t in self.raw_terms(callee, atom.args[4] or metric)):
                    return True
        return False

    # ------------------------------------------------------------ per-layer sums

    def _split_by_index(self, draft: RuleDraft, metric: str, term: Term, index: str) -> list | None:
        """sum over layers i < N of a call that depends on i through one condition c(i):
        count(c) * call(i = a layer where c holds) + (N - count(c)) * call(i = one where it fails)."""
        if index in X.free_params(term.mult):
            return None
        calls = call_atoms(term.expr)
        if len(calls) != 1 or term.expr.single_atom() is not calls[0]:
            return None
        atom = calls[0]
        atoms = self._index_atoms(atom, metric, index, depth=0)
        if os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("index atoms:", draft.qualname, metric, None if atoms is None else [X.render_bool(a) for a in atoms])
        if atoms is None:
            return None
        atoms |= conditions_on(term.guard, index)  # the layer's class chosen by its index (jamba, zamba)
        atoms = {min(a, X.bnot(a), key=X.render_bool) for a in atoms}
        n = term.mult
        if not atoms:  # the index is passed along but no cost depends on it
            return [Term(term.guard, term.mult, X.substitute(term.expr, {index: ZERO}), term.note)]
        cells = split_layers(sorted(atoms, key=X.render_bool), index, n)
        if cells is None:
            return None
        out: list = []
        for count, rep, label, truths in cells:
            guard = X.substitute(assume(term.guard, truths), {index: rep})  # any layer of the group decides it
            if count == ZERO or guard == X.FALSE:
                continue
            expr = X.substitute(term.expr, {index: rep})
            same = next((i for i, t in enumerate(out) if t.guard == guard and t.expr == expr), None)
            if same is not None:  # groups whose layers cost the same (the index only told them apart): one term
                out[same] = Term(guard, out[same].mult + count, expr, out[same].note)
                continue
            out.append(Term(guard, count, expr, term.note + f" (layers where {label})"))
        return out

    def _index_atoms(self, atom: X.Op, metric: str, index: str, depth: int) -> set | None:
        """Atomic conditions on the layer index that the called rule's formula (transitively) tests."""
        if depth > 12:
            return None
        label, rule, items, fwd, call_metric = atom.args
        if not isinstance(rule, RuleRef):
            found_lib: set = set()
            for _, v in items:
                got = num_conditions(v, index) if isinstance(v, Num) else conditions_on(v, index)
                if got is None:
                    return None  # a library rule sized by the layer index itself
                found_lib |= got
            return found_lib
        callee = primary(rule.target)
        mapping = {k: v for k, v in items if index in X.free_params(v)}
        if not mapping:
            return set()
        found: set = set()
        for term in self.metric_terms(callee, call_metric or metric):
            for part in (term.guard, term.mult, term.expr):
                sub = X.substitute(part, mapping) if isinstance(part, (Num, Bool)) else part
                if isinstance(sub, Bool):
                    found |= conditions_on(sub, index)
                else:
                    nested = num_conditions(sub, index)
                    if nested is None:
                        return None
                    found |= nested
            for inner in call_atoms(term.expr):
                lbl, rl, its, fw, mt = inner.args
                sub_items = tuple((k, X.substitute(v, mapping) if isinstance(v, (Num, Bool)) else v) for k, v in its)
                got = self._index_atoms(X.Op("call", (lbl, rl, sub_items, fw, mt)), mt or call_metric or metric, index, depth + 1)
                if got is None:
                    return None
                found |= got
        return found

    def _clean(self, expr: Num, draft: RuleDraft) -> Num | None:
        """Drop calls to all-zero rules; keep only the keywords the callee declares."""
        atom = expr.single_atom()
        if isinstance(atom, X.Op) and atom.kind == "call":
            return self._clean_call(atom)
        if expr.is_monomial():
            (mono, coeff), = expr.terms
            calls = [a for a, _ in mono if isinstance(a, X.Op) and a.kind == "call"]
            if len(calls) == 1:
                cleaned = self._clean_call(calls[0])
                if cleaned is None:
                    return None
                rest = Num(((tuple((a, e) for a, e in mono if a is not calls[0]), coeff),))
                return rest * cleaned
        return expr

    def _clean_call(self, atom: X.Op) -> Num | None:
        label, rule, items, fwd, metric = atom.args
        if isinstance(rule, RuleRef):
            callee = primary(rule.target)
            m = metric
            if self.is_zero(callee, m or self._metric_hint):
                return None
            return Num.atom(X.Op("call", (label, RuleRef(callee), items, fwd, metric)))
        if isinstance(rule, str):
            self.note_static(rule)
        return Num.atom(atom)

    _metric_hint = "flops"

    def is_zero(self, draft: RuleDraft, metric: str) -> bool:
        key = (id(draft), metric)
        if key in self._zero:
            return self._zero[key]
        if key in self._active:
            return False
        self._active.add(key)
        try:
            saved = self._metric_hint
            self._metric_hint = metric
            zero = not self.terms(draft, metric)
            self._metric_hint = saved
        finally:
            self._active.discard(key)
        self._zero[key] = zero
        return zero

    def note_static(self, rule: str) -> None:
        if rule in STATIC_RULES and (self.library is None or self.library.get(rule) is None):
            self.static_needed.add(rule)

    def metric_terms(self, draft: RuleDraft, metric: str) -> list:
        saved = self._metric_hint
        self._metric_hint = metric
        try:
            return self.terms(draft, metric)
        finally:
            self._metric_hint = saved

    # ------------------------------------------------------------ parameters

    def has_metric(self, draft: RuleDraft, metric: str) -> bool:
        if metric == "flops":
            return draft.called or bool(draft.flops_terms)
        if metric == "param_count":
            return True
        if metric == "bytes":
            return self.bytes_priced(draft)
        if metric == "buffer_bytes":  # the model's own rule says 0 where no module registers a buffer
            known = draft.template is not None and draft.template.buffers_known
            return known and (draft is self.analysis.root or bool(self.metric_terms(draft, metric)))
        if metric == "param_excess":
            return draft.template is not None and draft.template.param_dtypes_known and bool(draft.template.excess_terms)
        if metric in ("idle_params", "idle_own_params"):
            return bool(self.metric_terms(draft, metric))
        if metric == "checkpoint_tail_flops":  # where the saved-tensor analysis knows where the last save is, in a formula that loads
            if not draft.ckpt_saves or draft.ckpt_unsure or not hoist.loadable(self.formula(draft, metric)):
                return False  # (a guard left in internal names, `$@x`, does not parse: LFM3, Qwen3.5 on 5.23)
            # a tail guarded by a value no other metric reads (Falcon's dropout rates) would be an undeclared
            # parameter: no tail then, so the layer's recompute is unknown rather than a rule that does not load
            return self.metric_params(draft, metric) <= set(self.params(draft))
        if metric == "activation_bytes":  # the model's own rule says 0 where nothing is saved
            return activations_known(self, draft) and (draft is self.analysis.root or bool(self.metric_terms(draft, metric)))
        if draft is self.analysis.root and not _returns_cache(draft.ret):
            return False  # the model hands back no cache: nothing is kept for the next step
        return bool(self.metric_terms(draft, "kv_cache_bytes"))

    def bytes_priced(self, draft: RuleDraft) -> bool:
        """Whether every op of the rule, and of every rule it calls, has a bytes term (no gap):
        only then does the rule get bytes_read / bytes_written, never a partial total."""
        key = ("bytes", id(draft))
        if key in self._zero:
            return self._zero[key]
        self._zero[key] = False  # cycle guard
        self.metric_terms(draft, "bytes")  # computing the terms may add gaps (terms bytes cannot report)
        why = [str(gap) for gap in sorted(set(draft.bytes_gaps), key=str)]
        ok = not why and (draft.called or bool(draft.bytes_terms))
        if ok and any(unresolved_slugs(term.expr) for term in self.metric_terms(draft, "flops")):
            why.append("the flops have unresolved terms: the analysis did not see every op")
        for term in self.metric_terms(draft, "bytes") if ok else []:
            for atom in call_atoms(term.expr):
                label, rule = atom.args[0], atom.args[1]
                if isinstance(rule, RuleRef):  # a grandchild (`model.decoder`) too: its path helper passes the metric on
                    if not self.bytes_priced(primary(rule.target)):
                        why.append(f"{label}: {primary(rule.target).qualname} has no bytes")
                else:  # a library rule, also at a grandchild's path (a path helper passes its bytes on)
                    lib = self.library.get(str(rule)) if self.library is not None else None
                    have = set(lib.metrics) if lib is not None else set(STATIC_RULES.get(str(rule), {}))
                    if not {"bytes_read", "bytes_written"} <= have:
                        why.append(f"{label}: {rule} has no bytes")
            if unresolved_slugs(term.expr) or any(n.startswith("?") for n in X.free_params(term.guard)):
                why.append("an unresolved term or a runtime branch")
        if ok:  # a child the forward calls but whose bytes are not priced leaves the total partial, even where
            # no bytes term names it (Whisper's decoder reads its positions' slice without calling their rule)
            why += [f"{child.qualname} runs and has no bytes" for child in self.callees(draft)
                    if isinstance(child, RuleDraft) and child.called and child is not draft and not self.bytes_priced(child)]
        ok = ok and not why
        if why and os.environ.get("LMPREDICT_SUGGEST_DEBUG"):
            print("bytes gaps:", draft.qualname, why)
        if ok:
            ok = all(hoist.loadable(text) for text in self._raw_text(draft, "bytes"))
        self._zero[key] = ok
        return ok

    def _raw_text(self, draft: RuleDraft, metric: str) -> list:
        """The metric's formula before the final renaming (internal names read as plain ones), with
        the sub-expressions hoist.py would bind, then each bound value: to check their sizes while
        the rule's parameters are still being worked out."""
        terms = [(t.expr, t.mult, t.guard) for t in self.metric_terms(draft, metric)]
        lets = hoist.choose([[v for t in terms for v in t]], draft.rule_name(), MAX_FORMULA_CHARS * 3 // 5)
        parts = []
        for expr, mult, guard in (tuple(hoist.replace_all(v, lets) for v in t) for t in terms):
            body = X.render(mult * expr, X.P_SUM)
            parts.append(body if guard == X.TRUE else f"(if {X.render_bool(guard)} then {body} else 0)")
        texts = ["\n+ ".join(parts) or "0"] + [hoist.text_of(value) for _, _, value, _ in lets]
        # internal names (@x) are plain names in the end, as are layer indices (#i) and runtime values (?x)
        # a grandchild's dotted label (`model.decoder`) is a path helper's plain one in the end
        texts = [re.sub(r"\{(\w+(?:\.\w+)+):", lambda m: "{" + m.group(1).replace(".", "_") + ":", text) for text in texts]
        return [re.sub(r"\$[#?]", "$n_", text.replace("@", "")) for text in texts]

    def all_terms(self, draft: RuleDraft) -> list:
        """The terms of every metric the draft's rule has."""
        return [term for metric in METRICS + TRAIN_METRICS if self.has_metric(draft, metric) for term in self.metric_terms(draft, metric)]

    def callees(self, draft: RuleDraft) -> list:
        out = []
        for term in self.all_terms(draft):
            for atom in call_atoms(term.expr):
                rule = atom.args[1]
                if isinstance(rule, RuleRef):
                    out.append(primary(rule.target))
        return list(dict.fromkeys(out))

    def params(self, draft: RuleDraft) -> list:
        """Internal names of the draft's parameters (globals keep their names)."""
        key = id(draft)
        if key in self._params:
            return self._params[key]
        names: set = set()
        for metric in METRICS + TRAIN_METRICS:
            if self.has_metric(draft, metric):
                names |= self.metric_params(draft, metric)
        result = sorted(names, key=self._param_order)
        self._params[key] = result
        return result

    def metric_params(self, draft: RuleDraft, metric: str) -> set:
        """Names one metric's formula reads, with the globals its callees read (forwarded)."""
        key = ("mp", id(draft), metric)
        if key in self._params:
            return self._params[key]
        self._params[key] = set()
        names: set = set()
        for term in self.metric_terms(draft, metric):
            names |= self._term_names(term, metric)
            for atom in call_atoms(term.expr):
                rule = atom.args[1]
                if isinstance(rule, RuleRef):
                    callee = primary(rule.target)
                    names |= {n for n in self.metric_params(callee, atom.args[4] or metric) if not n.startswith("@")}
        self._params[key] = names
        return names

    def _term_names(self, term: Term, metric: str = "flops", keep_internal: bool = False) -> set:
        names = X.free_params(term.guard) | X.free_params(term.mult)
        names |= self._expr_names(term.expr, metric)
        if keep_internal:
            return names
        return {n for n in names if not n.startswith(("?", "#"))}

    def _expr_names(self, expr: Num, metric: str = "flops") -> set:
        names: set = set()
        for mono, _ in expr.terms:
            for atom, _ in mono:
                if isinstance(atom, X.Op) and atom.kind == "call":
                    keep = self._kept_keys(atom, metric)
                    for k, v in atom.args[2]:
                        if keep is None or k in keep:
                            names |= X.free_params(v)
                elif isinstance(atom, X.Op) and atom.kind == "if":
                    names |= X.free_params(atom.args[0])
                    names |= self._expr_names(atom.args[1], metric) | self._expr_names(atom.args[2], metric)
                else:
                    names |= X.free_params(Num.atom(atom))
        return names

    def _kept_keys(self, atom: X.Op, metric: str | None = None) -> set | None:
        rule = atom.args[1]
        if isinstance(rule, RuleRef):
            callee = primary(rule.target)
            if metric is None:
                return set(self.params(callee))
            required = {p for p in self.metric_params(callee, "param_count") if p.startswith("@")}
            return self.metric_params(callee, atom.args[4] or metric) | required
        if self.library is not None:
            lib = self.library.get(str(rule))
            if lib is not None:
                return set(lib.params)
        if str(rule) in STATIC_RULES:
            return set(STATIC_RULES[str(rule)]["params"])
        return None

    def _param_order(self, name: str) -> tuple:
        workload = list(WORKLOAD)
        if name in workload:
            return (2, workload.index(name), name)
        if name.startswith("@"):
            return (1, 0, name)
        return (0, 0, name)

    def renames(self, draft: RuleDraft) -> dict:
        key = id(draft)
        if key in self._renames:
            return self._renames[key]
        params = self.params(draft)
        taken = {p for p in params if not p.startswith("@")}
        mapping = {}
        for p in params:
            if p.startswith("@"):
                base = p[1:]
                name, i = base, 2
                while name in taken or name in ("if", "then", "else", "and", "or", "not", "true", "false", "defined"):
                    name = f"{base}_{i}"
                    i += 1
                taken.add(name)
                mapping[p] = name
        self._renames[key] = mapping
        return mapping

    # ------------------------------------------------------------ rendering

    def typed_renames(self, draft: RuleDraft) -> dict:
        out = {}
        for k, v in self.renames(draft).items():
            out[k] = X.bsym(v) if self.param_type(draft, k) == "bool" else Num.sym(v)
        return out

    def param_type(self, draft: RuleDraft, name: str) -> str:
        if name in WORKLOAD:
            return "int"
        if name in WORKLOAD_FACTS:
            return "bool"
        if not name.startswith("@"):
            info = self.analysis.config.params.get(name)
            return info.type if info is not None else "number"
        info = (getattr(draft, "fwd_params", {}) or {}).get(name)
        if info is None and draft.template is not None:
            info = draft.template.scope.params.get(name)
        return info.type if info is not None else "int"

    def final(self, expr: Any, draft: RuleDraft) -> Any:
        """Internal names -> final names; call keywords filtered and renamed for the callee (under the facts of
        the internal names: a constructor argument `@dropout` renamed `dropout` is not the config's `dropout`)."""
        ren = self.typed_renames(draft)
        with X.using(renamed_facts(ren)):
            return self._final(expr, draft, ren)

    def _final(self, expr: Any, draft: RuleDraft, ren: dict) -> Any:
        if isinstance(expr, Bool):
            return X.substitute(expr, ren)
        result = ZERO
        for mono, coeff in expr.terms:
            term = Num.const(coeff)
            for atom, e in mono:
                if isinstance(atom, X.Op) and atom.kind == "call":
                    piece = self._final_call(atom, draft, ren)
                elif isinstance(atom, X.Sym):
                    piece = ren.get(atom.name, Num.atom(atom))
                    if isinstance(piece, Bool):
                        piece = X.ifnum(piece, ONE, ZERO)
                else:
                    piece = X.substitute(Num.atom(atom), ren) if ren else Num.atom(atom)
                term = term * (X.power(piece, Num.const(e)) if e != 1 else piece)
            result = result + term
        return result

    def _final_call(self, atom: X.Op, draft: RuleDraft, ren: dict) -> Num:
        label, rule, items, fwd, metric = atom.args
        keep = self._kept_keys(atom, self._render_metric)
        if isinstance(rule, RuleRef):
            callee = primary(rule.target)
            callee_ren = self.renames(callee)
            name = callee.rule_name()
            kwargs = {}
            for k, v in items:
                if keep is not None and k not in keep:
                    continue
                kwargs[callee_ren.get(k, k)] = self.final(v, draft)
            if label and "." in label:
                # "bytes" is written as bytes_read and bytes_written: a path helper passes each on by name
                via_metric = metric or (self._bytes_name if self._render_metric == "bytes" else self._render_metric)
                specs = [self.param_spec(callee, p, False) for p in self.params(callee)]
                return self._via(draft, label, specs, name, kwargs, via_metric)
            return X.call(label, name, kwargs, forward_all=True, metric=metric)
        kwargs = {}
        for k, v in items:
            if keep is not None and k not in keep:
                continue
            kwargs[k] = self.final(v, draft)
        lib = self.library.get(str(rule)) if self.library is not None and label and "." in label else None
        if lib is not None and self._render_metric == "bytes" and metric is None:
            # a library rule at a grandchild's path (fuyu's `self.language_model.get_input_embeddings()(ids)`): the
            # helper declares the arguments given, typed as the library rule types them, and passes them on
            specs = [(k, {"type": lib.params[k].type, "optional": True, "doc": f"passed on to {rule}"}) for k in sorted(kwargs)]
            return self._via(draft, label, specs, str(rule), kwargs, self._bytes_name)
        return X.call(label, str(rule), kwargs, forward_all=fwd, metric=metric)

    _render_metric = "flops"
    _bytes_name = "bytes_read"  # which of the two "bytes" texts formula() is writing (they differ at path helpers only)

    def _via(self, draft: RuleDraft, label: str, specs: list, inner_name: str, kwargs: dict, metric: str) -> Num:
        """A call to a grandchild module (`self.model.decoder(...)`): labels are plain names, so
        the intermediate module gets a helper rule whose metric `<metric>_via` calls the next
        segment. The parent's row in the breakdown carries no value of `metric` (the parent
        module itself never runs), the grandchild's row gets it under the full path."""
        segments = label.split(".")
        via = f"{metric}_via"
        inner_metric = metric
        for i in range(len(segments) - 1, 0, -1):
            # one helper per grandchild called (and per its rule variant): `experts.router` and
            # `experts.output_linear` pass on different calls with different parameters
            base = f"{draft.rule_name()}.path_{'_'.join(segments[:i])}_to_{'_'.join(segments[i:])}"
            forwarded = X.render(X.call(segments[i], inner_name, {}, forward_all=True, metric=inner_metric))
            helper, n = base, 2
            while helper in self.helpers and (self.helpers[helper]["params"], self.helpers[helper]["metrics"].get(via, forwarded)) != (specs, forwarded):
                helper, n = f"{base}_{n}", n + 1
            entry = self.helpers.setdefault(helper, {"params": specs, "metrics": {}, "path": ".".join(segments[:i]), "caller": draft.rule_name()})
            entry["metrics"][via] = forwarded
            inner_name, inner_metric = helper, via
        return X.call(segments[0], inner_name, kwargs, forward_all=True, metric=inner_metric)

    def bytes_formulas(self, draft: RuleDraft) -> list:
        """(name, text) of bytes_read and bytes_written: one text, but for the metric a path helper passes on."""
        out = []
        for name in ("bytes_read", "bytes_written"):
            self._bytes_name = name
            out.append((name, self.formula(draft, "bytes")))
        self._bytes_name = "bytes_read"
        return out

    def formula(self, draft: RuleDraft, metric: str, calls_of: str | None = None) -> str:
        """`metric`'s formula text; with `calls_of`, its calls name that metric (`{a: R}(...).param_count`)
        so that the text can sit inside another metric's formula."""
        lets = self.lets(draft)
        parts = []
        for expr, mult, guard in self._final_terms(draft, metric, calls_of):
            expr, mult, guard = hoist.replace_all(expr, lets), hoist.replace_all(mult, lets), hoist.replace_all(guard, lets)
            if mult == ONE:
                body_text = X.render(expr, X.P_SUM)
            elif mult.is_monomial() and not expr.single_atom():
                body_text = X.render(mult * expr, X.P_SUM)
            else:
                body_text = f"{X.render(mult, X.P_PROD)} * {X.render(expr, X.P_UNARY)}"
            text = body_text
            if guard != X.TRUE:
                text = f"(if {X.render_bool(guard)} then {body_text} else 0)"
            parts.append(text)
        return "\n+ ".join(parts) if parts else "0"

    def _final_terms(self, draft: RuleDraft, metric: str, calls_of: str | None = None) -> list:
        """(expr, mult, guard) of each of `metric`'s terms in final names."""
        self._render_metric = metric
        out = []
        for term in self.metric_terms(draft, metric):
            expr = self.final(term.expr, draft)
            if calls_of is not None:
                expr = calls_naming(expr, calls_of)
            guard = self.final(term.guard, draft) if term.guard != X.TRUE else X.TRUE
            out.append((expr, self.final(term.mult, draft), guard))
        return out

    def lets(self, draft: RuleDraft) -> list:
        """Sub-expressions the rule's formulas share, bound once as parameters (hoist.py) where a
        formula would otherwise exceed the parser's length limit: (name, value, type)."""
        key = draft.rule_name()
        got = self._lets.get(key)
        if got is None:
            self._lets[key] = []  # while computing: formulas without lets
            groups = []
            for metric in (*METRICS, "buffer_bytes", "param_excess", "idle_params", "idle_own_params"):
                if self.has_metric(draft, metric):
                    groups.append([v for t in self._final_terms(draft, metric) for v in t])
            got = hoist.choose(groups, key, MAX_FORMULA_CHARS * 3 // 5)
            self._lets[key] = got
        return got

    def unresolved_in(self, draft: RuleDraft) -> list:
        return [slug for term in self.all_terms(draft) for slug in unresolved_slugs(term.expr)]

    def param_spec(self, draft: RuleDraft, name: str, root: bool) -> tuple[str, dict]:
        final = self.renames(draft).get(name, name)
        if name.startswith("@") and final in WORKLOAD and self.is_workload(draft, name, final):
            name = final
        if name in WORKLOAD:
            spec: dict = {"type": "int"}
            if name == "past_len":
                spec["default"] = 0
            elif name == "dtype_bytes":
                spec["default"] = 4
            elif not root:
                spec["optional"] = True
            spec["doc"] = WORKLOAD[name]
            return final, spec
        if name in WORKLOAD_FACTS:
            return final, {"type": "bool", "default": False, "doc": WORKLOAD_FACTS[name]}
        if not name.startswith("@"):
            info = self.analysis.config.params.get(name)
            if info is None:
                return final, {"type": "number", "optional": True, "doc": f"config.{name} (optional)"}
            spec = {"type": info.type}
            if info.default is not None and not info.optional:
                spec["default"] = info.default
            else:
                spec["optional"] = True
            spec["doc"] = info.doc
            return final, spec
        info = (getattr(draft, "fwd_params", {}) or {}).get(name)
        kind = "forward input"
        if info is None and draft.template is not None:
            info = draft.template.scope.params.get(name)
            kind = "constructor argument"
        typ = info.type if info is not None else "int"
        spec = {"type": typ}
        if kind == "forward input" or name not in self.metric_params(draft, "param_count"):
            spec["optional"] = True
        hint = (info.doc if info is not None and info.doc else name[1:])
        spec["doc"] = f"{kind} {_describe(hint)}{self._bound_note(draft, name)}"
        return final, spec

    def is_workload(self, draft: RuleDraft, name: str, final: str) -> bool:
        """Whether an input parameter carries the workload quantity of the same name all the way down."""
        seen = 0
        while draft is not None and seen < 64:
            seen += 1
            fwd = getattr(draft, "fwd_params", {}) or {}
            binding = draft.first_binding if name in fwd else getattr(draft.template, "first_binding", {})
            caller = getattr(draft, "caller", None) if name in fwd else getattr(draft.template, "caller_draft", None)
            value = binding.get(name) if binding else None
            if value is None or not isinstance(value, Num):
                return False
            src = value.sym_name()
            if src is None:
                return False
            if not src.startswith("@"):
                return src == final
            if caller is None:
                return src == "@" + final
            draft, name = caller, src
        return False

    def _bound_note(self, draft: RuleDraft, name: str) -> str:
        binding = draft.first_binding if name in (getattr(draft, "fwd_params", {}) or {}) else getattr(draft.template, "first_binding", {})
        value = binding.get(name) if binding else None
        caller = getattr(draft, "caller", None) if name in (getattr(draft, "fwd_params", {}) or {}) else getattr(draft.template, "caller_draft", None)
        if value is None:
            return ""
        try:
            if caller is not None and isinstance(caller, RuleDraft):
                shown = self.final(value, caller) if isinstance(value, Num) else self.final(value, caller)
            else:
                shown = value
            text = X.render(shown) if isinstance(shown, Num) else X.render_bool(shown)
        except Exception:  # noqa: BLE001 - a doc note only
            return ""
        if "#" in text or "?" in text or len(text) > 80:
            return ""
        return f" (the model passes {text})"


def _describe(hint: str) -> str:
    m = re.match(r"^(.*?)_(\d+)$", hint)
    if m and not m.group(1).endswith("_"):
        base, idx = m.group(1), m.group(2)
        m2 = re.match(r"^(.*?)(\d+)$", base)
        if m2 and m2.group(1):
            return f"{m2.group(1)}[{m2.group(2)}].shape[{idx}]"
        return f"{base}.shape[{idx}]"
    return hint


def _returns_cache(value: Any) -> bool:
    """Whether a forward's result (a ModelOutput record, a tuple, a Phi of them) carries the cache."""
    if isinstance(value, Phi):
        return _returns_cache(value.a) or _returns_cache(value.b)
    if isinstance(value, Record):
        return value.fields.get("past_key_values") is not None and not isinstance(value.fields.get("past_key_values"), type(None))
    if isinstance(value, tuple):
        return any(isinstance(v, CacheV) or _returns_cache(v) for v in value)
    return isinstance(value, CacheV) or value is not None and not isinstance(value, (Record, tuple))


def _node_of(draft: RuleDraft):
    tmpl = draft.template
    return tmpl.cls.node if tmpl is not None and tmpl.cls is not None else None
