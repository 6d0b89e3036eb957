"""``scaleout emr upload | create-cluster | submit``: run jobs on Amazon EMR."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..exceptions import ScaleoutError

__all__ = ["PASSTHROUGH", "add_commands"]

#: ``emr submit`` passes its unknown flags to the job (``--algorithm ... --input ...``).
PASSTHROUGH = ("emr",)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _unknown(extra: list[str]) -> ScaleoutError:
    return ScaleoutError(f"unrecognized arguments: {' '.join(extra)}")


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
    from ..jobs.spec import inline_spec_files

    # a local --spec / --pipeline file goes inline: the EMR driver has no such file
    step = emr.step_request(args.s3_bucket, inline_spec_files(args.extra), name=args.step_name)
    if args.dry_run:
        _print_json({"JobFlowId": args.cluster_id or "<cluster-id>", "Steps": [step]})
        return 0
    if not args.cluster_id:
        raise ScaleoutError("emr submit needs --cluster-id (or --dry-run)")
    _print_json(
        {"ClusterId": args.cluster_id, "StepId": emr.add_step(args.cluster_id, step, args.region)}
    )
    return 0


def add_commands(sub: Any) -> None:
    """Add ``emr`` to the ``scaleout`` parser."""
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
