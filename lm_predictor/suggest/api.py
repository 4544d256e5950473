"""`suggest()`: a qualified name in, a rule file's text out (plus diagnostics and timings)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from astroid import nodes

from lm_predictor import __version__
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.analysis import Analysis, analyse_model, drafts_for, model_type_for, templates_for
from lm_predictor.suggest.brains import STATIC_RULES
from lm_predictor.suggest.brains.base import canonical
from lm_predictor.suggest.diskcache import GENERATED_MARKER  # re-exported by the package
from lm_predictor.suggest.emit import METRICS, Emitter
from lm_predictor.suggest.findings import SHOWN, Finding
from lm_predictor.suggest.resolve import find_public, module_symbols
from lm_predictor.suggest.ruletext import formula_yaml, param_yaml, yaml_scalar
from lm_predictor.suggest.scope import RuleDraft
from lm_predictor.suggest.sources import SourceTree, open_tree
from lm_predictor.suggest.specialise import given_numbers, shown as shown_spec, sign_of
from lm_predictor.suggest.values import External


class SuggestError(Exception):
    """A name that cannot be suggested (one-line message)."""


@dataclass
class SuggestResult:
    qualname: str
    text: str
    rules: list[str]
    findings: list[Finding]
    unresolved: list[str]
    source: str
    model_type: str | None = None
    seconds: float = 0.0
    parse_seconds: float = 0.0
    parsed_files: int = 0
    notes: list = field(default_factory=list)
    digest_modules: list = field(default_factory=list)
    switches: list = field(default_factory=list)  # config switches forward makes on the workload (brains/switches.py)
    specialised_on: dict = field(default_factory=dict)  # config values the rules hold for (specialise.py)
    signs_on: dict = field(default_factory=dict)  # given config numbers whose sign the rules hold for: name -> '> 0', ...
    asks_checkpointing: bool = False  # forward tests `self.gradient_checkpointing and self.training` (interp/train_arms.py)


_ANALYSES: dict = {}


def analysis_for(tree: SourceTree, model_type: str, overrides: dict | None, library: Any, checkpointing: bool = False) -> Analysis:
    """The analysis of `model_type` on `overrides` (`checkpointing`: for a checkpointed step), run once per process."""
    key = (id(tree), model_type, json.dumps(overrides or {}, sort_keys=True, default=str), checkpointing)
    found = _ANALYSES.get(key)
    if found is None:
        found = analyse_model(tree, model_type, overrides, library, checkpointing)
        _ANALYSES[key] = found
    return found


def suggest(
    qualname: str,
    *,
    recursive: bool = False,
    source: str = "pinned",
    library: Any = None,
    config: dict | None = None,
    tree: SourceTree | None = None,
    specialise: bool = False,
    checkpointing: bool = False,
) -> SuggestResult:
    """Draft rules for a module class (by public or defining path) from the chosen source; with
    `checkpointing`, for a train step with gradient_checkpointing_enable() (interp/train_arms.py)."""
    t0 = time.perf_counter()
    tree = tree or open_tree(source)
    if qualname.startswith("torch."):
        return _suggest_torch(qualname, tree, library, t0)
    found = find_public(tree, qualname)
    if found is None:
        raise SuggestError(f"{qualname} is not a class or function of {tree.description}")
    modname, name = found
    defining = f"{modname}.{name}"
    pm = tree.parse(modname)
    node = module_symbols(pm).get(name)
    if isinstance(node, nodes.FunctionDef):
        raise SuggestError(
            f"{defining} is a function: the analysis follows it inside the modules that call it "
            "(its costs appear in their rules); suggest the module class instead"
        )
    overrides = dict(config or {})
    model_type = overrides.pop("model_type", None) or model_type_for(tree, defining)
    if model_type is None:
        raise SuggestError(f"{defining} is not in a model package of transformers (transformers.models.*)")
    analysis = analysis_for(tree, model_type, overrides, library, checkpointing)
    if analysis.error:
        raise SuggestError(f"{model_type}: {analysis.error}")
    with X.using(analysis.symbols):  # the analysis's symbol facts, for emitting its rules too
        return _result(qualname, defining, analysis, tree, library, recursive, specialise, t0)


def _result(qualname: str, defining: str, analysis: Analysis, tree: SourceTree, library: Any, recursive: bool, specialise: bool, t0: float) -> SuggestResult:
    """The rule file for `defining` from a finished analysis."""
    drafts = drafts_for(analysis, defining)
    if not drafts:
        templates = templates_for(analysis, defining)
        if not templates:
            raise SuggestError(f"{defining} is not reached from {analysis.root_class} (the analysis starts from the causal-LM class)")
        drafts = [t.params_rule() for t in templates]
    emitter = Emitter(analysis, library, specialise=analysis.config.resolved if specialise else None)
    selected = closure_of(emitter, drafts) if recursive else list(dict.fromkeys(drafts))
    text, unresolved = render_file(emitter, selected, qualname, tree, analysis, recursive, library)
    findings = list(analysis.findings)
    for f in emitter.findings:
        if f not in findings:
            findings.append(f)
    result = SuggestResult(
        qualname, text, [d.rule_name() for d in selected], findings, unresolved, f"transformers {tree.version} ({tree.kind}: {_short_path(tree)})", analysis.model_type,
        time.perf_counter() - t0, tree.parse_seconds, tree.parse_count,
        digest_modules=sorted(analysis.interp.touched_modules | set(tree.modules)),
        switches=list(analysis.interp.switches),
        asks_checkpointing=analysis.interp.checkpoint_asked,
    )
    _specialisation(result, emitter, analysis)
    if not recursive:
        missing = _missing_callees(emitter, selected, library)
        if missing:
            result.notes.append("calls rules the library lacks (use --recursive): " + ", ".join(missing))
    return result


def _specialisation(result: SuggestResult, emitter: Emitter, analysis: Analysis) -> None:
    """What the derived rules hold for (specialise.py): config values made constants, and the signs of
    the given config numbers the analysis asked; noted, and said in the rule file's header."""
    config = analysis.config
    result.specialised_on = {**config.folded, **emitter.specialised_on, **config.specialised}  # layer counts a derived list follows
    given = given_numbers(config.resolved, config.given, config.attribute_map)
    consulted = analysis.symbols.consulted
    result.signs_on = {n: sign_of(config.resolved[n]) for n in sorted(given & consulted) if n not in result.specialised_on}
    if result.specialised_on or result.signs_on:
        shown = shown_spec(result.specialised_on, result.signs_on)
        result.notes.append(f"specialised on {shown}: a config that differs there is derived again (unresolved terms this config never reaches were dropped)")
        result.text = result.text.replace("rules:\n", f"# Specialised on {shown}: unresolved terms this config never reaches are left out.\nrules:\n", 1)


