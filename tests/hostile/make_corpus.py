"""Generate the hostile-input corpus: tests/hostile/corpus/** and tests/hostile/expected.tsv.

    .venv/bin/python tests/hostile/make_corpus.py          # rewrite the corpus and the manifest
    .venv/bin/python tests/hostile/make_corpus.py --check  # exit 1 if the committed files differ

Every case is one input file (or a directory of rule files), the command that exercises it, and
the one diagnostic code lmpredict must answer with. The expected code is decided here, by hand,
from what the input is; it is not recorded from lmpredict's output. Commands (see corpus_runner.py):

    lint        lmpredict lint --no-library FILE        (static checks on the file alone)
    lint-lib    lmpredict lint FILE                     (with the shipped library, as users run it)
    eval-rules  lmpredict eval support/tiny-llama.json --rules FILE
                (evaluates the file's `...LlamaForCausalLM` rule: for faults only evaluation sees)
    eval        lmpredict eval FILE                      (a config.json, with the shipped library)

Inputs too big to commit (50 MB YAML, 100 MB config, 1 MB formulas, 100,000-deep nesting, ...)
are listed in the manifest as `generated/NAME`; huge.py writes them at test time.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MANIFEST = HERE / "expected.tsv"

ROOT = "transformers.models.llama.modeling_llama.LlamaForCausalLM"
"""The rule `eval --rules` evaluates for support/tiny-llama.json (model_type llama)."""


@dataclass(frozen=True)
class Case:
    path: str  # relative to tests/hostile/ ("corpus/..." or "generated/...")
    command: str
    code: str
    note: str
    content: bytes | dict[str, bytes] | None  # a file, a directory of files, or generated

    def row(self) -> str:
        note = self.note.replace("\t", " ").replace("\n", " ")
        return f"{self.path}\t{self.command}\t{self.code}\t{note}"


CASES: list[Case] = []


def add(category: str, name: str, content: bytes | str | dict[str, bytes], command: str, code: str, note: str) -> None:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path = f"corpus/{category}/{name}"
    if any(c.path == path for c in CASES):
        raise SystemExit(f"duplicate case {path}")
    CASES.append(Case(path, command, code, note, content))


def generated(name: str, command: str, code: str, note: str) -> None:
    CASES.append(Case(f"generated/{name}", command, code, note, None))


def q(text: str) -> str:
    """A YAML double-quoted scalar for any text (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


def rule(formula: str, *, params: str | None = None, name: str = "hostile.R", metric: str = "flops") -> str:
    """One rule with one metric formula; no parameters unless given (so nothing is unused)."""
    lines = ["rules:", f"  {name}:"]
    if params:
        lines.append(f"    params: {params}")
    lines.append(f"    {metric}: {q(formula)}")
    return "\n".join(lines) + "\n"


def root_rule(formula: str, *, params: str = "{batch: int}", extra: str = "") -> str:
    """The rule eval --rules evaluates, plus optional extra rules (YAML text under `rules:`)."""
    return f"rules:\n  {ROOT}:\n    params: {params}\n    flops: {q(formula)}\n" + extra


# --------------------------------------------------------------------------------------------
# YAML: explicit tags (S002)
# --------------------------------------------------------------------------------------------

def yaml_tags() -> None:
    cat = "yaml_tags"
    payloads = {
        "object_apply_os_system": "!!python/object/apply:os.system [\"touch /tmp/lmpredict-pwned\"]",
        "object_apply_subprocess": "!!python/object/apply:subprocess.check_output [[\"id\"]]",
        "object_apply_eval": "!!python/object/apply:builtins.eval [\"__import__('os').system('x')\"]",
        "object_apply_exec": "!!python/object/apply:builtins.exec [\"import os\"]",
        "object_apply_kwds": "!!python/object/apply:os.system {args: [\"x\"]}",
        "name_os_system": "!!python/name:os.system",
        "name_builtins_eval": "!!python/name:builtins.eval",
        "module_os": "!!python/module:os",
        "object_new": "!!python/object/new:type [\"X\", [], {}]",
        "object": "!!python/object:argparse.Namespace {a: 1}",
        "tuple": "!!python/tuple [1, 2]",
        "bytes": "!!python/bytes aGVsbG8=",
        "str_python": "!!python/str hello",
        "unicode": "!!python/unicode hello",
        "long": "!!python/long 5",
        "complex": "!!python/complex 1+2j",
        "binary": "!!binary aGVsbG8=",
        "set": "!!set {a, b}",
        "omap": "!!omap [a: 1]",
        "pairs": "!!pairs [a: 1]",
        "timestamp": "!!timestamp 2001-12-14",
        "explicit_str": "!!str 2 * $x",
        "explicit_int": "!!int 5",
        "explicit_float": "!!float 5",
        "explicit_bool": "!!bool true",
        "explicit_null": "!!null ''",
        "explicit_map": "!!map {a: 1}",
        "explicit_seq": "!!seq [1]",
        "local_tag": "!custom 5",
        "local_tag_map": "!Ref {a: 1}",
        "verbatim_python": "!<tag:yaml.org,2002:python/object/apply:os.system> [\"x\"]",
        "verbatim_other": "!<tag:example.com,2000:app/foo> 5",
    }
    for name, payload in payloads.items():
        add(cat, f"metric_{name}.yaml", f"rules:\n  hostile.R:\n    flops: {payload}\n", "lint", "S002", f"explicit tag on a metric value: {payload[:40]}")
    # the tag in other places of the file
    tag = "!!python/object/apply:os.system [\"x\"]"
    places = {
        "top_level": f"{tag}\n",
        "rules_value": f"rules: {tag}\n",
        "rule_body": f"rules:\n  hostile.R: {tag}\n",
        "params_value": f"rules:\n  hostile.R:\n    params: {tag}\n    flops: 1\n",
        "param_type": "rules:\n  hostile.R:\n    params: {x: !!python/name:builtins.int }\n    flops: $x\n",
        "param_default": f"rules:\n  hostile.R:\n    params:\n      x: {{type: int, default: {tag}}}\n    flops: $x\n",
        "alias_item": f"rules:\n  hostile.R:\n    aliases: [{tag}]\n    flops: 1\n",
        "doc": f"doc: {tag}\nrules: {{}}\n",
        "key": "rules:\n  ? !!python/name:os.system\n  : {flops: 1}\n",
        "tag_directive_python": "%TAG !! tag:yaml.org,2002:python/\n---\nrules:\n  hostile.R:\n    flops: !!object/apply:os.system [\"x\"]\n",
        "tag_directive_local": "%TAG !e! tag:example.com,2000:\n---\nrules:\n  hostile.R:\n    flops: !e!foo 5\n",
        "deep_in_flow": "rules: {hostile.R: {params: {x: {type: int, default: [1, [2, !!python/tuple [3]]]}}, flops: 1}}\n",
    }
    for name, text in places.items():
        add(cat, f"place_{name}.yaml", text, "lint", "S002", f"python tag at {name.replace('_', ' ')}")
    add(cat, "place_second_document.yaml", "rules:\n  hostile.R: {flops: 1}\n---\n!!python/object/apply:os.system [\"x\"]\n", "lint", "S001",
        "a python tag in a second YAML document: refused as a second document before the tag is read")


# --------------------------------------------------------------------------------------------
# YAML: anchors, aliases, merge keys (S003)
# --------------------------------------------------------------------------------------------

def yaml_aliases() -> None:
    cat = "yaml_alias"
    lol = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lol.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    add(cat, "billion_laughs.yaml", "\n".join(lol) + "\nrules: {}\n", "lint", "S003", "the classic billion-laughs alias bomb (9^9 nodes if expanded)")
    bomb_in_rule = "rules:\n  hostile.R:\n    doc: &d [\"x\", \"x\"]\n    params: {x: {type: int, doc: *d}}\n    flops: $x\n"
    add(cat, "bomb_in_rule.yaml", bomb_in_rule, "lint", "S003", "anchor inside a rule, alias in a param doc")
    deep = ["rules:", "  hostile.R:", "    metrics:"]
    deep.append("      m0: &m0 \"1 + 1\"")
    for i in range(1, 30):
        deep.append(f"      m{i}: *m{i - 1}")
    add(cat, "alias_chain.yaml", "\n".join(deep) + "\n", "lint", "S003", "a chain of 30 aliases")
    add(cat, "anchor_unused.yaml", "rules:\n  hostile.R: &r\n    flops: 1\n", "lint", "S003", "an anchor without any alias is refused too")
    add(cat, "anchor_on_scalar.yaml", "rules:\n  hostile.R:\n    flops: &f 2 * 3\n", "lint", "S003", "anchor on a formula scalar")
    add(cat, "alias_formula.yaml", "defs: &f \"2 * 3\"\nrules:\n  hostile.R:\n    flops: *f\n", "lint", "S003", "a formula shared through an alias")
    add(cat, "alias_undefined.yaml", "rules:\n  hostile.R:\n    flops: *nothing\n", "lint", "S003", "an alias to an anchor that does not exist")
    add(cat, "alias_self.yaml", "rules: &r\n  hostile.R: *r\n", "lint", "S003", "a recursive alias (a cycle through the document)")
    add(cat, "merge_key_alias.yaml", "base: &b {params: {x: int}}\nrules:\n  hostile.R:\n    <<: *b\n    flops: $x\n", "lint", "S003", "merge key with an alias")
    add(cat, "merge_key_inline.yaml", "rules:\n  hostile.R:\n    <<: {params: {x: int}}\n    flops: $x\n", "lint", "S003", "merge key with an inline mapping (no alias at all)")
    add(cat, "merge_key_list.yaml", "rules:\n  hostile.R:\n    <<: [{doc: a}, {doc: b}]\n    flops: 1\n", "lint", "S003", "merge key with a list of mappings")
    add(cat, "merge_key_params.yaml", "rules:\n  hostile.R:\n    params:\n      <<: {x: int}\n    flops: $x\n", "lint", "S003", "merge key inside params")
    add(cat, "merge_key_top.yaml", "<<: {rules: {hostile.R: {flops: 1}}}\n", "lint", "S003", "merge key at the top level")
    add(cat, "merge_key_flow.yaml", "rules: {hostile.R: {<<: {flops: 1}}}\n", "lint", "S003", "merge key in flow style")
    add(cat, "anchor_on_key.yaml", "rules:\n  &k hostile.R:\n    flops: 1\n", "lint", "S003", "anchor on a mapping key")
    add(cat, "anchor_on_seq.yaml", "rules:\n  hostile.R:\n    aliases: &l [a.B]\n    flops: 1\n", "lint", "S003", "anchor on an alias list")
    add(cat, "alias_as_key.yaml", "k: &k hostile.R\nrules:\n  *k : {flops: 1}\n", "lint", "S003", "alias used as a mapping key")
    add(cat, "anchor_later_document_position.yaml", "rules:\n  hostile.A: {flops: 1}\n  hostile.B: {flops: 2}\n  hostile.C: {params: {x: int}, flops: &late $x}\n", "lint", "S003", "anchor after several valid rules")


# --------------------------------------------------------------------------------------------
# YAML: duplicate keys (S010)
# --------------------------------------------------------------------------------------------

def yaml_duplicates() -> None:
    cat = "yaml_dupkeys"
    texts = {
        "rule_names": "rules:\n  hostile.R: {flops: 1}\n  hostile.R: {flops: 2}\n",
        "top_rules": "rules:\n  hostile.R: {flops: 1}\nrules:\n  hostile.S: {flops: 1}\n",
        "metric": "rules:\n  hostile.R:\n    flops: 1\n    flops: 2\n",
        "params": "rules:\n  hostile.R:\n    params:\n      x: int\n      x: bool\n    flops: $x\n",
        "param_type": "rules:\n  hostile.R:\n    params:\n      x: {type: int, type: bool}\n    flops: $x\n",
        "param_default": "rules:\n  hostile.R:\n    params:\n      x: {type: int, default: 1, default: 2}\n    flops: $x\n",
        "flow_mapping": "rules: {hostile.R: {flops: 1, flops: 2}}\n",
        "quoted_vs_plain": "rules:\n  hostile.R: {flops: 1}\n  \"hostile.R\": {flops: 2}\n",
        "single_vs_double": "rules:\n  'hostile.R': {flops: 1}\n  \"hostile.R\": {flops: 2}\n",
        "escaped_same": "rules:\n  \"hostile.R\": {flops: 1}\n  \"hostile\\x2eR\": {flops: 2}\n",
        "int_forms": "rules:\n  hostile.R:\n    params:\n      1: int\n      0x1: int\n    flops: 1\n",
        "int_and_float": "rules:\n  hostile.R:\n    params:\n      1: int\n      1.0: int\n    flops: 1\n",
        "bool_forms": "rules:\n  hostile.R:\n    params:\n      yes: int\n      true: int\n    flops: 1\n",
        "null_forms": "rules:\n  hostile.R:\n    params:\n      ~: int\n      null: int\n    flops: 1\n",
        "custom_metrics": "rules:\n  hostile.R:\n    metrics:\n      m: 1\n      m: 2\n",
        "custom_vs_standard": "rules:\n  hostile.R:\n    flops: 1\n    metrics:\n      flops: 2\n",
        "doc_twice": "doc: a\ndoc: b\nrules: {}\n",
        "aliases_key_twice": "rules:\n  hostile.R:\n    aliases: [a.B]\n    aliases: [a.C]\n    flops: 1\n",
        "deep_duplicate": "rules:\n  hostile.R:\n    params:\n      x: {type: int, doc: a, doc: b}\n    flops: $x\n",
        "hundred_rules_then_dup": "rules:\n" + "".join(f"  hostile.R{i}: {{flops: {i}}}\n" for i in range(100)) + "  hostile.R7: {flops: 0}\n",
    }
    for name, text in texts.items():
        add(cat, f"{name}.yaml", text, "lint", "S010", f"duplicate mapping key: {name.replace('_', ' ')}")


# --------------------------------------------------------------------------------------------
# Encoding: binary junk, invalid UTF-8, BOMs, control characters
# --------------------------------------------------------------------------------------------

def encoding() -> None:
    cat = "encoding"
    valid = b"rules:\n  hostile.R:\n    flops: 1\n"
    rng = random.Random(20261124)
    # S011: bytes that are not UTF-8 text
    s011 = {
        "utf8_bom.yaml": b"\xef\xbb\xbf" + valid,
        "utf16le_bom.yaml": "\ufeff".encode("utf-16-le") + "rules: {}\n".encode("utf-16-le"),
        "utf16be_bom.yaml": b"\xfe\xff" + "rules: {}\n".encode("utf-16-be"),
        "utf16le_nobom.yaml": "rules: {}\n".encode("utf-16-le"),
        "utf32le_bom.yaml": b"\xff\xfe\x00\x00" + "rules: {}\n".encode("utf-32-le"),
        "latin1_name.yaml": "rules:\n  hostile.Caf\u00e9:\n    flops: 1\n".encode("latin-1"),
        "latin1_formula.yaml": "rules:\n  hostile.R:\n    flops: 2 \u00d7 3\n".encode("latin-1"),
        "cp1252_quotes.yaml": b"rules:\n  hostile.R:\n    doc: \x93quoted\x94\n    flops: 1\n",
        "overlong_slash.yaml": b"rules:\n  hostile.R:\n    flops: 1 \xc0\xaf 2\n",
        "overlong_nul.yaml": b"rules:\n  hostile.R:\n    flops: 1\xc0\x80\n",
        "surrogate_encoded.yaml": b"rules:\n  hostile.R:\n    flops: 1\xed\xa0\x80\n",
        "five_byte_sequence.yaml": b"rules:\n  hostile.R:\n    flops: 1\xf8\x88\x80\x80\x80\n",
        "above_unicode_max.yaml": b"rules:\n  hostile.R:\n    flops: 1\xf4\x90\x80\x80\n",
        "truncated_multibyte_eof.yaml": valid + b"\xe2\x82",
        "lone_continuation.yaml": b"rules:\n  hostile.R:\n    flops: \x80\n",
        "bad_continuation.yaml": b"rules:\n  hostile.R:\n    flops: \xe2\x28\xa1\n",
        "all_ff.yaml": b"\xff" * 4096,
        "nul_only.yaml": b"\x00",
        "nul_in_formula.yaml": b"rules:\n  hostile.R:\n    flops: 1\x00 + 2\n",
        "nul_in_comment.yaml": b"# comment \x00\n" + valid,
        "nul_after_valid.yaml": valid + b"\x00" * 16,
        "nul_in_key.yaml": b"rules:\n  hostile.\x00R:\n    flops: 1\n",
        "elf_header.yaml": b"\x7fELF\x02\x01\x01\x00" + bytes(rng.randrange(256) for _ in range(1024)),
        "png_header.yaml": b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(1024)),
        "gzip.yaml": b"\x1f\x8b\x08\x00" + bytes(rng.randrange(256) for _ in range(1024)),
        "zip.yaml": b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(1024)),
        "pickle_protocol.yaml": b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94.",
        "pyc_magic.yaml": b"\xa7\x0d\x0d\x0a" + bytes(rng.randrange(256) for _ in range(256)),
    }
    for i in range(8):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(64, 4096)))
        if b"\x00" not in junk and _is_utf8(junk):
            junk += b"\xff"
        s011[f"random_junk_{i}.yaml"] = junk
    for name, data in s011.items():
        add(cat, name, data, "lint", "S011", f"not UTF-8 text: {name.rsplit('.', 1)[0].replace('_', ' ')}")
    # S001: valid UTF-8 that YAML refuses (non-printable characters)
    s001 = {
        "bell_char.yaml": b"rules:\n  hostile.R:\n    flops: 1\x07\n",
        "escape_char.yaml": b"rules:\n  hostile.R:\n    doc: \x1b[31mred\x1b[0m\n    flops: 1\n",
        "del_char.yaml": b"rules:\n  hostile.R:\n    flops: 1\x7f\n",
        "c1_control.yaml": "rules:\n  hostile.R:\n    flops: 1\u0085\u0086\n".encode("utf-8"),
        "noncharacter_fffe.yaml": "rules:\n  hostile.R:\n    flops: 1\ufffe\n".encode("utf-8"),
        "noncharacter_ffff.yaml": "rules:\n  hostile.R:\n    flops: 1\uffff\n".encode("utf-8"),
        "backspace_in_key.yaml": b"rules:\n  hostile.\x08R:\n    flops: 1\n",
        "vertical_tab.yaml": b"rules:\n  hostile.R:\n    flops: 1\x0b+1\n",
        "form_feed_indent.yaml": b"rules:\n\x0c  hostile.R:\n    flops: 1\n",
    }
    for name, data in s001.items():
        add(cat, name, data, "lint", "S001", f"a character YAML does not accept: {name.rsplit('.', 1)[0].replace('_', ' ')}")
    # BOM or invisible characters inside the text (valid UTF-8, valid YAML): caught by name or formula checks
    add(cat, "bom_inside_rule_name.yaml", "rules:\n  hostile.\ufeffR:\n    flops: 1\n", "lint", "S007", "a byte-order mark inside a rule name")
    add(cat, "bom_inside_formula.yaml", "rules:\n  hostile.R:\n    flops: 1 +\ufeff 2\n", "lint", "F001", "a byte-order mark inside a formula")
    add(cat, "zero_width_space_in_formula.yaml", "rules:\n  hostile.R:\n    flops: 1\u200b+ 2\n", "lint", "F001", "a zero-width space inside a formula")
    add(cat, "rtl_override_in_name.yaml", "rules:\n  hostile.\u202eR:\n    flops: 1\n", "lint", "S007", "a right-to-left override inside a rule name (Trojan Source)")
    add(cat, "rtl_override_in_formula.yaml", "rules:\n  hostile.R:\n    flops: 1 \u202e+ 2\n", "lint", "F001", "a right-to-left override inside a formula")
    add(cat, "nbsp_in_formula.yaml", "rules:\n  hostile.R:\n    flops: \"1\u00a0+ 2\"\n", "lint", "F001", "a no-break space between tokens")
    add(cat, "line_separator_in_formula.yaml", "rules:\n  hostile.R:\n    flops: \"1 \u2028+ 2\"\n", "lint", "F001", "U+2028 inside a formula")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# --------------------------------------------------------------------------------------------
