"""Safe YAML reading with positions: plain data only, no tags, no aliases, bounded size."""

from __future__ import annotations

import bisect
import re
import os
import stat
from dataclasses import dataclass
from typing import NamedTuple, Union

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader
from yaml.resolver import Resolver

from lm_predictor import diagnostics as d
from lm_predictor.diagnostics import Diagnostic, LmPredictorError, Location
from lm_predictor.formula.source import Origin
from lm_predictor.limits import MAX_RULE_FILE_BYTES, MAX_YAML_NODES


class YScalar(NamedTuple):
    """A YAML scalar, as constructed by the safe loader, with the node it came from (for positions)."""

    value: object
    node: ScalarNode


class YMap(NamedTuple):
    """A YAML mapping: (key, value) pairs in file order; keys are scalars."""

    items: tuple[tuple[YScalar, "YValue"], ...]
    node: MappingNode


class YSeq(NamedTuple):
    """A YAML sequence."""

    items: tuple["YValue", ...]
    node: SequenceNode


YValue = Union[YScalar, YMap, YSeq]


class SourceFile:
    """A rule file's text with fast offset -> (line, column) lookup."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.lines = tuple(text.split("\n"))
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, index: int) -> tuple[int, int]:
        """1-based line and column of a character index."""
        line = bisect.bisect_right(self._starts, index) - 1
        return line + 1, index - self._starts[line] + 1

    def location(self, node_or_mark: object) -> Location:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        return Location(self.path, mark.line + 1, mark.column + 1)

    def line_text(self, line: int) -> str | None:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else None

    def diagnostic(self, code: d.Code, at: object, /, **fields: object) -> Diagnostic:
        """A diagnostic at a node or mark (`at` is positional-only: templates use `{where}`)."""
        loc = self.location(at)
        return d.make(code, loc, self.line_text(loc.line), **fields)

    def origin_for(self, scalar: YScalar, text: str) -> Origin:
        """Map each character of a scalar's value back to its place in the file.

        Folded line breaks match any whitespace; in double-quoted scalars an escape sequence
        (`\\t`, `\\"`, `\\x41`, ...) maps to its backslash, in single-quoted ones `''` to its
        first quote. When the value cannot be matched, every character maps to the scalar start.
        """
        node = scalar.node
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        return Origin(self.path, line, column, self.lines, resolve_offsets=lambda: self._offsets(node, text))

    def _offsets(self, node: ScalarNode, text: str) -> tuple[tuple[int, int], ...]:
        """Per-character (line, column) of a scalar's value; () when it cannot be matched."""
        start, end = node.start_mark.index, node.end_mark.index
        offsets: list[tuple[int, int]] = []
        j = start + (1 if node.style in ("'", '"') else 0)
        if node.style in ("|", ">"):
            j = self.text.find("\n", start, end) + 1 or end
        for ch in text:
            k = j
            while k < end:
                width, produced = self._source_char(node.style, k, end)
                if produced == ch or (produced is not None and ch.isspace() and produced.isspace()):
                    break
                k += width
            if k >= end or k - j > 200:
                return ()  # every character maps to the scalar start
            offsets.append(self.position(k))
            j = k + width
        return tuple(offsets)

    def _source_char(self, style: str | None, k: int, end: int) -> tuple[int, str | None]:
        """(characters of file text at k, the value character they stand for) in a scalar."""
        c = self.text[k]
        if style == '"' and c == "\\" and k + 1 < end:
            nxt = self.text[k + 1]
            digits = {"x": 2, "u": 4, "U": 8}.get(nxt)
            if digits is not None:
                try:
                    return 2 + digits, chr(int(self.text[k + 2:k + 2 + digits], 16))
                except ValueError:
                    return 2, None
            return 2, _ESCAPES.get(nxt)  # None for an escaped line break: it stands for nothing
        if style == "'" and c == "'" and self.text[k + 1:k + 2] == "'":
            return 2, "'"
        return 1, c


_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}


try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python scanner, same results, slower
    _CParser = None

if _CParser is not None:

    class _FastSafeLoader(Composer, _CParser, SafeConstructor, Resolver):  # type: ignore[misc, valid-type]
        """libyaml's scanner and parser (C) under PyYAML's own Python composer and safe constructor.

        The pure-Python scanner costs about 2 s per MB and is quadratic in flow nesting (a 20 KB
        file of `[[[...` takes seconds); libyaml is linear and caps nesting at 1000 levels.
        The composer stays in Python so that compose_node below sees every event.
        """

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _BASE_LOADER: type = _FastSafeLoader
else:
    _BASE_LOADER = yaml.SafeLoader


def _make_loader(source: SourceFile):
    """A safe loader that refuses tags, anchors, aliases, and too many nodes."""

    class Loader(_BASE_LOADER):  # type: ignore[valid-type, misc]
        node_count = 0

        def compose_node(self, parent: Node | None, index: object) -> Node:  # type: ignore[override]
            event = self.peek_event()
            if isinstance(event, AliasEvent):
                raise LmPredictorError(source.diagnostic(d.S_ALIAS, event.start_mark, what="aliases"))
            if isinstance(event, (ScalarEvent, CollectionStartEvent)):
                if event.anchor is not None:
                    raise LmPredictorError(source.diagnostic(d.S_ALIAS, event.start_mark, what="anchors"))
                if event.tag is not None and not (isinstance(event, ScalarEvent) and event.tag == "!"):
                    raise LmPredictorError(source.diagnostic(d.S_UNSAFE_TAG, event.start_mark, tag=event.tag))
            Loader.node_count += 1
            if Loader.node_count > MAX_YAML_NODES:
                raise LmPredictorError(source.diagnostic(d.S_TOO_MANY_NODES, event.start_mark, limit=MAX_YAML_NODES))
            return super().compose_node(parent, index)

    return Loader