def closure_of(emitter: Emitter, drafts: list) -> list:
    """The drafts and every rule they reach, except callees a compatible library rule covers."""
    out: list = []
    todo = list(drafts)
    seen: set = set()
    first = True
    while todo:
        d = todo.pop(0)
        if id(d) in seen:
            continue
        seen.add(id(d))
        if not (d in drafts and first) and _library_covers(emitter, d):
            continue
        out.append(d)
        todo.extend(emitter.callees(d))
    return out


def _library_covers(emitter: Emitter, draft: RuleDraft) -> bool:
    """A library rule of the same name that accepts exactly what our calls pass."""
    library = emitter.library
    if library is None:
        return False
    rule = library.get(draft.rule_name())
    if rule is None:
        return False
    ours = {emitter.renames(draft).get(p, p) for p in emitter.params(draft)}
    required = {name for name, spec in rule.params.items() if spec.required}
    return ours <= set(rule.params) and required <= ours


def _missing_callees(emitter: Emitter, selected: list, library: Any) -> list:
    names = {d.rule_name() for d in selected}
    missing = []
    for d in selected:
        for callee in emitter.callees(d):
            name = callee.rule_name()
            if name not in names and (library is None or library.get(name) is None):
                missing.append(name)
    return sorted(set(missing))


def render_file(emitter: Emitter, selected: list, qualname: str, tree: SourceTree, analysis: Analysis, recursive: bool, library: Any) -> tuple[str, list]:
    lines = [
        f"{GENERATED_MARKER} {__version__}: `lmpredict suggest {'--recursive ' if recursive else ''}{qualname}`",
        f"# Source: transformers {tree.version} ({tree.kind}: {_short_path(tree)}); model_type {analysis.model_type!r}.",
        "# Workload: model(input_ids=[batch, seq_len], past_key_values=<cache of past_len tokens>, use_cache=True),",
        "# eval mode; attention follows attn_implementation__sdpa (eager by default, what `lmpredict verify` measures).",
    ]
    consts = analysis.config.read_constants
    if consts:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(consts.items()))
        lines.append(f"# Specialised on non-numeric config values: {shown}")
    body: list[str] = []
    unresolved: list[str] = []
    for draft in selected:
        block, slugs = render_rule(emitter, draft, draft is analysis.root, tree, library)
        body.extend(block)
        unresolved.extend(slugs)
    for name in sorted(emitter.static_needed):
        body.extend(render_static(name))
    for name, helper in emitter.helpers.items():
        body.extend(render_helper(name, helper))
    findings = list(analysis.findings) + [f for f in emitter.findings if f not in analysis.findings]
    relevant = [f for f in findings if f.slug in unresolved or f.code in SHOWN]
    if unresolved:
        lines.append(f"# UNRESOLVED: {len(set(unresolved))} term(s) below call rules named unresolved.*; lint fails until they are replaced:")
        for f in relevant:
            lines.append(f"#   {f.render()}  [{f.slug}]")
    else:
        lines.append("# No unresolved terms.")
    lines.append("rules:")
    return "\n".join(lines + body) + "\n", sorted(set(unresolved))