# YAML syntax and document shape (S001, S006)
# --------------------------------------------------------------------------------------------

def yaml_syntax() -> None:
    cat = "yaml_syntax"
    s001 = {
        "unclosed_double_quote": "rules:\n  hostile.R:\n    flops: \"1 + 2\n",
        "unclosed_single_quote": "rules:\n  hostile.R:\n    flops: '1 + 2\n",
        "unclosed_flow_map": "rules: {hostile.R: {flops: 1}\n",
        "unclosed_flow_seq": "rules:\n  hostile.R:\n    aliases: [a.B\n    flops: 1\n",
        "bad_indentation": "rules:\n  hostile.R:\n      flops: 1\n    doc: x\n",
        "tab_indentation": "rules:\n\thostile.R:\n\t\tflops: 1\n",
        "unquoted_call": "rules:\n  hostile.R:\n    flops: {lin: torch.nn.Linear}(in_features=1, out_features=1, tokens=1)\n",
        "lambda_unquoted": "rules:\n  hostile.R:\n    flops: lambda x: x\n",
        "dict_literal_unquoted": "rules:\n  hostile.R:\n    flops: {'a': 1}['a']\n",
        "two_documents": "rules:\n  hostile.R: {flops: 1}\n---\nrules:\n  hostile.S: {flops: 1}\n",
        "yaml_directive_2": "%YAML 2.0\n---\nrules: {}\n",
        "yaml_directive_twice": "%YAML 1.1\n%YAML 1.1\n---\nrules: {}\n",
        "unknown_directive_then_garbage": "%FOO bar\n---\nrules: {: }\n}\n",
        "stray_closing_bracket": "rules: ]\n",
        "colon_in_plain_key": "rules:\n  hostile.R: flops: 1\n",
        "block_scalar_bad_indicator": "rules:\n  hostile.R:\n    flops: |9x\n      1\n",
        "question_mark_complex_key_unclosed": "? [a, b\n: 1\n",
        "document_end_garbage": "rules: {}\n... garbage\n",
        "invalid_escape": "rules:\n  hostile.R:\n    flops: \"1 \\q 2\"\n",
        "invalid_unicode_escape": "rules:\n  hostile.R:\n    flops: \"\\uZZZZ\"\n",
        "anchor_without_name": "rules:\n  hostile.R: & \n",
        "deep_flow_nesting_10000": "rules: " + "[" * 10000 + "]" * 10000 + "\n",
        "deep_flow_map_nesting_3000": "rules: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
        "deep_block_nesting_500": "rules:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(500)) + " " * 501 + "v\n",
        "very_long_line_garbage": "rules: " + "{" * 1 + "x" * 50000 + "\n",
    }
    for name, text in s001.items():
        add(cat, f"{name}.yaml", text, "lint", "S001", f"invalid YAML: {name.replace('_', ' ')}")
    s006 = {
        "top_level_list": "- rules\n- hostile.R\n",
        "top_level_scalar": "just a string\n",
        "top_level_int": "42\n",
        "rules_is_list": "rules:\n  - hostile.R\n",
        "rules_is_string": "rules: hostile.R\n",
        "rule_is_list": "rules:\n  hostile.R: [flops, 1]\n",
        "rule_is_scalar": "rules:\n  hostile.R: 2 * 3\n",
        "rule_is_null": "rules:\n  hostile.R:\n",
        "complex_key_seq": "rules:\n  ? [a, b]\n  : {flops: 1}\n",
        "complex_key_map": "rules:\n  ? {a: b}\n  : {flops: 1}\n",
    }
    for name, text in s006.items():
        add(cat, f"{name}.yaml", text, "lint", "S006", f"wrong document shape: {name.replace('_', ' ')}")


