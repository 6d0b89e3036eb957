"""The estimator base class: fit on any engine, predict locally.

``fit`` = wrap the data → resolve the engine → check parameters and engine
support (before any data moves) → ``backend.fit`` → set the fitted
attributes. After ``fit`` the model is plain NumPy: ``predict``,
``transform`` and friends rebuild the equivalent scikit-learn estimator from
those arrays and call it, so they give exactly scikit-learn's result.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import sklearn
from sklearn.base import BaseEstimator

from ._params import validate_backend_param, validate_params
from ._task import FitTask
from .data import Dataset, check_features
from .data.sparse import check_sparse_features, is_sparse
from .data.validate import check_weight_count
from .engines import claiming_backend, get_backend, wrap_input
from .engines.resolve import resolve_backend, takes_sparse_input
from .exceptions import DataError, InvalidParameterError, NotFittedError
from .kernels import Kernel

_PASSTHROUGH_ATTRS = ("n_features_in_",)


def feature_names_of(X: Any) -> np.ndarray | None:
    """Column names of ``X`` when it has string column names (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None or not len(columns):
        return None
    names = list(columns)
    if not all(isinstance(name, str) for name in names):
        return None
    return np.asarray(names, dtype=object)


def _feature_name_mismatch(fitted: np.ndarray, given: np.ndarray) -> str | None:
    if len(fitted) == len(given) and np.array_equal(fitted, given):
        return None
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(given) - set(fitted))
    missing = sorted(set(fitted) - set(given))

    def listed(header: str, names: list[str]) -> str:
        text = header + "".join(f"- {n}\n" for n in names[:5])
        return text + ("- ...\n" if len(names) > 5 else "")

    if unexpected:
        message += listed("Feature names unseen at fit time:\n", unexpected)
    if missing:
        message += listed("Feature names seen at fit time, yet now missing:\n", missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    return message


def _check_sample_weight(sample_weight: Any) -> Any:
    """Reject non-finite, negative and all-zero sample weights (engines then skip that scan)."""
    if sample_weight is None or np.isscalar(sample_weight):
        return sample_weight
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim != 1:
        raise DataError(f"sample_weight must be 1-D, got shape {weights.shape}.")
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise DataError(
            f"sample_weight contains NaN or infinity: row {bad[0]} is {weights[bad[0]]}."
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:  # dask and Spark refuse them; so, on every engine, before the fit
        raise DataError(
            f"sample_weight must be non-negative; row {negative[0]} is {weights[negative[0]]}"
        )
    if weights.size and not weights.any():  # as scikit-learn, on every engine
        raise DataError("Sample weights must contain at least one non-zero number.")
    return weights


class ScaleoutEstimator(BaseEstimator):
    """Base of every scaleout estimator.

    Subclasses mirror one scikit-learn estimator (``_sklearn_class``): the
    same ``__init__`` parameters plus ``backend``, and the same fitted
    attribute names (``_fitted_attrs``).
    """

    _sklearn_class: ClassVar[type[BaseEstimator]]
    _fitted_attrs: ClassVar[tuple[str, ...]]
    #: Fitted attributes a saved model must have (checked by ``so.load``).
    _required_attrs: ClassVar[tuple[str, ...]] = ()
    #: The engine-neutral kernel (scaleout.kernels) that kernel-running engines fit it with.
    _kernel: ClassVar[Kernel | None] = None
    _scaleout_params: ClassVar[tuple[str, ...]] = ("backend",)
    _supervised: ClassVar[bool] = False
    _classifier: ClassVar[bool] = False
    #: Parameter -> the values with which scikit-learn's class takes sparse input, for
    #: the message when it does not (e.g. PCA's ``svd_solver``).
    _sparse_options: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags; ``input_tags.sparse`` says whether ``fit`` takes sparse X.

        True when the engine this estimator's ``backend`` resolves to for
        sparse input declares ``sparse_input`` (the sklearn engine) and
        scikit-learn's own estimator takes sparse input with these parameters.
        """
        tags = super().__sklearn_tags__()
        sparse = takes_sparse_input(self.backend)
        if sparse:
            mirrored = self._sklearn_class(**self._sklearn_params())
            sparse = bool(mirrored.__sklearn_tags__().input_tags.sparse)
        tags.input_tags.sparse = sparse
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> ScaleoutEstimator:
        """Fit the model on the engine chosen for this data (see ``so.explain``).

        Parameters
        ----------
        X : array-like, DataFrame, path or Dataset
            Features; a Dataset (or a path) carries its target column.
        y : array-like or str, default=None
            Target values, or the target column's name when ``X`` is a path;
            ignored by unsupervised estimators.
        sample_weight : array-like, default=None
            Per-row weights.

        Returns
        -------
        self
            Fitted, with scikit-learn's attributes plus ``backend_`` and
            ``fit_stats_``.
        """
        return self._fit(X, y, sample_weight)

    def _fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> ScaleoutEstimator:
        self._validate_params()
        sample_weight = _check_sample_weight(sample_weight)
        dataset = self._as_fit_dataset(X, y)
        # one weight per row, on every engine, before any fitting (n_rows is None when
        # unknown without reading, e.g. CSV: the engine checks then)
        check_weight_count(sample_weight, dataset.n_rows)
        return self._fit_dataset(dataset, sample_weight)

    def _fit_dataset(self, dataset: Dataset, sample_weight: Any = None) -> ScaleoutEstimator:
        """Resolve the engine for ``dataset``, check, fit, and take the fitted state."""
        decision = resolve_backend(self, dataset)
        backend = get_backend(decision.backend)
        task = FitTask.of(self)
        backend.check_supported(task)
        backend.check_input(task, dataset)
        result = backend.fit(task, dataset, sample_weight=sample_weight)
        self._set_fitted(
            result.state,
            n_features=dataset.n_features,
            feature_names=dataset.feature_names if dataset.has_feature_names else None,
            backend=decision.backend,
            stats={"backend": decision.backend, "decided_by": decision.rule, **result.stats},
        )
        return self

    def _as_fit_dataset(self, X: Any, y: Any) -> Dataset:
        if not self._supervised:
            return wrap_input(X)
        if y is None and getattr(X, "target", None) is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None. "
                "Pass y, or a Dataset read with target='<column>'."
            )
        return wrap_input(X, y)

    def set_params(self, **params: Any) -> ScaleoutEstimator:
        """Set parameters (scikit-learn's ``set_params``).

        Raises
        ------
        InvalidParameterError
            For a name the estimator does not have (listing the valid ones);
            also a ``ValueError``, as scikit-learn raises.
        """
        try:
            return super().set_params(**params)
        except ValueError as exc:
            if isinstance(exc, InvalidParameterError):
                raise
            raise InvalidParameterError(str(exc)) from None

    def _validate_params(self) -> None:
        name = type(self).__name__
        validate_backend_param(name, self.backend)
        constraints = getattr(self._sklearn_class, "_parameter_constraints", {})
        validate_params(name, self._sklearn_params(), constraints)

    def _sklearn_params(self) -> dict[str, Any]:
        """This estimator's parameters that scikit-learn's class also takes."""
        params = self.get_params(deep=False)
        return {k: v for k, v in params.items() if k not in self._scaleout_params}

    def _set_fitted(
        self,
        state: dict[str, Any],
        *,
        n_features: int,
        feature_names: Any,
        backend: str,
        stats: dict[str, Any],
    ) -> None:
        """Replace the fitted attributes with what an engine returned."""
        for name in [*self._fitted_attrs, "feature_names_in_", "n_features_in_"]:
            self.__dict__.pop(name, None)
        for name, value in state.items():
            setattr(self, name, value)
        self.n_features_in_ = int(n_features)
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.backend_ = backend
        self.fit_stats_ = dict(stats)

    # -------------------------------------------------------------- predict
    def _check_is_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _predict_input(self, X: Any) -> Any:
        """Validate prediction input against what was seen in ``fit`` (sparse stays sparse)."""
        self._check_is_fitted()
        if isinstance(X, Dataset):
            names = np.asarray(X.feature_names, dtype=object) if X.has_feature_names else None
            X = X.to_numpy()[0]
        else:
            names = feature_names_of(X)
        if is_sparse(X):  # predicted by scikit-learn as it is: never densified
            X = check_sparse_features(X, feature_names=self._feature_names_list())
        else:
            X = check_features(X, feature_names=None if names is None else list(names))
        fitted_names = getattr(self, "feature_names_in_", None)
        if names is not None and fitted_names is not None:
            mismatch = _feature_name_mismatch(fitted_names, names)
            if mismatch:
                raise DataError(mismatch)
        if X.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def _feature_names_list(self) -> list[str] | None:
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    def _call_local(self, method: str, X: Any, *args: Any, **kwargs: Any) -> Any:
        engine = claiming_backend(X)
        if engine is not None:  # an engine's own frame stays in the engine (e.g. Spark)
            return get_backend(engine).predict_frame(self, method, X, *args, **kwargs)
        X = self._predict_input(X)
        estimator = self._local_estimator()
        self._prepare_input(estimator, X)
        with sklearn.config_context(assume_finite=True):  # checked by _predict_input
            return getattr(estimator, method)(X, *args, **kwargs)

    def _local_estimator(self) -> BaseEstimator:
        """The scikit-learn estimator equivalent to this fitted model.

        Built without ``feature_names_in_``: names are checked by
        :meth:`_predict_input`, which also accepts plain NumPy input for a
        model fitted on named columns (e.g. fitted from Parquet).
        """
        self._check_is_fitted()
        estimator = self._sklearn_class(**self._sklearn_params())
        for name in (*self._fitted_attrs, *_PASSTHROUGH_ATTRS):
            if hasattr(self, name):
                setattr(estimator, name, getattr(self, name))
        self._prepare_local(estimator)
        return estimator

    def _prepare_local(self, estimator: BaseEstimator) -> None:
        """Set private attributes scikit-learn needs to predict (per estimator)."""

    def _prepare_input(self, estimator: BaseEstimator, X: np.ndarray) -> None:
        """Adapt the local estimator to the rows about to be predicted (per estimator)."""

    def to_sklearn(self) -> BaseEstimator:
        """Return the equivalent fitted scikit-learn estimator.

        Returns
        -------
        sklearn.base.BaseEstimator
            An instance of the mirrored scikit-learn class, with the same
            parameters and fitted attributes: its predictions are identical.
        """
        estimator = self._local_estimator()
        if hasattr(self, "feature_names_in_"):
            estimator.feature_names_in_ = self.feature_names_in_
        return estimator

    # ---------------------------------------------------------- persistence
    def save(self, path: str, *, storage_options: dict[str, Any] | None = None) -> str:
        """Save the fitted model (JSON + NumPy arrays, no pickle).

        Parameters
        ----------
        path : str
            Destination file, a local path or an fsspec URL (``s3://...``);
            written atomically (local: temp file, then rename; URL: local
            file, then one upload).
        storage_options : dict, optional
            Passed to the fsspec filesystem of a URL.

        Returns
        -------
        str
            The path written.
        """
        from .persist import save

        return save(self, path, storage_options=storage_options)
