"""Module instances: templates built by __init__, rule drafts built by forward(), parameter counts."""

from __future__ import annotations

from typing import Any

from lm_predictor.diagnostics import A_FORWARD_RAISES, A_INIT_RAISES, A_PARAM_SHAPE, A_TIE_UNKNOWN
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.expr import FALSE, ONE, TRUE, ZERO, Bool, Num
from lm_predictor.suggest import liveness
from lm_predictor.suggest.findings import DeadPath
from lm_predictor.suggest.interp.buffers import register_buffers
from lm_predictor.suggest.interp.ckpt_calls import checkpointed_by_func
from lm_predictor.suggest.interp.syntax import arg_hint, param_names
from lm_predictor.suggest.pyvalues import BrainFunc
from lm_predictor.suggest.scope import Instance, ModRef, ParamInfo, Recorder, RuleDraft, RuleRef, Scope, Template, Term, TorchModule
from lm_predictor.suggest.valueops import signature, translate, with_paths
from lm_predictor.suggest.values import ATTN_SDPA, TRAINING, CacheV, ClassV, CondLayout, DictV, External, FunctionV, ListV, Phi, Record, Repeated, Tensor, Unknown


class ModulesMixin:
    """Module instances: templates built by __init__, rule drafts built by forward(), parameter counts."""

    def instantiate_module(self, cls: ClassV, args: list, kwargs: dict, node: Any) -> ModRef:
        init = self.class_attr(cls, "__init__")
        if not isinstance(init, (FunctionV, BrainFunc)):
            init = None
        hints = param_names(init.node)[1:] if isinstance(init, FunctionV) else self.brains.init_hints(init)
        binding: dict = {}
        namer = _Namer(set(), prefer_hint=True)
        loc_args = [self.localize(v, arg_hint(hints, i), binding, namer) for i, v in enumerate(args)]
        loc_kwargs = {k: self.localize(v, k, binding, namer) for k, v in kwargs.items()}
        sig = signature((loc_args, loc_kwargs), namer.order)
        shared = self.shared_args(list(args) + list(kwargs.values()))
        key = (cls.qualname, sig, tuple(why for _, why in shared))
        template = self.templates.get(key)
        if template is not None:
            binding = _remap(binding, namer.order, template.names)
        if template is None:
            template = Template(cls, cls.qualname, sig, _scope_for(cls.qualname, binding, namer, loc_args, loc_kwargs))
            template.variant = self._next_variant(cls.qualname)
            self.templates[key] = template
            template.binding_info = {k: _param_info_for(k, v, namer.docs.get(k, "")) for k, v in binding.items()}
            template.scope.params.update(template.binding_info)
            template.first_binding = dict(binding)
            template.names = list(namer.order)
            template.caller = self.recorder.template if self.recorder is not None else None
            template.caller_draft = self.recorder.draft if self.recorder is not None else None
            self.run_init(template, init, loc_args, loc_kwargs, node, shared)
        inst = Instance(template, binding, loop_depth=len(self.sym_loops))
        return ModRef(inst, binding, "")

    def shared_args(self, args: list) -> list:
        """(instance, why) for each module argument that other module instances hold too: one built
        outside a loop of symbolic length and handed to the modules the loop builds ("loop": the owner
        counts it once), or one held already ("again": its first holder counts it, as named_parameters does)."""
        out = []
        for value in args:
            if isinstance(value, ModRef):
                if isinstance(value.inst.template, Template) and value.inst.loop_depth < len(self.sym_loops):
                    out.append((value.inst, "loop"))
                elif value.inst.attr or any(b == value.binding for b in value.inst.handed):
                    # an attribute of its builder already (prophetnet's word_embeddings handed to the decoder), or
                    # the same module handed before (not the next item of a list built in a loop)
                    out.append((value.inst, "again"))
                value.inst.handed.append(dict(value.binding))
        return out

    def _next_variant(self, qualname: str) -> int:
        n = self.variants.get(qualname, 0) + 1
        self.variants[qualname] = n
        return n

    def run_init(self, template: Template, init: Any, args: list, kwargs: dict, node: Any, shared: list = ()) -> None:
        self_ref = ModRef(Instance(template, {}), {}, "")
        saved = (self.recorder, self.assume, self.mults, self.in_init, self.facts)
        self.recorder = Recorder(template=template)
        self.assume, self.mults, self.in_init, self.facts = [], [], template, []
        self.init_depth = 0
        try:
            try:
                if isinstance(init, FunctionV):
                    self.run_function(FunctionV(init.node, init.module, init.qualname, None, self_ref, init.owner_class), args, kwargs, node)
                elif init is not None:
                    init.fn(self, self_ref, args, kwargs, node)
            except DeadPath:
                where = template.cls.node if template.cls is not None else None
                template.param_terms.append(Term(TRUE, ONE, self.unresolved(A_INIT_RAISES, where, f"{template.qualname}.__init__ raises on every path the analysis followed")))
            self.brains.after_init(self, template, self_ref)
            template.shared = tuple((attr, why) for inst, why in shared for attr, v in template.attrs.items() if isinstance(v, ModRef) and v.inst is inst)
            self.register_children(template)
        finally:
            self.recorder, self.assume, self.mults, self.in_init, self.facts = saved

    def register_children(self, template: Template) -> None:
        """param_count terms: own nn.Parameters, then each submodule (first owner of a shared one)."""
        seen: set = set()
        for attr, value in template.attrs.items():
            if any(attr == name for name, _ in template.shared):
                template.children.append((attr, value))  # in the module tree, its parameters counted by another holder
                continue
            self._register(template, attr, value, ONE, TRUE, seen)
        for out_path, in_path, tie, bias_tied in template.tied:
            self.apply_tie(template, out_path, in_path, tie, bias_tied)
        register_buffers(template)

    def apply_tie(self, template: Template, out_path: str, in_path: str, tie: Bool, bias_tied: bool | str = False) -> None:
        """The output embedding's weight is the input embedding's when `tie`: the parameter count
        of the (possibly nested) output module drops its weight; a bias it has stays unless the
        model ties it too (`bias_tied`: the path of the parameter it is tied to, or True)."""
        owner = template
        segments = out_path.split(".")
        for seg in segments[:-1]:
            value = owner.attrs.get(seg)
            if not isinstance(value, ModRef) or not isinstance(value.inst.template, Template):
                self.report(A_TIE_UNKNOWN, template.cls.node if template.cls else None, f"tied output embedding {out_path}: cannot follow {seg}")
                return
            owner = value.inst.template
        last = segments[-1]
        for i, term in enumerate(owner.param_terms):
            atom = term.expr.single_atom()
            if isinstance(atom, X.Op) and atom.kind == "call" and atom.args[0] == last and isinstance(atom.args[1], str):
                kwargs = dict(atom.args[2])
                if kwargs.get("bias") == FALSE or bias_tied:
                    tied = ZERO
                    if isinstance(bias_tied, str) and bias_tied.rsplit(".", 1)[0] == ".".join(segments[:-1]):
                        owner.tie_reads[bias_tied.rsplit(".", 1)[-1]] = tie  # the tied bias is the owner's own parameter
                elif atom.args[1] == "torch.nn.Embedding":
                    tied = ZERO  # an embedding has its weight only
                elif "in_features" in kwargs:
                    tied = X.call(last, atom.args[1], {**kwargs, "in_features": ZERO})  # the bias alone
                else:
                    return
                owner.param_terms[i] = Term(term.guard, term.mult, X.ifnum(tie, tied, term.expr), f"{out_path} tied to {in_path}")
                return

    def _register(self, template: Template, attr: str, value: Any, mult: Num, guard: Bool, seen: set) -> None:
        if isinstance(value, Phi):
            self._register(template, attr, value.a, mult, X.band(guard, value.cond), seen)
            self._register(template, attr, value.b, mult, X.band(guard, X.bnot(value.cond)), seen)
            return
        if isinstance(value, Tensor) and value.param:
            numel = ONE
            for d in value.shape or ():
                numel = numel * d
            if value.shape is None:
                numel = self.unresolved(A_PARAM_SHAPE, None, f"parameter {attr} of {template.qualname} has an unknown shape")
            template.param_terms.append(Term(guard, mult, numel, f"parameter {attr}"))
            return
        if isinstance(value, ModRef):
            key = _module_key(value)  # the items of a list built in a loop share an instance, not a binding
            if value.path != attr or key in seen:
                return
            seen.add(key)
            template.children.append((attr, value))
            term = self.param_call(value, attr)
            if term is not None:
                template.param_terms.append(Term(guard, mult * (value.count or ONE), term))
            held = value.inst.template
            for name, why in held.shared if isinstance(held, Template) else ():
                child = held.attrs[name]
                if why == "loop" and ("holder", id(child.inst)) not in seen:  # built here once, held by every module of a loop
                    seen.add(("holder", id(child.inst)))
                    holder = X.call(attr, RuleRef(self.shared_holder(held, name)), dict(value.binding), forward_all=True)
                    template.param_terms.append(Term(TRUE, ONE, holder, f"{attr}.{name}, shared by the modules of {attr}: counted once"))
            return
        if isinstance(value, Repeated):
            self._register(template, attr, value.elem, mult * value.count, guard, seen)
            return
        if isinstance(value, ListV):
            if value.rep is not None:
                self._register(template, attr, value.rep, mult, guard, seen)
                return
            for item in value.items:  # a ModuleList filled by append() after the assignment: its modules get the path now
                if isinstance(item, ModRef) and item.path == "":
                    item = with_paths(item, attr)
                self._register(template, attr, item, mult, guard, seen)
            return
        if isinstance(value, DictV):
            for key, item in value.items.items():
                if isinstance(item, ModRef) and item.path == f"{attr}.{key}":
                    self._register(template, item.path, item, mult, guard, seen)
                else:
                    self._register(template, attr, item, mult, guard, seen)

    def shared_holder(self, held: Template, name: str) -> Template:
        """A parameters-only rule of `held` that counts only its attribute `name`, a module its instances
        share: the owner calls it once at the holders' path (model.layers.shared_transf, as the oracle's
        first owner)."""
        key = ("holder", id(held), name)
        holder = self.templates.get(key)
        if holder is None:
            holder = Template(held.cls, held.qualname, f"{held.signature}|{name}", held.scope)
            holder.variant = self._next_variant(held.qualname)
            holder.binding_info, holder.first_binding, holder.names = held.binding_info, held.first_binding, held.names
            holder.attrs = {name: held.attrs[name]}
            self._register(holder, name, held.attrs[name], ONE, TRUE, set())
            self.templates[key] = holder
        return holder

    def param_call(self, ref: ModRef, label: str) -> Num | None:
        tmpl = ref.inst.template
        if isinstance(tmpl, TorchModule):
            return self.brains.torch_module_params(self, ref, label)
        return X.call(label, RuleRef(tmpl), dict(ref.binding), forward_all=True)

    def call_module(self, ref: ModRef, args: list, kwargs: dict, node: Any, hint: str | None = None, root: bool = False) -> Any:
        if self.in_init is None:
            ref.inst.used = True
        try:
            out = self._call_module(ref, args, kwargs, node, hint, root)
        except Exception:
            if self.in_init is None:  # a call that raised: used with gradients as before the pass
                ref.inst.grad_used = ref.inst.grad_used or not self.grad_off
            raise
        if self.in_init is None:
            # with gradients on: used where its result reaches what the caller's forward hands on (suggest/liveness.py)
            if not liveness.child(self, ref.inst, args, kwargs, out):
                ref.inst.grad_used = ref.inst.grad_used or not self.grad_off
        return out

    def _call_module(self, ref: ModRef, args: list, kwargs: dict, node: Any, hint: str | None, root: bool) -> Any:
        """call_module without the liveness marks."""
        tmpl = ref.inst.template
        if isinstance(tmpl, TorchModule):
            return self.brains.call_torch_module(self, ref, args, kwargs, node)
        forward = self.class_attr(tmpl.cls, "forward")
        if isinstance(forward, BrainFunc) and forward.name.endswith(".forward"):
            forward = FunctionV(None, None, forward.name, owner_class=forward)
        if not isinstance(forward, FunctionV):
            brain = self.brains.module_call_default(self, ref, args, kwargs, node)
            if brain is not NotImplemented:
                return brain
            return Unknown(f"{tmpl.qualname} has no forward()")
        if ref.path == "" and self.recorder is not None and self.recorder.template is tmpl and forward.node is not None:
            # a module calling itself through __call__ of another method: run inline
            return self.run_function(FunctionV(forward.node, forward.module, forward.qualname, None, ref, forward.owner_class), args, kwargs, node)
        hints = param_names(forward.node)[1:] if forward.node is not None else ["input"]
        fbind: dict = {}
        namer = _Namer({k for k in tmpl.scope.params}, dedupe=True)
        if root:  # the model itself: its inputs are the workload parameters, by name
            loc_args, loc_kwargs = list(args), dict(kwargs)
        else:
            loc_args = [self.localize(v, arg_hint(hints, i), fbind, namer) for i, v in enumerate(args)]
            loc_kwargs = {k: self.localize(v, k, fbind, namer) for k, v in kwargs.items()}
        sig = signature((loc_args, loc_kwargs), namer.order)
        draft = tmpl.rules.get(sig)
        if draft is not None:
            fbind = _remap(fbind, namer.order, draft.names)
        if draft is None:
            draft = RuleDraft(tmpl.qualname, tmpl, sig)
            draft.variant = tmpl.variant if not tmpl.rules else self._next_variant(tmpl.qualname)
            draft.fwd_params = {k: _param_info_for(k, v, namer.docs.get(k, "")) for k, v in fbind.items()}
            draft.first_binding = dict(ref.binding)
            draft.first_binding.update(fbind)
            draft.caller = self.recorder.draft if self.recorder is not None else None
            draft.names = list(namer.order)
            tmpl.rules[sig] = draft
            self.drafts.append(draft)
            self.brains.saved_inputs(self, draft, root, loc_args, loc_kwargs)
            self.run_forward(draft, forward, loc_args, loc_kwargs, node)
        draft.called = True
        mapping = dict(ref.binding)
        mapping.update(fbind)
        label = ref.path or (hint or tmpl.cls.name.lower())
        if self.recorder is not None and ref.path == "":
            label = self.recorder.label(label, ref.inst)
        term = X.call(label, RuleRef(draft), mapping, forward_all=True)
        self.add_cost("flops", term, ref.count or ONE)
        self.add_cost("bytes", self._library_bytes(tmpl.qualname, label, args) or term, ref.count or ONE)  # gated by the emitter
        if draft.kv_terms or draft.has_kv:
            self.add_cost("kv_cache_bytes", term, ref.count or ONE)
        checkpointed = any(isinstance(c, External) and c.name.endswith(".GradientCheckpointingLayer") for c in self.mro(tmpl.cls))
        if not checkpointed and checkpointed_by_func(node):  # xLSTM's own `self._gradient_checkpointing_func(block.__call__, ...)`
            draft.checkpointed_by_func = checkpointed = True
        self.brains.saved_module_call(self, draft, term, ref.count or ONE, args, kwargs, mapping, checkpointed)
        out = translate(draft.ret, mapping, None)
        self.brains.saved_returned(self, draft, draft.ret, out, args, kwargs, mapping)
        liveness.returned(self, draft, out)
        return out

    def _library_bytes(self, qualname: str, label: str, args: list) -> Num | None:
        """A module of the analysed library that the rule library prices per element (transformers'
        activation classes, rules/transformers/activations.yaml): its bytes are that rule's, as the
        derived rule of the same name would not load next to it."""
        rule = self.library.get(qualname) if self.library is not None else None
        x = args[0] if args else None
        if rule is None or "bytes_read" not in rule.metrics or not {"numel", "dtype_bytes"} <= set(rule.params):
            return None
        if not isinstance(x, Tensor) or x.shape is None or self.brains.element_bytes(x) is None:
            return None
        n = ONE
        for d in x.shape:
            n = n * d
        return X.call(label, qualname, {"numel": n, "dtype_bytes": self.brains.element_bytes(x)})

    def run_forward(self, draft: RuleDraft, forward: FunctionV, args: list, kwargs: dict, node: Any) -> None:
        self_ref = ModRef(Instance(draft.template, {}), {}, "")
        saved = (self.recorder, self.assume, self.mults, self.in_init, self.facts, self.sym_loops, self.grad_off)
        self.recorder = Recorder(draft=draft, template=None)
        self.recorder.reserved = set(draft.template.attrs)
        # the forward is its own rule: the caller's loops (a loop over layers) are not its loops, nor is a
        # caller's torch.no_grad() its own (the rule is drafted once, whichever call site comes first)
        self.assume, self.mults, self.in_init, self.facts, self.sym_loops, self.grad_off = [], [], None, [], [], 0
        try:
            liveness.begin(self, args, kwargs)
            if forward.node is None:  # a torch base class's forward (brain)
                draft.ret = forward.owner_class.fn(self, self_ref, args, kwargs, node)
            else:
                draft.ret = self.run_function(FunctionV(forward.node, forward.module, forward.qualname, None, self_ref, forward.owner_class), args, kwargs, node)
            liveness.finish(self, draft.ret)
        except DeadPath:
            draft.ret = Unknown("forward() raises on every path the analysis followed")
            draft.flops_terms.append(Term(TRUE, ONE, self.unresolved(A_FORWARD_RAISES, forward.node, f"{draft.qualname}.forward raises on every path the analysis followed")))
        finally:
            liveness.end(self)
            self.recorder, self.assume, self.mults, self.in_init, self.facts, self.sym_loops, self.grad_off = saved

    def _localize_layout(self, layout: Any, hint: str, binding: dict, namer: "_Namer") -> Any:
        if isinstance(layout, CondLayout):
            return CondLayout(self.localize(layout.cond, f"{hint}_layout", binding, namer),
                              self._localize_layout(layout.a, hint, binding, namer), self._localize_layout(layout.b, hint, binding, namer))
        return layout

    def localize(self, value: Any, hint: str, binding: dict, namer: "_Namer") -> Any:
        """The callee's view of a caller value: its symbolic numbers become callee parameters."""
        if isinstance(value, Num):
            if value.is_const():
                return value
            if namer.dedupe and ("n", value) in namer.seen:
                return Num.sym(namer.seen[("n", value)])
            name = value.sym_name()
            use_caller = name and not name.startswith(("#", "?")) and not (namer.prefer_hint and not hint.startswith("arg"))
            new = namer.fresh("@" + (name.lstrip("@") if use_caller else hint))
            namer.seen[("n", value)] = new
            namer.docs[new] = hint
            binding[new] = value
            if not X.is_integral(value):
                X.symbol_facts().floats.add(new)
            if X.free_params(value) & X.symbol_facts().counts:
                X.symbol_facts().counts.add(new)
            sign = X.num_sign(value)
            if sign == "pos":
                X.symbol_facts().positive.add(new)
            elif sign == "nonneg":
                X.symbol_facts().nonneg.add(new)
            return Num.sym(new)
        if isinstance(value, Bool):
            if X.bool_value(value) is not None:
                return value
            if value.kind == "sym" and value.args[0] == ATTN_SDPA or X.free_params(value) == {TRAINING}:
                return value  # a workload fact keeps its name in every rule (eval binds it from --attn, --mode)
            if namer.dedupe and value.kind == "cmp":  # past_len > 0 stays a comparison of the callee's names
                op, a, b = value.args
                return X.cmp(op, self.localize(a, hint + "_lhs", binding, namer), self.localize(b, hint + "_rhs", binding, namer))
            if namer.dedupe and ("b", value) in namer.seen:
                return X.bsym(namer.seen[("b", value)])
            base = value.args[0].lstrip("@") if value.kind == "sym" and not value.args[0].startswith("?") else hint
            new = namer.fresh("@" + base)
            namer.seen[("b", value)] = new
            namer.docs[new] = hint
            binding[new] = value
            return X.bsym(new)
        if isinstance(value, Tensor):
            if value.shape is None:
                return value
            dims = tuple(self.localize(d, f"{hint}_{i}", binding, namer) for i, d in enumerate(value.shape))
            route = ()
            if value.route[:1] in (("ids",), ("expert",)):  # top-k ids keep their bound: the router's width
                bound = value.route[1]
                if any(p.startswith(("@", "#", "?")) for p in X.free_params(bound)):  # config names are global
                    bound = self.localize(bound, f"{hint}_bound", binding, namer)
                route = (value.route[0], bound)
            data = value.values[:1] + tuple(self.localize(v, f"{hint}_{value.values[0]}{i}", binding, namer) for i, v in enumerate(value.values[1:]))
            # the memory layout travels with the tensor (a transposed query into a q_norm module), its conditions localised
            layout = self._localize_layout(value.layout, hint, binding, namer)
            return Tensor(dims, value.dtype, value.why, value.param, route, no_grad=value.no_grad, values=data, layout=layout)
        if isinstance(value, tuple):
            return tuple(self.localize(v, f"{hint}{i}", binding, namer) for i, v in enumerate(value))
        if isinstance(value, ListV):
            rep = self.localize(value.rep, hint, binding, namer) if value.rep is not None else None
            return ListV([self.localize(v, f"{hint}{i}", binding, namer) for i, v in enumerate(value.items)], rep)
        if isinstance(value, DictV):
            return DictV({k: self.localize(v, f"{hint}_{k}" if isinstance(k, str) else hint, binding, namer) for k, v in value.items.items()})
        if isinstance(value, Record):
            return Record(value.class_name, {k: self.localize(v, k, binding, namer) for k, v in value.fields.items()})
        if isinstance(value, CacheV):
            return CacheV(self.localize(value.past, "past_len", binding, namer), value.layers, value.own, value.stores_first, value.size)  # size: config names
        if isinstance(value, Phi):
            cond = self.localize(value.cond, hint + "_present", binding, namer)
            a = value.a
            if isinstance(value.cond, X.Bool) and value.cond.kind == "defined" and isinstance(a, X.Num) and value.cond.args[0] in X.free_params(a):
                # an optional key passed on with its presence (trocr's kdim=config.cross_attention_hidden_size): the
                # callee reads the value only where `<hint>_present` holds, so the argument must not fail where it is unset
                name = value.cond.args[0]
                a = X.substitute(a, {name: X.Num.atom(X.Op("opt", (name, X.ZERO)))})
            return Phi(cond, self.localize(a, hint, binding, namer), self.localize(value.b, hint, binding, namer))
        if isinstance(value, Repeated):
            return Repeated(self.localize(value.elem, hint, binding, namer), self.localize(value.count, hint + "_count", binding, namer), value.index)
        if isinstance(value, ModRef):
            # a module handed to another module: its own bindings move into the callee
            new_binding = {k: self.localize(v, f"{hint}_{k.lstrip('@')}", binding, namer) for k, v in value.binding.items()}
            return ModRef(value.inst, new_binding, "", value.count)
        return value