def _short_path(tree: SourceTree) -> str:
    path = str(tree.package_dir.parent)
    marker = "third_party/"
    return path[path.index(marker):] if marker in path else path


def render_rule(emitter: Emitter, draft: RuleDraft, root: bool, tree: SourceTree, library: Any) -> tuple[list, list]:
    name = draft.rule_name()
    lines = [f"  {name}:"]
    aliases = _aliases(draft, tree, root)
    if aliases:
        lines.append(f"    aliases: [{', '.join(aliases)}]")
    doc = _doc(emitter, draft, library)
    lines.append(f"    doc: {yaml_scalar(doc)}")
    loc = _location(draft)
    if loc:
        lines.append(f"    source: {yaml_scalar(loc)}")
    params = emitter.params(draft)
    lets = emitter.lets(draft)
    if params or lets:
        lines.append("    params:")
        for p in params:
            final, spec = emitter.param_spec(draft, p, root)
            lines.append(f"      {final}: {param_yaml(spec)}")
        for let, _, value, kind in lets:
            # a sub-expression the formulas share, bound once (they would not load spelt out)
            shown = X.render_bool(value) if kind == "bool" else X.render(value)
            lines.append(f"      {let}: {param_yaml({'type': kind, 'default': shown, 'derived': True, 'doc': 'shared by the formulas below'})}")
    slugs: list = []
    for metric in METRICS:
        if not emitter.has_metric(draft, metric):
            continue
        for name, text in emitter.bytes_formulas(draft) if metric == "bytes" else ((metric, emitter.formula(draft, metric)),):
            lines.append(f"    {name}: {formula_yaml(text, '      ')}")
    training = []
    tensors = _own_param_tensors(emitter, draft)
    if tensors is not None:
        # a module whose parameters are all its own says how many tensors it holds; one that also
        # has children, how many of those parameters are its own (evaluate/train.py adds the children's)
        metric = "param_tensors" if not _has_child_params(draft) else "own_param_tensors"
        training += ["      # parameter tensors the module registers itself (AdamW keeps a step per tensor)", f"      {metric}: {formula_yaml(tensors, '        ')}"]
    if emitter.has_metric(draft, "buffer_bytes"):
        training += ["      # bytes of the buffers the module and its children register (rotary inv_freq, causal masks)", f"      buffer_bytes: {formula_yaml(emitter.formula(draft, 'buffer_bytes'), '        ')}"]
    if emitter.has_metric(draft, "param_excess"):
        text = f"$dtype_bytes * ({emitter.formula(draft, 'param_count', calls_of='param_count')})\n+ {emitter.formula(draft, 'param_excess')}"
        training += ["      # parameter bytes, its own parameters at their own dtypes (some are not at the model dtype; a child with a param_bytes of its own adds its excess)", f"      param_bytes: {formula_yaml(text, '        ')}"]
    if emitter.has_metric(draft, "idle_params"):
        text = emitter.formula(draft, "idle_params", calls_of="param_count")
        training += ["      # children no forward runs (or reads): their parameters get no gradient and no optimizer state", f"      idle_params: {formula_yaml(text, '        ')}"]
    if emitter.has_metric(draft, "idle_own_params"):
        # (without idle_own_param_tensors, a count that depends on a runtime value, evaluate/train.py tells no optimizer state)
        idle_tensors = _tensor_count(emitter, draft, emitter.metric_terms(draft, "idle_own_params"))
        text = emitter.formula(draft, "idle_own_params")
        training += ["      # its own parameters that get no gradient and no optimizer state: made with requires_grad=False, or never read", f"      idle_own_params: {formula_yaml(text, '        ')}"]
        if idle_tensors is not None:
            training.append(f"      idle_own_param_tensors: {formula_yaml(idle_tensors, '        ')}")
    if root and draft.template is not None and draft.template.param_dtypes_known:
        training += ["      # every parameter not at the model dtype is priced by a param_bytes below", "      param_dtypes_known: 1"]
    if emitter.has_metric(draft, "activation_bytes"):
        training += ["      # bytes of the storages autograd saves for backward (brains/saved.py); checkpointing keeps the layers' inputs", f"      activation_bytes: {formula_yaml(emitter.formula(draft, 'activation_bytes'), '        ')}"]
    if _checkpointed(emitter, draft):
        training += ["      # a GradientCheckpointingLayer (or a block its caller checkpoints): gradient_checkpointing_enable() runs its forward again in backward", "      checkpoint_layers: 1"]
    if emitter.has_metric(draft, "checkpoint_tail_flops"):
        training += ["      # forward FLOPs after its last save for backward: a non-reentrant checkpoint stops its recompute before them", f"      checkpoint_tail_flops: {formula_yaml(emitter.formula(draft, 'checkpoint_tail_flops'), '        ')}"]
    if draft.backward_gaps:  # brains/gradflow.py: evaluate/train.py gives no backward_flops for a step that calls this rule
        why = sorted(set(draft.backward_gaps))[0].split(" (")[0]
        training += [f"      # backward FLOPs not known: {why}", "      backward_known: 0"]
    if training:
        lines += ["    metrics:", *training]
    slugs = emitter.unresolved_in(draft)
    lines.append("")
    return lines, slugs


