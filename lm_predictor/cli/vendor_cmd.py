"""`lmpredict vendor [--offline]`: fetch and check the pinned torch / transformers sources."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline", action="store_true", help="use only release files already in the download cache")
    parser.add_argument("--root", type=Path, default=None, help="project root holding third_party/ (default: the checkout)")


def run(args: argparse.Namespace) -> int:
    from lm_predictor.resources import repo_root
    from lm_predictor.vendor import VendorError, vendor

    root = args.root or repo_root()
    try:
        for message in vendor(root, offline=args.offline):
            print(message)
    except VendorError as err:
        print(f"lmpredict vendor: error: {err}", file=sys.stderr)
        return 2
    return 0
