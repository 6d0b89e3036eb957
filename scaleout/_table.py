"""The base of the transformers that take a raw table: strings and missing values.

``SimpleImputer``, ``OneHotEncoder``, ``OrdinalEncoder`` and
``ColumnTransformer`` read a raw table (a pandas DataFrame, a 2-D array, or
Parquet / CSV files: :func:`scaleout.data.table.open_table`), not the numeric
features the other estimators read. On every engine their fit is the same
kernel (:mod:`scaleout.kernels.column_plan`): summaries in passes, then
scikit-learn's own transformer fitted on a representative table of them. The
fitted state is that summary (``summary_``, ``layout_``: what a saved model
stores); scikit-learn's fitted attributes (``categories_``, ``statistics_``,
...) are set on the estimator from the rebuilt transformer, and ``transform``
is that transformer's.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin

from .base import ScaleoutEstimator
from .data.table import open_table
from .data.table_frame import normalize_frame
from .exceptions import DataError, NotFittedError

__all__ = ["TableTransformer", "open_model_input", "reads_raw_table"]


def reads_raw_table(estimator: Any) -> bool:
    """Whether ``estimator`` (or a pipeline's first step) reads a raw table."""
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        first = next((s for _, s in steps if s not in (None, "passthrough")), None)
        return reads_raw_table(first)
    return isinstance(estimator, TableTransformer)


def open_model_input(
    estimator: Any,
    source: Any,
    target: Any = None,
    features: Any = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """Open files for ``estimator``: a raw table when it starts with a table transformer.

    The command line and training jobs read ``--data`` with it: a pipeline that
    starts with a ``ColumnTransformer`` needs the string columns and missing
    values (:func:`scaleout.data.table.open_table`), every other estimator the
    numeric dataset (:func:`scaleout.data.open_path`).
    """
    if reads_raw_table(estimator):
        return open_table(source, target, features, storage_options=storage_options)
    from .data.open import open_path

    return open_path(source, target, features, storage_options=storage_options)


def table_input(X: Any) -> Any:
    """Prediction input as the fit's chunks were: a normalised frame, or a 2-D array."""
    from .data.table import TableDataset

    if isinstance(X, TableDataset):
        X, _ = X.to_numpy()
    if isinstance(X, pd.DataFrame):
        return normalize_frame(X)
    if isinstance(X, (str, bytes)) or hasattr(X, "__fspath__"):
        X, _ = open_table(X).to_numpy()
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(f"Expected a 2-D table, got an array of shape {array.shape}")
    return array


class TableTransformer(TransformerMixin, ScaleoutEstimator):
    """Fit from a raw table on any engine; transform with scikit-learn's transformer."""

    _kernel_everywhere: ClassVar[bool] = True
    _fitted_attrs: ClassVar[tuple[str, ...]] = ("summary_", "layout_", "n_features_out_")
    _required_attrs: ClassVar[tuple[str, ...]] = ("summary_", "layout_")
    #: scikit-learn attributes never copied onto the estimator (set by scaleout itself).
    _own_attrs: ClassVar[frozenset[str]] = frozenset({"n_features_in_", "feature_names_in_"})

    def fit(self, X: Any, y: Any = None) -> TableTransformer:
        """Fit on a raw table (strings and missing values allowed).

        Parameters
        ----------
        X : pandas.DataFrame, 2-D array, or Parquet / CSV path(s)
            The table.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        dataset = open_table(X)
        self._check_table(dataset)
        return self._fit_dataset(dataset)  # type: ignore[return-value]

    def _check_table(self, dataset: Any) -> None:
        """Refuse what the table's schema shows cannot be fitted (before any pass)."""

    def _set_fitted(self, state: dict[str, Any], **kwargs: Any) -> None:
        self.__dict__.pop("_rebuilt", None)
        super()._set_fitted(state, **kwargs)
        self._publish()

    # ----------------------------------------------------------- the fitted model
    def _rebuild(self) -> Any:
        """scikit-learn's fitted transformer, rebuilt from the state (subclasses)."""
        raise NotImplementedError

    def _local_estimator(self) -> Any:
        if not hasattr(self, "summary_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        rebuilt = self.__dict__.get("_rebuilt")
        if rebuilt is None:
            rebuilt = self._rebuild()
            self.__dict__["_rebuilt"] = rebuilt
        return rebuilt

    def _publish(self) -> None:
        """Set scikit-learn's public fitted attributes (``categories_``, ...) on self."""
        local = self._local_estimator()
        for name, value in vars(local).items():
            if name.endswith("_") and not name.startswith("_") and name not in self._own_attrs:
                setattr(self, name, value)
        self.n_features_out_ = len(local.get_feature_names_out())

    def __getattr__(self, name: str) -> Any:
        # scikit-learn's fitted properties (``infrequent_categories_``,
        # ``named_transformers_``): read from the rebuilt transformer
        if name.endswith("_") and not name.startswith("_") and "summary_" in self.__dict__:
            return getattr(self._local_estimator(), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _call_table(self, method: str, X: Any, *args: Any) -> Any:
        local = self._local_estimator()
        return getattr(local, method)(table_input(X), *args)

    def transform(self, X: Any) -> Any:
        """Transform a raw table (scikit-learn's transform of the fitted transformer)."""
        return self._call_table("transform", X)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit on ``X``, then transform it."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names (scikit-learn's)."""
        return self._local_estimator().get_feature_names_out(input_features)

    def to_sklearn(self) -> Any:
        """The equivalent fitted scikit-learn transformer (identical output)."""
        import copy

        return copy.deepcopy(self._local_estimator())

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_rebuilt", None)
        return state
