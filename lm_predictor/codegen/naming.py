"""Python identifiers for rules: `library__path__Module`, shortened for long names, never colliding.

A rule's defining name is a dotted path of ASCII identifiers. Its generated identifier is the
first of its *candidates* that no other rule of the library also has as a candidate:

1. when the full form is longer than MAX_FULL_LENGTH characters: the library (first part) plus
   the last 2, 3, ... parts, each shorter than the full form
   (`transformers.models.llama.modeling_llama.LlamaAttention` -> `transformers__modeling_llama__LlamaAttention`);
2. the full form, parts joined by `__` (`torch.nn.modules.linear.Linear` -> `torch__nn__modules__linear__Linear`);
3. the escaped form, `n_` + parts joined by `_0` with each `_` written `_1` + a trailing `_`.

Why this never gives two rules one name: the full form is injective on *simple* names (every
part `[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*`, so `__` only ever separates parts), and names
with other parts only get the escaped form. The escaped form is injective (decodable) and is
the only candidate that ends with `_`, so it never equals another name's candidate. A rule
takes a candidate only when it owns it alone, so two rules can never pick the same one.

Why it is stable: a rule's candidates depend on its own name only, and its choice changes
only if a new rule shares one of its candidates up to the one it picked. An *unrelated* rule
(no shared candidate) changes no existing identifier.

Generated identifiers never contain `___` (three underscores); module symbols are
`<identifier>___<kind>_<name>`, so they cannot collide with each other or with helper names.
"""

from __future__ import annotations

import keyword
import re
from collections import defaultdict
from typing import Iterable

MAX_FULL_LENGTH = 40
"""Full forms longer than this (characters) get shorter candidates first."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z", re.ASCII)
_SIMPLE_PART = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*\Z", re.ASCII)


class NamingError(ValueError):
    """A name that cannot be turned into a generated identifier (not a dotted ASCII path)."""


def is_identifier(text: object) -> bool:
    """An ASCII Python identifier that is not a keyword and not a dunder-prefixed name."""
    return (
        isinstance(text, str)
        and _IDENT.match(text) is not None
        and not keyword.iskeyword(text)
        and not text.startswith("__")
    )


def is_dotted_name(text: object) -> bool:
    """A dotted path whose every part passes `is_identifier`."""
    return isinstance(text, str) and all(is_identifier(part) for part in text.split("."))


def is_safe_name(text: object) -> bool:
    """A dotted path of ASCII identifiers, none starting with `__` (keywords allowed: data, not code)."""
    return isinstance(text, str) and all(_IDENT.match(part) is not None and not part.startswith("__") for part in text.split("."))


def split_name(name: str) -> list[str]:
    """The parts of a rule name; refuses anything that is not a dotted ASCII path."""
    if not is_dotted_name(name):
        raise NamingError(f"not a dotted ASCII name: {name!r}")
    return name.split(".")


def full_form(parts: list[str]) -> str | None:
    """`a.b.C` -> `a__b__C` when every part is simple; None otherwise."""
    if all(_SIMPLE_PART.match(p) for p in parts):
        return "__".join(parts)
    return None


def escaped_form(parts: list[str]) -> str:
    """The injective fallback: `n_` + parts joined by `_0`, `_` written `_1`, then `_`."""
    return "n_" + "_0".join(p.replace("_", "_1") for p in parts) + "_"


def candidates(name: str) -> list[str]:
    """A name's identifiers in order of preference (shortest first, escaped form last)."""
    parts = split_name(name)
    out: list[str] = []
    full = full_form(parts)
    if full is not None:
        if len(full) > MAX_FULL_LENGTH:
            for keep in range(2, len(parts) - 1):
                out.append("__".join([parts[0], *parts[-keep:]]))
        out.append(full)
    out.append(escaped_form(parts))
    return out


def assign_identifiers(names: Iterable[str]) -> dict[str, str]:
    """Each name's identifier: its first candidate that no other name has as a candidate."""
    unique = sorted(set(names))
    cands = {name: candidates(name) for name in unique}
    owners: dict[str, set[str]] = defaultdict(set)
    for name, options in cands.items():
        for option in options:
            owners[option].add(name)
    result: dict[str, str] = {}
    for name, options in cands.items():
        for option in options:
            if len(owners[option]) == 1:
                result[name] = option
                break
        else:  # the escaped form is owned by its name alone; this cannot happen
            raise AssertionError(f"no identifier for {name!r}")
    if len(set(result.values())) != len(result):
        raise AssertionError("two rules share a generated identifier")
    for ident in result.values():
        if "___" in ident or not _IDENT.match(ident) or keyword.iskeyword(ident):
            raise AssertionError(f"bad generated identifier {ident!r}")
    return result


def symbol(ident: str, kind: str, name: str = "") -> str:
    """A module-level symbol: `<ident>___<kind>_<name>` (kind: m, t, d, or x<n>)."""
    if not re.fullmatch(r"[a-z][a-z0-9]*", kind):
        raise AssertionError(f"bad symbol kind {kind!r}")
    if name and not _IDENT.match(name):
        raise NamingError(f"not an identifier: {name!r}")
    return f"{ident}___{kind}_{name}" if name else f"{ident}___{kind}"


_PATH_PART = re.compile(r"[a-z][a-z0-9_]*\Z", re.ASCII)


def module_parts(relpath: str) -> list[str]:
    """`torch/nn/modules/linear.yaml` -> ['torch', 'nn', 'modules', 'linear'].

    Parts that are not plain lowercase identifiers (or are keywords) are mapped to
    `m_<hex>` from their sha256, so no path text of a rule file reaches a file name unchecked.
    """
    import hashlib

    pieces = relpath.replace("\\", "/").split("/")
    stem = pieces[-1].rsplit(".", 1)[0] if "." in pieces[-1] else pieces[-1]
    out = []
    for piece in [*pieces[:-1], stem]:
        if _PATH_PART.match(piece) and not keyword.iskeyword(piece) and len(piece) <= 64:
            out.append(piece)
        else:
            out.append("m_" + hashlib.sha256(piece.encode("utf-8", "surrogatepass")).hexdigest()[:16])
    return out
