"""Linear models: :class:`LinearRegression` and :class:`LogisticRegression`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import linear_model as _sk
from sklearn.base import ClassifierMixin, RegressorMixin

from .base import ScaleoutEstimator
from .kernels import Kernel
from .registry import register_estimator


@register_estimator
class LinearRegression(RegressorMixin, ScaleoutEstimator):
    """Ordinary least squares, fitted on any engine.

    Parameters mirror :class:`sklearn.linear_model.LinearRegression`.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    copy_X : bool, default=True
        As in scikit-learn.
    tol : float, default=1e-6
        As in scikit-learn (used with ``positive=True``).
    n_jobs : int, default=None
        As in scikit-learn.
    positive : bool, default=False
        Force non-negative coefficients.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine (see ``so.explain``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    rank_ : int
    singular_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when the data had column names
    backend_ : str
        The engine that fitted the model.
    fit_stats_ : dict
        ``rows``, ``passes``, ``seconds`` and engine-specific facts.
    """

    _sklearn_class = _sk.LinearRegression
    _fitted_attrs = ("coef_", "intercept_", "rank_", "singular_")
    _required_attrs = ("coef_", "intercept_")
    _kernel = Kernel("scaleout.kernels.linear", "check_linear_params", "fit_linear_regression")
    _supervised = True

    def __init__(
        self,
        *,
        fit_intercept: bool = True,
        copy_X: bool = True,
        tol: float = 1e-6,
        n_jobs: int | None = None,
        positive: bool = False,
        backend: str = "auto",
    ) -> None:
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.n_jobs = n_jobs
        self.positive = positive
        self.backend = backend

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the fitted linear model."""
        return self._call_local("predict", X)


@register_estimator
class LogisticRegression(ClassifierMixin, ScaleoutEstimator):
    """Logistic regression (binary and multinomial), fitted on any engine.

    Parameters mirror :class:`sklearn.linear_model.LogisticRegression`
    (scikit-learn >= 1.8: the penalty is set by ``C`` and ``l1_ratio``).

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet"} or None, default="deprecated"
        Deprecated in scikit-learn; use ``l1_ratio`` and ``C``.
    C : float, default=1.0
        Inverse regularisation strength; ``np.inf`` for no penalty.
    l1_ratio : float, default=0.0
        Elastic-net mixing: 0 is L2, 1 is L1.
    dual, tol, fit_intercept, intercept_scaling, class_weight, random_state, \
solver, max_iter, verbose, warm_start, n_jobs
        As in scikit-learn.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray
    n_features_in_, feature_names_in_, backend_, fit_stats_
        As for :class:`LinearRegression`.
    """

    _sklearn_class = _sk.LogisticRegression
    _fitted_attrs = ("classes_", "coef_", "intercept_", "n_iter_")
    _required_attrs = ("classes_", "coef_", "intercept_")
    _kernel = Kernel(
        "scaleout.kernels.logistic", "check_logistic_params", "fit_logistic_regression"
    )
    _supervised = True
    _classifier = True

    def __init__(
        self,
        penalty: str | None = "deprecated",
        *,
        C: float = 1.0,
        l1_ratio: float | None = 0.0,
        dual: bool = False,
        tol: float = 1e-4,
        fit_intercept: bool = True,
        intercept_scaling: float = 1,
        class_weight: dict | str | None = None,
        random_state: int | None = None,
        solver: str = "lbfgs",
        max_iter: int = 100,
        verbose: int = 0,
        warm_start: bool = False,
        n_jobs: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.backend = backend

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels."""
        return self._call_local("predict", X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``."""
        return self._call_local("predict_proba", X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of the class probabilities."""
        return self._call_local("predict_log_proba", X)

    def decision_function(self, X: Any) -> np.ndarray:
        """Confidence scores (signed distance to the hyperplane)."""
        return self._call_local("decision_function", X)
