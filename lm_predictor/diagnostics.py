"""Diagnostic codes (one registry) and diagnostics rendered compiler-style."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """A diagnostic kind: stable code, kebab-case symbol, message template."""

    code: str
    symbol: str
    severity: Severity
    template: str
    summary: str


_CODES: dict[str, Code] = {}
_SYMBOLS: dict[str, Code] = {}


def define(code: str, symbol: str, severity: Severity, template: str, summary: str) -> Code:
    """Register a diagnostic code; refuses duplicate codes or symbols."""
    if code in _CODES or symbol in _SYMBOLS:
        raise ValueError(f"duplicate diagnostic {code} {symbol}")
    entry = Code(code, symbol, severity, template, summary)
    _CODES[code] = entry
    _SYMBOLS[symbol] = entry
    return entry


def all_codes() -> list[Code]:
    """Every registered code, sorted by code."""
    return sorted(_CODES.values(), key=lambda c: c.code)


def lookup(code: str) -> Code:
    """The registered code for `code` (e.g. 'F001')."""
    return _CODES[code]


E, W = Severity.ERROR, Severity.WARNING

# F: formula syntax and compilation
F_SYNTAX = define("F001", "syntax-error", E, "{detail}", "The formula does not parse.")
F_TOO_LONG = define("F002", "formula-too-long", E, "formula has {n} characters; the limit is {limit}", "Formula longer than MAX_FORMULA_CHARS.")
F_TOO_DEEP = define("F003", "formula-too-deep", E, "formula nests {n} levels deep; the limit is {limit}", "Formula nesting deeper than MAX_NESTING_DEPTH.")
F_TOO_MANY_NODES = define("F004", "formula-too-large", E, "formula has {n} nodes; the limit is {limit}", "Formula with more than MAX_AST_NODES nodes.")
F_UNKNOWN_FUNCTION = define("F005", "unknown-function", E, "unknown function '{name}'; built-ins are {known}", "A function call outside the closed built-in table.")
F_ARITY = define("F006", "wrong-arity", E, "{name}() takes {expected}, got {got}", "A built-in called with the wrong number of arguments.")
F_LITERAL_TOO_LARGE = define("F007", "literal-too-large", E, "number literal has {n} digits; the limit is {limit}", "Integer literal longer than MAX_LITERAL_DIGITS.")
F_BAD_FLOAT = define("F008", "invalid-float", E, "float literal '{text}' is not finite", "A float literal that overflows to inf.")
F_DUPLICATE_KEYWORD = define("F009", "duplicate-keyword", E, "keyword '{name}' given twice in call to {callee}", "The same keyword twice in one call.")
F_BAD_LABEL = define("F010", "invalid-label", E, "call label '{name}' must be a plain identifier", "A call label with dots.")

# S: rule files and schema
S_YAML = define("S001", "yaml-syntax", E, "{detail}", "The rule file is not valid YAML.")
S_UNSAFE_TAG = define("S002", "yaml-tag-refused", E, "YAML tag '{tag}' is refused; rule files hold plain data only", "Explicit YAML tags (e.g. !!python/object) are refused.")
S_ALIAS = define("S003", "yaml-alias-refused", E, "YAML {what} are refused in rule files", "YAML anchors, aliases and merge keys are refused (alias bombs).")
S_FILE_TOO_LARGE = define("S004", "file-too-large", E, "file has {n} bytes; the limit is {limit}", "Rule file bigger than MAX_RULE_FILE_BYTES.")
S_UNKNOWN_KEY = define("S005", "unknown-key", E, "unknown key '{key}' in {where}; expected one of {expected}", "A key the schema does not know.")
S_WRONG_TYPE = define("S006", "wrong-type", E, "{where} must be {expected}, got {got}", "A value of the wrong YAML type.")
S_BAD_RULE_NAME = define("S007", "invalid-rule-name", E, "rule name {name!r} must be a dotted path of ASCII identifiers", "Rule and alias names are dotted ASCII identifiers.")
S_BAD_PARAM_NAME = define("S008", "invalid-param-name", E, "parameter name {name!r} must be an ASCII identifier and not a keyword", "Parameter and metric names are ASCII identifiers.")
S_DUPLICATE_RULE = define("S009", "duplicate-rule", E, "rule '{name}' is already defined at {other}", "The same rule or alias defined twice.")
S_DUPLICATE_KEY = define("S010", "duplicate-key", E, "duplicate key '{key}' (first at line {line})", "A mapping key given twice.")
S_ENCODING = define("S011", "encoding-error", E, "{detail}", "The file is not plain UTF-8 text (invalid bytes, NUL, or a byte-order mark).")
S_NO_METRIC = define("S012", "no-metrics", E, "rule '{name}' defines no metric", "A rule without any metric formula.")
S_TOO_MANY_NODES = define("S013", "yaml-too-large", E, "file has more than {limit} YAML nodes", "Rule file with more than MAX_YAML_NODES nodes.")
S_BAD_DEFAULT = define("S014", "invalid-default", E, "default of '{name}' must be a number, a bool or a formula string, got {got}", "A parameter default that is not a literal or formula.")

# L: static checks across rules
L_UNDEFINED_PARAM = define("L001", "undefined-param", E, "'{name}' is not a parameter of {rule}", "A formula uses a parameter the rule does not declare.")
L_UNUSED_PARAM = define("L002", "unused-param", W, "parameter '{name}' of {rule} is never used", "A declared parameter no formula or default uses.")
L_UNKNOWN_RULE = define("L003", "unknown-rule", E, "call to unknown rule '{name}'", "A call to a rule the library does not define.")
L_UNKNOWN_KEYWORD = define("L004", "unknown-keyword", E, "{callee} has no parameter '{name}'", "A call passes a keyword the callee does not declare.")
L_MISSING_ARGUMENT = define("L005", "missing-argument", E, "call to {callee} does not give required parameter '{name}'", "A call omits a required parameter of the callee.")
L_MISSING_METRIC = define("L006", "missing-metric", E, "{callee} does not define metric '{metric}'", "A call asks for a metric the callee does not define.")
L_BOOL_ARITHMETIC = define("L007", "bool-in-arithmetic", E, "{what} is a bool, but '{op}' needs a number", "A bool used where a number is needed.")
L_NUMBER_CONDITION = define("L008", "number-as-condition", E, "{what} is a number, but '{op}' needs a bool", "A number used where a bool is needed.")
L_CALL_CYCLE = define("L009", "call-cycle", E, "call cycle: {path}", "Rules that call each other in a cycle.")
L_DEFAULT_CYCLE = define("L010", "default-cycle", E, "parameter defaults form a cycle: {path}", "Parameter defaults that depend on each other in a cycle.")
L_FORWARD_MISSING = define("L011", "forward-unknown", E, "forwarded '{name}' is not a parameter of {rule}", "A forwarded name the caller does not declare.")
L_REDUNDANT_DEFAULT = define("L012", "unreachable-default", W, "inline default of '${{{name}:-...}}' is never used: the parameter has a declared default", "An inline default hidden by a declared default.")
L_DEFINED_REQUIRED = define("L013", "defined-on-required", W, "defined({name}) is always true: '{name}' is required", "defined() on a required parameter.")
L_BINDS_DERIVED = define("L015", "binds-derived-param", E, "{callee} computes '{name}' itself (a derived parameter); a call cannot set it", "A call passes a value for a parameter the callee derives from its others.")
L_STALE_GENERATED = define("L014", "stale-generated", E, "{path}: {detail}", "A generated module is stale or was edited by hand.")

# E: evaluation
E_MISSING_PARAM = define("E001", "missing-param", E, "'{name}' has no value or default in {rule}", "A parameter used without a value or default.")
E_DIVISION_BY_ZERO = define("E002", "division-by-zero", E, "division by zero in {rule}", "Division or modulo by zero, or 0 ** negative.")
E_INT_TOO_LARGE = define("E003", "integer-too-large", E, "{what} would exceed {limit} bits", "A value larger than MAX_INT_BITS.")
E_FLOAT_OVERFLOW = define("E004", "float-overflow", E, "float result is not finite in {rule}", "Float arithmetic overflowed to inf or NaN.")
E_TYPE = define("E005", "type-error", E, "{detail}", "A value of the wrong type at run time.")
E_CALL_DEPTH = define("E006", "call-depth-exceeded", E, "calls nest deeper than {limit}: {path}", "Call chain deeper than MAX_CALL_DEPTH.")
E_CALL_BUDGET = define("E007", "call-budget-exceeded", E, "more than {limit} rule calls in one evaluation", "More than MAX_CALLS calls in one evaluation.")
E_UNKNOWN_RULE = define("E008", "unknown-rule-at-eval", E, "no rule named '{name}'", "Evaluation of a rule the library lacks.")
E_MISSING_METRIC = define("E009", "metric-not-defined", E, "{rule} does not define metric '{metric}'", "A metric asked of a rule that does not define it.")
E_UNKNOWN_KEYWORD = define("E010", "unexpected-keyword", E, "{rule} has no parameter '{name}'", "A binding for a parameter the rule does not declare.")
E_MISSING_ARGUMENT = define("E011", "missing-required", E, "{rule} needs parameter '{name}'", "A required parameter left unbound at a call.")
E_ARG_TYPE = define("E012", "argument-type", E, "parameter '{name}' of {rule} must be {expected}, got {got}", "A binding of the wrong type.")
E_MATH_DOMAIN = define("E013", "math-domain", E, "{detail}", "A built-in outside its domain (log2 of a non-positive number, ...).")
E_DERIVED_BOUND = define("E015", "derived-param-bound", E, "{rule} computes '{name}' itself (a derived parameter); it cannot be given", "A binding for a parameter the rule derives from its others.")
E_REQUIREMENT = define("E014", "requirement-failed", E, "{rule} requires {requirement}{values}", "A `requires:` condition of a rule is false for the given parameters.")

# C: inputs to eval / verify (configs, workloads)
C_CONFIG = define("C001", "bad-config", E, "{detail}", "A config that cannot be read or is contradictory.")
C_ARCH = define("C002", "unknown-architecture", E, "{detail}", "A config whose architecture no rule covers.")
C_WORKLOAD = define("C003", "bad-workload", E, "{detail}", "A workload option out of range.")
C_PAST_POSITIONS = define("C010", "past-position-table", E, "past_len + seq_len = {tokens:,} tokens, but {model} has learned positions for {limit:,} ({field} = {value:,}{reserved})", "A workload longer than the model's learned position table: the model cannot run it.")
C_PAST_CONTEXT = define("C011", "past-trained-context", W, "past_len + seq_len = {tokens:,} tokens is past the {limit:,} positions {model} was trained for ({field}); the numbers follow the formulas, the model's quality there is not known", "A workload longer than the context a model without a position table (RoPE, ALiBi) was trained for.")
C_ORACLE = define("C012", "oracle-failed", E, "measuring {model} ({config}) failed in {op}: {detail}", "The real model raised while verify measured it; the op and the config are named.")
C_UNRESOLVED = define("C013", "derived-unresolved", E, "rules derived for {model} keep {n} unresolved term(s); no number is given", "Rules derived from the source keep terms the analysis could not resolve (listed one per line).")
C_RULES_PATH = define("C014", "rules-not-found", E, "--rules {path}: no such file or directory", "A --rules path that does not exist.")
C_TOO_LARGE = define("C015", "too-large-to-measure", E, "{detail}", "A model verify would build with more rows than MAX_ORACLE_MODULES (eval still prices it).")
# C030-C049: what a published config.json says about itself (per-layer lists, dtype, numbers)
C_LAYER_LIST_LENGTH = define("C030", "layer-list-length", E, "{detail}", "A per-layer list whose length is not the config's number of layers.")
C_LAYER_KIND = define("C031", "unknown-layer-kind", E, "{detail}", "A per-layer list entry that names a layer kind the model's source does not build.")
C_LAYER_INDEX = define("C032", "layer-index-out-of-range", E, "{detail}", "A list of layer indices that names a layer the config does not have.")
C_LAYER_CONFLICT = define("C033", "contradictory-layer-lists", E, "{detail}", "Two fields that describe the same layers and disagree.")
C_DTYPE_CONFLICT = define("C034", "conflicting-dtype", E, "{detail}", "`torch_dtype` and `dtype` both given, with different values.")
C_NON_FINITE = define("C035", "non-finite-number", E, "{detail}", "Infinity or NaN in a config field the rules compute with.")
C_TRANSFORMERS_VERSION = define("C050", "transformers-version-invalid", E, "{detail}", "A transformers_version (config field or --transformers) that is not a version or not a pin.")
C_OTHER_PIN = define("C051", "model-type-in-other-pin", E, "{detail}", "A model_type the chosen transformers pin lacks but another pin defines (no silent fallback).")
C_TRAIN_OPTION = define("C060", "bad-train-option", E, "{detail}", "A training option that cannot hold: unknown optimizer, ZeRO without data parallelism, mixed precision of a float32 model.")
C_NO_LOSS = define("C061", "no-loss", E, "{detail}", "--mode train on a model that computes no causal-LM loss.")
C_MEMORY_BUDGET = define("C062", "bad-memory-budget", E, "{detail}", "A memory budget `lmpredict fit` cannot read (negative, zero, or not a size).")
# C080-C099: hardware, latency, storage dtypes, generations (lm_predictor/hardware.py, lm_predictor/latency/)
C_UNKNOWN_HARDWARE = define("C080", "unknown-hardware", E, "unknown hardware {name!r}; presets are {known}, or give a .yaml file", "--hw names neither a preset nor a hardware file.")
C_BAD_HARDWARE = define("C081", "bad-hardware-file", E, "{detail}", "A hardware file with a missing, unknown, non-numeric or negative field.")
C_GROUP_SIZE = define("C082", "bad-group-size", E, "{detail}", "An int4 group size that does not divide the dimension it groups.")
C_QUANT_CONFIG = define("C083", "unsupported-quantization-config", E, "{detail}", "A config quantization_config lmpredict cannot map to a storage dtype.")
C_NO_PEAK = define("C084", "no-peak-for-dtype", E, "{detail}", "The hardware has no peak for the compute dtype the workload needs.")


# A: source analysis (lmpredict suggest). Codes marked E leave an unresolved term in the output.
A_CONFIG_CLASS = define("A101", "config-class-unanalysable", W, "{detail}", "The configuration class __init__ could not be run symbolically; raw keys are used as given.")
A_FORWARD_RAISES = define("A102", "forward-always-raises", E, "{detail}", "Every path through forward() the analysis followed raises.")
A_INIT_RAISES = define("A103", "init-always-raises", E, "{detail}", "Every path through __init__ the analysis followed raises.")
A_MATMUL_SHAPE = define("A110", "matmul-shape-unknown", E, "{detail}", "A matmul-class op whose operand shapes the analysis could not follow.")
A_EINSUM = define("A111", "einsum-unreadable", E, "{detail}", "An einsum whose equation or operand shapes the analysis cannot read.")
A_MODULE_INPUT = define("A112", "module-input-unknown", E, "{detail}", "A costed torch module (Linear, Conv1d, ...) called on a tensor of unknown shape.")
A_RUNTIME_BRANCH = define("A120", "runtime-branch-cost", E, "{detail}", "A branch on a data-dependent value whose arms cost differently.")
A_WHILE = define("A131", "while-loop", E, "{detail}", "A while loop: the trip count is not known statically.")
A_BREAK = define("A132", "conditional-break", W, "{detail}", "A break under a symbolic condition in an unrolled loop.")
A_RETURN_IN_LOOP = define("A133", "return-in-repeated-loop", W, "{detail}", "A return inside a loop that is multiplied out.")
A_LOOP_SHAPE = define("A134", "loop-carried-shape", W, "{detail}", "A tensor carried through a multiplied-out loop changes shape.")
A_LOOP_CONDITIONAL = define("A135", "loop-over-conditional", E, "{detail}", "A loop over a value that depends on a condition.")
A_LOOP_UNKNOWN = define("A136", "loop-over-unknown", E, "{detail}", "A loop over a value the analysis could not determine.")
A_PARAM_SHAPE = define("A140", "parameter-shape-unknown", E, "{detail}", "An nn.Parameter of unknown shape.")
A_MODULE_PARAMS = define("A141", "module-parameters-unknown", E, "{detail}", "A torch module whose parameter count the analysis cannot tell.")
A_LAYER_INDEX = define("A150", "per-layer-cost", E, "{detail}", "A cost that depends on the layer index in a way that cannot be summed in closed form.")
A_ACTIVATION = define("A151", "activation-unknown", W, "{detail}", "An activation chosen by a value the analysis cannot read; assumed parameter-free.")
A_CACHE_IN_FORWARD = define("A152", "cache-built-in-forward", W, "{detail}", "forward() builds its own cache object; the analysis models the one the caller passes.")
A_TIE_UNKNOWN = define("A153", "tie-unknown", W, "{detail}", "Whether the output embedding is tied to the input embedding could not be told.")
A_MODULE_FORWARD = define("A113", "module-forward-unknown", E, "{detail}", "A torch module whose forward the op table does not cover (its parameters are still counted).")
A_BRAIN_ERROR = define("A170", "brain-error", E, "{detail}", "A brain (the op table for torch / transformers calls) raised on arguments it does not handle; the result is unknown.")
A_ROUTING = define("A160", "routing-outside-expert-loop", E, "{detail}", "Tokens routed to one MoE expert used where they cannot be summed over the experts.")

@dataclass(frozen=True)
class Location:
    """A position in a file (1-based line and column)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.path}:{self.line}:{self.column}"
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a code, its message, and where it is."""

    code: Code
    message: str
    location: Location | None = None
    source_line: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def severity(self) -> Severity:
        return self.code.severity

    def headline(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return printable(f"{where}{self.code.code} {self.code.symbol}: {self.message}")

    def render(self) -> str:
        """Compiler-style text: headline, then the source line and a caret."""
        lines = [self.headline()]
        if self.source_line is not None and self.location and self.location.column:
            text = printable(self.source_line.rstrip("\n"))
            if len(text) > 200:
                start = max(0, self.location.column - 100)
                text, caret = text[start:start + 200], self.location.column - start
            else:
                caret = self.location.column
            lines.append("    " + text)
            lines.append("    " + " " * (caret - 1) + "^")
        lines.extend(f"  note: {printable(n)}" for n in self.notes)
        return "\n".join(lines)

    def as_json(self) -> dict:
        loc = self.location
        return {
            "path": loc.path if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "code": self.code.code,
            "symbol": self.code.symbol,
            "severity": self.severity.value,
            "message": self.message,
        }


def printable(text: str) -> str:
    """Text safe to print on a terminal: control and format characters (ESC sequences, bidi
    overrides, zero-width characters, BOMs, NUL) from hostile input each become U+FFFD, so one
    character still takes one column and carets stay aligned. Tabs are kept."""
    if text.isprintable():
        return text
    return "".join(c if c == "\t" or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") else "\ufffd" for c in text)


def make(code: Code, location: Location | None = None, source_line: str | None = None, **fields: object) -> Diagnostic:
    """Build a diagnostic from its code's template."""
    return Diagnostic(code, code.template.format(**fields), location, source_line)


class LmPredictorError(Exception):
    """The one error type lmpredict raises for bad input; carries diagnostics."""

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic]):
        diags = (diagnostics,) if isinstance(diagnostics, Diagnostic) else tuple(diagnostics)
        self.diagnostics: tuple[Diagnostic, ...] = diags
        super().__init__("\n".join(d.headline() for d in diags))

    @property
    def diagnostic(self) -> Diagnostic:
        return self.diagnostics[0]


def fail(code: Code, location: Location | None = None, **fields: object) -> LmPredictorError:
    """An LmPredictorError for one diagnostic (raise the result)."""
    return LmPredictorError(make(code, location, **fields))


def render_json(diags: Iterable[Diagnostic]) -> str:
    """Machine output for a list of diagnostics."""
    return json.dumps([d.as_json() for d in diags], indent=1)
