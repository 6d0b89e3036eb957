"""The ``dask`` engine: exact out-of-core algorithms, on one machine or a cluster.

Every algorithm is an engine-neutral kernel written as passes over chunks
(:mod:`scaleout.kernels`, one module per algorithm); ``executor.py`` runs the
passes with Dask's threaded scheduler on this machine, or on a
``distributed`` cluster.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._config import get_config
from ...data import Batch
from ...exceptions import DataError, UnsupportedOnBackend
from ...kernels.passes import ChunkStore, Passes
from ..base import Backend, FitResult

if TYPE_CHECKING:
    from ...base import ScaleoutEstimator
    from ...data import Dataset
    from ...pipeline import Pipeline


@dataclass(frozen=True)
class Kernel:
    """Where an algorithm's out-of-core implementation lives."""

    module: str
    check: str
    fit: str
    options: tuple[tuple[str, Any], ...] = ()

    def _function(self, name: str) -> Any:
        module = importlib.import_module(self.module)
        return partial(getattr(module, name), **dict(self.options), backend="dask")

    def check_params(self, params: dict[str, Any]) -> None:
        self._function(self.check)(params)

    def run(self, passes: Passes, params: dict[str, Any]) -> dict[str, Any]:
        return self._function(self.fit)(passes, params)


KERNELS: dict[str, Kernel] = {
    "LinearRegression": Kernel(
        "scaleout.kernels.linear", "check_linear_params", "fit_linear_regression"
    ),
    "LogisticRegression": Kernel(
        "scaleout.kernels.logistic", "check_logistic_params", "fit_logistic_regression"
    ),
    "DecisionTreeClassifier": Kernel(
        "scaleout.kernels.tree", "check_tree_params", "fit_decision_tree", (("classifier", True),)
    ),
    "DecisionTreeRegressor": Kernel(
        "scaleout.kernels.tree",
        "check_tree_params",
        "fit_decision_tree",
        (("classifier", False),),
    ),
    "KMeans": Kernel("scaleout.kernels.kmeans", "check_kmeans_params", "fit_kmeans"),
    "PCA": Kernel("scaleout.kernels.pca", "check_pca_params", "fit_pca"),
}

_CLIENTS: dict[str, Any] = {}


