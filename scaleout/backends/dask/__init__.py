"""The ``dask`` engine: exact out-of-core algorithms, on one machine or a cluster.

Every algorithm is an engine-neutral kernel written as passes over chunks
(:mod:`scaleout.kernels`, one module per algorithm); ``executor.py`` runs the
passes with Dask's threaded scheduler on this machine, or on a
``distributed`` cluster.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..._config import get_config, set_config
from ...data import Batch
from ...data.validate import check_step_output, check_weight_count
from ...engines.base import Backend, FitResult, FitTask, PipelineResult
from ...exceptions import DataError, UnsupportedOnBackend
from ...kernels import Kernel, kernel_of
from ...kernels.passes import ChunkStore, Passes
from .client import _CLIENTS as _CLIENTS  # the cached clients, by address
from .client import open_client

if TYPE_CHECKING:
    from ...data import Dataset


def current_client() -> Any:
    """The cluster to run on: ``dask_scheduler`` from the config, else an active
    ``distributed.Client``, else None (this machine).

    A scheduler address is opened by :func:`~.client.open_client`: with the
    credentials of a cluster ``scaleout cluster up`` recorded, and a
    :class:`~scaleout.exceptions.ClusterError` naming an unreachable address.
    """
    address = get_config()["dask_scheduler"]
    if address in ("threads", "local"):
        return None
    if address:
        return open_client(address)
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
    check_weight_count(weights, n_rows)
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
    passes: Passes
    if client is not None:
        passes = ClusterPasses(client, partitions, dataset.n_features, sample_weight=weights)
    else:
        passes = LocalPasses(
            partitions,
            dataset.n_features,
            cache=get_config()["dask_cache"],
            estimated_nbytes=dataset.estimated_nbytes,
            sample_weight=weights,
        )
    passes.feature_names = list(dataset.feature_names)  # for the kernels' messages
    return passes


#: Kernels whose chunk functions take a SciPy sparse chunk as it is (only ``X @ W`` and
#: ``R @ X``): a sparse step output (a one-hot encoding) reaches them sparse.
SPARSE_CONSUMERS = frozenset({"LogisticRegression"})


def _transform_batch(step: Any, index: int, consumer: str, batch: Batch) -> Batch:
    """``batch`` through the fitted pipeline step number ``index``, checked for ``consumer``.

    A raw table's frame goes to the step as it is (its columns are named); a
    sparse output (a one-hot encoding) stays sparse (CSR) for a consumer in
    :data:`SPARSE_CONSUMERS`, else is densified one chunk at a time.
    """
    X = batch.X if isinstance(batch.X, pd.DataFrame) else np.asarray(batch.X)
    X = step.transform(X)
    if sp.issparse(X) and consumer in SPARSE_CONSUMERS:  # e.g. a one-hot of 2,000 levels
        return Batch(sp.csr_matrix(X, dtype=np.float64), batch.y, batch.source,
                     batch.row_offset, batch.weights)
    X = np.asarray(X.toarray() if sp.issparse(X) else X)
    if X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"pipeline step {index} ({type(step).__name__}) outputs non-numeric values "
                f"(e.g. strings passed through) that {consumer} cannot read, in {batch.source}; "
                "encode those columns (OneHotEncoder / OrdinalEncoder) or drop them"
            ) from None
    check_step_output(
        X,
        step=type(step).__name__,
        index=index,
        consumer=consumer,
        source=batch.source,
        row_offset=batch.row_offset,
    )
    return Batch(X, batch.y, batch.source, batch.row_offset, batch.weights)


def _output_width(step: Any, width: int) -> int:
    """Columns a fitted pipeline step outputs from ``width`` input columns."""
    if hasattr(step, "summary_"):  # a table transformer: its named outputs
        return len(step.get_feature_names_out())
    return int(step.transform(np.zeros((1, width))).shape[1])


class TransformedPasses(Passes):
    """The passes of a pipeline's later steps: chunks go through fitted steps first.

    Each transformed chunk is checked as the input of the next step
    (:func:`~scaleout.data.validate.check_step_output`): the data checks saw
    the pipeline's input only.
    """

    def __init__(
        self, inner: Passes, step: Any, n_features: int, index: int = 0, consumer: str = ""
    ) -> None:
        super().__init__()
        self.inner, self.step = inner, step
        self.index, self.consumer = index, consumer or "the next step"
        self.n_rows, self.n_features = inner.n_rows, n_features
        self.weighted = inner.weighted

    def expect_passes(self, n: int | None) -> None:
        """The plan of a later step is the inner passes' plan."""
        super().expect_passes(n)
        self.inner.expect_passes(n)

    def _map_reduce(self, fn: Any, combine: Any) -> Any:
        transform = partial(_transform_batch, self.step, self.index, self.consumer)
        return self.inner.map_reduce(
            partial(_compose, fn, transform, f"pipeline-step-{self.index}"),
            label="pipeline",
            combine=combine,
            with_store=True,
        )

    def report(self, label: str, seconds: float) -> None:
        """The inner passes already report every pass."""

    def sample(self, n: int, random_state: int | None) -> Batch:
        return _transform_batch(
            self.step, self.index, self.consumer, self.inner.sample(n, random_state)
        )


