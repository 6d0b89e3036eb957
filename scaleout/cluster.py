"""Clustering: :class:`KMeans`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import cluster as _sk
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from .base import ScaleoutEstimator
from .kernels import Kernel
from .registry import register_estimator


@register_estimator
class KMeans(ClusterMixin, TransformerMixin, ScaleoutEstimator):
    """K-means clustering, fitted on any engine.

    Parameters mirror :class:`sklearn.cluster.KMeans`.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random"} or ndarray, default="k-means++"
    n_init, max_iter, tol, verbose, random_state, copy_x, algorithm
        As in scikit-learn.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of int32, shape (n_samples,)
        The closest centre of each training row, in row order, as
        scikit-learn's (not saved: it is as long as the data). An engine may
        not keep it for data beyond the memory budget, or for a Spark
        DataFrame (whose rows have no order): ``fit_stats_["labels_"]`` then
        says why, and so does the ``AttributeError`` raised on access; the
        labels of any rows are ``predict(X)``.
    inertia_ : float
    n_iter_ : int
    n_features_in_, feature_names_in_, backend_, fit_stats_
    """

    _sklearn_class = _sk.KMeans
    _fitted_attrs = ("cluster_centers_", "labels_", "inertia_", "n_iter_")
    _required_attrs = ("cluster_centers_",)
    _kernel = Kernel("scaleout.kernels.kmeans", "check_kmeans_params", "fit_kmeans")

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | np.ndarray = "k-means++",
        n_init: int | str = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: int | None = None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
        backend: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.backend = backend

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the cluster index of each row."""
        self.fit(X, sample_weight=sample_weight)
        labels = getattr(self, "labels_", None)
        return labels if labels is not None else self.predict(X)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: say why a fitted model has no labels_.
        if name == "labels_" and "cluster_centers_" in self.__dict__:
            why = self.__dict__.get("fit_stats_", {}).get("labels_", "not kept by this engine")
            raise AttributeError(
                f"This KMeans, fitted on backend {self.__dict__.get('backend_')!r}, has no "
                f"labels_: {why}. The labels of any rows are predict(X)."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def predict(self, X: Any) -> np.ndarray:
        """Index of the closest cluster centre of each row."""
        return self._call_local("predict", X)

    def transform(self, X: Any) -> np.ndarray:
        """Distances from each row to every cluster centre."""
        return self._call_local("transform", X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the inertia of ``X`` on the fitted centres."""
        return self._call_local("score", X, sample_weight=sample_weight)

    def _prepare_input(self, estimator: BaseEstimator, X: np.ndarray) -> None:
        """The centres in the rows' dtype.

        scikit-learn's compiled k-means routines need the rows and the centres
        in one dtype (float32 or float64): a model fitted on float32 predicts
        float64 rows, and the reverse, computing in the rows' dtype.
        """
        estimator.cluster_centers_ = estimator.cluster_centers_.astype(X.dtype, copy=False)

    def _prepare_local(self, estimator: BaseEstimator) -> None:
        estimator._n_threads = _openmp_effective_n_threads()
        estimator._n_features_out = self.cluster_centers_.shape[0]