def current_client() -> Any:
    """The cluster to run on: ``dask_scheduler`` from the config, else an active
    ``distributed.Client``, else None (this machine)."""
    address = get_config()["dask_scheduler"]
    if address in ("threads", "local"):
        return None
    if address:
        from distributed import Client

        client = _CLIENTS.get(address)
        if client is None or client.status != "running":
            client = _CLIENTS[address] = Client(address, set_as_default=False)
        return client
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _check_weights(sample_weight: Any, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of ``n_rows`` (a scalar is broadcast)."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        return np.full(n_rows, float(weights))
    if weights.shape != (n_rows,):
        raise DataError(
            f"sample_weight.shape == {weights.shape}, expected ({n_rows},): one weight per row"
        )
    if np.any(weights < 0):
        row = int(np.flatnonzero(weights < 0)[0])
        raise DataError(
            f"sample_weight must be non-negative; row {row} is {weights[row]}"
        )
    return weights


def open_passes(dataset: Dataset, sample_weight: Any = None) -> Passes:
    """Passes over ``dataset`` on the configured cluster, or on this machine.

    Parameters
    ----------
    dataset : Dataset
    sample_weight : array-like or scalar, optional
        One non-negative weight per row (checked against the row count before
        any pass).
    """
    from .executor import ClusterPasses, LocalPasses

    partitions = dataset.partitions(get_config()["dask_chunk_rows"])
    if not partitions:
        raise DataError(f"{dataset.source} has no rows: found array with 0 sample(s)")
    weights = _check_weights(sample_weight, sum(p.n_rows for p in partitions))
    client = current_client()
    if client is not None:
        return ClusterPasses(client, partitions, dataset.n_features, sample_weight=weights)
    return LocalPasses(
        partitions,
        dataset.n_features,
        cache=get_config()["dask_cache"],
        estimated_nbytes=dataset.estimated_nbytes,
        sample_weight=weights,
    )


def _transform_batch(step: Any, batch: Batch) -> Batch:
    return Batch(
        np.asarray(step.transform(np.asarray(batch.X))),
        batch.y,
        batch.source,
        batch.row_offset,
        batch.weights,
    )


class TransformedPasses(Passes):
    """The passes of a pipeline's later steps: chunks go through fitted steps first."""

    def __init__(self, inner: Passes, step: Any, n_features: int) -> None:
        super().__init__()
        self.inner, self.step = inner, step
        self.n_rows, self.n_features = inner.n_rows, n_features
        self.weighted = inner.weighted

    def expect_passes(self, n: int | None) -> None:
        """The plan of a later step is the inner passes' plan."""
        super().expect_passes(n)
        self.inner.expect_passes(n)

    def _map_reduce(self, fn: Any, combine: Any) -> Any:
        transform = partial(_transform_batch, self.step)
        return self.inner.map_reduce(
            partial(_compose, fn, transform), label="pipeline", combine=combine, with_store=True
        )

    def report(self, label: str, seconds: float) -> None:
        """The inner passes already report every pass."""

    def sample(self, n: int, random_state: int | None) -> Batch:
        return _transform_batch(self.step, self.inner.sample(n, random_state))


def _compose(fn: Any, transform: Any, batch: Batch, store: ChunkStore | None) -> Any:
    return fn(transform(batch), store)


class DaskBackend(Backend):
    """Out-of-core fits from chunks: exact algorithms, local or on a cluster."""

    name = "dask"

    def check_supported(self, estimator: ScaleoutEstimator) -> None:
        kernel = KERNELS.get(type(estimator).__name__)
        if kernel is None:
            raise UnsupportedOnBackend(
                f"{type(estimator).__name__} is not supported by backend 'dask'; "
                f"supported: {sorted(KERNELS)}"
            )
        kernel.check_params(estimator.get_params(deep=False))

    def fit(
        self, estimator: ScaleoutEstimator, dataset: Dataset, sample_weight: Any = None
    ) -> FitResult:
        start = time.perf_counter()
        passes = open_passes(dataset, sample_weight)
        try:
            state = self._fit_on(estimator, passes)
        finally:
            passes.close()
        return FitResult(state, self._stats(passes, start))

    def _fit_on(self, estimator: ScaleoutEstimator, passes: Passes) -> dict[str, Any]:
        state = KERNELS[type(estimator).__name__].run(passes, estimator.get_params(deep=False))
        if estimator._classifier:  # the kernels read the classes in their first pass
            estimator.check_fit_target(state["classes_"])
        return state

    def fit_pipeline(self, pipeline: Pipeline, dataset: Dataset, **fit_params: Any) -> FitResult:
        from ...base import ScaleoutEstimator

        if fit_params:
            raise UnsupportedOnBackend(
                f"Pipeline.fit({', '.join(fit_params)}=...) is not supported by backend 'dask'"
            )
        for name, step in pipeline.steps:
            if not isinstance(step, ScaleoutEstimator):
                raise UnsupportedOnBackend(
                    f"pipeline step {name!r} ({type(step).__name__}) is not a scaleout "
                    "estimator; backend 'dask' runs only scaleout estimators"
                )
        start = time.perf_counter()
        base = passes = open_passes(dataset)
        try:
            schema: Any = dataset
            for index, (_, step) in enumerate(pipeline.steps):
                state = self._fit_on(step, passes)
                step._set_fitted(state, schema, _Decision(self.name), self._stats(base, start))
                if index < len(pipeline.steps) - 1:
                    width = int(step.transform(np.zeros((1, step.n_features_in_))).shape[1])
                    passes = TransformedPasses(passes, step, width)
                    schema = SimpleNamespace(
                        n_features=width,
                        has_feature_names=False,
                        feature_names=[f"x{j}" for j in range(width)],
                    )
        finally:
            base.close()
        return FitResult({}, self._stats(base, start))

    @staticmethod
    def _stats(passes: Passes, start: float) -> dict[str, Any]:
        return {
            "rows": int(passes.n_rows),
            "passes": passes.passes + passes.sample_passes,
            "seconds": time.perf_counter() - start,
            "pass_seconds": passes.pass_seconds,
            "storage": passes.storage,
            "scheduler": "distributed" if hasattr(passes, "client") else "local threads",
            "scheduler_address": _scheduler_address(passes),
            "partitions": len(getattr(passes, "partitions", [])),
        }


def _scheduler_address(passes: Passes) -> str | None:
    """The address of the scheduler the passes ran on; None on this machine."""
    client = getattr(passes, "client", None)
    if client is None:
        return None
    return str(client.scheduler.address)


@dataclass(frozen=True)
class _Decision:
    backend: str
    rule: str = "pipeline"


BACKEND = DaskBackend