# --------------------------------------------------------------------------------------------
# Schema (S005, S006, S012, S014)
# --------------------------------------------------------------------------------------------

def schema() -> None:
    cat = "schema"
    s005 = {
        "top_typo": "rule:\n  hostile.R: {flops: 1}\n",
        "top_capital": "Rules:\n  hostile.R: {flops: 1}\n",
        "rule_typo_flop": "rules:\n  hostile.R:\n    flop: 1\n    flops: 1\n",
        "rule_key_code": "rules:\n  hostile.R:\n    flops: 1\n    python: \"__import__('os')\"\n",
        "rule_key_exec": "rules:\n  hostile.R:\n    flops: 1\n    exec: x\n",
        "param_typo": "rules:\n  hostile.R:\n    params:\n      x: {type: int, defualt: 1}\n    flops: $x\n",
        "param_key_eval": "rules:\n  hostile.R:\n    params:\n      x: {type: int, eval: \"1\"}\n    flops: $x\n",
        "quoted_merge_key": "rules:\n  hostile.R:\n    \"<<\": {doc: a}\n    flops: 1\n",
        "key_with_newline": "rules:\n  hostile.R:\n    \"flops\\n\": 1\n    flops: 1\n",
        "key_dunder": "rules:\n  hostile.R:\n    __class__: x\n    flops: 1\n",
    }
    for name, text in s005.items():
        add(cat, f"unknown_key_{name}.yaml", text, "lint", "S005", f"unknown key: {name.replace('_', ' ')}")
    s006 = {
        "params_list": "rules:\n  hostile.R:\n    params: [x, y]\n    flops: 1\n",
        "params_string": "rules:\n  hostile.R:\n    params: x\n    flops: 1\n",
        "aliases_string": "rules:\n  hostile.R:\n    aliases: a.B\n    flops: 1\n",
        "doc_int": "rules:\n  hostile.R:\n    doc: 5\n    flops: 1\n",
        "doc_list": "rules:\n  hostile.R:\n    doc: [a]\n    flops: 1\n",
        "type_str": "rules:\n  hostile.R:\n    params: {x: str}\n    flops: 1\n",
        "type_tensor": "rules:\n  hostile.R:\n    params: {x: {type: tensor}}\n    flops: 1\n",
        "type_missing": "rules:\n  hostile.R:\n    params: {x: {default: 1}}\n    flops: 1\n",
        "type_int_value": "rules:\n  hostile.R:\n    params: {x: {type: 5}}\n    flops: 1\n",
        "type_python_class": "rules:\n  hostile.R:\n    params: {x: \"<class 'int'>\"}\n    flops: 1\n",
        "optional_string": "rules:\n  hostile.R:\n    params: {x: {type: int, optional: \"false\"}}\n    flops: 1\n",
        "optional_int": "rules:\n  hostile.R:\n    params: {x: {type: int, optional: 1}}\n    flops: 1\n",
        "metric_list": "rules:\n  hostile.R:\n    flops: [1, 2]\n",
        "metric_map": "rules:\n  hostile.R:\n    flops: {a: 1}\n",
        "metric_null": "rules:\n  hostile.R:\n    flops:\n",
        "metric_bool": "rules:\n  hostile.R:\n    flops: true\n",
        "metrics_list": "rules:\n  hostile.R:\n    metrics: [flops]\n",
        "requires_string": "rules:\n  hostile.R:\n    requires: \"1 == 1\"\n    flops: 1\n",
        "requires_number_item": "rules:\n  hostile.R:\n    requires: [1]\n    flops: 1\n",
        "param_doc_list": "rules:\n  hostile.R:\n    params: {x: {type: int, doc: [a]}}\n    flops: $x\n",
    }
    for name, text in s006.items():
        add(cat, f"wrong_type_{name}.yaml", text, "lint", "S006", f"wrong type: {name.replace('_', ' ')}")
    add(cat, "no_metric.yaml", "rules:\n  hostile.R:\n    doc: nothing to compute\n", "lint", "S012", "a rule without metrics")
    add(cat, "no_metric_empty_map.yaml", "rules:\n  hostile.R: {}\n", "lint", "S012", "an empty rule")
    s014 = {
        "list": "[1, 2]", "map": "{a: 1}", "null": "null", "tilde": "~",
    }
    for name, value in s014.items():
        add(cat, f"bad_default_{name}.yaml", f"rules:\n  hostile.R:\n    params:\n      x: {{type: int, default: {value}}}\n    flops: $x\n", "lint", "S014", f"a parameter default that is a {name}")


# --------------------------------------------------------------------------------------------
# Formula syntax: Python borrowed into formulas (F001, F005, F006, F009, F010)
# --------------------------------------------------------------------------------------------

