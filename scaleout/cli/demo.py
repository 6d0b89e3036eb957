"""``scaleout demo``: the six classic scikit-learn demos on every engine."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["add_commands"]


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import format_table, run_demos

    backends = args.backends.split(",") if args.backends else None
    results = run_demos(
        backends,
        mnist_dir=args.mnist_dir,
        plot_dir=args.plot,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(format_table(results))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``demo`` to the ``scaleout`` parser."""
    demo = sub.add_parser("demo", help="the six classic scikit-learn demos on every engine")
    demo.add_argument("--backends", help="comma-separated engines (default: all installed)")
    demo.add_argument(
        "--mnist-dir",
        default=os.environ.get("SCALEOUT_MNIST_DIR"),
        help="MNIST IDX directory (default $SCALEOUT_MNIST_DIR; "
        "falls back to scikit-learn's digits)",
    )
    demo.add_argument("--plot", metavar="DIR", help="write PNG plots into DIR")
    demo.set_defaults(func=cmd_demo)
