"""Decomposition: :class:`PCA`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import decomposition as _sk
from sklearn.base import TransformerMixin

from .base import ScaleoutEstimator
from .data.sparse import is_sparse
from .kernels import Kernel
from .kernels.pca import check_n_components
from .registry import register_estimator


@register_estimator
class PCA(TransformerMixin, ScaleoutEstimator):
    """Principal component analysis, fitted on any engine.

    Parameters mirror :class:`sklearn.decomposition.PCA`; components follow
    scikit-learn's sign convention on every engine.

    Parameters
    ----------
    n_components : int, float, "mle" or None, default=None
    copy, whiten, svd_solver, tol, iterated_power, n_oversamples, \
power_iteration_normalizer, random_state
        As in scikit-learn.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    explained_variance_, explained_variance_ratio_, singular_values_ : ndarray
    mean_ : ndarray of shape (n_features,)
    n_components_, n_samples_ : int
    noise_variance_ : float
    n_features_in_, feature_names_in_, backend_, fit_stats_
    """

    _sklearn_class = _sk.PCA
    _fitted_attrs = (
        "components_",
        "explained_variance_",
        "explained_variance_ratio_",
        "singular_values_",
        "mean_",
        "n_components_",
        "n_samples_",
        "noise_variance_",
    )
    _required_attrs = ("components_", "explained_variance_", "mean_")
    _kernel = Kernel("scaleout.kernels.pca", "check_pca_params", "fit_pca")
    # scikit-learn's PCA fits sparse X with these solvers only ("auto" picks one of them)
    _sparse_options = {"svd_solver": ("auto", "arpack", "covariance_eigh")}

    def __init__(
        self,
        n_components: int | float | str | None = None,
        *,
        copy: bool = True,
        whiten: bool = False,
        svd_solver: str = "auto",
        tol: float = 0.0,
        iterated_power: int | str = "auto",
        n_oversamples: int = 10,
        power_iteration_normalizer: str = "auto",
        random_state: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.backend = backend

    def fit(self, X: Any, y: Any = None) -> PCA:
        """Fit the components.

        Parameters
        ----------
        X : array-like, DataFrame, path or Dataset
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            For an int ``n_components`` beyond ``min(n_samples, n_features)``
            (as scikit-learn), before any data is read when the row count is
            known without reading (NumPy, pandas, Parquet).
        """
        from .engines import wrap_input

        self._validate_params()
        dataset = wrap_input(X)
        check_n_components(self.n_components, dataset.n_rows, dataset.n_features, self.svd_solver)
        return self._fit(dataset)

    def transform(self, X: Any) -> np.ndarray:
        """Project rows onto the components."""
        return self._call_local("transform", X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map projected rows back to feature space."""
        self._check_is_fitted()
        X = X if is_sparse(X) else np.asarray(X)  # sparse: scikit-learn's own refusal
        return self._local_estimator().inverse_transform(X)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of each row under the probabilistic PCA model."""
        return self._call_local("score_samples", X)

    def score(self, X: Any, y: Any = None) -> float:
        """Average log-likelihood of the rows."""
        return self._call_local("score", X)

    def get_covariance(self) -> np.ndarray:
        """Data covariance modelled by the components."""
        return self._local_estimator().get_covariance()

    def get_precision(self) -> np.ndarray:
        """Inverse of :meth:`get_covariance`."""
        return self._local_estimator().get_precision()