def formula_syntax() -> None:
    cat = "formula_syntax"
    f001 = {
        "import_system": "__import__(\"os\").system(\"x\")",
        "import_single_quotes": "__import__('os')",
        "import_bare": "__import__",
        "dunder_class": "$x.__class__",
        "dunder_mro": "(1).__class__.__mro__",
        "subclasses": "().__class__.__bases__[0].__subclasses__()",
        "attribute_real": "(1).real",
        "attribute_on_param": "${x}.bit_length",
        "attribute_chain": "min.__globals__",
        "string_double": "\"abc\"",
        "string_single": "'abc'",
        "fstring": "f\"{1}\"",
        "bytes_literal": "b\"x\"",
        "triple_string": "\"\"\"x\"\"\"",
        "lambda": "lambda: 1",
        "lambda_arg": "(lambda x: x)(1)",
        "list_comprehension": "[i for i in range(10)]",
        "set_comprehension": "{i for i in range(10)}",
        "dict_comprehension": "{i: i for i in range(3)}",
        "generator_expression": "sum(i for i in range(10))",
        "walrus": "(y := 1)",
        "python_ternary": "1 if true else 2",
        "list_literal": "[1, 2]",
        "dict_literal": "{'a': 1}",
        "tuple_literal": "(1, 2)",
        "subscript": "$x[0]",
        "slice": "$x[1:2]",
        "starargs": "min(*$x)",
        "kwargs": "min(**$x)",
        "keyword_in_builtin": "min(a=1)",
        "semicolon": "1; 2",
        "statement_import": "import os",
        "statement_from_import": "from os import system",
        "statement_assign": "x = 1",
        "statement_del": "del x",
        "statement_assert": "assert false",
        "yield": "yield 1",
        "await": "await $x",
        "matmul": "$x @ $x",
        "bitwise_or": "$x | 1",
        "bitwise_and": "$x & 1",
        "bitwise_xor": "$x ^ 1",
        "bitwise_not": "~$x",
        "shift_left": "$x << 2",
        "shift_right": "$x >> 2",
        "is_operator": "$x is $x",
        "in_operator": "$x in $x",
        "chained_comparison": "1 < $x < 3",
        "c_ternary": "$x ? 1 : 2",
        "c_logical_and": "$x > 1 && $x < 3",
        "c_logical_not": "!($x > 1)",
        "backslash": "1 \\ 2",
        "backtick": "`id`",
        "hex_literal": "0x10",
        "octal_literal": "0o17",
        "binary_literal": "0b101",
        "complex_literal": "1j",
        "python_none": "None",
        "python_true": "True",
        "nan_name": "nan",
        "inf_name": "inf",
        "nan_float_call": "float('nan')",
        "inf_float_call": "float(\"inf\")",
        "hash_comment": "1 # comment",
        "shell_substitution": "$(id)",
        "shell_backquote_param": "${x:-`id`}",
        "template_injection": "{{ 7 * 7 }}",
        "jinja_statement": "{% import os %}",
        "empty_formula": "",
        "only_spaces": "   ",
        "unbalanced_open": "(1 + 2",
        "unbalanced_close": "1 + 2)",
        "trailing_operator": "1 +",
        "double_operator": "1 + * 2",
        "defined_no_name": "defined()",
        "defined_expression": "defined($x)",
        "defined_two": "defined(x, y)",
        "call_without_braces": "torch.nn.Linear(in_features=1)",
        "call_empty_name": "{}(x=1)",
        "call_label_only": "{lab:}(x=1)",
        "metric_select_on_param": "$x.flops",
        "metric_select_twice": "{hostile.R}().flops.flops",
        "fullwidth_digits": "\uff11\uff12",
        "fullwidth_param": "${\uff58}",
        "cyrillic_param": "${\u0445}",
        "unicode_minus": "2 \u2212 1",
        "unicode_times": "2 \u00d7 3",
        "arabic_indic_digits": "\u0661\u0662",
        "superscript_two": "2\u00b2",
        "math_italic_x": "$\U0001d465",
        "combining_accent_name": "$x\u0301",
        "emoji": "\U0001f4a3",
        "param_with_space": "${ x y }",
        "param_with_quote": "${x'}",
        "param_with_slash": "${a/b}",
        "param_newline": "${x\n+ 1}",
    }
    for name, formula in f001.items():
        add(cat, f"{name}.yaml", rule(formula), "lint", "F001", f"not in the grammar: {formula[:50]!r}")
    f005 = {
        "eval": "eval(1)", "exec": "exec(1)", "open": "open(1)", "getattr": "getattr(1, 2)",
        "globals": "globals()", "import_call": "__import__(1)", "compile": "compile(1, 2, 3)",
        "print": "print(1)", "sqrt": "sqrt(4)", "pow": "pow(2, 3)", "round": "round(1.5)",
        "int_cast": "int(2.5)", "len": "len(1)", "sum": "sum(1, 2)", "min_capital": "Min(1)",
        "system": "system(1)", "breakpoint": "breakpoint()", "input": "input()",
        "vars": "vars()", "dunder_call": "__builtins__(1)",
    }
    for name, formula in f005.items():
        add(cat, f"unknown_function_{name}.yaml", rule(formula), "lint", "F005", f"a function outside the built-in table: {formula}")
    f006 = {"min_none": "min()", "abs_two": "abs(1, 2)", "ceil_div_one": "ceil_div(1)", "log2_none": "log2()",
            "ceil_three": "ceil(1, 2, 3)", "floor_none": "floor()"}
    for name, formula in f006.items():
        add(cat, f"arity_{name}.yaml", rule(formula), "lint", "F006", f"wrong number of arguments: {formula}")
    callee = "  hostile.Callee:\n    params: {a: int}\n    flops: $a\n"
    add(cat, "duplicate_keyword.yaml", "rules:\n  hostile.R:\n    flops: \"{hostile.Callee}(a=1, a=2)\"\n" + callee, "lint", "F009", "the same keyword twice in a call")
    add(cat, "duplicate_keyword_forward.yaml", "rules:\n  hostile.R:\n    params: {a: int}\n    flops: \"{hostile.Callee}(a, a=2)\"\n" + callee, "lint", "F009", "a forwarded name given again as a keyword")
    add(cat, "dotted_label.yaml", "rules:\n  hostile.R:\n    flops: \"{a.b: hostile.Callee}(a=1)\"\n" + callee, "lint", "F010", "a call label with dots")


# --------------------------------------------------------------------------------------------
# Formula limits (F002, F003, F004, F007, F008)
# --------------------------------------------------------------------------------------------

def formula_limits() -> None:
    cat = "formula_limits"
    add(cat, "length_20001.yaml", rule("1" + " " * 20000), "lint", "F002", "one character over MAX_FORMULA_CHARS")
    add(cat, "parens_10000.yaml", rule("(" * 10000 + "1" + ")" * 10000), "lint", "F002", "10,000 nested parentheses (20,001 characters)")
    add(cat, "long_sum_block_scalar.yaml", "rules:\n  hostile.R:\n    flops: >-\n" + "".join("      1 +\n" for _ in range(6000)) + "      1\n", "lint", "F002", "a folded block scalar over the length limit")
    add(cat, "sums_in_parens_201.yaml", rule("(1 + " * 201 + "1" + ")" * 201), "lint", "F003", "201 nested parenthesised sums")
    add(cat, "sums_in_parens_3999.yaml", rule("(1+" * 3999 + "1" + ")" * 3999), "lint", "F003", "3,999 nested parenthesised sums (under the length limit)")
    add(cat, "unary_minus_19000.yaml", rule("-" * 19000 + "1"), "lint", "F003", "19,000 unary minus signs")
    add(cat, "unary_plus_5000.yaml", rule("+" * 5000 + "1"), "lint", "F003", "5,000 unary plus signs")
    add(cat, "not_chain_3000.yaml", rule("not " * 3000 + "true"), "lint", "F003", "3,000 nested 'not'")
    add(cat, "if_chain_500.yaml", rule("if true then " * 500 + "1" + " else 2" * 500), "lint", "F003", "500 nested conditionals")
    add(cat, "builtin_nesting_1000.yaml", rule("abs(" * 1000 + "1" + ")" * 1000), "lint", "F003", "1,000 nested built-in calls")
    add(cat, "power_tower_1000.yaml", rule("**".join(["1"] * 1000)), "lint", "F003", "a right-associative power tower 1,000 high")
    add(cat, "flat_sum_3000.yaml", rule(" + ".join(["1"] * 3000)), "lint", "F003", "a flat sum of 3,000 terms (left-nested)")
    add(cat, "param_default_nesting_500.yaml", rule("${a:-" * 500 + "1" + "}" * 500, params="{a: {type: int, optional: true}}"), "lint", "F003", "500 nested inline defaults")
    add(cat, "call_nesting_300.yaml", "rules:\n  hostile.R:\n    params: {a: int}\n    flops: " + q("{hostile.R}(a=" * 300 + "1" + ")" * 300) + "\n", "lint", "F003", "300 calls nested in keyword arguments")
    add(cat, "nodes_min_5001_args.yaml", rule("min(" + ", ".join(["1"] * 5001) + ")"), "lint", "F004", "a built-in with 5,001 arguments (shallow, but too many nodes)")
    balanced = "1"
    for _ in range(12):  # 4,096 leaves, 8,191 nodes, 16,381 characters, 13 levels
        balanced = f"({balanced}+{balanced})"
    add(cat, "nodes_balanced_tree.yaml", rule(balanced), "lint", "F004", "a balanced sum tree of more than 5,000 nodes")
    add(cat, "literal_201_digits.yaml", rule("9" * 201), "lint", "F007", "an integer literal one digit over the limit")
    add(cat, "literal_10000_digits.yaml", rule("7" * 10000), "lint", "F007", "a 10,000-digit integer literal")
    add(cat, "literal_underscores.yaml", rule("1_" * 300 + "1"), "lint", "F007", "301 digits separated by underscores")
    add(cat, "literal_in_call_argument.yaml", "rules:\n  hostile.R:\n    params: {a: int}\n    flops: " + q("{hostile.R}(a=" + "5" * 500 + ")") + "\n", "lint", "F007", "a huge literal in a call argument")
    add(cat, "float_literal_300_digits.yaml", rule("1." + "0" * 300), "lint", "F007", "a float literal of 302 characters")
    for name, text in {"1e999": "1e999", "1e309": "1e309", "1_8e308": "1.8e308", "9e99999": "9e99999", "dot_e400": ".5e400"}.items():
        add(cat, f"float_inf_{name}.yaml", rule(text), "lint", "F008", f"float literal {text} overflows to inf")
    add(cat, "yaml_float_inf.yaml", "rules:\n  hostile.R:\n    flops: .inf\n", "lint", "F008", "a YAML float .inf as a metric")
    add(cat, "yaml_float_nan.yaml", "rules:\n  hostile.R:\n    flops: .nan\n", "lint", "F008", "a YAML float .nan as a metric")
    add(cat, "yaml_float_overflow.yaml", "rules:\n  hostile.R:\n    flops: 1.0e+999\n", "lint", "F008", "a YAML float that overflows to inf")
    add(cat, "yaml_float_neg_inf_default.yaml", "rules:\n  hostile.R:\n    params: {x: {type: float, default: -.inf}}\n    flops: $x\n", "lint", "F008", "a YAML -.inf parameter default")


# --------------------------------------------------------------------------------------------
# Arithmetic faults in constant subexpressions: found by lint's constant folding (E002-E005, E013)
# --------------------------------------------------------------------------------------------

