"""A training job: what to fit, on which data, where to write the model and the metrics."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._cli_args import parse_params, split_names
from ..exceptions import ScaleoutError

SPEC_KEYS = (
    "algorithm",
    "params",
    "pipeline",
    "input",
    "target",
    "features",
    "output",
    "metrics",
    "backend",
    "storage_options",
)
BACKENDS = ("auto", "sklearn", "dask", "spark")


@dataclass
class JobSpec:
    """One training job (the JSON spec file has the same keys).

    Attributes
    ----------
    algorithm : str or None
        ``logistic_regression``, ``LinearRegression``, ``kmeans``, ...; None
        when ``pipeline`` names the estimator.
    input : str or list of str
        Parquet/CSV/.npy path, directory, glob or fsspec URL (``s3://...``), or a
        list of them of one format; the format follows
        :func:`scaleout.data.open_path` (the file suffix decides).
    output : str
        Where to write the fitted model (``.scaleout``): a path or an fsspec URL.
    params : dict
        Estimator parameters.
    target : str, optional
        Target column (supervised algorithms).
    features : list of str, optional
        Feature columns (default: every column but the target).
    metrics : str, optional
        Where to write the metrics JSON: a path or an fsspec URL.
    backend : str
        ``auto``, ``sklearn``, ``dask`` or ``spark``.
    storage_options : dict
        fsspec options for every URL of the job (e.g. ``{"anon": false}`` or
        ``{"client_kwargs": {"endpoint_url": ...}}`` for S3); credentials
        and endpoints otherwise come from the environment.
    pipeline : dict or str, optional
        Instead of ``algorithm`` and ``params``: a pipeline spec (see
        :mod:`scaleout.pipeline_spec`), the document itself or the path or URL
        of a ``.json`` / ``.yaml`` file. The job's ``backend`` overrides the
        document's unless it is ``auto``.
    """

    algorithm: str | None
    input: str | list[str]
    output: str
    params: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    features: list[str] | None = None
    metrics: str | None = None
    backend: str = "auto"
    storage_options: dict[str, Any] = field(default_factory=dict)
    pipeline: dict[str, Any] | str | None = None


def build_parser() -> argparse.ArgumentParser:
    """The job's argument parser (also used to validate EMR steps)."""
    p = argparse.ArgumentParser(
        prog="scaleout job", description="Fit one scaleout estimator and save the model."
    )
    p.add_argument(
        "--spec",
        help="JSON job spec file, or the JSON object itself (keys: " + ", ".join(SPEC_KEYS) + ")",
    )
    p.add_argument("--algorithm", help="e.g. logistic_regression, linear_regression, kmeans")
    p.add_argument(
        "--pipeline",
        metavar="SPEC",
        help="instead of --algorithm: a pipeline spec (steps, columns, parameters) as a "
        ".json/.yaml/.yml file or URL, or the JSON object itself",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="estimator parameter, repeatable (values parsed as JSON)",
    )
    p.add_argument(
        "--input",
        action="append",
        metavar="PATH",
        help="Parquet/CSV/.npy file, directory, glob or URL; repeat for several files of one "
        "format (the file suffix decides the format)",
    )
    p.add_argument("--target", help="target column (supervised algorithms)")
    p.add_argument("--features", help="comma-separated feature columns")
    p.add_argument("--output", help="model file to write (.scaleout)")
    p.add_argument("--metrics", help="metrics JSON file to write")
    p.add_argument("--backend", choices=BACKENDS, help="engine (default: auto)")
    p.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fsspec option for the job's URLs (s3://...), repeatable (values parsed as JSON)",
    )
    return p


