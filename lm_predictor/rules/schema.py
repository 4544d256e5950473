"""Positioned YAML data -> Rule objects, collecting every schema and formula diagnostic."""

from __future__ import annotations

import difflib
import keyword
import math
import re
from dataclasses import replace

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Diagnostic, LmPredictorError
from lm_predictor.formula.parser import KEYWORDS, parse_formula
from lm_predictor.limits import MAX_FORMULA_CHARS
from lm_predictor.rules.model import PARAM_TYPES, STANDARD_METRICS, Formula, ParamSpec, Rule
from lm_predictor.formula.source import Origin
from lm_predictor.rules.yaml_loader import SourceFile, YMap, YScalar, YSeq, YValue

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z", re.ASCII)
RULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z", re.ASCII)

FILE_KEYS = ("rules", "doc")
RULE_KEYS = ("aliases", "doc", "params", "metrics", "source", "requires", "accepts") + STANDARD_METRICS
PARAM_KEYS = ("type", "default", "doc", "optional", "derived")


def valid_identifier(name: object) -> bool:
    """An ASCII identifier that is neither a keyword (ours or Python's) nor a dunder."""
    return (
        isinstance(name, str)
        and IDENTIFIER.match(name) is not None
        and name not in KEYWORDS
        and not keyword.iskeyword(name)
        and not name.startswith("__")
    )


def valid_rule_name(name: object) -> bool:
    """A dotted path of ASCII identifiers, none a dunder or a Python keyword."""
    return (
        isinstance(name, str)
        and RULE_NAME.match(name) is not None
        and not any(part.startswith("__") or keyword.iskeyword(part) for part in name.split("."))
    )


def _yaml_type(value: YValue) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YSeq):
        return "a list"
    v = value.value
    return {bool: "a bool", int: "an int", float: "a float", str: "a string", type(None): "null"}.get(type(v), type(v).__name__)


