"""Missing values: :class:`SimpleImputer`, fitted on any engine from a raw table."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import impute as _ski

from ._table import TableTransformer
from .exceptions import DataError
from .kernels import Kernel
from .kernels.column_plan import fitted_step
from .registry import register_estimator

__all__ = ["SimpleImputer"]


@register_estimator
class SimpleImputer(TableTransformer):
    """Replace missing values with a column statistic, fitted on any engine.

    scikit-learn's :class:`sklearn.impute.SimpleImputer` with the same
    parameters and fitted attributes. Out of core each statistic is exact:
    ``mean`` from merged column totals, ``most_frequent`` from merged value
    counts (scikit-learn's tie rule: the smallest of the most frequent),
    ``median`` by exact selection in a few extra passes
    (:func:`scaleout.kernels.table_stats.median_plan`), ``constant`` needs only
    which columns have missing values (for ``add_indicator``).

    Parameters
    ----------
    missing_values : float, default=np.nan
        Only NaN / None: Parquet and CSV nulls are read as NaN.
    strategy : {"mean", "median", "most_frequent", "constant"}, default="mean"
    fill_value, copy, add_indicator, keep_empty_features
        As in scikit-learn.
    backend : str, default="auto"

    Attributes
    ----------
    statistics_, indicator_, n_features_in_, feature_names_in_
        scikit-learn's.
    summary_, layout_
        What the statistics were computed from (what a saved model holds).
    """

    _sklearn_class = _ski.SimpleImputer
    _kernel = Kernel(
        "scaleout.kernels.column_plan",
        "check_table_step_params",
        "fit_table_step",
        options=(("step", "SimpleImputer"),),
    )

    def __init__(
        self,
        *,
        missing_values: Any = np.nan,
        strategy: str = "mean",
        fill_value: Any = None,
        copy: bool = True,
        add_indicator: bool = False,
        keep_empty_features: bool = False,
        backend: str = "auto",
    ) -> None:
        self.missing_values = missing_values
        self.strategy = strategy
        self.fill_value = fill_value
        self.copy = copy
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.backend = backend

    def _check_table(self, dataset: Any) -> None:
        """Refuse string columns for a numeric strategy before any pass (scikit-learn's rule)."""
        if self.strategy not in ("mean", "median"):
            return
        from .data.table_frame import is_string_type

        strings = [f.name for f in dataset.schema if f.name in dataset.feature_names
                   and is_string_type(f.type)]
        if strings:
            raise DataError(
                f"Cannot use {self.strategy} strategy with non-numeric data: column(s) "
                f"{', '.join(map(repr, strings[:10]))} of {dataset.source} hold strings; use "
                "strategy='most_frequent' or 'constant' for them (e.g. in a ColumnTransformer)"
            )

    def _rebuild(self) -> Any:
        return fitted_step("SimpleImputer", self._sklearn_params(), self.summary_, self.layout_)

    def inverse_transform(self, X: Any) -> Any:
        """scikit-learn's ``inverse_transform`` (needs ``add_indicator=True``)."""
        return self._call_table("inverse_transform", X)
