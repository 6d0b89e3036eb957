"""The ``scaleout`` command line: the parser and :func:`main`.

One module per command group, each with an ``add_commands(sub)`` that adds its
subcommands to the parser:

- :mod:`.fit`: ``fit``, ``predict``, ``explain``
- :mod:`.demo`: ``demo``
- :mod:`.bench`: ``bench``
- :mod:`.cluster`: ``cluster up | status | down``
- :mod:`.jobs`: ``job``, ``submit``
- :mod:`.emr`: ``emr upload | create-cluster | submit``

The command line is the top layer: nothing else in scaleout imports it (an
import-linter contract checks this), and the training job that spark-submit
runs (:mod:`scaleout.jobs`) does not need it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._cli_args import parse_params
from .._version import __version__
from . import bench, cluster, demo, emr, fit, jobs
from ._errors import run_reporting_errors
from .fit import algorithm_names

__all__ = ["algorithm_names", "build_parser", "main", "parse", "parse_params"]

#: Commands whose unknown flags are passed on to the job as its own flags.
PASSTHROUGH = jobs.PASSTHROUGH + emr.PASSTHROUGH


class _Parser(argparse.ArgumentParser):
    """``scaleout --help`` ends with which algorithm runs on which installed engine."""

    def format_help(self) -> str:
        from ..engines import format_support_matrix

        matrix = format_support_matrix()
        return f"{super().format_help()}\nalgorithms by engine (installed engines):\n{matrix}\n"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``scaleout`` command."""
    parser = _Parser(
        prog="scaleout", description="Fit scikit-learn models in memory, out of core or on Spark."
    )
    parser.add_argument("--version", action="version", version=f"scaleout {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (fit, demo, bench, cluster, jobs, emr):
        group.add_commands(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; extra flags go to ``job``/``submit``/``emr submit`` as job flags."""
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scaleout`` console script.

    Returns
    -------
    int
        The command's exit code: 0 on success; 2 with one line
        ``scaleout: error: <message>`` for a scaleout error (bad input, an
        output that cannot be written, ...); 1 with one line
        ``scaleout: internal error: ...`` naming the file that holds the full
        traceback for any other exception; 130 on Ctrl-C and 143 on SIGTERM,
        after the temporary files of the run are removed (see :mod:`._errors`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(build_parser(), argv)
    return run_reporting_errors(lambda: args.func(args), argv)
