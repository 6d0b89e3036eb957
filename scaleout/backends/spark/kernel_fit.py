"""Estimators without an MLlib mapping: their engine-neutral kernel on Spark's executors.

An estimator that declares a kernel (its ``_kernel``, see
:mod:`scaleout.kernels`) and has no :class:`~.algorithm.Algorithm` in
:data:`scaleout.backends.spark.ALGORITHMS` is fitted by running its kernel on
:class:`~.passes.SparkPasses`: the data are checked and brought into Spark as
for every fit (:func:`~.convert.prepare`: no NaN, infinity or null in the
features, a finite target, the classes of a classifier), then each of the
kernel's passes is a ``mapInArrow`` job over the checked float64 columns.

A classifier's target arrives indexed (``0..K-1``, as MLlib wants it); the
kernel sees the original labels (``classes_[index]``, mapped on the executor),
so its state is the one the dask engine computes. ``class_weight`` and
``sample_weight`` are the kernel's business (the weight column holds the
sample weights only).
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ...data.dataset import Batch
from ...kernels import Kernel
from ...kernels.passes import ChunkStore
from .convert import LABEL, WEIGHT, prepare, release
from .passes import SparkPasses

if TYPE_CHECKING:
    from ...data import Dataset
    from ...engines.base import FitTask

__all__ = ["PATH", "fit_kernel"]

#: ``fit_stats_["path"]`` of such a fit.
PATH = "scaleout kernel on Spark executors (SparkPasses)"


def _with_labels(fn: Any, classes: np.ndarray, batch: Batch, store: ChunkStore | None) -> Any:
    """``fn`` on ``batch`` with its class indexes turned back into the labels."""
    y = classes[np.asarray(batch.y).astype(np.intp)]
    return fn(dataclasses.replace(batch, y=y), store)


class _LabelledPasses(SparkPasses):
    """SparkPasses whose target column holds class indexes: the kernel sees the labels."""

    classes: np.ndarray

    def _map_reduce(self, fn: Any, combine: Any) -> Any:
        return self._run(partial(_with_labels, fn, self.classes), combine)

    def sample(self, n: int, random_state: int | None) -> Batch:
        batch = super().sample(n, random_state)
        return dataclasses.replace(batch, y=self.classes[np.asarray(batch.y).astype(np.intp)])


def fit_kernel(
    spark: Any, task: FitTask, kernel: Kernel, dataset: Dataset, sample_weight: Any = None
) -> tuple[dict[str, Any], dict[str, Any], int, float]:
    """Fit ``task`` with its kernel on the checked data's Spark columns.

    Returns
    -------
    state : dict
        scikit-learn's fitted attributes (the kernel's).
    info : dict
        ``path``, ``kernel_passes``, ``pass_seconds``, ``storage``, ``partitions``.
    n_rows : int
    checked : float
        ``time.perf_counter()`` when the data check was done.
    """
    label = ("class" if task.classifier else "value") if task.supervised else None
    prepared = prepare(spark, dataset, label=label, sample_weight=sample_weight)
    checked = time.perf_counter()
    passes: SparkPasses | None = None
    try:
        task.check_target(prepared.classes)
        kind = _LabelledPasses if label == "class" else SparkPasses
        passes = kind(
            prepared.frame,
            prepared.raw_columns,
            LABEL if label is not None else None,
            WEIGHT if prepared.has_weights else None,
            n_rows=prepared.n_rows,
        )
        if label == "class":
            passes.classes = np.asarray(prepared.classes)
        passes.feature_names = list(prepared.feature_names)
        state = kernel.run(passes, task.params, backend="spark")
        info = {
            "path": PATH,
            "kernel_passes": passes.passes + passes.sample_passes,
            "pass_seconds": passes.pass_seconds,
            "storage": passes.storage,
            "partitions": len(passes.partition_rows or {}),
        }
    finally:
        if passes is not None:
            passes.close()
        release(prepared)
    return state, info, prepared.n_rows, checked
