"""Run one analysis golden case: a Python snippet analysed the way `lmpredict suggest` analyses a model.

A case is `analysis_cases/<CODE>_<symbol>[_<variant>].py`. It defines `class Model(nn.Module)`
whose `__init__(self, config)` receives a config object with a symbolic `hidden_size` (other
attributes are unknown), and whose `forward(self, hidden_states, past_key_values=None)` receives
a tensor of shape [batch, seq_len, hidden_size]. A case that also defines `class Config` runs it
as the configuration class (as `suggest` runs a model's, with the llama config table's values).
The snippet may import torch (an op table, never run) and transformers (read from the pinned
sources). The output lists every finding, rendered by the one diagnostic renderer, then the
rules' formulas (the unresolved terms they carry).

A leading `# brain-errors: report` line runs the case as `suggest` runs outside the tests: a
brain that raises becomes an A170 diagnostic instead of an error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.analysis import Analysis
from lm_predictor.suggest.emit import METRICS, Emitter
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.interp import Interpreter
from lm_predictor.suggest.scope import ModRef, Recorder
from lm_predictor.suggest.config import ConfigModel
from lm_predictor.suggest.pyvalues import ConfigV
from lm_predictor.suggest.resolve import module_symbols
from lm_predictor.suggest.sources import ParsedModule, SourceTree, open_tree
from lm_predictor.suggest.values import ClassV, ObjectV, Tensor

REPO = Path(__file__).resolve().parent.parent.parent
MODULE = "transformers.models.snippet.modeling_snippet"


def run(path: Path) -> str:
    """The golden text of one case."""
    text = path.read_text(encoding="utf-8")
    tree = open_tree("pinned")
    pm = tree.add_module(MODULE, path, text.encode())
    report = re.search(r"^# brain-errors: report$", text, re.M) is not None
    saved = os.environ.pop("LMPREDICT_BRAIN_ERRORS", None) if report else None
    try:
        return _analyse(tree, pm)
    finally:
        tree.modules.pop(MODULE, None)
        if saved is not None:
            os.environ["LMPREDICT_BRAIN_ERRORS"] = saved


def _analyse(tree: SourceTree, pm: ParsedModule) -> str:
    interp = Interpreter(tree)
    symbols = X.SymbolFacts(positive={"batch", "seq_len", "hidden_size"}, nonneg={"past_len"})
    config: Any = ObjectV(None, {"hidden_size": Num.sym("hidden_size")}, kind="config")
    with X.using(symbols):
        if "Config" in module_symbols(pm):
            model = ConfigModel("llama", {})
            model.facts = {**model.facts, "config_class": f"{MODULE}.Config"}
            config = interp.config = ConfigV(model)
            model.build(interp)
        cls = interp.global_value(pm, "Model")
        assert isinstance(cls, ClassV), "a case defines class Model"
        interp.recorder = Recorder()
        ref = interp.instantiate(cls, [config], {}, None)
        assert isinstance(ref, ModRef), "Model is a torch module"
        x = Tensor((Num.sym("batch"), Num.sym("seq_len"), Num.sym("hidden_size")))
        interp.call_module(ref, [x], {}, None, "model", root=True)
        interp.recorder = None
        analysis = Analysis(tree, "snippet", interp, getattr(config, "model", None), next(iter(ref.inst.template.rules.values()), None), "Model", symbols=symbols)
        emitter = Emitter(analysis)
        formulas = []
        for draft in interp.drafts:
            for metric in METRICS:
                if emitter.has_metric(draft, metric):
                    formulas.append(f"{draft.rule_name()} {metric}: {emitter.formula(draft, metric)}")
        findings = list(interp.findings) + [f for f in emitter.findings if f not in interp.findings]
    lines = [f.render().replace(str(REPO) + "/", "") for f in findings]
    return "\n".join(lines + formulas) + "\n"
