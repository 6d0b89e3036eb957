"""StandardScaler and MinMaxScaler on Spark: the kernel's column moments over Arrow batches.

One pass: a ``mapInArrow`` over the prepared frame's float64 feature columns
(and the row weights) runs :func:`~scaleout.kernels.scalers.column_moments`
on every Arrow batch of a partition on its executor, merges them
(:func:`~scaleout.kernels.scalers.merge_moments`), and yields the
partition's statistics as one row of packed doubles; the driver merges the
rows. So the statistics are the dask engine's, merged exactly (shifted means,
Chan's pairwise update of the centred sums of squares, minima and maxima),
and the fitted attributes scikit-learn's (population variance, ``ddof=0``;
``scale_`` 1 for constant columns; ``sample_weight`` honoured).

Why not ``pyspark.ml.feature.StandardScaler`` / ``MinMaxScaler``: MLlib's
standard deviation is the sample one (``n - 1``) and it takes no row weights;
its MinMaxScaler maps constant columns to the middle of the range, not to
scikit-learn's ``feature_range[0]``; and the kernel's statistics are the
same on every engine. The rows are checked as for every fit
(:func:`~scaleout.backends.spark.convert.prepare`; inside this pass when the
row count is known without a scan).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ...kernels.scalers import (
    Moments,
    check_minmax_scaler_params,
    column_moments,
    merge_moments,
    minmax_scaler_state,
    standard_scaler_state,
)
from .algorithm import Algorithm
from .arrow_passes import batch_arrays, packed_row, partition_rows
from .compat import select_exprs
from .convert import FEATURES, WEIGHT, _assemble, _double

if TYPE_CHECKING:
    from ...engines.base import FitTask
    from .convert import Prepared

__all__ = [
    "SCALERS",
    "MinMaxScalerAlgorithm",
    "StandardScalerAlgorithm",
    "scaled",
    "spark_column_moments",
]

#: The scaler steps a Spark pipeline may start with.
SCALERS = ("StandardScaler", "MinMaxScaler")


def _partition_moments(batches: Any, n_features: int, weighted: bool) -> Any:
    """``mapInArrow`` function: one row holding the partition's packed :class:`Moments`."""
    total = Moments.empty(n_features)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        X, *weights = batch_arrays(batch, n_features, 1 if weighted else 0)
        total = merge_moments(total, column_moments(X, weights[0] if weighted else None))
    yield packed_row(total.pack(), "moments")


def spark_column_moments(frame: Any, columns: list[str], *, weighted: bool) -> Moments:
    """The :class:`~scaleout.kernels.scalers.Moments` of ``frame``'s float64 ``columns``.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    columns : list of str
        Float64 feature columns (plain names).
    weighted : bool
        Weight the rows by the frame's :data:`~.convert.WEIGHT` column.

    Returns
    -------
    Moments
        Merged over the partitions, in partition order.
    """
    kept = [*columns, *([WEIGHT] if weighted else [])]
    function = partial(_partition_moments, n_features=len(columns), weighted=weighted)
    total = Moments.empty(len(columns))
    for packed in partition_rows(select_exprs(frame, kept), function, "moments"):
        total = merge_moments(total, Moments.unpack(packed))
    return total


class _ScalerAlgorithm(Algorithm):
    """A scaler: one pass of column moments (no MLlib stage)."""

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One ``mapInArrow`` pass of the kernel's column moments; scikit-learn's state."""
        moments = spark_column_moments(frame, prepared.raw_columns, weighted=prepared.has_weights)
        return self.state_of(moments, params, prepared), {"solver": "column moments"}

    def state_of(self, moments: Moments, params: dict[str, Any], prepared: Prepared) -> dict:
        raise NotImplementedError


class StandardScalerAlgorithm(_ScalerAlgorithm):
    """StandardScaler: means and population variances (weighted with ``sample_weight``)."""

    weights = True

    def state_of(self, moments: Moments, params: dict[str, Any], prepared: Prepared) -> dict:
        return standard_scaler_state(moments, params, weighted=prepared.has_weights)


class MinMaxScalerAlgorithm(_ScalerAlgorithm):
    """MinMaxScaler: column minima and maxima."""

    def state_of(self, moments: Moments, params: dict[str, Any], prepared: Prepared) -> dict:
        return minmax_scaler_state(moments, params)

    def check_task(self, task: FitTask) -> None:
        """``feature_range`` must be two numbers, min < max (scikit-learn's error)."""
        check_minmax_scaler_params(task.params, backend="spark")


# ------------------------------------------------------------------- pipelines
def _scaled_exprs(
    columns: list[str], name: str, params: dict[str, Any], state: dict[str, Any]
) -> list[str]:
    """SQL of scikit-learn's ``transform`` of each column: the same operations in the same
    order (``x - mean``, then ``/ scale``; ``x * scale``, then ``+ min``), so the same doubles."""
    exprs = []
    for j, column in enumerate(columns):
        expr = column
        if name == "StandardScaler":
            if params.get("with_mean", True):
                expr = f"({expr} - {_double(state['mean_'][j])})"
            if params.get("with_std", True):
                expr = f"({expr} / {_double(state['scale_'][j])})"
        else:
            expr = f"(({expr} * {_double(state['scale_'][j])}) + {_double(state['min_'][j])})"
        exprs.append(f"{expr} AS {column}")
    return exprs


def _scaled_moments(
    values: np.ndarray | None, name: str, params: dict[str, Any], state: dict[str, Any], power: int
) -> np.ndarray | None:
    """Column means (``power`` 1) or variances (2) of the data after the scaler."""
    if values is None:
        return None
    if name == "StandardScaler":
        if power == 1 and params.get("with_mean", True):
            values = values - state["mean_"]
        if params.get("with_std", True):
            values = values / state["scale_"] ** power
        return values
    return values * state["scale_"] ** power + (state["min_"] if power == 1 else 0.0)


def scaled(
    prepared: Prepared,
    name: str,
    params: dict[str, Any],
    state: dict[str, Any],
    *,
    centre: bool = False,
) -> Any:
    """``prepared`` with its feature columns through a fitted scaler (a pipeline's first step).

    The raw float64 columns are replaced by scikit-learn's ``transform`` of
    them in SQL (:func:`_scaled_exprs`), the feature vector is assembled
    again, and the means and variances of the check job are mapped through the
    same affine transformation. The next step fits on the result as on any
    prepared data. Its values need no new check: a standardised column is
    bounded by ``sqrt(n)`` (Samuelson's inequality) or is centred data, and
    a min-max scaled one lies in ``feature_range`` on the training rows.
    With ``centre`` the vector holds the scaled columns minus their means (a
    PCA step next, as ``prepare(centre=True)``).

    Returns
    -------
    Prepared
    """
    frame = prepared.frame
    raw = prepared.raw_columns
    kept = [c for c in frame.columns if c not in raw and c != FEATURES]
    frame = select_exprs(frame, [*kept, *_scaled_exprs(raw, name, params, state)])
    means = _scaled_moments(prepared.means, name, params, state, 1)
    return dataclasses.replace(
        prepared,
        frame=_assemble(frame, raw, means if centre else None),
        means=means,
        variances=_scaled_moments(prepared.variances, name, params, state, 2),
    )
