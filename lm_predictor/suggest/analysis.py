"""Run one model's causal-LM class symbolically, the way `lmpredict verify` runs it.

The root call is `model(input_ids=[batch, seq_len], past_key_values=<cache of past_len tokens>,
use_cache=True)` in eval mode, with eager or SDPA attention as the workload fact
`attn_implementation__sdpa` says (both arms are run). Every module the forward reaches becomes a
`RuleDraft` in the context it is really called in, so a rule asked for by name
(`LlamaAttention`) comes out with the shapes the model gives it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from lm_predictor.data.transformers_table import config_facts, load_table
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.brains import cache
from lm_predictor.suggest.config import ConfigModel
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.findings import AnalysisLimit
from lm_predictor.suggest.interp import Interpreter
from lm_predictor.suggest.interp.module_state import prefill_state, same_states
from lm_predictor.suggest.interp.train_arms import cache_off_in_training
from lm_predictor.suggest.pyvalues import ConfigV
from lm_predictor.suggest.scope import ModRef, Recorder, RuleDraft, Template
from lm_predictor.suggest.sources import SourceTree
from lm_predictor.suggest.values import ATTN_SDPA, TRAINING, CacheV, ClassV, Phi, Tensor


WORKLOAD = {
    "batch": "sequences in the batch",
    "seq_len": "new tokens per sequence",
    "past_len": "tokens already in the KV cache (decode: seq_len 1, past_len N)",
    "dtype_bytes": "bytes per element of the model dtype",
}

WORKLOAD_FACTS = {
    ATTN_SDPA: 'the workload runs attn_implementation="sdpa" (eval binds it from --attn; false: eager)',
    "gradient_checkpointing": "gradient_checkpointing_enable() (training only; eval --mode train binds it)",
    TRAINING: "model.train(): a rate written `p if self.training else q` is p (eval --mode train binds it true)",
}
"""Bool workload facts a derived rule may read, as hand rules read them (evaluate/facts.py); default false."""


@dataclass
class Analysis:
    tree: SourceTree
    model_type: str
    interp: Interpreter
    config: ConfigModel
    root: RuleDraft | None
    root_class: str
    seconds: float = 0.0
    error: str | None = None
    notes: list = field(default_factory=list)
    symbols: X.SymbolFacts = field(default_factory=X.SymbolFacts)  # signs and divisibility this analysis found

    @property
    def findings(self) -> list:
        return self.interp.findings


def model_type_for(tree: SourceTree, qualname: str) -> str | None:
    """The model_type whose package defines `qualname` (transformers.models.<dir>.*)."""
    parts = qualname.split(".")
    if len(parts) < 4 or parts[:2] != ["transformers", "models"]:
        return None
    package = ".".join(parts[:-2])  # transformers.models[.deprecated].<dir>
    table = load_table()["model_types"]
    candidates = []
    for mt, facts in table.items():
        causal = facts.get("causal_lm") or ""
        cfg = facts.get("config_class") or ""
        if causal.startswith(package + ".") or cfg.startswith(package + "."):
            candidates.append((0 if causal.startswith(package + ".") else 1, 0 if mt.replace("-", "_") == parts[-3] else 1, len(mt), mt))
    if not candidates:
        return None
    return sorted(candidates)[0][3]


def _signs(config: ConfigModel) -> X.SymbolFacts:
    """The analysis's symbol facts to start from: workload sizes, and the signs of the config's numbers."""
    facts = X.SymbolFacts(positive={"batch", "seq_len", "dtype_bytes"}, nonneg={"past_len"}, counts={"seq_len", "past_len"})
    for name, value in config.resolved.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value > 0:
            facts.positive.add(name)
        elif value == 0:
            facts.nonneg.add(name)
    for name, value in config.init_defaults.items():
        if value is None and (name.endswith(("_dim", "_size", "_heads", "_window", "_layers")) or name.startswith("num_")):
            facts.positive.add(name)
    return facts


def analyse_model(tree: SourceTree, model_type: str, overrides: dict | None = None, library: Any = None, checkpointing: bool = False) -> Analysis:
    """Symbolically run `model_type`'s causal-LM class on the verify workload. A decode step that
    reads a linear-attention state before the run has seen it stored (5.x `get_conv_state` comes
    before the prefill branch's `update_conv_state`) gets the run again, with the states' shapes; again
    while a run learns more shapes (jamba: the recurrent state's shape follows from the conv state's).
    `checkpointing`: for a step with gradient_checkpointing_enable() (interp/train_arms.py)."""
    cache.linear_states_reset(tree)
    analysis = _analyse_once(tree, model_type, overrides, library, checkpointing=checkpointing)
    known: set = set()
    for _ in range(MAX_STATE_RUNS):
        shapes = set(cache.state_shapes(tree))
        if not cache.states_missing(tree) or shapes <= known:
            break
        known = shapes
        cache.linear_states_reset(tree, keep_shapes=True)
        analysis = _carry_specialisation(analysis, _analyse_once(tree, model_type, overrides, library, checkpointing=checkpointing))
    carried: dict = {}
    for _ in range(0 if checkpointing else MAX_STATE_RUNS):  # a train step (checkpointed) decodes nothing
        # module state read before this call wrote it (interp/module_state.py): run again from the
        # state the last run's prefill left, until the state assumed is the state left
        interp = analysis.interp
        if not interp.state_started & set(interp.module_state):
            break
        left = {k: v for k, v in ((k, prefill_state(v)) for k, v in interp.module_state.items()) if v is not None}
        if same_states(left, carried):
            break
        carried = left
        cache.linear_states_reset(tree, keep_shapes=True)
        analysis = _carry_specialisation(analysis, _analyse_once(tree, model_type, overrides, library, carried, checkpointing))
    return analysis


def _carry_specialisation(before: Analysis, after: Analysis) -> Analysis:
    """A run again starts from what the run before learnt: what that run folded and asked holds for its rules too."""
    after.symbols.consulted |= before.symbols.consulted
    after.config.folded = {**before.config.folded, **after.config.folded}
    after.interp.checkpoint_asked |= before.interp.checkpoint_asked
    return after


MAX_STATE_RUNS = 3
"""Runs again of a model whose decode step reads linear-attention states (each run learns the shapes the last one stored)."""


def _analyse_once(tree: SourceTree, model_type: str, overrides: dict | None, library: Any, carried: dict | None = None, checkpointing: bool = False) -> Analysis:
    t0 = time.perf_counter()
    facts = config_facts(model_type)
    if facts is None:
        raise ValueError(f"unknown model_type {model_type!r}")
    root_qual = facts.get("causal_lm")
    interp = Interpreter(tree, library)
    interp.carried_state = dict(carried or {})
    interp.checkpointing = checkpointing
    config = ConfigModel(model_type, overrides)
    interp.config_model_building = config
    interp.config = ConfigV(config)
    analysis = Analysis(tree, model_type, interp, config, None, root_qual or "", symbols=_signs(config))
    if not root_qual:
        analysis.error = f"model_type {model_type!r} has no causal-LM class"
        return analysis
    with X.using(analysis.symbols):
        _run(analysis, interp, config, root_qual, t0)
    return analysis


def _run(analysis: Analysis, interp: Interpreter, config: ConfigModel, root_qual: str, t0: float) -> None:
    """Instantiate the causal-LM class on the config and call it on the workload's inputs."""
    tree = analysis.tree
    try:
        cls = interp.resolve_qualname(root_qual)
        if not isinstance(cls, ClassV):
            analysis.error = f"{root_qual} not found in {tree.description}"
            return
        config.build(interp)
        _signs_from_params(config)
        interp.recorder = Recorder()
        ref = interp.instantiate(cls, [interp.config], {}, None)
        if not isinstance(ref, ModRef):
            analysis.error = f"{root_qual} is not a torch module"
            return
        inputs = {
            "input_ids": Tensor((Num.sym("batch"), Num.sym("seq_len")), "long"),
            # decode passes the prefill's cache; prefill passes none (the model may build one), and so does a
            # train step, the only use of a derivation for a checkpointed step (past_len 0: no Phi on the cache)
            "past_key_values": None if interp.checkpointing else Phi(X.cmp(">", Num.sym("past_len"), 0), CacheV(Num.sym("past_len")), None),
            # a train step passes none (train_oracle: `model(input_ids, labels=...)`); that matters where
            # the model's own default reads self.training (Mamba's `... if not self.training else False`)
            "use_cache": Phi(X.bsym(TRAINING), None, X.TRUE) if cache_off_in_training(cls.node.root()) else X.TRUE,
        }
        interp.call_module(ref, [], inputs, None, "model", root=True)
        template: Template = ref.inst.template
        analysis.root = next(iter(template.rules.values()), None)
    except AnalysisLimit as err:
        analysis.error = f"analysis limit: {err}"
    except RecursionError:
        analysis.error = "analysis limit: Python recursion depth"
    finally:
        interp.recorder = None
        analysis.seconds = time.perf_counter() - t0


def _signs_from_params(config: ConfigModel) -> None:
    """Float parameters, and ints the config leaves at a positive default, as symbol facts (a number
    the config sets keeps its own sign: rwkv's `rescale_every: 0` is not positive for its default 6)."""
    for name, info in config.params.items():
        if info.type == "number":
            X.symbol_facts().floats.add(name)
        value = config.resolved.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            continue
        if info.type == "int" and isinstance(info.default, int) and not isinstance(info.default, bool) and info.default > 0:
            X.symbol_facts().positive.add(name)


def drafts_for(analysis: Analysis, qualname: str) -> list[RuleDraft]:
    """The drafts of one class (by defining or short name) reached in the analysis."""
    short = qualname.rsplit(".", 1)[-1]
    found = []
    for draft in analysis.interp.drafts:
        if draft.qualname == qualname or draft.qualname.rsplit(".", 1)[-1] == short:
            found.append(draft)
    return found


def templates_for(analysis: Analysis, qualname: str) -> list[Template]:
    short = qualname.rsplit(".", 1)[-1]
    return [t for t in analysis.interp.templates.values() if t.qualname == qualname or t.qualname.rsplit(".", 1)[-1] == short]