def _module_key(ref: ModRef) -> tuple:
    """One module in one scope: its instance and its binding there."""
    return (id(ref.inst), tuple(sorted((k, repr(v)) for k, v in ref.binding.items())))


class _Namer:
    def __init__(self, taken: set, prefer_hint: bool = False, dedupe: bool = False):
        self.taken = set(taken)
        self.seen: dict = {}
        self.docs: dict = {}
        self.order: list = []
        self.prefer_hint = prefer_hint
        self.dedupe = dedupe  # forward calls: one name per caller value

    def fresh(self, base: str) -> str:
        base = "@" + _ident(base.lstrip("@"))
        name, i = base, 2
        while name in self.taken:
            name = f"{base}_{i}"
            i += 1
        self.taken.add(name)
        self.order.append(name)
        return name


def _remap(binding: dict, new_order: list, old_order: list) -> dict:
    """A binding whose names were allocated for this call, renamed to the memoised analysis's names."""
    rename = dict(zip(new_order, old_order))
    return {rename.get(k, k): v for k, v in binding.items()}


def _ident(text: str) -> str:
    out = "".join(ch if (ch.isalnum() or ch == "_") else "_" for ch in text).strip("_") or "arg"
    return ("p_" + out) if out[0].isdigit() else out


def _param_info_for(name: str, value: Any, doc: str = "") -> ParamInfo:
    if isinstance(value, Bool):
        typ = "bool"
    elif isinstance(value, Num) and X.is_integral(value):
        typ = "int"
    else:
        typ = "number"
    return ParamInfo(name, "input", typ, doc)


def _scope_for(qualname: str, binding: dict, namer: _Namer, args: list, kwargs: dict):
    scope = Scope(qualname)
    for name, value in binding.items():
        scope.params[name] = _param_info_for(name, value)
    scope.reserved = set(namer.taken)
    return scope
