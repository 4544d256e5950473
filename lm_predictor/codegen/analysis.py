"""Library-wide facts for the fast path: callee interfaces, the static call graph, result types and bit bounds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from lm_predictor.codegen.emit_base import ROOT_BITS, ModuleState, requirements
from lm_predictor.codegen.fast_emitter import FastEmitter
from lm_predictor.codegen.literals import CodegenError
from lm_predictor.formula import nodes as n
from lm_predictor.limits import MAX_INT_BITS
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, Rule


def rule_interface(rule: Rule) -> list:
    """What the fast path of a caller assumes about a callee."""
    params = [[p.name, p.type, p.default is not None, bool(p.optional), p.derived] for p in rule.params.values()]
    return [rule.name, params, sorted(rule.metrics)]


def rule_formulas(rule: Rule) -> list[Formula]:
    return [*rule.metrics.values(), *(p.default for p in rule.params.values() if p.default is not None), *requirements(rule)]


def deps_hash(library: RuleLibrary, rules: list[Rule]) -> str:
    """sha256 of the interfaces of every rule called from `rules` (as resolved in `library`)."""
    entries: dict[str, list] = {}
    for rule in rules:
        for formula in rule_formulas(rule):
            for node in n.walk(formula.node):
                if isinstance(node, n.Call) and node.callee not in entries:
                    callee = library.get(node.callee)
                    entries[node.callee] = [node.callee, rule_interface(callee) if callee is not None else None]
    text = json.dumps([entries[k] for k in sorted(entries)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def static_calls(library: RuleLibrary, rule: Rule, metric: str) -> list[tuple[str, str]]:
    """(callee, metric) of every call a (rule, metric) evaluation can make, defaults included."""
    formulas = [rule.metrics[metric], *(p.default for p in rule.params.values() if p.default is not None), *requirements(rule)]
    out = []
    for formula in formulas:
        for node in n.walk(formula.node):
            if isinstance(node, n.Call):
                callee = library.get(node.callee)
                m = node.metric or metric
                if callee is not None and m in callee.metrics:
                    out.append((callee.name, m))
    return out


@dataclass
class Analysis:
    """Library-wide facts the fast functions are specialised on (each checked again at link time)."""

    types: dict[tuple[str, str], str]  # static type of each fast function's result
    param_bits: dict[tuple[str, str], int]  # bits its int parameters may have (callers guarantee)
    result_bits: dict[tuple[str, str], int]  # bits its int result may have


def analyse(library: RuleLibrary, idents: dict[str, str], rounds: int = 30) -> Analysis:
    """Result types and bit bounds of every fast function, to a fixed point over the call graph.

    Types: callees first (a callee on a call cycle counts as 'any'). Bounds: an int parameter may
    have ROOT_BITS bits when the rule is evaluated at the root (the backend checks) and as many
    as any caller passes; results follow from the parameters. Bounds only grow and are capped at
    MAX_INT_BITS, so this converges; if it did not within `rounds`, every bound is MAX_INT_BITS.
    Each module records what it assumed, and the runtime refuses a link that breaks it.
    """
    succ = {(r.name, m): static_calls(library, r, m) for r in library for m in r.metrics}
    order: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for start in succ:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(succ[start]))]
        while stack:
            key, edges = stack[-1]
            for nxt in edges:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(succ[nxt])))
                    break
            else:
                stack.pop()
                order.append(key)
    result = Analysis({}, {key: ROOT_BITS for key in order}, {})

    def one_round() -> tuple[bool, dict[tuple[str, str], int]]:
        changed = False
        passed: dict[tuple[str, str], int] = {}
        for key in order:  # callees first
            rule = library.rules[key[0]]
            state = ModuleState(
                library, idents, {rule.name}, result_types=result.types, param_bounds=result.param_bits, result_bounds=result.result_bits
            )
            emitter = FastEmitter(state, rule, key[1])
            try:
                emitter.function("dry___m_x", rule.metrics[key[1]])
            except CodegenError:
                continue
            if result.types.get(key) != emitter.result_type or result.result_bits.get(key) != emitter.result_bits:
                changed = True
                result.types[key] = emitter.result_type
                result.result_bits[key] = emitter.result_bits
            for callee, bits in state.arg_bounds.items():
                passed[callee] = max(passed.get(callee, 0), bits)
        for key, bits in passed.items():
            bits = min(max(bits, ROOT_BITS), MAX_INT_BITS)
            if bits > result.param_bits.get(key, ROOT_BITS):
                result.param_bits[key] = bits
                changed = True
        return changed, passed

    for _ in range(rounds):
        changed, _ = one_round()
        if not changed:
            return result
    result.param_bits = {key: MAX_INT_BITS for key in order}  # no fixed point: assume nothing
    result.result_bits = {}
    for _ in range(rounds):
        changed, _ = one_round()
        if not changed:
            return result
    raise CodegenError("internal: the bound analysis does not converge")