@dataclass(frozen=True)
class _Mark:
    """A 1-based (line, column) in the shape of a YAML mark (0-based attributes)."""

    line_1: int
    column_1: int

    @property
    def line(self) -> int:
        return self.line_1 - 1

    @property
    def column(self) -> int:
        return self.column_1 - 1


def _convert(node: Node, loader: yaml.SafeLoader, source: SourceFile) -> YValue:
    """Composed YAML nodes -> positioned plain data, refusing duplicate and merge keys."""
    if isinstance(node, ScalarNode):
        return YScalar(loader.construct_object(node), node)
    if isinstance(node, SequenceNode):
        return YSeq(tuple(_convert(child, loader, source) for child in node.value), node)
    assert isinstance(node, MappingNode)
    items: list[tuple[YScalar, YValue]] = []
    seen: dict[object, int] = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise LmPredictorError(source.diagnostic(d.S_ALIAS, key_node, what="merge keys ('<<')"))
        if not isinstance(key_node, ScalarNode):
            raise LmPredictorError(source.diagnostic(d.S_WRONG_TYPE, key_node, where="a mapping key", expected="a plain string", got="a collection"))
        key = _convert(key_node, loader, source)
        assert isinstance(key, YScalar)
        try:
            hash(key.value)
        except TypeError:
            raise LmPredictorError(source.diagnostic(d.S_WRONG_TYPE, key_node, where="a mapping key", expected="a plain string", got=type(key.value).__name__)) from None
        if key.value in seen:
            raise LmPredictorError(source.diagnostic(d.S_DUPLICATE_KEY, key_node, key=key.value, line=seen[key.value]))
        seen[key.value] = key_node.start_mark.line + 1
        items.append((key, _convert(value_node, loader, source)))
    return YMap(tuple(items), node)


def read_text(path: str) -> SourceFile:
    """Read a rule file as strict UTF-8 text, refusing huge files before reading them."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    except OSError as err:
        raise LmPredictorError(d.make(d.S_YAML, Location(path), detail=f"cannot read file: {err.strerror}")) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LmPredictorError(d.make(d.S_YAML, Location(path), detail="not a regular file"))
        if info.st_size > MAX_RULE_FILE_BYTES:
            raise LmPredictorError(d.make(d.S_FILE_TOO_LARGE, Location(path), n=info.st_size, limit=MAX_RULE_FILE_BYTES))
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(MAX_RULE_FILE_BYTES + 1)
    except OSError as err:
        raise LmPredictorError(d.make(d.S_YAML, Location(path), detail=f"cannot read file: {err.strerror}")) from None
    finally:
        os.close(fd)
    if len(raw) > MAX_RULE_FILE_BYTES:  # grew after fstat
        raise LmPredictorError(d.make(d.S_FILE_TOO_LARGE, Location(path), n=len(raw), limit=MAX_RULE_FILE_BYTES))
    if raw.startswith(b"\xef\xbb\xbf"):
        raise LmPredictorError(d.make(d.S_ENCODING, Location(path, 1, 1), detail="file starts with a byte-order mark; save it as UTF-8 without BOM"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise LmPredictorError(d.make(d.S_ENCODING, Location(path, line, column), detail=f"invalid UTF-8 byte 0x{raw[err.start]:02x}")) from None
    if "\x00" in text:
        index = text.index("\x00")
        source = SourceFile(path, text)
        line, column = source.position(index)
        raise LmPredictorError(d.make(d.S_ENCODING, Location(path, line, column), detail="NUL byte in a text file"))
    return SourceFile(path, text)


def load_yaml(source: SourceFile) -> YValue | None:
    """Parse one YAML document to positioned data (None for an empty file)."""
    bad = Reader.NON_PRINTABLE.search(source.text)
    if bad is not None:  # YAML refuses control characters anywhere in the stream
        char = bad.group()
        raise LmPredictorError(source.diagnostic(d.S_YAML, _Mark(*source.position(bad.start())), detail=f"character U+{ord(char):04X} is not allowed in YAML (control or non-character)"))
    loader = _make_loader(source)(source.text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _convert(node, loader, source)
    except LmPredictorError:
        raise
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        detail = " ".join(str(p) for p in (err.context, err.problem) if p) or "invalid YAML"
        if "mapping values are not allowed" in detail:
            detail += "; quote formulas that contain '{label: Rule}' calls, or write them as a '>-' block"
        if mark is None:
            raise LmPredictorError(d.make(d.S_YAML, Location(source.path), detail=detail)) from None
        raise LmPredictorError(source.diagnostic(d.S_YAML, mark, detail=detail)) from None
    except yaml.YAMLError as err:
        raise LmPredictorError(d.make(d.S_YAML, Location(source.path), detail=str(err).splitlines()[0])) from None
    except RecursionError:
        raise LmPredictorError(d.make(d.S_YAML, Location(source.path), detail="YAML nests too deeply")) from None
    finally:
        loader.dispose()