class _RuleReader:
    """Reads one file's rules; appends diagnostics instead of stopping at the first."""

    def __init__(self, source: SourceFile, lazy: bool = False):
        self.source = source
        self.lazy = lazy
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: d.Code, at: object, /, **fields: object) -> None:
        # `at` is positional-only: many templates have a `{where}` field of their own
        self.diagnostics.append(self.source.diagnostic(code, at, **fields))

    def check_keys(self, mapping: YMap, allowed: tuple[str, ...], where: str) -> bool:
        """Report each unknown key (with the closest allowed one); True when all are known."""
        known = True
        for key, _ in mapping.items:
            if key.value not in allowed:
                known = False
                found = self.source.diagnostic(d.S_UNKNOWN_KEY, key.node, key=key.value, where=where, expected=", ".join(allowed))
                close = difflib.get_close_matches(str(key.value), allowed, n=1, cutoff=0.75)
                self.diagnostics.append(replace(found, notes=(f"did you mean '{close[0]}'?",)) if close else found)
        return known

    def formula(self, value: YValue, where: str) -> Formula | None:
        if not isinstance(value, YScalar) or isinstance(value.value, bool) or not isinstance(value.value, (str, int, float)):
            self.report(d.S_WRONG_TYPE, value.node, where=where, expected="a formula (string or number)", got=_yaml_type(value))
            return None
        if isinstance(value.value, float) and not math.isfinite(value.value):
            return self.literal(value, "")
        text = value.value if isinstance(value.value, str) else repr(value.value)
        if len(text) > MAX_FORMULA_CHARS:  # refused by the parser at once; skip mapping a huge text
            origin = self.source.origin_for(value, text[:1])
        else:
            origin = self.source.origin_for(value, text) if isinstance(value.value, str) else self.source.origin_for(value, value.node.value)
        return self.parsed(text, origin)

    def read_file(self, data: YValue | None) -> list[Rule]:
        if data is None:
            return []
        if not isinstance(data, YMap):
            self.report(d.S_WRONG_TYPE, data.node, where="a rule file", expected="a mapping with 'rules:'", got=_yaml_type(data))
            return []
        self.check_keys(data, FILE_KEYS, "the rule file")
        rules_value = dict((k.value, v) for k, v in data.items).get("rules")
        if rules_value is None:
            return []
        if not isinstance(rules_value, YMap):
            self.report(d.S_WRONG_TYPE, rules_value.node, where="'rules'", expected="a mapping of rule names", got=_yaml_type(rules_value))
            return []
        rules = []
        for key, body in rules_value.items:
            rule = self.read_rule(key, body)
            if rule is not None:
                rules.append(rule)
        return rules

    def read_rule(self, key: YScalar, body: YValue) -> Rule | None:
        name = key.value
        if not valid_rule_name(name):
            self.report(d.S_BAD_RULE_NAME, key.node, name=name)
            return None
        assert isinstance(name, str)
        if not isinstance(body, YMap):
            self.report(d.S_WRONG_TYPE, body.node, where=f"rule '{name}'", expected="a mapping", got=_yaml_type(body))
            return None
        reported = len(self.diagnostics)  # an unknown key may hold a formula that used parameters
        keys_known = self.check_keys(body, RULE_KEYS, f"rule '{name}'")
        fields = {k.value: (k, v) for k, v in body.items}
        aliases, alias_locations = self.read_aliases(fields.get("aliases"))
        doc = self.read_text(fields.get("doc"), f"doc of '{name}'")
        source = self.read_text(fields.get("source"), f"source of '{name}'")
        params, dropped = self.read_params(fields.get("params"), name)
        requires = self.read_requires(fields.get("requires"))
        accepts = self.read_accepts(fields.get("accepts"))
        metrics: dict[str, Formula] = {}
        for metric in STANDARD_METRICS:
            if metric in fields:
                formula = self.formula(fields[metric][1], f"metric '{metric}'")
                if formula is not None:
                    metrics[metric] = formula
        custom = fields.get("metrics")
        if custom is not None:
            self.read_custom_metrics(custom[1], metrics)
        if keys_known and not metrics and not any(m in fields for m in STANDARD_METRICS) and "metrics" not in fields:
            self.report(d.S_NO_METRIC, key.node, name=name)
        complete = len(self.diagnostics) == reported  # no parameter or formula was dropped
        return Rule(name, aliases, doc, params, metrics, self.source.location(key.node), source, alias_locations, complete, requires=requires, accepts=accepts, dropped_params=dropped)

    def read_accepts(self, entry: tuple[YScalar, YValue] | None) -> dict[str, tuple[str, ...]]:
        """`accepts:` config field (or dotted path into nested fields) -> the string values the rule prices."""
        if entry is None:
            return {}
        value = entry[1]
        if not isinstance(value, YMap):
            self.report(d.S_WRONG_TYPE, value.node, where="'accepts'", expected="a mapping of config field to a list of strings", got=_yaml_type(value))
            return {}
        found: dict[str, tuple[str, ...]] = {}
        for key, values in value.items:
            if not (isinstance(key.value, str) and all(valid_identifier(part) for part in key.value.split("."))):
                self.report(d.S_WRONG_TYPE, key.node, where="an 'accepts' field", expected="a config field name or dotted path (rope_scaling.rope_type)", got=_yaml_type(key))
            elif not (isinstance(values, YSeq) and values.items and all(isinstance(v, YScalar) and isinstance(v.value, str) for v in values.items)):
                self.report(d.S_WRONG_TYPE, values.node, where=f"accepts of '{key.value}'", expected="a non-empty list of strings", got=_yaml_type(values))
            else:
                found[key.value] = tuple(v.value for v in values.items)
        return found

    def read_requires(self, entry: tuple[YScalar, YValue] | None) -> tuple[Formula, ...]:
        """`requires:` a list of bool formulas (strings) the parameters must satisfy."""
        if entry is None:
            return ()
        value = entry[1]
        if not isinstance(value, YSeq):
            self.report(d.S_WRONG_TYPE, value.node, where="'requires'", expected="a list of condition formulas", got=_yaml_type(value))
            return ()
        found = []
        for item in value.items:
            if not (isinstance(item, YScalar) and isinstance(item.value, str)):
                self.report(d.S_WRONG_TYPE, item.node, where="a requirement", expected="a condition formula (string)", got=_yaml_type(item))
                continue
            formula = self.formula(item, "a requirement")
            if formula is not None:
                found.append(formula)
        return tuple(found)

    def read_text(self, entry: tuple[YScalar, YValue] | None, where: str) -> str:
        if entry is None:
            return ""
        value = entry[1]
        if not isinstance(value, YScalar) or not isinstance(value.value, str):
            self.report(d.S_WRONG_TYPE, value.node, where=where, expected="a string", got=_yaml_type(value))
            return ""
        return value.value

    def read_aliases(self, entry: tuple[YScalar, YValue] | None) -> tuple[tuple[str, ...], dict]:
        if entry is None:
            return (), {}
        value = entry[1]
        items = value.items if isinstance(value, YSeq) else None
        if items is None:
            self.report(d.S_WRONG_TYPE, value.node, where="'aliases'", expected="a list of names", got=_yaml_type(value))
            return (), {}
        names, locations = [], {}
        for item in items:
            if isinstance(item, YScalar) and valid_rule_name(item.value):
                names.append(item.value)
                locations[item.value] = self.source.location(item.node)
            else:
                self.report(d.S_BAD_RULE_NAME, item.node, name=getattr(item, "value", _yaml_type(item)))
        return tuple(names), locations

    def read_params(self, entry: tuple[YScalar, YValue] | None, rule: str) -> tuple[dict[str, ParamSpec], frozenset[str] | None]:
        """(parameters read, names of those dropped for an error; None if the block is unreadable)."""
        if entry is None:
            return {}, frozenset()
        value = entry[1]
        if not isinstance(value, YMap):
            self.report(d.S_WRONG_TYPE, value.node, where=f"params of '{rule}'", expected="a mapping", got=_yaml_type(value))
            return {}, None
        params, dropped = {}, set()
        for key, spec in value.items:
            if not valid_identifier(key.value):
                self.report(d.S_BAD_PARAM_NAME, key.node, name=key.value)
                dropped.add(str(key.value))
                continue
            param = self.read_param(key, spec)
            if param is not None:
                params[param.name] = param
            else:
                dropped.add(str(key.value))
        return params, frozenset(dropped)

    def read_param(self, key: YScalar, spec: YValue) -> ParamSpec | None:
        name = str(key.value)
        location = self.source.location(key.node)
        if isinstance(spec, YScalar) and isinstance(spec.value, str):
            if spec.value not in PARAM_TYPES:
                self.report(d.S_WRONG_TYPE, spec.node, where=f"type of '{name}'", expected=" | ".join(PARAM_TYPES), got=repr(spec.value))
                return None
            return ParamSpec(name, spec.value, None, False, "", location)
        if not isinstance(spec, YMap):
            self.report(d.S_WRONG_TYPE, spec.node, where=f"parameter '{name}'", expected="a type name or a mapping", got=_yaml_type(spec))
            return None
        self.check_keys(spec, PARAM_KEYS, f"parameter '{name}'")
        fields = {k.value: v for k, v in spec.items}
        type_value = fields.get("type")
        if not isinstance(type_value, YScalar) or type_value.value not in PARAM_TYPES:
            where = type_value.node if type_value is not None else key.node
            got = repr(type_value.value) if isinstance(type_value, YScalar) else "nothing"
            self.report(d.S_WRONG_TYPE, where, where=f"type of '{name}'", expected=" | ".join(PARAM_TYPES), got=got)
            return None
        default = None
        if "default" in fields:
            raw = fields["default"]
            if not isinstance(raw, YScalar) or raw.value is None or not isinstance(raw.value, (str, int, float, bool)):
                self.report(d.S_BAD_DEFAULT, raw.node, name=name, got=_yaml_type(raw))
                return None
            value = raw.value
            text = ("true" if value else "false") if isinstance(value, bool) else value if isinstance(value, str) else repr(value)
            default = self.formula(raw, f"default of '{name}'") if isinstance(value, str) else self.literal(raw, text)
            if default is None:
                return None
        optional = fields.get("optional")
        if optional is not None and not (isinstance(optional, YScalar) and isinstance(optional.value, bool)):
            self.report(d.S_WRONG_TYPE, optional.node, where=f"'optional' of '{name}'", expected="true or false", got=_yaml_type(optional))
            return None
        derived = fields.get("derived")
        if derived is not None and not (isinstance(derived, YScalar) and isinstance(derived.value, bool)):
            self.report(d.S_WRONG_TYPE, derived.node, where=f"'derived' of '{name}'", expected="true or false", got=_yaml_type(derived))
            return None
        is_derived = bool(derived.value) if derived is not None else False
        if is_derived and default is None:
            self.report(d.S_WRONG_TYPE, derived.node, where=f"derived parameter '{name}'", expected="given a default", got="none")
            return None
        doc = fields.get("doc")
        doc_text = doc.value if isinstance(doc, YScalar) and isinstance(doc.value, str) else ""
        if doc is not None and not (isinstance(doc, YScalar) and isinstance(doc.value, str)):
            self.report(d.S_WRONG_TYPE, doc.node, where=f"doc of '{name}'", expected="a string", got=_yaml_type(doc))
        return ParamSpec(name, str(type_value.value), default, bool(optional.value) if optional else False, doc_text, location, is_derived)

    def literal(self, raw: YScalar, text: str) -> Formula | None:
        if isinstance(raw.value, float) and not math.isfinite(raw.value):  # YAML .inf, .nan, 1e999
            self.report(d.F_BAD_FLOAT, raw.node, text=raw.node.value)
            return None
        return self.parsed(text, self.source.origin_for(raw, raw.node.value))

    def parsed(self, text: str, origin: Origin) -> Formula | None:
        """A Formula, parsed now (collecting its diagnostics) unless reading lazily."""
        if self.lazy:
            return Formula(text, None, origin)
        try:
            return Formula(text, parse_formula(text, origin), origin)
        except LmPredictorError as err:
            self.diagnostics.extend(err.diagnostics)
            return None

    def read_custom_metrics(self, value: YValue, metrics: dict[str, Formula]) -> None:
        if not isinstance(value, YMap):
            self.report(d.S_WRONG_TYPE, value.node, where="'metrics'", expected="a mapping of metric formulas", got=_yaml_type(value))
            return
        for key, body in value.items:
            if not valid_identifier(key.value):
                self.report(d.S_BAD_PARAM_NAME, key.node, name=key.value)
                continue
            if key.value in metrics:
                self.report(d.S_DUPLICATE_KEY, key.node, key=key.value, line=metrics[key.value].origin.start_line)
                continue
            formula = self.formula(body, f"metric '{key.value}'")
            if formula is not None:
                metrics[str(key.value)] = formula


def read_rules(source: SourceFile, data: YValue | None, *, lazy: bool = False) -> tuple[list[Rule], list[Diagnostic]]:
    """All rules of one file, plus the schema (and, unless lazy, formula) diagnostics found."""
    reader = _RuleReader(source, lazy)
    rules = reader.read_file(data)
    return rules, reader.diagnostics
