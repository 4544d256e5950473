"""Interpreter state: diagnostics, assumptions and costs, module globals and imports."""

from __future__ import annotations

from fractions import Fraction

from typing import Any, Callable

from astroid import nodes

from lm_predictor.diagnostics import A_ROUTING, A_RUNTIME_BRANCH, Code
from lm_predictor.suggest import expr as X
from lm_predictor.suggest.blocksum import split_block_sum
from lm_predictor.suggest.expr import ONE, ZERO, Bool, Num
from lm_predictor.suggest.findings import AnalysisLimit, DeadPath, Finding, slug_for
from lm_predictor.suggest.implied import fact_literals, under_guard
from lm_predictor.suggest.interp.frames import Frame
from lm_predictor.suggest.interp.syntax import BUILTIN_NAMES
from lm_predictor.suggest.resolve import absolute_module, find_public, module_symbols, star_imports
from lm_predictor.suggest.scope import Term
from lm_predictor.suggest.sources import ParsedModule
from lm_predictor.suggest.valueops import decide_in, make_phi
from lm_predictor.suggest.values import Builtin, ClassV, External, FunctionV, Loc, Phi, Unknown


DEAD = object()  # what `under` returns for a path that raises


class StateMixin:
    """Interpreter state: diagnostics, assumptions and costs, module globals and imports."""

    def loc(self, node: Any, pm: ParsedModule | None = None) -> Loc | None:
        if node is None:
            return self.current_loc
        try:
            root = node.root()
            path = root.file or ""
            name = root.name
        except Exception:  # noqa: BLE001
            return self.current_loc
        base = str(self.tree.package_dir.parent) + "/"
        rel = path[len(base):] if path.startswith(base) else path
        return Loc(rel, getattr(node, "lineno", 0) or 0, name)

    def report(self, code: Code, node: Any, message: str) -> Finding:
        loc = self.loc(node)
        key = (code, loc, message)
        finding = Finding(code, loc, message, slug_for(code, loc))
        if key not in self._finding_keys:
            self._finding_keys.add(key)
            self.findings.append(finding)
        return finding

    def unresolved(self, code: Code, node: Any, message: str) -> Num:
        finding = self.report(code, node, message)
        return X.unresolved(finding.slug)

    def opaque_bool(self, node: Any, reason: str) -> Bool:
        name = f"?{next(self._opaque_ids)}"
        self.opaque[name] = Finding(A_RUNTIME_BRANCH, self.loc(node), f"branch on a runtime value ({reason}) changes the cost")
        return X.bsym(name)

    def decide(self, b: Bool) -> bool | None:
        value = X.bool_value(b)
        if value is not None:
            return value
        lits: set = set()
        for a in self.assume:
            lits.update(a.args if a.kind == "and" else (a,))
        return decide_in(b, lits | fact_literals(self.facts, self.assume))

    def learn(self, fact: Bool) -> Bool:
        """Record what must hold for the code not to raise, as learned under the branches being run
        (`guard -> fact`; unconditional only outside every branch); the recorded form."""
        recorded = under_guard(self.guard(), fact)
        self.facts.append(recorded)
        return recorded

    def guard(self, start: int = 0) -> Bool:
        return X.band(*self.assume[start:])

    def mult(self) -> Num:
        out = ONE
        for m in self.mults:
            out = out * m
        return out

    def add_cost(self, metric: str, expr: Num, mult: Num = ONE, note: str = "") -> None:
        if self.recorder is None:
            return
        if metric == "bytes" and (X.find_routed(expr) or X.find_routed(mult)):
            metric, expr, note = "bytes_gap", ZERO, "an op sized by the tokens routed to one expert"
        routed = X.find_routed(expr) + X.find_routed(mult)
        if routed:
            # a cost inside a loop over experts, sized by the tokens each expert gets: summed over
            # the loop, those tokens are the routing total (the cost is linear in them)
            if not self.mults and self.unrolled and self.unrolled[-1] > 0:
                # a loop over a constant number of experts, unrolled: each of its n iterations
                # adds 1/n of the cost at the routing total, n of them the whole
                total = routed[0].args[0]
                share = Num.const(Fraction(1, self.unrolled[-1]))
                expr = X.replace_atoms(expr, routed[0], total)
                mult = X.replace_atoms(mult, routed[0], total) * share
            elif not self.mults:
                expr = self.unresolved(A_ROUTING, None, "tokens routed to one expert used outside a loop over experts")
            else:
                total = routed[0].args[0]
                expr = X.replace_atoms(expr, routed[0], total)
                mult = X.replace_atoms(mult, routed[0], total)
                outer = ONE
                for m in self.mults[:-1]:
                    outer = outer * m
                self.recorder.add(metric, Term(self.guard(), outer * mult, expr, note or "summed over experts"))
                return
        loop = self.sym_loops[-1] if self.sym_loops else None
        if loop and self.mults and self.mults[-1] is loop["count"] and loop["index"] and loop["index"] in X.free_params(expr) and loop["index"] not in X.free_params((mult, self.guard())):
            split = split_block_sum(expr, loop["count"], loop["index"])
            if split is not None:  # a loop over ceil(S / B) blocks: every block but the last costs the same
                outer = ONE
                for m in self.mults[:-1]:
                    outer = outer * m
                interior, last = split
                ran = X.band(self.guard(), X.cmp(">=", loop["count"], ONE))  # a loop of no block costs nothing
                self.recorder.add(metric, Term(ran, outer * (loop["count"] - ONE) * mult, interior, note))
                self.recorder.add(metric, Term(ran, outer * mult, last, note))
                return
        self.recorder.add(metric, Term(self.guard(), self.mult() * mult, expr, note))

    def phi(self, cond: Bool, a: Any, b: Any) -> Any:
        decided = self.decide(cond)
        if decided is True:
            return a
        if decided is False:
            return b
        return make_phi(cond, a, b)

    def on_phi(self, value: Any, fn: Callable[[Any], Any]) -> Any:
        """fn over each arm of a conditional value (the arms the assumptions allow), results joined."""
        if not isinstance(value, Phi):
            return fn(value)
        decided = self.decide(value.cond)
        if decided is not None:
            return self.on_phi(value.a if decided else value.b, fn)
        ra = self.under(value.cond, lambda: self.on_phi(value.a, fn), DEAD)
        rb = self.under(X.bnot(value.cond), lambda: self.on_phi(value.b, fn), DEAD)
        if ra is DEAD and rb is DEAD:
            raise DeadPath()
        if ra is DEAD or rb is DEAD:  # one arm raises: the other's condition must hold
            self.learn(X.bnot(value.cond) if ra is DEAD else value.cond)
            return rb if ra is DEAD else ra
        return make_phi(value.cond, ra, rb)

    def under(self, cond: Bool, fn: Callable[[], Any], dead: Any) -> Any:
        """fn() run assuming `cond`; `dead` where that path raises at run time (DeadPath)."""
        self.assume.append(cond)
        try:
            return fn()
        except DeadPath:
            return dead
        finally:
            self.assume.pop()

    def global_value(self, pm: ParsedModule, name: str, node: Any = None) -> Any:
        key = (pm.name, name)
        if key in self.globals:
            return self.globals[key]
        qual = f"{pm.name}.{name}"
        brain = self.brains.global_value(self, qual)
        if brain is not None:
            self.globals[key] = brain
            return brain
        self.globals[key] = Unknown(f"{qual} (being evaluated)")
        value = self._global_value(pm, name, node)
        self.globals[key] = value
        return value

    def _global_value(self, pm: ParsedModule, name: str, node: Any) -> Any:
        symbols = module_symbols(pm)
        stmt = symbols.get(name)
        if stmt is None:
            for star in star_imports(pm):
                target = absolute_module(pm, star)
                tpm = self.tree.parse(target)
                if tpm is not None and name in module_symbols(tpm):
                    return self.global_value(tpm, name, node)
            if name in BUILTIN_NAMES:
                return Builtin(name)
            return Unknown(f"name {name!r} not found in {pm.name}")
        if isinstance(stmt, nodes.ClassDef):
            return ClassV(stmt, pm, f"{pm.name}.{name}")
        if isinstance(stmt, nodes.FunctionDef):
            return FunctionV(stmt, pm, f"{pm.name}.{name}")
        if isinstance(stmt, nodes.ImportFrom):
            target = absolute_module(pm, stmt)
            orig = name
            for n, asname in stmt.names:
                if (asname or n) == name:
                    orig = n
            return self.import_name(target, orig)
        if isinstance(stmt, nodes.Import):
            for n, asname in stmt.names:
                if asname == name:
                    return self.import_module(n)
                if n.split(".")[0] == name and asname is None:
                    return self.import_module(name)
            return Unknown(f"import of {name}")
        if isinstance(stmt, (nodes.Assign, nodes.AnnAssign)):
            if stmt.value is None:
                return Unknown(f"annotation-only {name}")
            frame = Frame({}, pm, func=f"{pm.name}.<module>")
            saved = self.recorder
            self.recorder = None
            try:
                return self.eval(stmt.value, frame)
            except AnalysisLimit:
                raise
            except Exception as err:  # noqa: BLE001 - a module-level value we cannot evaluate
                return Unknown(f"{pm.name}.{name}: {type(err).__name__}: {err}")
            finally:
                self.recorder = saved
        return Unknown(f"{name} in {pm.name}")

    def import_module(self, modname: str) -> Any:
        if modname.split(".")[0] == "transformers":
            pm = self.tree.parse(modname)
            if pm is not None:
                self.touched_modules.add(modname)
                return pm  # the module as a namespace
            return Unknown(f"module {modname} not in the source tree")
        return External(modname)

    def import_name(self, modname: str, name: str) -> Any:
        if modname.split(".")[0] != "transformers":
            return External(f"{modname}.{name}")
        brain = self.brains.global_value(self, f"{modname}.{name}")
        if brain is not None:
            return brain
        sub = f"{modname}.{name}"
        if self.tree.has_module(sub) and not self._defines(modname, name):
            return self.import_module(sub)
        pm = self.tree.parse(modname)
        if pm is None:
            return Unknown(f"module {modname} not in the source tree")
        self.touched_modules.add(modname)
        return self.global_value(pm, name)

    def _defines(self, modname: str, name: str) -> bool:
        pm = self.tree.parse(modname)
        return pm is not None and name in module_symbols(pm)

    def resolve_qualname(self, qualname: str) -> Any:
        found = find_public(self.tree, qualname)
        if found is None:
            return None
        modname, name = found
        pm = self.tree.parse(modname)
        self.touched_modules.add(modname)
        return self.global_value(pm, name)