def arithmetic() -> None:
    cat = "arithmetic"
    cases = {
        # E003: integers too large, refused before computing
        "pow_9_9_9": ("9**9**9", "E003"),
        "pow_9_9_9_9": ("9 ** 9 ** 9 ** 9", "E003"),
        "pow_tower_paren": ("((9**64)**64)**64", "E003"),
        "pow_2_4096": ("2**4096", "E003"),
        "pow_negative_base": ("(-3)**100000", "E003"),
        "pow_negative_exponent": ("2**-5000", "E003"),
        "pow_fraction_base": ("(1/3)**5000", "E003"),
        "product_overflow": ("(10**200) * (10**200) * (10**200) * (10**200) * (10**200) * (10**200) * (10**200)", "E003"),
        "sum_of_products": ("(2**4000) * (2**100) + 1", "E003"),
        "power_in_argument": ("min(1, 7**7**7)", "E003"),
        "power_in_condition": ("if 2**5000 > 1 then 1 else 0", "E003"),
        "power_in_default": (None, "E003"),
        # E002: division by zero, 0 ** negative
        "div_zero": ("1 / 0", "E002"),
        "floordiv_zero": ("1 // 0", "E002"),
        "mod_zero": ("1 % 0", "E002"),
        "float_div_zero": ("1.0 / 0.0", "E002"),
        "zero_div_zero": ("0 / 0", "E002"),
        "float_mod_zero": ("1.5 % 0.0", "E002"),
        "zero_pow_neg_one": ("0**-1", "E002"),
        "zero_float_pow_neg": ("0.0 ** -1", "E002"),
        "zero_pow_neg_fraction": ("0 ** (-1/2)", "E002"),
        "ceil_div_zero": ("ceil_div(7, 0)", "E002"),
        "div_by_difference": ("5 / (3 - 3)", "E002"),
        "div_zero_in_branch": ("if 1 > 0 then 1 / 0 else 1", "E002"),
        # E004: float overflow
        "float_mul_overflow": ("1e308 * 10", "E004"),
        "float_add_overflow": ("1e308 + 1e308", "E004"),
        "float_sub_overflow": ("-1e308 - 1e308", "E004"),
        "float_pow_overflow": ("10.0 ** 400", "E004"),
        "float_pow_overflow_int_exp": ("2.0 ** 10000", "E004"),
        "float_div_tiny": ("1 / 1e-320", "E004"),
        "float_int_mix_overflow": ("1e300 * 10**200", "E004"),
        "float_big_int_convert": ("1.5 * 3**2500", "E004"),
        # E013: outside a built-in's domain
        "log2_zero": ("log2(0)", "E013"),
        "log2_negative": ("log2(-8)", "E013"),
        "negative_fractional_power": ("(-8) ** (1/3)", "E013"),
        "negative_float_sqrt": ("(-2.0) ** 0.5", "E013"),
        # E005: a type only the value shows
        "ceil_div_float": ("ceil_div(1.5, 2)", "E005"),
    }
    for name, (formula, code) in cases.items():
        if formula is None:
            text = "rules:\n  hostile.R:\n    params:\n      x: {type: int, default: \"3 ** 3 ** 3 ** 3\"}\n    flops: $x\n"
        else:
            text = rule(formula)
        add(cat, f"{name}.yaml", text, "lint", code, f"constant subexpression {formula or 'in a default'}: {code}")
    # static type errors (reported once, by the type checker)
    typed = {
        "bool_plus_int": ("true + 1", "L007"),
        "bool_times_param": ("$x * false", "L007"),
        "number_as_condition": ("if 1 then 2 else 3", "L008"),
        "not_number": ("if not 5 then 1 else 2", "L008"),
        "and_numbers": ("if (1 and true) then 1 else 2", "L008"),
        "bool_metric": ("1 < 2", "L007"),
        "bool_in_builtin": ("min(true, 1)", "L007"),
    }
    for name, (formula, code) in typed.items():
        params = "{x: int}" if "$x" in formula else None
        add(cat, f"type_{name}.yaml", rule(formula, params=params), "lint", code, f"static type error: {formula}")


# --------------------------------------------------------------------------------------------
# Runtime faults: only evaluation sees them (eval support/tiny-llama.json --rules FILE)
# --------------------------------------------------------------------------------------------

def runtime() -> None:
    cat = "runtime"
    p = "{batch: int, x: {type: int, default: 3}, f: {type: float, default: 1.5}, z: {type: int, default: 0}, o: {type: int, optional: true}, b: {type: bool, default: true}}"
    faults = {
        "div_param_zero": ("${x} / 0", "E002"),
        "div_by_zero_param": ("$batch / $z", "E002"),
        "floordiv_param": ("$x // $z", "E002"),
        "mod_param": ("$x % $z", "E002"),
        "zero_pow_neg_param": ("$z ** -$x", "E002"),
        "zero_pow_neg_literal_base": ("0 ** -$x", "E002"),
        "ceil_div_param": ("ceil_div($x, $z)", "E002"),
        "float_div_zero": ("$f / ($f - $f)", "E002"),
        "pow_param_huge": ("$x ** ($x ** $x ** $x)", "E003"),
        "pow_two_param": ("2 ** (5000 * $x)", "E003"),
        "product_param": ("(10 ** 1000 * $x) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000)", "E003"),
        "fraction_power": ("($x / 7) ** 3000", "E003"),
        "float_overflow_mul": ("$f * 1e308 * 1e308", "E004"),
        "float_overflow_pow": ("$f ** 100000", "E004"),
        "float_overflow_exp_param": ("10.0 ** ($x * 200)", "E004"),
        "log2_param_zero": ("log2($z)", "E013"),
        "negative_fractional_power": ("(-$x) ** ($f - 1)", "E013"),
        "ceil_div_float_param": ("ceil_div($f, $x)", "E005"),
        "optional_without_value": ("$o + 1", "E001"),
        "bool_arithmetic_runtime": ("(if $b then $b else $x) + 1", "E005"),
    }
    for name, (formula, code) in faults.items():
        add(cat, f"{name}.yaml", root_rule(formula, params=p), "eval-rules", code, f"evaluation fault: {formula}")
    callee = "  hostile.Callee:\n    params: {a: int, flag: {type: bool, default: false}}\n    flops: $a\n"
    calls = {
        "unknown_callee": ("{hostile.Missing}(a=1)", "E008"),
        "unknown_keyword": ("{hostile.Callee}(a=1, b=2)", "E010"),
        "missing_required": ("{hostile.Callee}(flag=true)", "E011"),
        "argument_type_bool": ("{hostile.Callee}(a=true)", "E012"),
        "argument_type_number": ("{hostile.Callee}(a=1, flag=1)", "E012"),
        "argument_fraction": ("{hostile.Callee}(a=$batch / 3)", "E012"),
        "missing_metric": ("{hostile.Callee}(a=1).kv_cache_bytes", "E009"),
        "self_call_same_bindings": (f"{{{ROOT}}}(batch=$batch)", "L009"),
    }
    for name, (formula, code) in calls.items():
        add(cat, f"{name}.yaml", root_rule(formula, extra=callee), "eval-rules", code, f"call fault at evaluation: {formula}")
    # self-recursion with changing bindings: stops at MAX_CALL_DEPTH
    rec = "  hostile.Rec:\n    params: {n: int}\n    flops: \"{hostile.Rec}(n=$n + 1)\"\n"
    add(cat, "self_recursion_growing.yaml", root_rule("{hostile.Rec}(n=1)", extra=rec), "eval-rules", "E006", "self-recursion with new bindings each time: stops at the call depth")
    chain = "".join(f"  hostile.C{i}:\n    params: {{n: int}}\n    flops: \"{{hostile.C{i + 1}}}(n=$n)\"\n" for i in range(80)) + "  hostile.C80:\n    params: {n: int}\n    flops: $n\n"
    add(cat, "chain_80_deep.yaml", root_rule("{hostile.C0}(n=1)", extra=chain), "eval-rules", "E006", "an acyclic chain of 80 rules: deeper than MAX_CALL_DEPTH")
    # a 30-level diamond: every level calls the next twice with the same bindings; memoisation
    # makes it 31 calls. The fault after it proves the whole diamond was evaluated first.
    diamond = "".join(f"  hostile.D{i}:\n    params: {{n: int}}\n    flops: \"{{hostile.D{i + 1}}}(n=$n) + {{hostile.D{i + 1}}}(n=$n)\"\n" for i in range(30))
    diamond += "  hostile.D30:\n    params: {n: int}\n    flops: $n\n"
    add(cat, "diamond_30_memoised.yaml", root_rule("{hostile.D0}(n=1) + $batch // ($batch - 1)", extra=diamond), "eval-rules", "E002", "a 30-level diamond (2^30 paths, 31 distinct calls), then a division by zero")
    diamond_fwd = "".join(f"  hostile.D{i}:\n    params: {{n: int, batch: int}}\n    flops: \"{{hostile.D{i + 1}}}(...) + {{left: hostile.D{i + 1}}}(...)\"\n" for i in range(30))
    diamond_fwd += "  hostile.D30:\n    params: {n: int, batch: int}\n    flops: $n * $batch\n"
    add(cat, "diamond_30_forwarded.yaml", root_rule("{hostile.D0}(n=1, batch) + $batch // ($batch - 1)", extra=diamond_fwd), "eval-rules", "E002", "a 30-level diamond forwarding with (...), then a division by zero")
    # the same shape with distinct bindings at every node: memoisation cannot help, the budget stops it
    budget = "".join(f"  hostile.D{i}:\n    params: {{n: int}}\n    flops: \"{{hostile.D{i + 1}}}(n=2 * $n) + {{hostile.D{i + 1}}}(n=2 * $n + 1)\"\n" for i in range(30))
    budget += "  hostile.D30:\n    params: {n: int}\n    flops: $n\n"
    add(cat, "diamond_30_distinct.yaml", root_rule("{hostile.D0}(n=1)", extra=budget), "eval-rules", "E007", "a 30-level binary tree of distinct calls: stopped by MAX_CALLS")
    every_metric = "".join(
        f"  hostile.D{i}:\n    params: {{n: int}}\n" + "".join(f"    {m}: \"{{hostile.D{i + 1}}}(n=2 * $n) + {{hostile.D{i + 1}}}(n=2 * $n + 1)\"\n" for m in ("flops", "param_count", "bytes_read", "bytes_written", "kv_cache_bytes", "intermediate_bytes", "pointwise_ops"))
        for i in range(13)
    ) + "  hostile.D13:\n    params: {n: int}\n" + "".join(f"    {m}: $n\n" for m in ("flops", "param_count", "bytes_read", "bytes_written", "kv_cache_bytes", "intermediate_bytes", "pointwise_ops"))
    root_all = f"rules:\n  {ROOT}:\n    params: {{batch: int}}\n" + "".join(f"    {m}: \"{{hostile.D0}}(n=$batch)\"\n" for m in ("flops", "param_count", "bytes_read", "bytes_written", "kv_cache_bytes", "intermediate_bytes", "pointwise_ops"))
    root_all = root_all.replace("    pointwise_ops: \"{hostile.D0}(n=$batch)\"\n", "    pointwise_ops: \"{hostile.D0}(n=$batch) // 0\"\n")
    add(cat, "every_metric_near_budget.yaml", root_all + every_metric, "eval-rules", "E007", "seven metrics of 16,383 distinct calls each: eval shares one call budget across metrics")
    # cycles at evaluation (the engine finds them even when lint was not run)
    cyc = "  hostile.A:\n    params: {n: int}\n    flops: \"{hostile.B}(n=$n)\"\n  hostile.B:\n    params: {n: int}\n    flops: \"{hostile.A}(n=$n)\"\n"
    add(cat, "cycle_two_at_eval.yaml", root_rule("{hostile.A}(n=1)", extra=cyc), "eval-rules", "L009", "a two-rule cycle met at evaluation")
    dcyc = "  hostile.A:\n    params: {n: int, m: {type: int, default: \"{hostile.B}(n=$n)\"}}\n    flops: $m\n  hostile.B:\n    params: {n: int, m: {type: int, default: \"{hostile.A}(n=$n)\"}}\n    flops: $m\n"
    add(cat, "cycle_through_defaults_at_eval.yaml", root_rule("{hostile.A}(n=1)", extra=dcyc), "eval-rules", "L009", "a cycle only through parameter defaults, met at evaluation")
    pcyc = f"rules:\n  {ROOT}:\n    params: {{batch: int, p: {{type: int, default: \"$q + 1\"}}, q: {{type: int, default: \"$p + 1\"}}}}\n    flops: $p\n"
    add(cat, "default_cycle_at_eval.yaml", pcyc, "eval-rules", "L010", "two parameter defaults defined by each other")
    # requires (E014)
    req = f"rules:\n  {ROOT}:\n    params: {{batch: int, hidden_size: int, num_attention_heads: int}}\n    requires:\n      - $hidden_size % $num_attention_heads == 0\n      - $batch < 0\n    flops: $batch * $hidden_size // $num_attention_heads\n"
    add(cat, "requires_false.yaml", req, "eval-rules", "E014", "a `requires:` condition that is false for the config")
    reqn = f"rules:\n  {ROOT}:\n    params: {{batch: int}}\n    requires: [\"$batch + 1\"]\n    flops: $batch\n"
    add(cat, "requires_number.yaml", reqn, "eval-rules", "E005", "a requirement that yields a number, not a condition")
    reqc = f"rules:\n  {ROOT}:\n    params: {{batch: int}}\n    flops: \"{{hostile.Q}}(n=$batch)\"\n  hostile.Q:\n    params: {{n: int}}\n    requires: [\"$n > 1\"]\n    flops: $n\n"
    add(cat, "requires_in_callee.yaml", reqc, "eval-rules", "E014", "a requirement of a called rule, false for the bindings it gets")


