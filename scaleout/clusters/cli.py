"""The ``scaleout cluster|job|submit|emr`` subcommands (wired into :mod:`scaleout.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PASSTHROUGH = ("job", "submit", "emr")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_cluster(args: argparse.Namespace) -> int:
    from . import down, status, up

    if args.action == "up":
        if args.engine is None:
            args.engine = "dask"
        options: dict[str, Any] = {"cores": args.cores, "timeout": args.timeout}
        if args.memory:
            options["memory"] = args.memory
        if args.port is not None:
            options["port"] = args.port
        if args.ui_port is not None:
            options["ui_port"] = args.ui_port
        state = up(args.engine, args.workers, **options)
        _print_json(state if args.json else _summary(state))
        return 0
    if args.action == "status":
        states = status(args.engine)
        if args.json:
            _print_json(states)
        elif not states:
            print("no cluster is up")
        for state in states if not args.json else []:
            print(_format(state))
        return 0
    stopped = down(args.engine)
    if not stopped:
        print("no cluster to stop")
    for item in stopped:
        pids = ", ".join(map(str, item["stopped"])) or "none alive"
        print(f"stopped {item['engine']} cluster {item['address']} (pids: {pids})")
    return 0


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "engine": state["engine"],
        "address": state["address"],
        "dashboard": state["dashboard"],
        "pids": [p["pid"] for p in state["processes"]],
        "logs": [p["log"] for p in state["processes"]],
        "state_file": state.get("state_file"),
    }


def _format(state: dict[str, Any]) -> str:
    lines = [f"{state['engine']}: {state['address']}  dashboard {state['dashboard']}"]
    for p in state["processes"]:
        alive = "alive" if p.get("alive") else "DEAD"
        lines.append(f"  {p['role']:<10} pid {p['pid']:<8} {alive:<6} log {p['log']}")
    return "\n".join(lines)


def cmd_job(args: argparse.Namespace) -> int:
    from ..jobs import main as job_main

    return job_main(args.extra)


def cmd_submit(args: argparse.Namespace) -> int:
    from ..cli import parse_params
    from ..jobs.submit import submit

    conf = {k: str(v) for k, v in parse_params(args.conf or []).items()}
    return submit(args.master, args.extra, deploy_mode=args.deploy_mode, conf=conf)


def cmd_emr(args: argparse.Namespace) -> int:
    from .. import emr

    if args.action == "create-cluster":
        if args.extra:
            raise _unknown(args.extra)
        request = emr.cluster_request(
            args.name,
            args.s3_bucket,
            log_uri=args.log_uri,
            release_label=args.release_label,
            core_nodes=args.core_nodes,
            instance_type=args.instance_type,
            pip_spec=args.pip_spec,
        )
        if args.dry_run:
            _print_json(request)
            return 0
        _print_json({"ClusterId": emr.create_cluster(request, args.region)})
        return 0
    if args.action == "upload":
        if args.extra:
            raise _unknown(args.extra)
        if args.dry_run:
            _print_json(emr.asset_urls(args.s3_bucket))
            return 0
        _print_json(emr.upload_assets(args.s3_bucket))
        return 0
    step = emr.step_request(args.s3_bucket, args.extra, name=args.step_name)
    if args.dry_run:
        _print_json({"JobFlowId": args.cluster_id or "<cluster-id>", "Steps": [step]})
        return 0
    if not args.cluster_id:
        from ..exceptions import ScaleoutError

        raise ScaleoutError("emr submit needs --cluster-id (or --dry-run)")
    _print_json(
        {"ClusterId": args.cluster_id, "StepId": emr.add_step(args.cluster_id, step, args.region)}
    )
    return 0


def _unknown(extra: list[str]) -> Exception:
    from ..exceptions import ScaleoutError

    return ScaleoutError(f"unrecognized arguments: {' '.join(extra)}")


def add_subcommands(sub: Any) -> None:
    """Add ``cluster``, ``job``, ``submit`` and ``emr`` to the ``scaleout`` parser."""
    cluster = sub.add_parser("cluster", help="start, inspect or stop a local Dask/Spark cluster")
    cluster.add_argument("action", choices=("up", "down", "status"))
    cluster.add_argument(
        "--engine",
        choices=("dask", "spark"),
        help="up: default dask; down/status: default every engine",
    )
    cluster.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    cluster.add_argument("--cores", type=int, default=1, help="cores/threads per worker")
    cluster.add_argument("--memory", help="memory per worker (default 2GiB dask, 1g spark)")
    cluster.add_argument(
        "--port", type=int, help="scheduler/master port (default 8786 dask, 7077 spark; 0: free)"
    )
    cluster.add_argument(
        "--ui-port",
        type=int,
        help="dashboard/master UI port (default 8787 dask, 8080 spark; 0: free)",
    )
    cluster.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for workers")
    cluster.add_argument("--json", action="store_true", help="print the full state as JSON")
    cluster.set_defaults(func=cmd_cluster)

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

    emr = sub.add_parser(
        "emr", help="upload the job files to S3, create an EMR cluster, submit a job step"
    )
    emr.add_argument("action", choices=("upload", "create-cluster", "submit"))
    emr.add_argument("--name", default="scaleout", help="cluster name")
    emr.add_argument("--s3-bucket", required=True, help="bucket with scaleout/ files")
    emr.add_argument("--log-uri", help="default s3://<bucket>/emr-logs/")
    emr.add_argument("--release-label", default="emr-7.5.0")
    emr.add_argument("--core-nodes", type=int, default=2)
    emr.add_argument("--instance-type", default="m5.xlarge")
    emr.add_argument("--pip-spec", default="scaleout[emr]", help="what bootstrap.sh pip-installs")
    emr.add_argument("--region", default="us-east-1")
    emr.add_argument("--cluster-id", help="submit: the target cluster (j-...)")
    emr.add_argument("--step-name", default="scaleout job")
    emr.add_argument("--dry-run", action="store_true", help="print the request, call nothing")
    emr.set_defaults(func=cmd_emr)


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; extra flags go to ``job``/``submit``/``emr submit`` as job flags."""
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args


def run_job_help() -> None:
    from ..jobs.spec import build_parser

    build_parser().print_help(sys.stdout)
