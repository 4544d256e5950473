"""Corpus inputs too big (or too strange) to commit, written at test time into a temporary dir.

Each generator writes one `generated/NAME` case of expected.tsv. They write the big files in
1 MiB chunks, so generating all of them costs well under a second of I/O, not memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from lm_predictor.limits import MAX_CONFIG_BYTES, MAX_RULE_FILE_BYTES, MAX_YAML_NODES

MIB = 1 << 20


def _repeat(path: Path, head: bytes, unit: bytes, size: int, tail: bytes = b"") -> None:
    """head + unit repeated until the file has `size` bytes (then tail)."""
    body = size - len(head) - len(tail)
    with open(path, "wb") as fh:
        fh.write(head)
        chunk = unit * max(1, MIB // len(unit))
        while body > 0:
            piece = chunk[:body]
            fh.write(piece)
            body -= len(piece)
        fh.write(tail)


def rules_50mb(path: Path) -> None:
    rule = b"  hostile.big.R%07d: {params: {x: int}, flops: 2 * $x}\n"
    with open(path, "wb") as fh:
        fh.write(b"rules:\n")
        written, i = 7, 0
        while written < 50 * 1000 * 1000:
            block = b"".join(rule % (i + k) for k in range(10_000))
            fh.write(block)
            written += len(block)
            i += 10_000


def rules_4mib_plus_1(path: Path) -> None:
    _repeat(path, b"rules:\n  hostile.R:\n    doc: >-\n", b"      padding padding padding\n", MAX_RULE_FILE_BYTES + 1)


def formula_1mb(path: Path) -> None:
    _repeat(path, b"rules:\n  hostile.R:\n    flops: \"", b"1 + ", 1_000_000, b"1\"\n")


def formula_3mb_block(path: Path) -> None:
    _repeat(path, b"rules:\n  hostile.R:\n    flops: >-\n", b"      1 + 1 + 1 + 1 + 1 +\n", 3 * MIB, b"      1\n")


def formula_nesting_100000(path: Path) -> None:
    path.write_bytes(b"rules:\n  hostile.R:\n    flops: \"" + b"(" * 100_000 + b"1" + b")" * 100_000 + b"\"\n")


def formula_minus_100000(path: Path) -> None:
    path.write_bytes(b"rules:\n  hostile.R:\n    flops: \"" + b"-" * 100_000 + b"1\"\n")


def yaml_nesting_100000(path: Path) -> None:
    path.write_bytes(b"rules: " + b"[" * 100_000 + b"]" * 100_000 + b"\n")


def yaml_nodes_200001(path: Path) -> None:
    path.write_bytes(b"rules:\n  hostile.R:\n    aliases: [" + b"a, " * MAX_YAML_NODES + b"a]\n    flops: 1\n")


def yaml_many_rules(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.write(b"rules:\n")
        for i in range(70_000):
            fh.write(b"  hostile.many.R%d: {flops: 1}\n" % i)


def config_100mb(path: Path) -> None:
    _repeat(path, b'{"model_type": "llama", "padding": "', b"x", 100 * 1000 * 1000, b'"}\n')


def config_8mib_plus_1(path: Path) -> None:
    _repeat(path, b'{"model_type": "llama", "padding": "', b"x", MAX_CONFIG_BYTES + 1, b'"}\n')


def config_nesting_100000(path: Path) -> None:
    path.write_bytes(b'{"model_type": "llama", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")


def config_7mib_strings(path: Path) -> None:
    _repeat(path, b'{"model_type": "llama", "hidden_size": -4096, "padding": "', b"0123456789abcdef", 7 * MIB, b'"}\n')


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_to_dev_zero(path: Path) -> None:
    os.symlink("/dev/zero", path)  # endless bytes: must be refused, not read


def directory_with_dev_zero_config(path: Path) -> None:
    path.mkdir()
    os.symlink("/dev/zero", path / "config.json")


GENERATORS: dict[str, Callable[[Path], None]] = {
    "rules_50mb.yaml": rules_50mb,
    "rules_4mib_plus_1.yaml": rules_4mib_plus_1,
    "formula_1mb.yaml": formula_1mb,
    "formula_3mb_block.yaml": formula_3mb_block,
    "formula_nesting_100000.yaml": formula_nesting_100000,
    "formula_minus_100000.yaml": formula_minus_100000,
    "yaml_nesting_100000.yaml": yaml_nesting_100000,
    "yaml_nodes_200001.yaml": yaml_nodes_200001,
    "yaml_many_rules.yaml": yaml_many_rules,
    "config_100mb.json": config_100mb,
    "config_8mib_plus_1.json": config_8mib_plus_1,
    "config_nesting_100000.json": config_nesting_100000,
    "config_7mib_strings.json": config_7mib_strings,
    "fifo.yaml": fifo,
    "fifo_config.json": fifo,
    "dev_zero.yaml": symlink_to_dev_zero,
    "dev_zero_config_dir": directory_with_dev_zero_config,
}

def generate(name: str, directory: Path) -> Path:
    """Write generated case `name` under `directory` (once) and return its path."""
    path = directory / name
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        GENERATORS[name](path)
    return path