# --------------------------------------------------------------------------------------------
# Calls and cycles, found by lint (L003-L006, L009, L010, L011)
# --------------------------------------------------------------------------------------------

def calls() -> None:
    cat = "calls"
    callee = "  hostile.Callee:\n    params: {a: int, flag: {type: bool, default: false}}\n    flops: if $flag then $a else 2 * $a\n"
    static = {
        "unknown_callee": ("{hostile.Missing}(a=1)", "L003"),
        "unknown_callee_lookalike_case": ("{hostile.callee}(a=1)", "L003"),
        "unknown_callee_lookalike_i_l": ("{hostile.CaIlee}(a=1)", "L003"),
        "unknown_callee_os_system": ("{os.system}(command=1)", "L003"),
        "unknown_callee_builtins": ("{builtins.eval}(source=1)", "L003"),
        "unknown_callee_dunder_module": ("{__builtins__.open}(file=1)", "L003"),
        "unknown_keyword": ("{hostile.Callee}(a=1, b=2)", "L004"),
        "unknown_keyword_dunder": ("{hostile.Callee}(a=1, __class__=2)", "L004"),
        "missing_argument": ("{hostile.Callee}(flag=true)", "L005"),
        "missing_argument_empty_call": ("{hostile.Callee}()", "L005"),
        "missing_metric": ("{hostile.Callee}(a=1).kv_cache_bytes", "L006"),
        "missing_metric_dunder": ("{hostile.Callee}(a=1).__dict__", "L006"),
        "forward_unknown": ("{hostile.Callee}(a=1, flag)", "L011"),
    }
    for name, (formula, code) in static.items():
        text = "rules:\n  hostile.R:\n    flops: " + q(formula) + "\n" + callee
        add(cat, f"{name}.yaml", text, "lint", code, f"call problem found statically: {formula}")
    add(cat, "missing_metric_same.yaml", "rules:\n  hostile.R:\n    kv_cache_bytes: \"{hostile.Callee}(a=1)\"\n" + callee, "lint", "L006", "calling a callee for the caller's metric, which it lacks")
    # self-recursion
    add(cat, "self_recursion.yaml", "rules:\n  hostile.R:\n    params: {n: int}\n    flops: \"{hostile.R}(n=$n)\"\n", "lint", "L009", "a rule calling itself")
    add(cat, "self_recursion_other_metric.yaml", "rules:\n  hostile.R:\n    params: {n: int}\n    flops: \"{hostile.R}(n=$n).flops + 1\"\n    param_count: $n\n", "lint", "L009", "a rule calling its own metric")
    add(cat, "self_recursion_via_alias.yaml", "rules:\n  hostile.R:\n    aliases: [hostile.Alias]\n    params: {n: int}\n    flops: \"{hostile.Alias}(n=$n)\"\n", "lint", "L009", "a rule calling itself through its alias")
    add(cat, "self_recursion_in_default.yaml", "rules:\n  hostile.R:\n    params: {n: int, m: {type: int, default: \"{hostile.R}(n=$n)\"}}\n    flops: $m\n", "lint", "L009", "a rule calling itself from a parameter default")
    add(cat, "self_recursion_in_requires.yaml", "rules:\n  hostile.R:\n    params: {n: int}\n    requires: [\"{hostile.R}(n=$n) > 0\"]\n    flops: $n\n", "lint", "L009", "a rule calling itself from a requirement")
    # cycles of length 2..50
    for length in range(2, 51):
        lines = ["rules:"]
        for i in range(length):
            lines += [f"  hostile.cycle.N{i}:", "    params: {n: int}", f"    flops: \"{{hostile.cycle.N{(i + 1) % length}}}(n=$n)\""]
        add(cat, f"cycle_{length:02d}.yaml", "\n".join(lines) + "\n", "lint", "L009", f"a call cycle through {length} rules")
    # cycles only through defaults, of several lengths
    for length in (2, 3, 5, 10, 25):
        lines = ["rules:"]
        for i in range(length):
            lines += [f"  hostile.dcycle.N{i}:", f"    params: {{n: int, m: {{type: int, default: \"{{hostile.dcycle.N{(i + 1) % length}}}(n=$n)\"}}}}", "    flops: $m"]
        add(cat, f"cycle_defaults_{length:02d}.yaml", "\n".join(lines) + "\n", "lint", "L009", f"a call cycle of {length} rules, only through parameter defaults")
    # a cycle across two files (a directory case)
    add(cat, "cycle_two_files", {
        "a.yaml": b"rules:\n  hostile.files.A:\n    params: {n: int}\n    flops: \"{hostile.files.B}(n=$n)\"\n",
        "b.yaml": b"rules:\n  hostile.files.B:\n    params: {n: int}\n    flops: \"{hostile.files.A}(n=1)\"\n    param_count: $n\n",
    }, "lint", "L009", "a cycle between rules of two files")
    # parameter default cycles within one rule
    add(cat, "default_cycle_self.yaml", "rules:\n  hostile.R:\n    params: {a: {type: int, default: \"$a + 1\"}}\n    flops: $a\n", "lint", "L010", "a default defined by itself")
    chain = ", ".join(f"p{i}: {{type: int, default: \"$p{(i + 1) % 20} + 1\"}}" for i in range(20))
    add(cat, "default_cycle_20.yaml", f"rules:\n  hostile.R:\n    params: {{{chain}}}\n    flops: $p0\n", "lint", "L010", "20 parameter defaults in a cycle")


# --------------------------------------------------------------------------------------------
# Names: quotes, newlines, path separators, look-alikes, collisions (S007, S008, S009, L004)
# --------------------------------------------------------------------------------------------

