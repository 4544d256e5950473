"""Module state: attributes a forward writes on its module (`self.conv1d_state = ...`), carried
through the call and from the previous call into the next.

A model that keeps its decode state on its modules, not in `past_key_values` (recurrent_gemma:
`_setup_cache` allocates `key_states` / `conv1d_state` / `recurrent_states` in prefill, the
recurrent blocks overwrite them, the decode step reads them), is run the way the oracle runs it:
decode is a prefill of `past_len` tokens on the same module objects, then the counted step.

- A write in forward (or a method it calls) is kept per module class and attribute, in the
  root's names (batch, seq_len, past_len, config names), guarded by the branch it is on. Guards
  on which instance is written (a loop index over the layers) are dropped: the state belongs to
  the instance that takes the write, whichever it is.
- A read sees this call's last write; before any write, the state the previous call left where
  there was one (past_len > 0), else the attribute's __init__ value (absent: hasattr is false).
- The previous call's state is the last run's end state with seq_len := past_len (the prefill's
  length) and past_len := 0 (its own start): the analysis runs again while that changes
  (analysis.py). An arm of it the last run could not follow is left out: the next run computes it
  from the rest, and the runs stop only where the state they assume is the state they end with.
"""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Bool, Num
from lm_predictor.suggest.scope import ModRef, Template
from lm_predictor.suggest.valueops import make_phi, translate
from lm_predictor.suggest.values import Phi, Tensor, Unknown


class _Absent:
    """The value of an attribute its module never set (hasattr is false)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()

WORKLOAD_NAMES = ("batch", "seq_len", "past_len")


def state_key(ref: ModRef) -> str | None:
    tmpl = ref.inst.template
    return tmpl.qualname if isinstance(tmpl, Template) else None


def prefill_state(value: Any) -> Any:
    """The state a prefill of past_len tokens leaves, from a run's end state (root names); arms the
    run could not follow are left out (None: nothing known)."""
    value = translate(value, {"seq_len": Num.sym("past_len"), "past_len": X.ZERO}, None)
    return _known(value)


def _known(value: Any) -> Any:
    if isinstance(value, Phi):
        a, b = _known(value.a), _known(value.b)
        if a is None or b is None:
            return b if a is None else a
        return make_phi(value.cond, a, b)
    if isinstance(value, Unknown) or (isinstance(value, Tensor) and value.shape is None):
        return None
    return value


def same_states(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(repr(a[k]) == repr(b[k]) for k in a)


class ModuleStateMixin:
    """Module attributes written in forward: this call's writes and the previous call's state."""

    def _draft_chain(self) -> list:
        draft = self.recorder.draft if self.recorder is not None else None
        chain = []
        while draft is not None and len(chain) < 64:
            chain.append(draft)
            draft = draft.caller
        return chain

    def to_root(self, value: Any) -> Any:
        """A value in the names of the forward being run, in the root's names."""
        for draft in self._draft_chain():
            if draft.first_binding:
                value = translate(value, draft.first_binding, None)
        return value

    def from_root(self, value: Any) -> Any:
        """A root-names value in the names of the forward being run; Unknown where one of its
        sizes has no name there."""
        chain = self._draft_chain()
        inverse: dict = {}
        if chain and chain[0].first_binding:
            for name in chain[0].first_binding:
                root = self.to_root(Num.sym(name))
                if isinstance(root, Num) and root.sym_name() and root.sym_name() not in inverse:
                    inverse[root.sym_name()] = Num.sym(name)
        if len(chain) <= 1:
            return value  # the root's own names
        value = translate(value, inverse, None) if inverse else value
        return _named(value, {n.sym_name() for n in inverse.values()})

    def state_write(self, ref: ModRef, name: str, value: Any) -> None:
        """`self.<name> = value` in a forward: the module's state from here on."""
        key = state_key(ref)
        if key is None or self.recorder is None:
            return
        old = self.state_value(ref, name)
        guard = X.band(*(self.to_root(c) for c in self.assume))
        guard = _drop_instance_guards(guard)
        self.module_state[(key, name)] = make_phi(guard, self.to_root(value), old)

    def state_value(self, ref: ModRef, name: str) -> Any:
        """The state in root names: this call's last write, else its value at the call's start."""
        key = (state_key(ref), name)
        if key in self.module_state:
            return self.module_state[key]
        self.state_started.add(key)
        tmpl = ref.inst.template
        init = self.to_root(self.view(tmpl.attrs[name], ref)) if name in tmpl.attrs else ABSENT
        carried = self.carried_state.get(key)
        if carried is None:
            return init
        return make_phi(X.cmp(">", Num.sym("past_len"), 0), carried, init)

    def has_state(self, ref: ModRef, name: str) -> bool:
        key = (state_key(ref), name)
        return key in self.module_state or key in self.carried_state

    def state_read(self, ref: ModRef, name: str) -> Any:
        """`self.<name>` in a forward, where the attribute is module state (has_state)."""
        value = self.from_root(self.state_value(ref, name))
        present, value = _split_absent(value)
        if value is ABSENT:
            return Unknown(f"attribute {name} read before it is set")
        if present is not X.TRUE:
            self.learn(present)  # AttributeError where it is absent
        return value

    def state_present(self, ref: ModRef, name: str) -> Bool:
        """hasattr(self, name) for module state: where some write (this call's or the last's) set it."""
        present, _ = _split_absent(self.from_root(self.state_value(ref, name)))
        return present


def _split_absent(value: Any) -> tuple:
    """(where the value is present, the value without its absent arms)."""
    if value is ABSENT:
        return X.FALSE, ABSENT
    if isinstance(value, Phi):
        ca, a = _split_absent(value.a)
        cb, b = _split_absent(value.b)
        if a is ABSENT:
            return X.band(X.bnot(value.cond), cb), b
        if b is ABSENT:
            return X.band(value.cond, ca), a
        return X.ifbool(value.cond, ca, cb), make_phi(value.cond, a, b)
    return X.TRUE, value


def _drop_instance_guards(guard: Bool) -> Bool:
    """The guard without its conditions on loop indices and runtime values (which instance runs)."""
    parts = guard.args if guard.kind == "and" else (guard,)
    kept = [p for p in parts if not any(n.startswith(("#", "?", "@#")) for n in X.free_params(p))]
    return X.band(*kept)


def _named(value: Any, names: set) -> Any:
    """value, with Unknown for a tensor or number that reads a workload size the reader has no name
    for (a condition on one is kept: past_len > 0 binds from the workload)."""
    def ok(v: Any) -> bool:
        return not any(n in ("batch", "seq_len") or n.startswith(("#", "?", "@")) and n not in names for n in X.free_params(v))

    if isinstance(value, Num):
        return value if ok(value) else Unknown("module state sized by a name its reader does not have")
    if isinstance(value, Tensor):
        if value.shape is None or all(ok(d) for d in value.shape):
            return value
        return Tensor(None, value.dtype, "module state sized by a name its reader does not have")
    if isinstance(value, Phi):
        return Phi(value.cond, _named(value.a, names), _named(value.b, names))
    if isinstance(value, tuple):
        return tuple(_named(v, names) for v in value)
    return value