def _own_param_tensors(emitter: Emitter, draft: RuleDraft) -> str | None:
    """Formula of how many parameter tensors the module registers itself (an RMSNorm's weight: 1;
    a bias the config switches: `if $bias then 1 else 0`; a ParameterList of n: n), None where it
    owns none or the count depends on a runtime value. Every own parameter term is one tensor per
    unit of its multiplicity."""
    terms = [t for t in (draft.template.param_terms if draft.template is not None else []) if t.note.startswith("parameter ")]
    if not terms:
        return None
    return _tensor_count(emitter, draft, terms)


def _tensor_count(emitter: Emitter, draft: RuleDraft, terms: list) -> str | None:
    """Formula of how many parameter tensors the own-parameter `terms` stand for (one per unit of
    each term's multiplicity, where its guard holds); None where the count depends on a runtime value."""
    count = X.ZERO
    for term in terms:
        count = count + (X.ifnum(term.guard, term.mult, X.ZERO) if term.guard != X.TRUE else term.mult)
    if any(name.startswith(("?", "#")) for name in X.free_params(count)):
        return None  # a runtime branch or a layer index: not told
    final = emitter.final(count, draft)
    if any(name.startswith("@") for name in X.free_params(final)):
        return None  # a constructor argument the rule does not declare (its other formulas never read it)
    return X.render(final)


def _has_child_params(draft: RuleDraft) -> bool:
    """Whether some param_count term of the module is not one of its own parameters (a child's call)."""
    terms = draft.template.param_terms if draft.template is not None else []
    return any(not t.note.startswith("parameter ") for t in terms)


def _checkpointed(emitter: Emitter, draft: RuleDraft) -> bool:
    """Whether the draft's class derives from transformers' GradientCheckpointingLayer, or a caller
    checkpoints it through `self._gradient_checkpointing_func` (interp/ckpt_calls.py)."""
    if draft.checkpointed_by_func:
        return True
    cls = draft.template.cls if draft.template is not None else None
    if cls is None:
        return False
    return any(isinstance(c, External) and c.name.endswith(".GradientCheckpointingLayer") for c in emitter.interp.mro(cls))


def _aliases(draft: RuleDraft, tree: SourceTree, root: bool) -> list:
    if draft.variant != 1:
        return []
    parts = draft.qualname.split(".")
    if len(parts) >= 5 and parts[1] == "models":
        modname = ".".join(parts[:-1])
        pm = tree.parse(modname)
        exported = _all_names(pm) if pm is not None else set()
        if parts[-1] in exported:
            out = [".".join(parts[:3] + [parts[-1]])]
            if root:
                out.insert(0, f"transformers.{parts[-1]}")
            return out
    return []


