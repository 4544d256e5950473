"""Symbolic execution of module `__init__` / `forward()` over astroid trees.

The interpreter runs Python source with abstract values (values.py, pyvalues.py): numbers are
symbolic expressions of rule parameters, tensors carry symbolic shapes, modules are templates
whose parameters are bound at each call. Branches whose condition is symbolic run both arms under
an assumption and join their variables with `if … then … else …`; a condition on a runtime value
that is not represented (data-dependent) runs both arms too, and a cost that differs between them
becomes an unresolved term. torch and transformers specifics live in `brains/`, which see the
interpreter only through the `Host` protocol (host.py).

One class, `Interpreter`, assembled from one part per responsibility: state (state.py),
statements (statements.py), expressions (expressions.py), attribute and item access
(attributes.py), calls (calls.py) and module instances (modules.py). Statements and expressions
both dispatch by node type (`exec_<Node>` / `eval_<Node>`, syntax.handler).
"""

from __future__ import annotations

import itertools

from lm_predictor.suggest import brains
from lm_predictor.suggest.expr import Bool, Num
from lm_predictor.suggest.findings import Finding
from lm_predictor.suggest.interp.attributes import AttributesMixin
from lm_predictor.suggest.interp.calls import CallsMixin
from lm_predictor.suggest.interp.expressions import ExpressionsMixin
from lm_predictor.suggest.interp.module_state import ModuleStateMixin
from lm_predictor.suggest.interp.modules import ModulesMixin
from lm_predictor.suggest.interp.state import StateMixin
from lm_predictor.suggest.interp.statements import StatementsMixin
from lm_predictor.suggest.pyvalues import ConfigV
from lm_predictor.suggest.scope import Recorder, RuleDraft, Template
from lm_predictor.suggest.sources import SourceTree
from lm_predictor.suggest.values import Loc


__all__ = ["Interpreter"]


class Interpreter(StateMixin, StatementsMixin, ExpressionsMixin, AttributesMixin, CallsMixin, ModulesMixin, ModuleStateMixin):
    """One analysis run: source tree, config model, brains, diagnostics, rule drafts."""

    def __init__(self, tree: SourceTree, library=None):
        self.tree = tree
        self.library = library
        self.brains = brains
        self.findings: list[Finding] = []
        self._finding_keys: set = set()
        self.assume: list[Bool] = []
        self.facts: list[Bool] = []  # what must hold for the code not to raise (never a cost guard)
        self.mults: list[Num] = []
        self.unrolled: list[int] = []  # trip counts of the loops unrolled around the current statement
        self.recorder: Recorder | None = None
        self.templates: dict = {}
        self.drafts: list[RuleDraft] = []
        self.globals: dict = {}
        self.depth = 0
        self.label_hint: str | None = None
        self.config: ConfigV | None = None
        self.opaque: dict[str, Finding] = {}
        self._opaque_ids = itertools.count(1)
        self._index_ids = itertools.count(1)
        self.current_loc: Loc | None = None
        self.in_init: Template | None = None
        self.grad_off = 0  # inside torch.no_grad() / inference_mode (a `with` or a decorated function): reads give no gradient
        self.module_classes: dict = {}
        self.variants: dict[str, int] = {}
        self.touched_modules: set[str] = set()
        self.config_model_building = None
        self.init_depth = 0
        self.sym_loops: list = []
        self.fresh_factories: dict = {}  # id -> (tensor, factory) a factory made and nothing wrote since (brains/gradflow.py)
        self.switches: list[dict] = []  # forward re-configuring the model on the workload (brains/switches.py)
        self.module_state: dict = {}  # (module class, attribute) -> state written in this call (root names)
        self.state_started: set = set()  # keys read at the call's start (before any write)
        self.carried_state: dict = {}  # (module class, attribute) -> the state the previous call left
        self.checkpointing = False  # a derivation for a step with gradient_checkpointing_enable() (interp/train_arms.py)
        self.checkpoint_asked = False  # a statement tested `self.gradient_checkpointing and self.training`
