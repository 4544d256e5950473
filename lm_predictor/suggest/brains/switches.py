"""A forward that re-configures its own model on the workload (BigBird: `set_attention_type`).

`BigBirdModel.forward` calls `self.set_attention_type("original_full")` when `seq_len <= (5 + 2 *
num_random_blocks) * block_size`. The method sets `self.attention_type = value` (an attribute
`__init__` copied from `config.attention_type`) and rebuilds the attention modules below as
`__init__` would have built them for that value. From then on the model is the one the config with
`attention_type = value` builds. So the analysis does not follow the method: it records a switch
(the config field, the value, and the condition over the workload under which forward takes it),
and `derive` prices a workload that meets the condition with the rules derived for the switched
config (the rules of this analysis stay for the workloads that do not).

A method is such a switch when its body assigns one of its parameters to `self.<attr>`, the
class's `__init__` sets that attribute from `config.<field>`, and the call passes a string that
differs from the attribute's current value. A condition that reads anything besides the workload
(batch, seq_len, past_len) once the config's values are in is reported (A120), not recorded.
"""

from __future__ import annotations

from typing import Any

from astroid import nodes

from lm_predictor.diagnostics import A_RUNTIME_BRANCH
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import Num
from lm_predictor.suggest.host import Host
from lm_predictor.suggest.scope import ModRef
from lm_predictor.suggest.values import FunctionV

WORKLOAD_NAMES = {"batch": "batch", "seq_len": "seq_len", "past_len": "past_len", "@batch": "batch", "@seq_len": "seq_len"}


def _config_field(init: Any, attr: str) -> str | None:
    """The config field `__init__` copies into `self.<attr>` (`self.attr = config.field`), else None."""
    for assign in init.nodes_of_class(nodes.Assign):
        for target in assign.targets:
            if isinstance(target, nodes.AssignAttr) and target.attrname == attr and isinstance(target.expr, nodes.Name) and target.expr.name == "self":
                value = assign.value
                if isinstance(value, nodes.Attribute) and value.expr.as_string() in ("config", "self.config"):
                    return value.attrname
    return None


def _assigned_param(fn: Any) -> tuple[str, str] | None:
    """(attr, parameter) of the one `self.<attr> = <parameter>` in a method's body, else None."""
    params = [a.name for a in fn.args.args[1:]]
    found = set()
    for assign in fn.nodes_of_class(nodes.Assign):
        for target in assign.targets:
            if isinstance(target, nodes.AssignAttr) and isinstance(target.expr, nodes.Name) and target.expr.name == "self":
                if isinstance(assign.value, nodes.Name) and assign.value.name in params:
                    found.add((target.attrname, assign.value.name))
    return found.pop() if len(found) == 1 else None


def config_switch(interp: Host, fv: FunctionV, args: list, kwargs: dict, node: Any) -> Any:
    """None (the call is recorded as a switch, not followed), or NotImplemented (not a switch)."""
    if getattr(interp, "in_init", None) is not None or not isinstance(fv.bound, ModRef) or not isinstance(fv.node, nodes.FunctionDef):
        return NotImplemented
    cls = getattr(fv.owner_class, "node", None)
    init = cls.locals.get("__init__", [None])[0] if isinstance(cls, nodes.ClassDef) else None
    found = _assigned_param(fv.node)
    if not isinstance(init, nodes.FunctionDef) or found is None:
        return NotImplemented
    attr, param = found
    field = _config_field(init, attr)
    params = [a.name for a in fv.node.args.args[1:]]
    value = args[params.index(param)] if params.index(param) < len(args) else kwargs.get(param)
    if field is None or not isinstance(value, str) or interp.getattr(fv.bound, attr, node) == value:
        return NotImplemented
    when = _in_workload_terms(interp, X.band(*interp.assume))
    if when is None:
        interp.unresolved(A_RUNTIME_BRANCH, node, f"forward sets {field}={value!r} under a condition the analysis cannot read from the workload")
        return None
    record = {"field": field, "value": value, "when": when, "where": fv.qualname}
    if record not in interp.switches:
        interp.switches.append(record)
    return None


def _in_workload_terms(interp: Host, cond: X.Bool) -> str | None:
    """The condition as formula text over $batch, $seq_len and $past_len (the config's values put in), or None."""
    model = interp.config.model if interp.config is not None else None
    mapping: dict = {}
    for name in X.free_params(cond):
        if name in WORKLOAD_NAMES:
            mapping[name] = Num.sym(WORKLOAD_NAMES[name])
            continue
        raw = None if model is None else model.resolved.get(name, model.init_defaults.get(name))
        if isinstance(raw, bool):  # a flag: BigBird's add_cross_attention already made __init__ switch
            mapping[name] = X.bconst(raw)
        elif isinstance(raw, int):
            mapping[name] = Num.const(raw)
        else:
            return None
        model.fold(name, raw)  # the condition holds for this value (BigBird's block_size): eval's cache keys on it
    return X.render_bool(X.substitute(cond, mapping))