def _compose(fn: Any, transform: Any, key: str, batch: Batch, store: ChunkStore | None) -> Any:
    """``fn`` on the transformed chunk; the chunk's store keeps the step's output.

    A later pass of a multi-pass step (LogisticRegression after a
    ColumnTransformer) then reads the step's float64 output instead of running
    ``transform`` again (within the store's share of the memory budget, beyond
    it in a spill file, else recomputed: a cache never changes a result).
    """
    if store is None:
        return fn(transform(batch), store)
    X = store.get(key)
    if X is None or X.shape[0] != batch.n_rows:
        transformed = transform(batch)
        store.put(key, transformed.X)
        return fn(transformed, store)
    return fn(Batch(X, batch.y, batch.source, batch.row_offset, batch.weights), store)


class DaskBackend(Backend):
    """Out-of-core fits from chunks: exact algorithms, local or on a cluster."""

    name = "dask"
    requires = ("dask", "distributed")
    extra = "dask"
    out_of_core = True
    priority = 10
    schemes = ("tcp", "tls", "ucx", "inproc")
    address_help = "'tcp://host:port'"
    native_pipelines = True

    @classmethod
    def claims(cls, data: Any) -> bool:
        """A Dask DataFrame or Array."""
        return type(data).__module__.startswith("dask") and hasattr(data, "to_delayed")

    def wrap(self, data: Any, target: Any = None) -> Dataset:
        from .data import DaskDataset

        return DaskDataset(data, target)

    def connect(self, address: str | None) -> None:
        """Later dask fits run on the scheduler at ``address`` (None: this machine).

        The scheduler is reached now (:func:`~.client.open_client`): a
        ``tls://`` address of a cluster ``scaleout cluster up`` recorded is
        opened with its credentials; an unreachable one raises a
        :class:`~scaleout.exceptions.ClusterError` naming it within seconds.
        """
        if address is not None and address not in ("threads", "local"):
            open_client(address)
        set_config(dask_scheduler=address)

    def supports(self, estimator: type) -> bool:
        """Every estimator that declares an engine-neutral kernel (``_kernel``)."""
        return kernel_of(estimator) is not None

    def check_supported(self, task: FitTask) -> None:
        super().check_supported(task)
        self._kernel(task).check_params(task.params, backend=self.name)

    @staticmethod
    def _kernel(task: FitTask) -> Kernel:
        kernel = kernel_of(task.estimator)
        assert kernel is not None  # check_supported ran first
        return kernel

    def fit(self, task: FitTask, dataset: Dataset, sample_weight: Any = None) -> FitResult:
        start = time.perf_counter()
        passes = open_passes(dataset, sample_weight)
        try:
            state = self._fit_on(task, passes)
        finally:
            passes.close()
        return FitResult(state, self._stats(passes, start))

    @staticmethod
    def _fit_on(task: FitTask, passes: Passes) -> dict[str, Any]:
        # a classifier's classes are checked as soon as the kernel's first pass read them
        check = task.check_target if task.classifier else None
        kernel = DaskBackend._kernel(task)
        return kernel.run(passes, task.params, backend="dask", check_target=check)

    def fit_pipeline(
        self, tasks: list[FitTask], dataset: Dataset, **fit_params: Any
    ) -> PipelineResult:
        if fit_params:
            raise UnsupportedOnBackend(
                f"Pipeline.fit({', '.join(fit_params)}=...) is not supported by backend 'dask'"
            )
        start = time.perf_counter()
        base = passes = open_passes(dataset)
        results: list[FitResult] = []
        try:
            width = dataset.n_features
            for index, task in enumerate(tasks):
                state = self._fit_on(task, passes)
                results.append(FitResult(state, n_features=width))
                if index < len(tasks) - 1:
                    step = task.fitted(state, width)
                    width = _output_width(step, width)
                    passes = TransformedPasses(
                        passes, step, width, index=index, consumer=tasks[index + 1].name
                    )
        finally:
            base.close()
        stats = self._stats(base, start)
        for result in results:
            result.stats = stats
        return PipelineResult(results, stats)

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

