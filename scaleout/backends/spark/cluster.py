"""KMeans on Spark MLlib: scikit-learn's start, MLlib's Lloyd iterations.

Spark's own k-means|| start (``initMode="k-means||"``) ends well above
scikit-learn's inertia on separated clusters (29 % on 2M x 20 blobs; up to
2.5x on 20k x 10 blobs here). So the start is scikit-learn's greedy
k-means++ (``sklearn.cluster.kmeans_plusplus``) on a uniform sample of at
most :data:`KMEANS_SAMPLE_ROWS` rows (every row when there are
fewer), handed to MLlib's k-means as ``initialModel``; MLlib then runs the
Lloyd iterations over all rows. ``n_init`` starts run one after the other
on the cached vectors; the lowest cost wins.

``labels_`` (:func:`training_labels`): for data within the memory budget,
the rows are read once more on the driver, batch by batch, and labelled by
scikit-learn's own k-means assignment (so ``labels_`` equals
``predict(X)``: NumPy int32, in row order). Beyond the budget, and for a
Spark DataFrame input (its rows have no order to index), it is not kept:
``fit_stats_["labels_"]`` says so, as does the ``AttributeError`` on access.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.cluster import KMeans as _SkKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from ...engines.base import FitTask
from ...exceptions import DataError, InvalidParameterError
from .algorithm import Algorithm
from .convert import FEATURES
from .params import _unsupported
from .stats import old_vectors

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...data import Dataset
    from .convert import Prepared

KEPT = "kept (NumPy int32, one per row in row order)"


def training_labels(
    dataset: Dataset,
    centers: np.ndarray,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray | None, str]:
    """``labels_`` of the training rows, and what was done (for ``fit_stats_``).

    Parameters
    ----------
    dataset : Dataset
        The data the model was fitted on.
    centers : ndarray of shape (n_clusters, n_features)
        The fitted centres.
    transform : callable, optional
        Applied to each batch first (a pipeline's fitted PCA step).

    Returns
    -------
    labels : ndarray of int32 or None
        None when not kept: for a Spark DataFrame, and for data beyond the
        memory budget.
    note : str
        How ``labels_`` was produced, or why it was not kept.
    """
    from ..._config import memory_budget
    from ...engines.resolve import _format_bytes

    if getattr(dataset, "native_backend", None) == "spark":
        return None, (
            "not kept for a Spark DataFrame input (its rows have no order to index); "
            "predict(frame) adds the label of each row as a column"
        )
    size, budget = dataset.estimated_nbytes, memory_budget()
    if size > budget:
        return None, (
            f"not kept: the data ({_format_bytes(size)}) is beyond the memory budget "
            f"({_format_bytes(budget)}, see so.set_config(memory_budget=...))"
        )
    local = _SkKMeans(n_clusters=centers.shape[0])
    local.n_features_in_ = centers.shape[1]
    local._n_threads = _openmp_effective_n_threads()
    parts = []
    for batch in dataset.iter_batches():
        X = np.asarray(batch.X)
        if transform is not None:
            X = transform(X)
        local.cluster_centers_ = centers.astype(X.dtype, copy=False)
        parts.append(local.predict(X))
    labels = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    return labels.astype(np.int32, copy=False), KEPT


def sample_rows(frame: Any, features: str, n_rows: int, n_features: int, seed: int) -> np.ndarray:
    """A uniform sample of at most KMEANS_SAMPLE_ROWS rows of a vector column, on the driver."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    from .compat import to_arrow

    selected = frame.select(vector_to_array(F.col(features)).alias("v"))
    if n_rows > KMEANS_SAMPLE_ROWS:
        fraction = min(1.0, 1.1 * KMEANS_SAMPLE_ROWS / n_rows)
        selected = selected.sample(withReplacement=False, fraction=fraction, seed=seed)
    column = to_arrow(selected).column("v").combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    rows = values.reshape(-1, n_features)
    return rows[:KMEANS_SAMPLE_ROWS]


def _java_vectors(jvm: Any, centers: np.ndarray) -> list[Any]:
    parse = jvm.org.apache.spark.mllib.linalg.Vectors.parse
    return [parse("[" + ",".join(repr(float(v)) for v in row) + "]") for row in centers]


def _centers_of(model: Any) -> np.ndarray:
    return np.array([json.loads(str(v.toString())) for v in model.clusterCenters()])


class KMeansAlgorithm(Algorithm):
    """K-means: sampled k-means++ start, Lloyd iterations by MLlib."""

    moments = True

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        k = int(params.get("n_clusters", 8))
        n = prepared.n_rows
        if n < k:
            raise DataError(f"n_samples={n} should be >= n_clusters={k}.")
        random_state = check_random_state(params.get("random_state"))
        init = params.get("init", "k-means++")
        explicit = None
        if not isinstance(init, str):
            explicit = np.asarray(init, dtype=np.float64)
            if explicit.shape != (k, n_features):
                raise InvalidParameterError(
                    f"The shape of the initial centers {explicit.shape} does not match the "
                    f"number of clusters {k} and features {n_features}."
                )
        variances = _feature_variances(prepared, frame, features, n_features)
        epsilon = kmeans_epsilon(params.get("tol", 1e-4), float(np.mean(variances)), k)
        runs = kmeans_n_init(params)
        sample = None
        if explicit is None:
            seed = int(random_state.randint(np.iinfo(np.int32).max))
            sample = sample_rows(frame, features, n, n_features, seed)
        jvm = spark.sparkContext._jvm
        vectors = old_vectors(spark, frame, features)
        if runs > 1:
            vectors.persist(jvm.org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK())
        best: tuple[float, np.ndarray, int] | None = None
        try:
            for _ in range(runs):
                if explicit is not None:
                    start = explicit
                elif init == "random":
                    start = sample[random_state.permutation(len(sample))[:k]]
                else:
                    start, _ = kmeans_plusplus(sample, k, random_state=random_state)
                initial = jvm.org.apache.spark.mllib.clustering.KMeansModel(
                    _java_vectors(jvm, start)
                )
                model = (
                    jvm.org.apache.spark.mllib.clustering.KMeans()
                    .setK(k)
                    .setMaxIterations(int(params.get("max_iter", 300)))
                    .setEpsilon(epsilon)
                    .setSeed(int(random_state.randint(np.iinfo(np.int32).max)))
                    .setInitialModel(initial)
                    .run(vectors)
                )
                cost = float(model.trainingCost())
                if best is None or cost < best[0]:
                    best = (cost, _centers_of(model), int(model.numIter()))
        finally:
            if runs > 1:
                vectors.unpersist(False)
        cost, centers, n_iter = best
        info = {
            "iterations": n_iter,
            "n_init": runs,
            "init_sample_rows": (0 if sample is None else len(sample)),
            "epsilon": epsilon,
        }
        return kmeans_state(centers, cost, n_iter), info

    def finish(
        self,
        state: dict[str, Any],
        info: dict[str, Any],
        dataset: Dataset,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """Add ``labels_`` (see :func:`training_labels`) and ``info["labels_"]``."""
        labels, info["labels_"] = training_labels(dataset, state["cluster_centers_"], transform)
        if labels is not None:
            state["labels_"] = labels

    def flip_features(self, state: dict[str, Any], signs: np.ndarray, name: str) -> None:
        state["cluster_centers_"] = state["cluster_centers_"] * signs[None, :]

    #: ``predict`` gives cluster indices: an integer column on a Spark DataFrame.
    integer_predict = True

    def check_task(self, task: FitTask) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for an ``algorithm``
        or ``init`` Spark's k-means cannot run."""
        _check_kmeans(task.name, task.params)


def _feature_variances(
    prepared: Prepared, frame: Any, features: str, n_features: int
) -> np.ndarray:
    """Population variances of the features (scikit-learn's tol scale).

    One row has variance 0 (Spark's sample variance of one row is NaN, which
    MLlib then refuses as a distance threshold).
    """
    n = prepared.n_rows
    if n < 2:
        return np.zeros(n_features)
    if prepared.variances is not None and features == FEATURES:
        return prepared.variances * (n - 1) / n
    from pyspark.ml.stat import Summarizer

    row = frame.select(Summarizer.variance(frame[features]).alias("v")).first()
    return np.asarray(row["v"].toArray()) * (n - 1) / n


# ---------------------------------------------------------------- parameters
#: (algorithm, scikit-learn parameter, Spark MLlib parameter or rule)
PARAMETER_TABLE: tuple[tuple[str, str, str], ...] = (
    ("KMeans", "n_clusters", "k"),
    ("KMeans", "init", "initialModel (k-means++ / random rows on a sample, or the array)"),
    ("KMeans", "n_init", "repeated fits, lowest cost kept"),
    ("KMeans", "max_iter", "maxIterations"),
    ("KMeans", "tol", "epsilon = sqrt(tol * mean(var(X)) / k)"),
    ("KMeans", "random_state", "seed"),
)
"""The scikit-learn → MLlib mapping of KMeans, in short; in full:

KMeans → MLlib's k-means (Lloyd iterations on Spark, started from ``initialModel``)

=========================  ==========================================================
scikit-learn               Spark MLlib
=========================  ==========================================================
n_clusters                 ``k``
init='k-means++'           scikit-learn's greedy k-means++ on a uniform sample of at
                           most :data:`KMEANS_SAMPLE_ROWS` rows (all rows when fewer),
                           then ``initialModel``. Spark's own k-means|| start ends
                           well above scikit-learn's inertia on separated clusters.
init='random'              k rows drawn from that sample.
init=array                 ``initialModel`` as given.
n_init                     that many starts, the lowest cost kept ('auto': 1, or 10 for
                           init='random', as scikit-learn).
max_iter                   ``maxIterations``
tol                        ``epsilon = sqrt(tol * mean(var(X)) / k)``: scikit-learn stops
                           when the centres' total squared shift is <= tol * mean
                           feature variance, Spark when every centre moved <= epsilon;
                           this epsilon never stops earlier than scikit-learn would.
random_state               the sample's and the starts' seeds, and ``seed``.
algorithm                  'lloyd' and 'elkan' (the same iterations).
(labels_)                  scikit-learn's assignment of the rows, re-read on the driver,
                           for data within the memory budget; not kept beyond it nor
                           for a Spark DataFrame (``fit_stats_["labels_"]`` says why).
(one row)                  variance 0, so ``epsilon`` 0 (Spark's sample variance is NaN).
=========================  ==========================================================
"""

KMEANS_SAMPLE_ROWS = 100_000
"""Rows sampled to the driver for the k-means++ start."""

_INIT_SUPPORTED = "'k-means++', 'random', an array of shape (n_clusters, n_features)"


def _check_kmeans(name: str, params: dict[str, Any]) -> None:
    algorithm = params.get("algorithm", "lloyd")
    if algorithm not in ("lloyd", "elkan"):
        raise _unsupported(name, "algorithm", algorithm, "'lloyd', 'elkan' (the same result)")
    init = params.get("init", "k-means++")
    if isinstance(init, str):
        if init not in ("k-means++", "random"):
            raise _unsupported(name, "init", init, _INIT_SUPPORTED)
    elif callable(init) or np.ndim(init) != 2:
        raise _unsupported(name, "init", init, _INIT_SUPPORTED)


def kmeans_n_init(params: dict[str, Any]) -> int:
    """How many starts scikit-learn would run for these parameters."""
    init = params.get("init", "k-means++")
    if not isinstance(init, str):
        return 1
    n_init = params.get("n_init", "auto")
    if n_init == "auto":
        return 10 if init == "random" else 1
    return int(n_init)


def kmeans_epsilon(tol: float, mean_variance: float, n_clusters: int) -> float:
    """Spark's centre-movement threshold equivalent to scikit-learn's relative ``tol``.

    scikit-learn stops when ``sum_j ||c_j' - c_j||^2 <= tol * mean(var(X))``;
    MLlib stops when every ``||c_j' - c_j|| <= epsilon``. With
    ``epsilon^2 = tol * mean(var(X)) / k`` Spark's condition implies
    scikit-learn's, so Spark never stops earlier.
    """
    return math.sqrt(max(float(tol), 0.0) * max(float(mean_variance), 0.0) / n_clusters)


# ------------------------------------------------------- fitted MLlib models
def kmeans_state(centers: np.ndarray, cost: float, n_iter: int) -> dict[str, Any]:
    """``cluster_centers_``, ``inertia_`` (the sum of squared distances of the
    rows to their closest centre, Spark's training cost) and ``n_iter_``."""
    return {
        "cluster_centers_": np.ascontiguousarray(centers, dtype=np.float64),
        "inertia_": float(cost),
        "n_iter_": int(n_iter),
    }