def names() -> None:
    cat = "names"
    bad_rule_names = {
        "single_quote": "hostile.R'", "double_quote": "hostile.\"R\"", "newline": "hostile.R\nimport os",
        "carriage_return": "hostile.R\r", "tab": "hostile.\tR", "slash": "hostile/R", "dotdot_path": "../../etc/passwd",
        "backslash": "hostile\\R", "absolute_path": "/etc/passwd", "windows_path": "C:\\Windows\\R",
        "space": "hostile R", "empty": "", "leading_dot": ".hostile.R", "trailing_dot": "hostile.R.",
        "double_dot": "hostile..R", "leading_digit": "1hostile.R", "dash": "hostile.my-rule",
        "dunder_part": "hostile.__init__.R", "dunder_class": "hostile.R.__class__", "keyword_part": "hostile.class.R",
        "keyword_import": "import.R", "cyrillic_a": "hostile.\u0430R", "cyrillic_i_in_linear": "torch.nn.L\u0456near",
        "fullwidth_dot": "hostile\uff0eR", "greek_omicron": "hostile.\u03bfR", "math_bold": "hostile.\U0001d411",
        "zero_width_joiner": "hostile.R\u200d", "combining_mark": "hostile.Re\u0301", "ligature_fi": "hostile.\ufb01le",
        "dollar": "hostile.$R", "braces": "hostile.{R}", "parens": "hostile.R()", "colon": "hostile:R",
        "percent_encoded": "hostile%2eR", "nul_escape": "hostile.\u0000R", "emoji": "hostile.\U0001f4a3",
        "shell": "hostile.R;rm -rf /", "template": "{{hostile}}.R",
    }
    for name, bad in bad_rule_names.items():
        add(cat, f"rule_name_{name}.yaml", f"rules:\n  {q(bad)}:\n    flops: 1\n", "lint", "S007", f"rule name {bad!r}")
    add(cat, "rule_name_int_key.yaml", "rules:\n  42:\n    flops: 1\n", "lint", "S007", "a rule name that YAML reads as an int")
    add(cat, "rule_name_bool_key.yaml", "rules:\n  true:\n    flops: 1\n", "lint", "S007", "a rule name that YAML reads as a bool")
    add(cat, "rule_name_null_key.yaml", "rules:\n  ~:\n    flops: 1\n", "lint", "S007", "a rule name that YAML reads as null")
    add(cat, "rule_name_float_key.yaml", "rules:\n  1.5:\n    flops: 1\n", "lint", "S007", "a rule name that YAML reads as a float")
    for name, bad in {"quote": "a'b", "newline": "x\ny", "slash": "a/b"}.items():
        add(cat, f"alias_{name}.yaml", f"rules:\n  hostile.R:\n    aliases: [{q(bad)}]\n    flops: 1\n", "lint", "S007", f"alias {bad!r}")
    bad_params = {
        "single_quote": "x'", "double_quote": "\"x\"", "newline": "x\ny", "slash": "a/b", "backslash": "a\\b",
        "dotdot": "..", "dotted": "a.b", "space": "a b", "empty": "", "dunder_class": "__class__",
        "dunder_import": "__import__", "keyword_if": "if", "keyword_class": "class", "keyword_lambda": "lambda",
        "formula_keyword_defined": "defined", "formula_keyword_true": "true", "formula_keyword_then": "then",
        "dollar": "$x", "braces": "${x}", "dash": "my-param", "leading_digit": "1x", "cyrillic": "\u0445",
        "fullwidth": "\uff58", "greek": "\u03b1", "nbsp": "x\u00a0", "zero_width": "x\u200b",
    }
    for name, bad in bad_params.items():
        add(cat, f"param_name_{name}.yaml", f"rules:\n  hostile.R:\n    params:\n      {q(bad)}: int\n    flops: 1\n", "lint", "S008", f"parameter name {bad!r}")
    add(cat, "param_name_int_key.yaml", "rules:\n  hostile.R:\n    params:\n      7: int\n    flops: 1\n", "lint", "S008", "a parameter name YAML reads as an int")
    add(cat, "param_name_bool_key.yaml", "rules:\n  hostile.R:\n    params:\n      yes: int\n    flops: 1\n", "lint", "S008", "a parameter name YAML reads as a bool (yes)")
    for name, bad in {"dunder": "__dict__", "slash": "a/b", "keyword": "for", "newline": "m\nn"}.items():
        add(cat, f"metric_name_{name}.yaml", f"rules:\n  hostile.R:\n    metrics:\n      {q(bad)}: 1\n", "lint", "S008", f"custom metric name {bad!r}")
    # duplicates between rules and aliases
    add(cat, "alias_equals_other_rule.yaml", "rules:\n  hostile.A: {flops: 1}\n  hostile.B:\n    aliases: [hostile.A]\n    flops: 2\n", "lint", "S009", "an alias equal to another rule's name")
    add(cat, "alias_shared.yaml", "rules:\n  hostile.A:\n    aliases: [hostile.Same]\n    flops: 1\n  hostile.B:\n    aliases: [hostile.Same]\n    flops: 2\n", "lint", "S009", "two rules claiming one alias")
    add(cat, "rule_after_alias.yaml", "rules:\n  hostile.A:\n    aliases: [hostile.B]\n    flops: 1\n  hostile.B: {flops: 2}\n", "lint", "S009", "a rule defined after another rule took its name as an alias")
    add(cat, "duplicate_across_files", {
        "one.yaml": b"rules:\n  hostile.files.Same: {flops: 1}\n",
        "two.yaml": b"rules:\n  hostile.files.Same: {flops: 2}\n",
    }, "lint", "S009", "the same rule defined in two files")
    # names that collide after the library__path__Module conversion: both are valid rules, and
    # calls must still resolve to the right one (the keyword only the other rule has is refused)
    collisions = [
        ("underscore_parts", "hostile.a__b.C", "hostile.a.b__C"),
        ("trailing_leading_underscore", "hostile.a_.b", "hostile.a._b"),
        ("dunder_join", "hostile__x.Y", "hostile.x__Y"),
        ("case_only", "hostile.Model", "hostile.model"),
        ("trailing_underscores", "hostile.a_._b_", "hostile.a__.b_"),
    ]
    for name, first, second in collisions:
        text = (f"rules:\n  {first}:\n    params: {{only_first: int}}\n    flops: $only_first\n"
                f"  {second}:\n    params: {{only_second: int}}\n    flops: $only_second\n"
                f"  hostile.Caller:\n    flops: \"{{{second}}}(only_second=1, only_first=2)\"\n")
        add(cat, f"collision_{name}.yaml", text, "lint", "L004", f"{first} and {second} share a generated identifier; a call to {second} must check its own params")
    # a look-alike of a shipped rule, linted with the shipped library
    add(cat, "lookalike_of_shipped_rule.yaml", "rules:\n  hostile.R:\n    flops: \"{lin: torch.nn.LInear}(in_features=2, out_features=2, tokens=1)\"\n", "lint-lib", "L003", "a call to torch.nn.LInear (capital I), not torch.nn.Linear")
    add(cat, "shipped_rule_wrong_keyword.yaml", "rules:\n  hostile.R:\n    flops: \"{lin: torch.nn.Linear}(in_features=2, out_feature=2, tokens=1)\"\n", "lint-lib", "L004", "a keyword one letter off, against the shipped torch.nn.Linear")
    add(cat, "shipped_rule_missing_metric.yaml", "rules:\n  hostile.R:\n    metrics:\n      energy: \"{lin: torch.nn.Linear}(in_features=2, out_features=2, tokens=1)\"\n", "lint-lib", "L006", "a custom metric the shipped torch.nn.Linear does not define")


# --------------------------------------------------------------------------------------------
# Configs for eval (C001, C002, E014)
# --------------------------------------------------------------------------------------------

