"""``scaleout job | submit``: a training job here, or on Spark through spark-submit."""

from __future__ import annotations

import argparse
from typing import Any

from .._cli_args import parse_params

__all__ = ["PASSTHROUGH", "add_commands"]

#: Commands whose unknown flags are the job's own flags (``scaleout job --input ...``).
PASSTHROUGH = ("job", "submit")


def cmd_job(args: argparse.Namespace) -> int:
    from ..jobs import main as job_main

    return job_main(args.extra)


def cmd_submit(args: argparse.Namespace) -> int:
    from ..jobs.submit import submit

    conf = {k: str(v) for k, v in parse_params(args.conf or [], flag="--conf").items()}
    return submit(args.master, args.extra, deploy_mode=args.deploy_mode, conf=conf)


def add_commands(sub: Any) -> None:
    """Add ``job`` and ``submit`` to the ``scaleout`` parser."""
    job = sub.add_parser(
        "job",
        help="run a training job (flags of `python -m scaleout.jobs --help`)",
        add_help=False,
    )
    job.set_defaults(func=cmd_job)

    submit = sub.add_parser("submit", help="run a training job on Spark with spark-submit")
    submit.add_argument("--master", required=True, help="spark://host:port, yarn, local[*]")
    submit.add_argument("--deploy-mode", default="client", choices=("client", "cluster"))
    submit.add_argument("--conf", action="append", metavar="KEY=VALUE", help="extra Spark conf")
    submit.set_defaults(func=cmd_submit)
