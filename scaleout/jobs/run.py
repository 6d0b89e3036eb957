"""Run a :class:`~scaleout.jobs.spec.JobSpec`: read, fit, save the model, write metrics."""

from __future__ import annotations

import json
import os
import time
import warnings
from typing import Any

import numpy as np

from .. import storage
from .._config import get_config, set_config
from ..exceptions import ScaleoutError
from .spec import JobSpec


def _check_outputs(spec: JobSpec) -> None:
    """Fail before fitting when an output cannot be written: a missing or read-only
    local directory, or an output URL whose filesystem is unavailable (e.g. no s3fs)."""
    for path in (spec.output, spec.metrics):
        if path:
            storage.check_writable(path, spec.storage_options)


def read_input(spec: JobSpec, estimator: Any = None) -> Any:
    """The job's dataset, opened by :func:`scaleout.data.open_path` (the file suffix decides).

    The same rule as ``model.fit(path)`` and ``scaleout fit --data``: local
    paths and fsspec URLs alike, a file, directory, glob or list of files; a
    missing input or an unknown format is named before any row is read. A
    URL's rows are read through fsspec by the sklearn and dask engines, while
    the spark engine hands the file list to Spark (``s3://`` becomes
    ``s3a://``) after reading the Parquet footers.
    """
    from .._table import open_model_input

    return open_model_input(
        estimator,
        spec.input,
        spec.target,
        spec.features,
        storage_options=spec.storage_options or None,
    )


def _use_submitted_master() -> None:
    """Inside spark-submit, fit on the master spark-submit was given."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM: its conf is visible
    master = SparkConf().get("spark.master", None)
    if master and get_config()["spark_master"] != master:
        set_config(spark_master=master)


def build_estimator(spec: JobSpec) -> Any:
    """The (unfitted) estimator a job describes: its algorithm and params, or its pipeline.

    Raises
    ------
    ScaleoutError
        An unknown algorithm or parameter; for a pipeline, a
        :class:`~scaleout.pipeline_spec.PipelineSpecError` naming the place in
        the spec. Raised before any data is read.
    """
    if spec.pipeline is not None:
        from ..pipeline_spec import pipeline_from_spec

        return pipeline_from_spec(
            spec.pipeline,
            backend=None if spec.backend == "auto" else spec.backend,
            storage_options=spec.storage_options or None,
        )
    if not spec.algorithm:
        raise ScaleoutError("job needs an algorithm or a pipeline")
    from ..registry import estimator_class

    cls = estimator_class(spec.algorithm)
    params = dict(spec.params)
    params["backend"] = spec.backend
    valid = set(cls().get_params())
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ScaleoutError(
            f"{cls.__name__} has no parameter {unknown[0]!r}. Check the list of available "
            f"parameters with `{cls.__name__}().get_params().keys()`"
        )
    return cls(**params)


def training_score(model: Any, dataset: Any) -> tuple[str, float] | None:
    """The model's score on its training data, streamed batch by batch.

    Returns
    -------
    (name, value) or None
        ``accuracy`` (classifiers), ``r2`` (regressors), ``neg_inertia`` (KMeans),
        ``mean_log_likelihood`` (PCA); None when there is nothing to score.
    """
    from sklearn.base import is_classifier, is_regressor

    local = model.to_sklearn() if hasattr(model, "to_sklearn") else model
    kind = (
        "accuracy"
        if is_classifier(local)
        else "r2"
        if is_regressor(local)
        else "neg_inertia"
        if hasattr(local, "cluster_centers_")
        else "mean_log_likelihood"
        if hasattr(local, "components_")
        else None
    )
    if kind is None:
        return None
    n = 0
    total = 0.0
    sy = syy = sse = 0.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        for batch in dataset.iter_batches():
            n, total, sy, syy, sse = _accumulate(kind, local, batch, (n, total, sy, syy, sse))
    if n == 0:
        return None
    if kind == "r2":
        sst = syy - sy * sy / n
        return kind, 1.0 - sse / sst if sst > 0 else 0.0
    return kind, total if kind == "neg_inertia" else total / n


def _accumulate(
    kind: str, local: Any, batch: Any, acc: tuple[int, float, float, float, float]
) -> tuple[int, float, float, float, float]:
    n, total, sy, syy, sse = acc
    X = batch.X if hasattr(batch.X, "iloc") else np.asarray(batch.X)  # a raw table's frame
    rows = X.shape[0]
    if kind == "accuracy":
        total += float(np.sum(local.predict(X) == np.asarray(batch.y)))
    elif kind == "r2":
        y = np.asarray(batch.y, dtype=float)
        sse += float(np.sum((y - local.predict(X)) ** 2))
        sy += float(y.sum())
        syy += float((y**2).sum())
    elif kind == "neg_inertia":
        total += float(local.score(X))
    else:
        total += float(np.sum(local.score_samples(X)))
    n += rows
    return n, total, sy, syy, sse


def _pipeline_doc(model: Any, spec: JobSpec) -> Any:
    """The fitted pipeline as a spec (non-default parameters), for the metrics."""
    from ..pipeline_spec import PipelineSpecError, pipeline_to_spec

    try:
        return pipeline_to_spec(model)
    except PipelineSpecError:  # never fail a finished fit over its metrics
        return spec.pipeline


def run_job(spec: JobSpec) -> dict[str, Any]:
    """Fit the job's estimator, save the model, write the metrics.

    Parameters
    ----------
    spec : JobSpec
        The job.

    Returns
    -------
    dict
        The metrics: algorithm, backend, rows, seconds, passes, training score, paths
        (and, for a pipeline job, the pipeline spec).
    """
    estimator = build_estimator(spec)  # a bad algorithm, parameter or pipeline spec fails first
    _check_outputs(spec)
    if getattr(estimator, "backend", spec.backend) == "spark":
        _use_submitted_master()
    start = time.perf_counter()
    data = read_input(spec, estimator)  # footers only: a missing input fails here, before the fit
    model = estimator.fit(data)
    seconds = time.perf_counter() - start
    model.save(spec.output, storage_options=spec.storage_options or None)
    stats = dict(model.fit_stats_)
    metrics: dict[str, Any] = {
        "algorithm": type(model).__name__,
        "params": spec.params,
        **({"pipeline": _pipeline_doc(model, spec)} if spec.pipeline is not None else {}),
        "input": spec.input,
        "output": spec.output,
        "backend": stats.get("backend"),
        "rows": stats.get("rows"),
        "seconds": seconds,
        "passes": stats.get("passes"),
        "fit_stats": {k: v for k, v in stats.items() if not isinstance(v, dict)},
    }
    score = training_score(model, data)
    if score is not None:
        metrics["score_name"], metrics["training_score"] = score
    if spec.metrics:
        text = json.dumps(metrics, indent=2, default=str)
        storage.write_text(spec.metrics, text, spec.storage_options or None)
    return metrics
