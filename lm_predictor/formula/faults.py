"""Run-time faults raised inside formula code, located by span, converted by the engine."""

from __future__ import annotations

from lm_predictor import diagnostics as d
from lm_predictor.formula.nodes import Span
from lm_predictor.formula.values import ValueFault

_KIND_CODES = {
    "type": d.E_TYPE,
    "zero": d.E_DIVISION_BY_ZERO,
    "int-size": d.E_INT_TOO_LARGE,
    "float": d.E_FLOAT_OVERFLOW,
    "domain": d.E_MATH_DOMAIN,
}


class EvalFault(Exception):
    """A fault at a span of the formula being evaluated."""

    def __init__(self, code: d.Code, span: Span, fields: dict[str, object]):
        super().__init__(code.code)
        self.code = code
        self.span = span
        self.fields = fields

    @classmethod
    def from_value_error(cls, err: ValueFault, span: Span, rule: str) -> "EvalFault":
        code = _KIND_CODES[err.kind]
        fields: dict[str, object] = {"detail": err.detail, "rule": rule, "what": err.detail.split(" would")[0]}
        from lm_predictor.limits import MAX_INT_BITS

        fields["limit"] = MAX_INT_BITS
        return cls(code, span, fields)