def _load_spec_file(path: str) -> dict[str, Any]:
    """The job spec of ``--spec``: a JSON file, or the JSON object itself (``{...}``), which
    is how ``scaleout submit`` and ``scaleout emr submit`` ship a spec file to the cluster."""
    inline = path.lstrip().startswith("{")
    name = "given inline" if inline else repr(path)
    if not inline and not os.path.exists(path):
        raise ScaleoutError(f"job spec file {path!r} does not exist")
    try:
        if inline:
            spec = json.loads(path)
        else:
            with open(path, encoding="utf-8") as fh:
                spec = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ScaleoutError(f"job spec {name} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise ScaleoutError(f"job spec {name} must be a JSON object")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ScaleoutError(f"job spec {name}: unknown keys {unknown}; valid: {list(SPEC_KEYS)}")
    return spec


def _input(paths: list[str]) -> str | list[str]:
    """One ``--input`` is a path; several are a list of files."""
    return paths[0] if len(paths) == 1 else list(paths)


def parse_job_args(argv: Sequence[str]) -> JobSpec:
    """Parse job flags (and an optional ``--spec`` file; flags override its keys).

    Raises
    ------
    ScaleoutError
        A missing required setting, a malformed ``--param``, a bad spec file.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        raise ScaleoutError(f"bad job arguments: {' '.join(argv)}") from exc
    spec: dict[str, Any] = _load_spec_file(args.spec) if args.spec else {}
    params = dict(spec.get("params") or {})
    params.update(parse_params(args.param))
    storage_options = spec.get("storage_options") or {}
    if not isinstance(storage_options, dict):
        raise ScaleoutError("job spec key 'storage_options' must be a JSON object")
    storage_options = dict(storage_options)
    storage_options.update(parse_params(args.storage_option, flag="--storage-option"))
    features = split_names(args.features) or spec.get("features")
    if isinstance(features, str):
        features = split_names(features)
    if args.algorithm or args.pipeline:  # flags override the spec's keys
        algorithm, pipeline = args.algorithm, args.pipeline
        if algorithm and pipeline:
            raise ScaleoutError("job takes --algorithm or --pipeline, not both")
    else:
        algorithm, pipeline = spec.get("algorithm"), spec.get("pipeline")
        if algorithm and pipeline:
            raise ScaleoutError("job spec has both 'algorithm' and 'pipeline'; keep one")
    if pipeline is not None and params:
        raise ScaleoutError(
            "job params / --param set one algorithm's parameters; with a pipeline, put them "
            "in the pipeline spec"
        )
    merged = {
        "algorithm": algorithm,
        "input": _input(args.input) if args.input else spec.get("input"),
        "output": args.output or spec.get("output"),
        "target": args.target or spec.get("target"),
        "metrics": args.metrics or spec.get("metrics"),
        "backend": args.backend or spec.get("backend") or "auto",
    }
    missing = [f"--{k}" for k in ("input", "output") if not merged[k]]
    if not algorithm and pipeline is None:
        missing.insert(0, "--algorithm (or --pipeline)")
    if missing:
        raise ScaleoutError("job needs " + ", ".join(missing) + " (or the keys in --spec)")
    if not isinstance(merged["input"], str) and not (
        isinstance(merged["input"], list) and all(isinstance(p, str) for p in merged["input"])
    ):
        raise ScaleoutError(
            f"job input must be a path or a list of paths, got {merged['input']!r}"
        )
    if merged["backend"] not in BACKENDS:
        raise ScaleoutError(f"unknown backend {merged['backend']!r}; expected one of {BACKENDS}")
    if pipeline is not None:
        pipeline = _load_pipeline(pipeline, storage_options)
    return JobSpec(
        params=params,
        features=features,
        storage_options=storage_options,
        pipeline=pipeline,
        **merged,
    )


def _load_pipeline(source: Any, storage_options: dict[str, Any]) -> dict[str, Any]:
    """The pipeline document of a job (read now: a missing or malformed file fails here)."""
    from ..pipeline_spec import load_pipeline_spec

    if not isinstance(source, (str, dict)):
        raise ScaleoutError(
            "job spec key 'pipeline' must be a pipeline spec (a JSON object) or the path or "
            f"URL of one, got {type(source).__name__}"
        )
    return load_pipeline_spec(source, storage_options=storage_options or None)


def _compact(doc: Any, what: str) -> str:
    try:
        return json.dumps(doc, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ScaleoutError(f"{what} cannot be sent to the cluster as JSON: {exc}") from None


def _inline_pipeline(source: Any) -> Any:
    """A local pipeline spec file's document; a document, inline text or URL unchanged."""
    from .. import storage
    from ..pipeline_spec import is_inline_spec, load_pipeline_spec

    if not isinstance(source, str) or is_inline_spec(source) or storage.is_url(source):
        return source
    return load_pipeline_spec(source)


def inline_spec_files(job_args: Sequence[str]) -> list[str]:
    """The job flags with the local files the job would read put inline, for a cluster.

    ``--spec FILE`` becomes ``--spec '{...}'`` (the file's JSON object, with a
    local ``pipeline`` file inlined into it) and ``--pipeline FILE`` becomes
    ``--pipeline '{...}'``: ``scaleout submit`` and ``scaleout emr submit``
    send these, so the driver (on a cluster node or EMR) needs no local file.
    URLs (``s3://...``) stay: the driver reads them.

    Raises
    ------
    ScaleoutError
        A missing or malformed file (before anything is submitted).
    """
    args = [str(a) for a in job_args]
    out: list[str] = []
    i = 0
    while i < len(args):
        flag, eq, value = args[i].partition("=")
        if flag not in ("--spec", "--pipeline") or (not eq and i + 1 >= len(args)):
            out.append(args[i])
            i += 1
            continue
        if not eq:
            value = args[i + 1]
        i += 1 if eq else 2
        if flag == "--pipeline":
            doc = _inline_pipeline(value)
            text = doc if isinstance(doc, str) else _compact(doc, f"pipeline spec {value!r}")
            out += [flag, text]
        else:
            spec = _load_spec_file(value)
            if "pipeline" in spec:
                spec["pipeline"] = _inline_pipeline(spec["pipeline"])
            out += [flag, _compact(spec, f"job spec {value!r}")]
    return out
