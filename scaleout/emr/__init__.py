"""Run scaleout on Amazon EMR: build and send ``run_job_flow`` / ``add_job_flow_steps``.

The requests come from the templates in ``scaleout/emr/resources/`` (``cluster.json``,
``step.json``) with their ``${PLACEHOLDERS}`` filled from arguments; every
step's spark-submit arguments are checked by
:func:`scaleout.jobs.validate.validate_spark_submit_args` before sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..jobs.validate import validate_spark_submit_args
from .templates import fill, load_template, template_dir

__all__ = [
    "add_step",
    "cluster_request",
    "create_cluster",
    "fill",
    "load_template",
    "step_request",
    "template_dir",
    "upload_assets",
    "validate_spark_submit_args",
]

DEFAULT_RELEASE = "emr-7.5.0"
DEFAULT_INSTANCE_TYPE = "m5.xlarge"


def cluster_request(
    name: str,
    s3_bucket: str,
    *,
    log_uri: str | None = None,
    release_label: str = DEFAULT_RELEASE,
    core_nodes: int = 2,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    pip_spec: str = "scaleout[emr]",
    service_role: str = "EMR_DefaultRole",
    job_flow_role: str = "EMR_EC2_DefaultRole",
) -> dict[str, Any]:
    """The ``run_job_flow`` keyword arguments, from the ``cluster.json`` template.

    Parameters
    ----------
    name : str
        Cluster name.
    s3_bucket : str
        Bucket holding ``scaleout/bootstrap.sh`` (and the job files).
    log_uri : str, optional
        Default ``s3://<bucket>/emr-logs/``.
    release_label, core_nodes, instance_type : str, int, str
        EMR release, number of CORE nodes, instance type of every node.
    pip_spec : str
        What the bootstrap action installs with pip on every node; the default
        ``scaleout[emr]`` brings ``s3fs``, which jobs need to read and write
        ``s3://`` through fsspec.
    service_role, job_flow_role : str
        IAM roles.

    Returns
    -------
    dict
    """
    if core_nodes < 1:
        raise ValueError(f"core_nodes must be >= 1, got {core_nodes}")
    return fill(
        load_template("cluster.json"),
        {
            "NAME": name,
            "S3_BUCKET": s3_bucket,
            "LOG_URI": log_uri or f"s3://{s3_bucket}/emr-logs/",
            "RELEASE_LABEL": release_label,
            "CORE_NODES": int(core_nodes),
            "INSTANCE_TYPE": instance_type,
            "PIP_SPEC": pip_spec,
            "SERVICE_ROLE": service_role,
            "JOB_FLOW_ROLE": job_flow_role,
        },
    )


def step_request(
    s3_bucket: str, job_args: Sequence[str], *, name: str = "scaleout job"
) -> dict[str, Any]:
    """One ``add_job_flow_steps`` step, from the ``step.json`` template; validated.

    Raises
    ------
    ScaleoutError
        When the spark-submit arguments are malformed.
    """
    step = fill(
        load_template("step.json"),
        {"S3_BUCKET": s3_bucket, "JOB_ARGS": list(job_args), "STEP_NAME": name},
    )
    validate_spark_submit_args(step["HadoopJarStep"]["Args"])
    return step


def create_cluster(request: dict[str, Any], region: str = "us-east-1") -> str:
    """Send ``run_job_flow``; return the new cluster id."""
    import boto3

    return boto3.client("emr", region_name=region).run_job_flow(**request)["JobFlowId"]


def add_step(cluster_id: str, step: dict[str, Any], region: str = "us-east-1") -> str:
    """Validate and send one step with ``add_job_flow_steps``; return its step id."""
    import boto3

    validate_spark_submit_args(step["HadoopJarStep"]["Args"])
    response = boto3.client("emr", region_name=region).add_job_flow_steps(
        JobFlowId=cluster_id, Steps=[step]
    )
    return response["StepIds"][0]


def asset_urls(s3_bucket: str) -> dict[str, str]:
    """What :func:`upload_assets` uploads: local file -> ``s3://`` URL (the zip is built then)."""
    from ..jobs.submit import JOB_SCRIPT

    base = f"s3://{s3_bucket}/scaleout"
    return {
        str(template_dir() / "bootstrap.sh"): f"{base}/bootstrap.sh",
        "scaleout.zip (built from the installed package)": f"{base}/scaleout.zip",
        str(JOB_SCRIPT): f"{base}/jobs/__main__.py",
    }


def upload_assets(
    s3_bucket: str, *, storage_options: dict[str, Any] | None = None
) -> dict[str, str]:
    """Upload what the cluster and step templates expect under ``s3://<bucket>/scaleout/``.

    ``bootstrap.sh`` (the bootstrap action), ``scaleout.zip`` (the installed
    package's Python files, for ``--py-files``) and ``jobs/__main__.py`` (the
    application spark-submit runs), through fsspec (``s3fs``).

    Parameters
    ----------
    s3_bucket : str
        An existing bucket.
    storage_options : dict, optional
        Passed to ``s3fs`` (endpoint, credentials); default: the environment.

    Returns
    -------
    dict
        Local file -> the ``s3://`` URL it was uploaded to.

    Raises
    ------
    StorageError
        When s3fs is missing, or the bucket cannot be written.
    """
    import tempfile

    from .. import storage
    from ..jobs.submit import JOB_SCRIPT, build_zip

    fs, _ = storage.filesystem(f"s3://{s3_bucket}", storage_options)
    uploaded: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="scaleout-emr-") as tmp:
        files = {
            str(template_dir() / "bootstrap.sh"): "bootstrap.sh",
            str(build_zip(tmp)): "scaleout.zip",
            str(JOB_SCRIPT): "jobs/__main__.py",
        }
        for local, key in files.items():
            url = f"s3://{s3_bucket}/scaleout/{key}"
            with storage.storage_errors("writing", url):
                fs.put_file(local, url)
            uploaded[local] = url
    return uploaded
