"""Rule ASTs -> Python source of one generated module. Built from the AST only.

No text of a rule file reaches the output: Python identifiers are generated (`p0`, `v3`, `t12`,
`<ident>___m_flops`), numbers are `repr` of ints and finite floats the parser already checked,
and the only string literals are rule, parameter, metric and built-in names that pass
`naming.is_dotted_name` (dotted ASCII identifiers, no keywords, no dunders). Anything else is
refused with CodegenError before a line is written; safety.py re-checks the written file.

Two functions per (rule, metric), made by two emitters that share their node dispatch
(emit_base.FunctionEmitter, a formula Visitor):

`<ident>___t_<metric>(frame)` — the engine Runner protocol, statement for statement what the
compiled closures do (frame_emitter.py);

`<ident>___m_<metric>(p0, ..., pN)` — the fast path for totals: plain Python, inline exact-int
arithmetic, direct calls; on anything unusual it raises and the engine decides (fast_emitter.py).
Both are specialised on library-wide facts (result types, bit bounds: analysis.py).
"""

from __future__ import annotations

from lm_predictor.codegen import naming
from lm_predictor.codegen.analysis import Analysis, analyse, deps_hash
from lm_predictor.codegen.emit_base import ROOT_BITS, ModuleState, requirements
from lm_predictor.codegen.fast_emitter import FastEmitter
from lm_predictor.codegen.frame_emitter import FrameEmitter
from lm_predictor.codegen.header import render
from lm_predictor.codegen.literals import CodegenError, int_literal, name_literal
from lm_predictor.rules.library import RuleLibrary
from lm_predictor.rules.model import Formula, Rule

__all__ = ["CodegenError", "analyse", "emit_body", "emit_module", "emit_package_marker", "frame_function_source"]


def emit_body(library: RuleLibrary, idents: dict[str, str], rules: list[Rule], analysis: Analysis | None = None) -> str:
    """The Python body (without header) of the module for `rules` (one rule file)."""
    if analysis is None:
        analysis = analyse(library, idents)
    state = ModuleState(
        library,
        idents,
        {r.name for r in rules},
        result_types=analysis.types,
        param_bounds=analysis.param_bits,
        result_bounds=analysis.result_bits,
    )
    exports = []
    for rule in rules:
        name_literal(rule.name)
        ident = idents[rule.name]
        for pname in rule.params:
            name_literal(pname)
        metric_entries = []
        for metric, formula in rule.metrics.items():
            name_literal(metric)
            fast = naming.symbol(ident, "m", metric)
            frame_fn = naming.symbol(ident, "t", metric)
            fast_emitter = FastEmitter(state, rule, metric)
            state.functions.append(fast_emitter.function(fast, formula))
            state.functions.append(FrameEmitter(state, rule).function(frame_fn, formula))
            metric_entries.append(
                f"({name_literal(metric)}, {fast}, {frame_fn}, {name_literal(fast_emitter.result_type)}, "
                f"{int_literal(fast_emitter.param_bits)}, {int_literal(fast_emitter.result_bits)})"
            )
        default_entries = []
        for pname, spec in rule.params.items():
            if spec.default is None:
                continue
            fn = naming.symbol(ident, "d", pname)
            state.functions.append(FrameEmitter(state, rule).function(fn, spec.default))
            default_entries.append(f"({name_literal(pname)}, {fn})")
        check_entries = []
        for i, check in enumerate(requirements(rule)):
            fn = naming.symbol(ident, f"q{i}")
            state.functions.append(FrameEmitter(state, rule).function(fn, check))
            check_entries.append(fn)
        params = "(" + "".join(f"{name_literal(p)}, " for p in rule.params) + ")"
        exports.append(
            f"    ({name_literal(rule.name)}, {params}, ({''.join(e + ', ' for e in metric_entries)}), "
            f"({''.join(e + ', ' for e in default_entries)}), ({''.join(e + ', ' for e in check_entries)})),"
        )
    for key, bits in state.local_arg_bounds.items():  # calls inside the module: checked here
        if bits > analysis.param_bits.get(key, ROOT_BITS):
            raise CodegenError(f"internal: a call passes {bits}-bit ints to {key[0]} ({key[1]}), which assumes fewer")
    if state.slots:
        state.use("h_unlinked")
    if state.spans:
        state.use("h_Span")
    lines: list[str] = []
    for (start, end), name in state.spans.items():
        lines.append(f"{name} = h_Span({int_literal(start)}, {int_literal(end)})")
    for i, text in enumerate(state.sites):
        lines.append(f"C{i} = {text}")
    for slot in sorted(set(state.slots.values())):
        lines.append(f"{slot} = h_unlinked")
    for fn in state.functions:
        lines.append("")
        lines.append("")
        lines.extend(fn)
    lines.append("")
    lines.append("")
    lines.append("EXPORTS = (")
    lines.extend(exports)
    lines.append(")")
    lines.append("IMPORTS = (")
    for (callee, metric), slot in sorted(state.slots.items()):
        assumed = name_literal(state.assumed[(callee, metric)])
        passed = int_literal(state.arg_bounds.get((callee, metric), 0))
        assumed_bits = int_literal(state.assumed_bounds[(callee, metric)])
        lines.append(f"    ({name_literal(callee)}, {name_literal(metric)}, {name_literal(slot)}, {assumed}, {passed}, {assumed_bits}),")
    lines.append(")")
    if state.helpers:
        imports = ["from lm_predictor.codegen.helpers import (", *(f"    {h}," for h in sorted(state.helpers)), ")", ""]
        lines = imports + lines
    return "\n".join(lines) + "\n"


def emit_module(
    library: RuleLibrary,
    idents: dict[str, str],
    rules: list[Rule],
    *,
    source_sha: str,
    relpath: str,
    analysis: Analysis | None = None,
) -> str:
    """The complete text (header + body) of one generated module."""
    body = emit_body(library, idents, rules, analysis)
    return render(body, source_sha=source_sha, source_path=relpath, deps_sha=deps_hash(library, rules))


def emit_package_marker() -> str:
    """An `__init__.py` of a generated package."""
    return render("", source_sha=None, source_path=None, deps_sha=None)


def frame_function_source(formula: Formula) -> str:
    """A checked-module source with one frame function `formula___t_` for a single formula."""
    from types import SimpleNamespace

    state = ModuleState(RuleLibrary(), {"formula": "formula"}, {"formula"})
    rule = SimpleNamespace(name="formula")
    lines = FrameEmitter(state, rule).function("formula___t_", formula)  # type: ignore[arg-type]
    state.functions.append(lines)
    if state.spans:
        state.use("h_Span")
    body = ["from lm_predictor.codegen.helpers import (", *(f"    {h}," for h in sorted(state.helpers)), ")", ""] if state.helpers else []
    body += [f"{name} = h_Span({int_literal(s)}, {int_literal(e)})" for (s, e), name in state.spans.items()]
    body += [f"C{i} = {text}" for i, text in enumerate(state.sites)]
    for fn in state.functions:
        body += ["", "", *fn]
    return render("\n".join(body) + "\n", source_sha=None, source_path=None, deps_sha=None)