def configs() -> None:
    cat = "configs"
    llama = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32, "vocab_size": 32000}

    def cfg(name: str, changes: dict, code: str, note: str, drop: tuple[str, ...] = ()) -> None:
        data = {k: v for k, v in llama.items() if k not in drop}
        data.update(changes)
        add(cat, f"{name}.json", json.dumps(data, indent=1) + "\n", "eval", code, note)

    cfg("missing_model_type", {}, "C001", "no model_type", drop=("model_type",))
    cfg("null_hidden_size", {"hidden_size": None}, "C001", "a required field set to null")
    cfg("null_vocab_size", {"vocab_size": None}, "C001", "vocab_size set to null")
    for field, value, note in [
        ("hidden_size", "4096", "a size as a string"), ("hidden_size", 4096.5, "a fractional size"),
        ("hidden_size", True, "a size as a bool"), ("hidden_size", [4096], "a size as a list"),
        ("hidden_size", {"value": 4096}, "a size as an object"), ("num_hidden_layers", "32", "layers as a string"),
        ("tie_word_embeddings", "yes", "a bool field as a string"), ("tie_word_embeddings", 1, "a bool field as an int"),
        ("attention_bias", "false", "a bool field as the string 'false'"), ("vocab_size", 3.2e4 + 0.5, "vocab as a fraction"),
        ("num_attention_heads", "32; rm -rf /", "a size with shell text"), ("intermediate_size", "__import__('os')", "a size with Python text"),
    ]:
        cfg(f"wrong_type_{note.replace(' ', '_').replace(chr(39), '')}", {field: value}, "C001", note)
    cfg("model_type_int", {"model_type": 7}, "C001", "model_type as an int")
    cfg("model_type_list", {"model_type": ["llama"]}, "C001", "model_type as a list")
    for field in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size", "num_key_value_heads", "head_dim"):
        cfg(f"zero_{field}", {field: 0}, "C001", f"{field} = 0")
        cfg(f"negative_{field}", {field: -1}, "C001", f"{field} = -1")
    for field, value in [("hidden_size", 2 ** 62), ("vocab_size", 10 ** 30), ("num_hidden_layers", 2 ** 63 - 1), ("intermediate_size", 10 ** 4000)]:
        cfg(f"huge_{field}", {field: value}, "C001", f"{field} = {str(value)[:20]}... (implausibly large)")
    add(cat, "huge_float_size.json", '{"model_type": "llama", "hidden_size": 1e30}\n', "eval", "C001", "hidden_size = 1e30")
    # Python's json (so transformers) reads Infinity, NaN and 1e400 as floats; a field the rules compute with refuses them
    add(cat, "float_overflow_literal.json", '{"model_type": "llama", "hidden_size": 1e400}\n', "eval", "C035", "a number literal that overflows to inf")
    add(cat, "float_overflow_intermediate.json", '{"model_type": "llama", "intermediate_size": 1e400}\n', "eval", "C035", "inf in a size the rules read")
    add(cat, "nan.json", '{"model_type": "llama", "num_attention_heads": NaN}\n', "eval", "C035", "NaN in a size the rules read")
    add(cat, "infinity.json", '{"model_type": "llama", "hidden_size": Infinity}\n', "eval", "C035", "Infinity in a size the rules read")
    add(cat, "negative_infinity.json", '{"model_type": "llama", "num_hidden_layers": -Infinity}\n', "eval", "C035", "-Infinity in a layer count")
    add(cat, "int_too_many_digits.json", '{"model_type": "llama", "hidden_size": 1' + "0" * 5000 + "}\n", "eval", "C001", "an integer literal of 5,001 digits")
    # divisibility the source requires (E014 through the Llama rules' `requires:`)
    cfg("heads_do_not_divide_hidden", {"num_attention_heads": 33, "num_key_value_heads": 33}, "E014", "4096 hidden, 33 heads, no head_dim")
    cfg("heads_do_not_divide_hidden_default_kv", {"num_attention_heads": 33}, "E014", "33 heads, 32 kv heads: 4096 % 33 fails first", drop=("num_key_value_heads",))
    cfg("heads_exceed_hidden", {"hidden_size": 64, "num_attention_heads": 128, "num_key_value_heads": 128}, "E014", "more heads than hidden units")
    cfg("kv_heads_do_not_divide_heads", {"num_key_value_heads": 5}, "E014", "32 heads, 5 kv heads")
    cfg("kv_heads_exceed_heads", {"num_key_value_heads": 64}, "E014", "32 heads, 64 kv heads")
    cfg("head_dim_given_kv_bad", {"hidden_size": 4000, "head_dim": 128, "num_key_value_heads": 7}, "E014", "head_dim given (so 4000 % 32 is fine), 7 kv heads")
    # w17-hostile: fields transformers reads as sub-configs (the oracle cannot build any of these)
    cfg("stray_text_config", {"text_config": "bogus"}, "C001", "a text_config on a type without one (get_text_config returns it)")
    cfg("stray_decoder_mapping", {"decoder": {"num_hidden_layers": -1}}, "C001", "a decoder mapping on a type without that sub-config")
    cfg("null_default_size_a_string", {"head_dim": "128"}, "C001", "head_dim (class default null, an integer elsewhere) as a string")
    cfg("layer_types_a_string", {"layer_types": "full_attention"}, "C001", "layer_types as a string, not a list")
    gemma3_text = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 16,
                   "intermediate_size": 64, "vocab_size": 300}
    for name, data, note in [
        ("sub_config_a_string", {"model_type": "gemma3", "text_config": "bogus"}, "a declared text_config given as a string"),
        ("sub_config_a_list", {"model_type": "gemma3", "text_config": gemma3_text, "vision_config": []}, "a declared vision_config given as a list"),
        ("sub_config_size_a_string", {"model_type": "gemma3", "text_config": {**gemma3_text, "hidden_size": "x"}}, "a size in text_config as a string"),
        ("sub_config_layer_types_a_string", {"model_type": "gemma3", "text_config": {**gemma3_text, "layer_types": "sliding_attention"}}, "text_config.layer_types as a string"),
    ]:
        add(cat, f"{name}.json", json.dumps(data, indent=1) + "\n", "eval", "C001", note)
    # unknown model types and architectures
    for name, mt in {"unknown": "nonexistent", "empty": "", "path": "../../etc/passwd", "not_causal": "vit", "python": "__import__('os')", "newline": "llama\nfoo"}.items():
        add(cat, f"model_type_{name}.json", json.dumps({"model_type": mt}) + "\n", "eval", "C002", f"model_type {mt!r}")
    cfg("architecture_unknown", {"architectures": ["EvilForCausalLM"]}, "C002", "an architecture the rules do not cover")
    # empty, not an object, not JSON
    not_json = {
        "empty.json": b"", "whitespace.json": b"  \n\t\n", "null.json": b"null\n", "list.json": b"[]\n",
        "string.json": b"\"llama\"\n", "number.json": b"7\n", "true.json": b"true\n",
        "comment_line.json": b"// a comment\n{\"model_type\": \"llama\"}\n",
        "comment_block.json": b"{\n  /* the model */\n  \"model_type\": \"llama\"\n}\n",
        "comment_hash.json": b"# a comment\n{\"model_type\": \"llama\"}\n",
        "trailing_comma.json": b"{\"model_type\": \"llama\",}\n",
        "single_quotes.json": b"{'model_type': 'llama'}\n",
        "unquoted_keys.json": b"{model_type: \"llama\"}\n",
        "two_objects.json": b"{\"model_type\": \"llama\"}\n{\"model_type\": \"llama\"}\n",
        "truncated.json": b"{\"model_type\": \"llama\", \"hidden_size\": 40",
        "yaml_instead.json": b"model_type: llama\nhidden_size: 4096\n",
        "python_dict.json": b"{'model_type': 'llama', 'hidden_size': __import__('os').getpid()}\n",
        "invalid_utf8.json": b"{\"model_type\": \"llama\", \"name\": \"\xff\xfe\"}\n",
        "utf16.json": "{\"model_type\": \"llama\"}".encode("utf-16"),
        "latin1.json": "{\"model_type\": \"llama\", \"name\": \"caf\u00e9\"}".encode("latin-1"),
        "nul_bytes.json": b"{\"model_type\": \"llama\"}\x00\x00",
        "binary_junk.json": bytes(random.Random(7).randrange(256) for _ in range(2048)),
        "deep_nesting_10000.json": b"{\"model_type\": \"llama\", \"x\": " + b"[" * 10000 + b"]" * 10000 + b"}\n",
        "control_char_in_string.json": b"{\"model_type\": \"lla\x01ma\"}\n",
        "lone_surrogate_escape.json": b"{\"model_type\": \"llama\", \"hidden_size\": 4096, \"name\": \"\\ud800\", \"num_hidden_layers\": -3}\n",
        "duplicate_keys.json": b"{\"model_type\": \"llama\", \"hidden_size\": 4096, \"hidden_size\": 8192}\n",
        "duplicate_keys_model_type.json": b"{\"model_type\": \"gpt2\", \"model_type\": \"llama\"}\n",
    }
    for name, data in not_json.items():
        add(cat, name, data, "eval", "C001", f"not a usable JSON object: {name.rsplit('.', 1)[0].replace('_', ' ')}")
    add(cat, "utf8_bom_bad_field.json", b"\xef\xbb\xbf" + json.dumps({**llama, "hidden_size": -8}).encode(), "eval", "C001", "a BOM (accepted) and a negative size")
    add(cat, "directory_without_config", {"README.md": b"no config here\n"}, "eval", "C001", "a directory that holds no config.json")


# --------------------------------------------------------------------------------------------
# Inputs generated at test time (see huge.py)
# --------------------------------------------------------------------------------------------

def huge() -> None:
    generated("rules_50mb.yaml", "lint", "S004", "a 50 MB rule file (refused before reading)")
    generated("rules_4mib_plus_1.yaml", "lint", "S004", "one byte over MAX_RULE_FILE_BYTES")
    generated("formula_1mb.yaml", "lint", "F002", "a 1 MB formula")
    generated("formula_3mb_block.yaml", "lint", "F002", "a 3 MB formula in a folded block scalar")
    generated("formula_nesting_100000.yaml", "lint", "F002", "100,000-deep parentheses (over the length limit first)")
    generated("formula_minus_100000.yaml", "lint", "F002", "100,000 unary minus signs")
    generated("yaml_nesting_100000.yaml", "lint", "S001", "100,000-deep YAML flow sequences")
    generated("yaml_nodes_200001.yaml", "lint", "S013", "a flow list of 200,001 scalars (over MAX_YAML_NODES)")
    generated("yaml_many_rules.yaml", "lint", "S013", "70,000 small rules (210,001 YAML nodes, over MAX_YAML_NODES)")
    generated("config_100mb.json", "eval", "C001", "a 100 MB config.json (refused before reading)")
    generated("config_8mib_plus_1.json", "eval", "C001", "one byte over MAX_CONFIG_BYTES")
    generated("config_nesting_100000.json", "eval", "C001", "100,000-deep JSON arrays")
    generated("config_7mib_strings.json", "eval", "C001", "a 7 MiB config of long strings with a bad size")
    generated("fifo.yaml", "lint", "S001", "a named pipe instead of a rule file (must not block)")
    generated("fifo_config.json", "eval", "C001", "a named pipe instead of a config (must not block)")
    generated("dev_zero.yaml", "lint", "S001", "a symlink to /dev/zero as a rule file (must not read forever)")
    generated("dev_zero_config_dir", "eval", "C001", "a directory whose config.json is a symlink to /dev/zero")


def build() -> list[Case]:
    CASES.clear()
    for section in (yaml_tags, yaml_aliases, yaml_duplicates, encoding, yaml_syntax, schema, formula_syntax,
                    formula_limits, arithmetic, runtime, calls, names, configs, huge):
        section()
    return list(CASES)


def write(cases: list[Case]) -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    for case in cases:
        if case.content is None:
            continue
        target = HERE / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(case.content, dict):
            target.mkdir()
            for name, data in case.content.items():
                (target / name).write_bytes(data)
        else:
            target.write_bytes(case.content)
    header = "# path\tcommand\tcode\tnote  (generated by make_corpus.py; do not edit by hand)\n"
    MANIFEST.write_text(header + "".join(c.row() + "\n" for c in cases), encoding="utf-8")


def check(cases: list[Case]) -> list[str]:
    """Differences between the committed corpus and what the generator makes."""
    problems = []
    header = "# path\tcommand\tcode\tnote  (generated by make_corpus.py; do not edit by hand)\n"
    if MANIFEST.read_text(encoding="utf-8") != header + "".join(c.row() + "\n" for c in cases):
        problems.append("expected.tsv differs")
    wanted: set[Path] = set()
    for case in cases:
        if case.content is None:
            continue
        target = HERE / case.path
        items = case.content.items() if isinstance(case.content, dict) else [(None, case.content)]
        for name, data in items:
            path = target / name if name else target
            wanted.add(path)
            if not path.is_file() or path.read_bytes() != data:
                problems.append(f"{path.relative_to(HERE)} differs")
    extra = [p for p in CORPUS.rglob("*") if p.is_file() and p not in wanted]
    problems.extend(f"{p.relative_to(HERE)} is not generated" for p in extra)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    cases = build()
    if args.check:
        problems = check(cases)
        print("\n".join(problems) or "corpus up to date")
        return 1 if problems else 0
    write(cases)
    files = sum(1 for c in cases if c.content is not None)
    print(f"{len(cases)} cases ({files} committed, {len(cases) - files} generated at test time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
