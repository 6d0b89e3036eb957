"""Preprocessing: scalers and encoders, fitted on any engine.

:class:`OneHotEncoder` and :class:`OrdinalEncoder` take a raw table (strings,
missing values; :mod:`scaleout._table`).
:class:`StandardScaler` and :class:`MinMaxScaler`:

Both are one pass of per-column statistics (``scaleout.kernels.scalers``:
counts, means and centred sums of squares merged exactly, minima and
maxima); the fitted attributes are scikit-learn's, so ``transform`` and
``inverse_transform`` are scikit-learn's own on them. Numeric columns only:
missing values and strings are refused by the data checks, as for every
scaleout estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import preprocessing as _sk
from sklearn.base import OneToOneFeatureMixin, TransformerMixin

from ._table import TableTransformer
from .base import ScaleoutEstimator
from .kernels import Kernel
from .kernels.column_plan import fitted_step
from .kernels.scalers import check_feature_range
from .registry import register_estimator

__all__ = ["MinMaxScaler", "OneHotEncoder", "OrdinalEncoder", "StandardScaler"]


class _Scaler(OneToOneFeatureMixin, TransformerMixin, ScaleoutEstimator):
    """What both scalers share: local transform and inverse_transform."""

    def inverse_transform(self, X: Any, copy: bool | None = None) -> np.ndarray:
        """Undo :meth:`transform` (scikit-learn's ``inverse_transform`` on the fitted state)."""
        if copy is None:
            return self._call_local("inverse_transform", X)
        return self._call_local("inverse_transform", X, copy=copy)


@register_estimator
class StandardScaler(_Scaler):
    """Standardise features by removing the mean and scaling to unit variance, on any engine.

    Parameters mirror :class:`sklearn.preprocessing.StandardScaler`: the
    variance is the population one (``ddof=0``), columns whose variance is
    indistinguishable from 0 get ``scale_`` 1, ``sample_weight`` weights the
    moments, on every engine.

    Parameters
    ----------
    copy : bool, default=True
    with_mean : bool, default=True
    with_std : bool, default=True
        As in scikit-learn.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
    var_ : ndarray of shape (n_features,) or None
    scale_ : ndarray of shape (n_features,) or None
    n_samples_seen_ : int or float
        Rows seen, or the sum of the sample weights.
    n_features_in_, feature_names_in_, backend_, fit_stats_
    """

    _sklearn_class = _sk.StandardScaler
    _fitted_attrs = ("mean_", "var_", "scale_", "n_samples_seen_")
    _required_attrs = ("n_samples_seen_",)
    _kernel = Kernel(
        "scaleout.kernels.scalers", "check_standard_scaler_params", "fit_standard_scaler"
    )

    def __init__(
        self,
        *,
        copy: bool = True,
        with_mean: bool = True,
        with_std: bool = True,
        backend: str = "auto",
    ) -> None:
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std
        self.backend = backend

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> StandardScaler:
        """Compute the mean and standard deviation of every column.

        Parameters
        ----------
        X : array-like, DataFrame, path or Dataset
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._fit(X, None, sample_weight)  # type: ignore[return-value]

    def transform(self, X: Any, copy: bool | None = None) -> np.ndarray:
        """Centre and scale the rows (scikit-learn's ``transform``)."""
        if copy is None:
            return self._call_local("transform", X)
        return self._call_local("transform", X, copy=copy)


@register_estimator
class MinMaxScaler(_Scaler):
    """Scale every feature to a given range, on any engine.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
    copy : bool, default=True
    clip : bool, default=False
        As in :class:`sklearn.preprocessing.MinMaxScaler`.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine.

    Attributes
    ----------
    min_, scale_, data_min_, data_max_, data_range_ : ndarray of shape (n_features,)
    n_samples_seen_ : int
    n_features_in_, feature_names_in_, backend_, fit_stats_
    """

    _sklearn_class = _sk.MinMaxScaler
    _fitted_attrs = ("min_", "scale_", "data_min_", "data_max_", "data_range_", "n_samples_seen_")
    _required_attrs = ("min_", "scale_", "n_samples_seen_")
    _kernel = Kernel("scaleout.kernels.scalers", "check_minmax_scaler_params", "fit_minmax_scaler")

    def __init__(
        self,
        feature_range: tuple[float, float] = (0, 1),
        *,
        copy: bool = True,
        clip: bool = False,
        backend: str = "auto",
    ) -> None:
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip
        self.backend = backend

    def _validate_params(self) -> None:
        super()._validate_params()
        check_feature_range(self.feature_range)  # before any data moves, on every engine

    def fit(self, X: Any, y: Any = None) -> MinMaxScaler:
        """Compute the minimum and maximum of every column.

        Parameters
        ----------
        X : array-like, DataFrame, path or Dataset
        y : ignored

        Returns
        -------
        self
        """
        return self._fit(X)  # type: ignore[return-value]

    def transform(self, X: Any) -> np.ndarray:
        """Scale the rows into ``feature_range`` (scikit-learn's ``transform``)."""
        return self._call_local("transform", X)

    def inverse_transform(self, X: Any) -> np.ndarray:  # type: ignore[override]
        """Undo :meth:`transform`."""
        return self._call_local("inverse_transform", X)


# ------------------------------------------------------------------ encoders
class _Encoder(TableTransformer):
    """What both encoders share: the value-count pass, inverse_transform."""

    def _rebuild(self) -> Any:
        return fitted_step(type(self).__name__, self._sklearn_params(), self.summary_, self.layout_)

    def inverse_transform(self, X: Any) -> Any:
        """scikit-learn's ``inverse_transform`` of the fitted encoder."""
        return self._local_estimator().inverse_transform(X)


@register_estimator
class OneHotEncoder(_Encoder):
    """Encode categorical columns as one-hot columns, fitted on any engine from a raw table.

    scikit-learn's :class:`sklearn.preprocessing.OneHotEncoder`: same
    parameters (``handle_unknown`` 'error' / 'ignore' / 'infrequent_if_exist',
    ``min_frequency``, ``max_categories``, ``drop``, ``sparse_output``, ...)
    and fitted attributes. The fit is one pass of value counts, merged
    exactly; scikit-learn's encoder is then fitted on the distinct values with
    the whole data's counts (:func:`scaleout.kernels.table_fit.fitted_encoder`).

    Attributes
    ----------
    categories_, drop_idx_, infrequent_categories_, n_features_in_, feature_names_in_
        scikit-learn's.
    summary_, layout_
        Distinct values and counts per column (what a saved model holds).
    """

    _sklearn_class = _sk.OneHotEncoder
    _kernel = Kernel(
        "scaleout.kernels.column_plan",
        "check_table_step_params",
        "fit_table_step",
        options=(("step", "OneHotEncoder"),),
    )

    def __init__(
        self,
        *,
        categories: Any = "auto",
        drop: Any = None,
        sparse_output: bool = True,
        dtype: Any = np.float64,
        handle_unknown: str = "error",
        min_frequency: Any = None,
        max_categories: Any = None,
        feature_name_combiner: Any = "concat",
        backend: str = "auto",
    ) -> None:
        self.categories = categories
        self.drop = drop
        self.sparse_output = sparse_output
        self.dtype = dtype
        self.handle_unknown = handle_unknown
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.feature_name_combiner = feature_name_combiner
        self.backend = backend


@register_estimator
class OrdinalEncoder(OneToOneFeatureMixin, _Encoder):
    """Encode categorical columns as integers, fitted on any engine from a raw table.

    scikit-learn's :class:`sklearn.preprocessing.OrdinalEncoder` (same
    parameters and fitted attributes); fitted as :class:`OneHotEncoder`.
    """

    _sklearn_class = _sk.OrdinalEncoder
    _kernel = Kernel(
        "scaleout.kernels.column_plan",
        "check_table_step_params",
        "fit_table_step",
        options=(("step", "OrdinalEncoder"),),
    )

    def __init__(
        self,
        *,
        categories: Any = "auto",
        dtype: Any = np.float64,
        handle_unknown: str = "error",
        unknown_value: Any = None,
        encoded_missing_value: Any = np.nan,
        min_frequency: Any = None,
        max_categories: Any = None,
        backend: str = "auto",
    ) -> None:
        self.categories = categories
        self.dtype = dtype
        self.handle_unknown = handle_unknown
        self.unknown_value = unknown_value
        self.encoded_missing_value = encoded_missing_value
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.backend = backend
