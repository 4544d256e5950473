"""Options shared by `eval` and `verify`: strict sweep lists, choices with did-you-mean.

Every workload option is one `SweepOption` row in WORKLOAD_OPTIONS: adding an option (say
`--mode`) is one line there, and `workloads()` sweeps over it like the others. Values must be
given in full: an empty item (`128,,256`), an unknown name or a non-integer is a usage error
that names the choices.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Sequence

from lm_predictor.data.versions import PINS
from lm_predictor.workload import ATTN_IMPLEMENTATIONS, DTYPE_BYTES

DEFAULT_DEPTH = 3  # module tree depth when a tree is printed


def did_you_mean(word: str, choices: Sequence[str], cutoff: float = 0.6) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _items(text: str) -> list[str]:
    """'a,b' -> ['a', 'b']; an empty item is refused."""
    items = [part.strip() for part in text.split(",")]
    if any(not item for item in items):
        raise argparse.ArgumentTypeError(f"empty item in {text!r}; give values separated by single commas, e.g. 128,256")
    return items


def _integer(item: str) -> int:
    """'4096', '4_096' or '4e3' -> 4096; anything that is not a whole number is refused."""
    try:
        value = Decimal(item.replace("_", ""))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {item!r}")
    if value.adjusted() > 30:  # far past every limit; keeps int() of '1e999999' cheap
        raise argparse.ArgumentTypeError(f"{item!r} is far past any workload limit (see limits.py)")
    return int(value)


def int_list(text: str) -> list[int]:
    """'128,1024' -> [128, 1024] (argparse type)."""
    return [_integer(item) for item in _items(text)]


def choice_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: a comma list of names, each one of `choices`."""

    def parse(text: str) -> list[str]:
        items = _items(text)
        for item in items:
            if item not in choices:
                raise argparse.ArgumentTypeError(f"unknown {item!r}{did_you_mean(item, choices)}; choose from {', '.join(choices)}")
        return items

    parse.__name__ = "choice list"  # argparse names the type in some messages
    return parse


def path_list(text: str) -> list[str]:
    """'a.yaml,b/' -> ['a.yaml', 'b/'] (argparse type for repeatable path options)."""
    return _items(text)


@dataclass(frozen=True)
class SweepOption:
    """A workload option: each value is a comma list, and the sweep is their product."""

    flag: str
    parse: Callable[[str], list]
    default: list
    help: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


WORKLOAD_OPTIONS: list[SweepOption] = [
    SweepOption("--batch", int_list, [1], "batch size(s), e.g. 1,8"),
    SweepOption("--seq-len", int_list, [128], "new tokens per sequence, e.g. 128,1024"),
    SweepOption("--past-len", int_list, [0], "tokens already in the KV cache (decode: --seq-len 1 --past-len N)"),
    SweepOption("--dtype", choice_list(tuple(DTYPE_BYTES)), ["float32"], " | ".join(DTYPE_BYTES)),
    SweepOption("--transformers", choice_list(tuple(PINS)), [None], "transformers pin(s) to read (default: the config's transformers_version picks; docs/transformers-versions.md)"),
    SweepOption("--attn", choice_list(ATTN_IMPLEMENTATIONS), ["eager"], "attention path as transformers runs it: " + " | ".join(ATTN_IMPLEMENTATIONS) + " (docs/latency.md)"),
]


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    """CONFIG and the workload options; each option accepts a comma-separated sweep."""
    parser.add_argument("config", metavar="CONFIG", help="config.json, a directory holding one, a bundled name, or a cached hub id")
    for option in WORKLOAD_OPTIONS:
        parser.add_argument(option.flag, type=option.parse, default=option.default, help=option.help)


def workloads(args: argparse.Namespace) -> list[dict]:
    """Every workload of the sweep, as keyword arguments of predict(), in option order."""
    dests = [option.dest for option in WORKLOAD_OPTIONS]
    return [dict(zip(dests, values)) for values in itertools.product(*(getattr(args, dest) for dest in dests))]


def add_rules_options(parser: argparse.ArgumentParser) -> None:
    """--rules adds rule files to the shipped library; --rules-only replaces it."""
    parser.add_argument("--rules", action="extend", type=path_list, default=[], metavar="PATH",
                        help="rule files or directories added to the shipped library; theirs win on a name clash (repeatable, or a comma list)")
    parser.add_argument("--rules-only", action="extend", type=path_list, default=[], metavar="PATH",
                        help="rule files or directories used instead of the shipped library")
