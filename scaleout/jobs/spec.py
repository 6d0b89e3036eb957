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
    algorithm : str
        ``logistic_regression``, ``LinearRegression``, ``kmeans``, ...
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
    """

    algorithm: str
    input: str | list[str]
    output: str
    params: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    features: list[str] | None = None
    metrics: str | None = None
    backend: str = "auto"
    storage_options: dict[str, Any] = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    """The job's argument parser (also used to validate EMR steps)."""
    p = argparse.ArgumentParser(
        prog="scaleout job", description="Fit one scaleout estimator and save the model."
    )
    p.add_argument("--spec", help="JSON job spec (keys: " + ", ".join(SPEC_KEYS) + ")")
    p.add_argument("--algorithm", help="e.g. logistic_regression, linear_regression, kmeans")
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
    if not os.path.exists(path):
        raise ScaleoutError(f"job spec file {path!r} does not exist")
    try:
        with open(path, encoding="utf-8") as fh:
            spec = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ScaleoutError(f"job spec {path!r} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise ScaleoutError(f"job spec {path!r} must be a JSON object")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ScaleoutError(f"job spec {path!r}: unknown keys {unknown}; valid: {list(SPEC_KEYS)}")
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
    merged = {
        "algorithm": args.algorithm or spec.get("algorithm"),
        "input": _input(args.input) if args.input else spec.get("input"),
        "output": args.output or spec.get("output"),
        "target": args.target or spec.get("target"),
        "metrics": args.metrics or spec.get("metrics"),
        "backend": args.backend or spec.get("backend") or "auto",
    }
    missing = [k for k in ("algorithm", "input", "output") if not merged[k]]
    if missing:
        raise ScaleoutError(
            "job needs " + ", ".join(f"--{k}" for k in missing) + " (or the keys in --spec)"
        )
    if not isinstance(merged["input"], str) and not (
        isinstance(merged["input"], list) and all(isinstance(p, str) for p in merged["input"])
    ):
        raise ScaleoutError(
            f"job input must be a path or a list of paths, got {merged['input']!r}"
        )
    if merged["backend"] not in BACKENDS:
        raise ScaleoutError(f"unknown backend {merged['backend']!r}; expected one of {BACKENDS}")
    return JobSpec(params=params, features=features, storage_options=storage_options, **merged)