def _all_names(pm: Any) -> set:
    for stmt in pm.tree.body:
        if isinstance(stmt, nodes.Assign) and any(isinstance(t, nodes.AssignName) and t.name == "__all__" for t in stmt.targets):
            if isinstance(stmt.value, (nodes.List, nodes.Tuple)):
                return {e.value for e in stmt.value.elts if isinstance(e, nodes.Const) and isinstance(e.value, str)}
    return set()


def _location(draft: RuleDraft) -> str:
    tmpl = draft.template
    if tmpl is None or tmpl.cls is None:
        return ""
    node = tmpl.cls.node
    path = str(tmpl.cls.module.path)
    marker = "/transformers/transformers/" if "/transformers/transformers/" in path else "/transformers/"
    rel = "transformers/" + path.rsplit(marker, 1)[1] if marker in path else path
    return f"{rel}:{node.lineno}"


def _doc(emitter: Emitter, draft: RuleDraft, library: Any) -> str:
    cls = draft.template.cls if draft.template is not None else None
    parts = []
    if cls is not None:
        first = ""
        ds = cls.node.doc_node.value if getattr(cls.node, "doc_node", None) is not None else ""
        if ds:
            first = ds.strip().split("\n")[0].strip()
        parts.append(f"{cls.name}" + (f": {first}" if first else "") + ".")
    if not draft.called:
        parts.append("Not called by forward() in this model and workload: parameters only.")
    parts.append("Derived by lmpredict suggest from __init__ and forward(); flops count matmul-class ops as FlopCounterMode does.")
    if draft.variant != 1:
        parts.append(f"Variant {draft.variant}: another constructor or call signature of the same class.")
    if library is not None and library.get(draft.rule_name()) is not None:
        parts.append("Overrides the library rule of the same name.")
    return " ".join(parts)


def render_helper(name: str, helper: dict) -> list:
    lines = [f"  {name}:"]
    doc = (f"Path helper: {helper['caller']} calls its grandchild module `{helper['path']}.*` directly, so the "
           f"module at `{helper['path']}` never runs; its metrics `*_via` pass the call on (call labels are plain names).")
    lines.append(f"    doc: {yaml_scalar(doc)}")
    if helper["params"]:
        lines.append("    params:")
        for final, spec in helper["params"]:
            lines.append(f"      {final}: {param_yaml(spec)}")
    lines.append("    metrics:")
    for metric, text in sorted(helper["metrics"].items()):
        lines.append(f"      {metric}: {formula_yaml(text, '        ')}")
    lines.append("")
    return lines


def render_static(name: str) -> list:
    spec = STATIC_RULES[name]
    lines = [f"  {name}:"]
    if spec.get("aliases"):
        lines.append(f"    aliases: [{', '.join(spec['aliases'])}]")
    lines.append(f"    doc: {yaml_scalar(spec['doc'])}")
    lines.append("    params:")
    for p, pspec in spec["params"].items():
        lines.append(f"      {p}: {param_yaml(pspec)}")
    for metric in ("flops", "param_count", "bytes_read", "bytes_written"):
        if metric in spec:
            lines.append(f"    {metric}: {formula_yaml(spec[metric], '      ')}")
    if spec.get("metrics"):
        lines.append("    metrics:")
        lines += [f"      {metric}: {formula_yaml(text, '        ')}" for metric, text in spec["metrics"].items()]
    lines.append("")
    return lines


def _suggest_torch(qualname: str, tree: SourceTree, library: Any, t0: float) -> SuggestResult:
    short = canonical(qualname)
    lib_rule = library.get(qualname) if library is not None else None
    header = [f"{GENERATED_MARKER} {__version__}: `lmpredict suggest {qualname}`", "# Source: the op table of lmpredict's torch brains (torch is not parsed)."]
    for name, spec in STATIC_RULES.items():
        if qualname == name or qualname in spec.get("aliases", []) or short == canonical(name):
            text = "\n".join(header + ["# No unresolved terms.", "rules:"] + render_static(name)) + "\n"
            return SuggestResult(qualname, text, [name], [], [], "torch brains", None, time.perf_counter() - t0)
    if lib_rule is not None:
        raise SuggestError(f"{qualname} is covered by the library rule {lib_rule.name} ({lib_rule.location}); nothing to suggest")
    raise SuggestError(f"{qualname}: torch modules and ops come from lmpredict's op table, which has no entry for it")
