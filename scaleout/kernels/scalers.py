"""StandardScaler and MinMaxScaler out of core: one pass of per-column moments.

Each chunk returns its :class:`Moments`: rows, (weighted) count, column
means, centred sums of squares ``m2`` and column minima and maxima. Two
results merge exactly (Chan, Golub & LeVeque's pairwise update, on the
diagonal only: a scaler needs no p x p scatter)::

    w = w1 + w2,  mean = mean1 + d w2 / w,  m2 = m2_1 + m2_2 + d² w1 w2 / w,
    d = mean2 - mean1
    min = minimum(min1, min2),  max = maximum(max1, max2)

The means are held as ``shift + offset``, the shift a row of the data (exact)
and the offset relative to it: a column of mean 1e6 and spread 1e-3 has chunk
means whose float64 rounding (1e-10) is not small against their differences
(1e-5), and a plain merge would lose 8 digits of its variance; the offsets
keep the differences exact to rounding of the spread. So any chunking and any
bracketing of the merges give the statistics of the whole data (the property
test in ``tests/test_kernel_merges.py``). Within a chunk ``m2`` is
scikit-learn's corrected two-pass sum (``_incremental_mean_and_var``). The
fitted attributes are then computed as scikit-learn computes them from its
statistics, with its own helpers for near-constant columns
(``_is_constant_feature``, ``_handle_zeros_in_scale``: ``scale_`` is 1 where
the variance is indistinguishable from 0), so ``var_`` and ``scale_`` agree
with scikit-learn's to rounding.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature

from ..data.dataset import Batch
from ..exceptions import InvalidParameterError
from .passes import Passes

__all__ = [
    "Moments",
    "check_minmax_scaler_params",
    "check_standard_scaler_params",
    "chunk_moments",
    "fit_minmax_scaler",
    "fit_standard_scaler",
    "merge_moments",
    "minmax_scaler_state",
    "standard_scaler_state",
]


class Moments(NamedTuple):
    """Per-column statistics of some rows.

    Attributes
    ----------
    n : int
        Rows.
    weight : float
        Sum of the row weights (``n`` without weights).
    shift : ndarray of shape (p,)
        A row of the data (zeros for no rows): the means are ``shift + offset``.
    offset : ndarray of shape (p,)
        Weighted column means minus ``shift`` (zeros when ``weight`` is 0).
    m2 : ndarray of shape (p,)
        ``sum_i w_i (x_ij - mean_j)²``.
    min, max : ndarray of shape (p,)
        Column minima and maxima over the rows (``inf`` / ``-inf`` for no rows).
    """

    n: int
    weight: float
    shift: np.ndarray
    offset: np.ndarray
    m2: np.ndarray
    min: np.ndarray
    max: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """The weighted column means."""
        return self.shift + self.offset

    @classmethod
    def empty(cls, p: int) -> Moments:
        """The statistics of no rows (the merge's identity)."""
        zeros = np.zeros(p)
        return cls(0, 0.0, zeros, zeros, zeros, np.full(p, np.inf), np.full(p, -np.inf))

    def pack(self) -> np.ndarray:
        """One float64 vector ``[n, weight, shift, offset, m2, min, max]`` (to ship as bytes)."""
        head = [float(self.n), self.weight]
        return np.concatenate([head, self.shift, self.offset, self.m2, self.min, self.max])

    @classmethod
    def unpack(cls, values: np.ndarray) -> Moments:
        """Inverse of :meth:`pack`."""
        p = (len(values) - 2) // 5
        parts = [np.array(values[2 + k * p : 2 + (k + 1) * p]) for k in range(5)]
        return cls(int(values[0]), float(values[1]), *parts)


def column_moments(X: np.ndarray, weights: np.ndarray | None = None) -> Moments:
    """The :class:`Moments` of the rows of ``X`` (with optional non-negative row weights)."""
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    if n == 0:
        return Moments.empty(p)
    shift = np.array(X[0])
    Z = X - shift
    if weights is None:
        weight = float(n)
        offset = Z.sum(axis=0) / n
        dev = Z - offset
        correction = dev.sum(axis=0)  # scikit-learn's corrected two-pass sum
        m2 = np.einsum("ij,ij->j", dev, dev) - correction**2 / weight
    else:
        w = np.asarray(weights, dtype=np.float64)
        weight = float(w.sum())
        if weight > 0:
            offset = (w @ Z) / weight
            dev = Z - offset
            correction = w @ dev
            m2 = w @ (dev * dev) - correction**2 / weight
        else:
            offset, m2 = np.zeros(p), np.zeros(p)
    return Moments(n, weight, shift, offset, np.maximum(m2, 0.0), X.min(axis=0), X.max(axis=0))


def chunk_moments(batch: Batch) -> Moments:
    """The :class:`Moments` of one chunk (weighted when the batch has weights)."""
    return column_moments(batch.X, batch.weights)


def merge_moments(a: Moments, b: Moments) -> Moments:
    """Exact, associative merge of two chunks' :class:`Moments` (keeps ``a``'s shift)."""
    n = a.n + b.n
    low, high = np.minimum(a.min, b.min), np.maximum(a.max, b.max)
    if b.weight == 0:
        return Moments(n, a.weight, a.shift, a.offset, a.m2, low, high)
    if a.weight == 0:
        return Moments(n, b.weight, b.shift, b.offset, b.m2, low, high)
    weight = a.weight + b.weight
    d = (b.shift - a.shift) + (b.offset - a.offset)  # the shifts' difference is exact
    offset = a.offset + d * (b.weight / weight)
    m2 = a.m2 + b.m2 + d * d * (a.weight * b.weight / weight)
    return Moments(n, weight, a.shift, offset, m2, low, high)


# ------------------------------------------------------------------ StandardScaler
def check_standard_scaler_params(params: dict[str, Any], *, backend: str = "dask") -> None:
    """Every StandardScaler option is supported (``with_mean``, ``with_std``, ``copy``)."""


def standard_scaler_state(moments: Moments, params: dict[str, Any], *, weighted: bool) -> dict:
    """StandardScaler's fitted attributes from the column moments, as scikit-learn sets them.

    Parameters
    ----------
    moments : Moments
    params : dict
        ``StandardScaler.get_params()``.
    weighted : bool
        Whether the fit had sample weights: ``n_samples_seen_`` is then their
        sum (a float; the row count as a float when both options are False),
        else the row count (an int), as scikit-learn's.

    Returns
    -------
    dict
        ``mean_``, ``var_``, ``scale_`` (None where scikit-learn leaves them
        None: ``with_std=False``, or both options False) and ``n_samples_seen_``.
    """
    with_mean, with_std = params.get("with_mean", True), params.get("with_std", True)
    seen: int | float = float(moments.weight) if weighted else int(moments.n)
    state: dict[str, Any] = {"n_samples_seen_": seen}
    if not with_mean and not with_std:  # scikit-learn then counts rows, even weighted ones
        seen = float(moments.n) if weighted else int(moments.n)
        return {"n_samples_seen_": seen, "mean_": None, "var_": None, "scale_": None}
    mean = np.array(moments.mean, dtype=np.float64)
    if not with_std:
        return {**state, "mean_": mean, "var_": None, "scale_": None}
    var = moments.m2 / moments.weight
    constant = _is_constant_feature(var, mean, seen)
    scale = _handle_zeros_in_scale(np.sqrt(var), copy=False, constant_mask=constant)
    return {**state, "mean_": mean, "var_": var, "scale_": scale}


def fit_standard_scaler(
    passes: Passes, params: dict[str, Any], *, backend: str = "dask"
) -> dict[str, Any]:
    """Fit StandardScaler in one pass (weighted when the passes carry sample weights).

    Returns
    -------
    dict
        See :func:`standard_scaler_state`.
    """
    check_standard_scaler_params(params, backend=backend)
    passes.expect_passes(1)
    moments = passes.map_reduce(chunk_moments, label="column moments", combine=merge_moments)
    return standard_scaler_state(moments, params, weighted=passes.weighted)


# -------------------------------------------------------------------- MinMaxScaler
def check_feature_range(feature_range: Any) -> tuple[float, float]:
    """``feature_range`` as two floats, min < max, as scikit-learn requires.

    Raises
    ------
    InvalidParameterError
        For anything but two numbers with the first smaller (scikit-learn's message).
    """
    try:
        low, high = (float(v) for v in feature_range)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"MinMaxScaler(feature_range={feature_range!r}) must be a tuple of two numbers "
            "(min, max)"
        ) from None
    if not low < high:
        raise InvalidParameterError(
            "Minimum of desired feature range must be smaller than maximum. "
            f"Got {feature_range!s}."
        )
    return low, high


def check_minmax_scaler_params(params: dict[str, Any], *, backend: str = "dask") -> None:
    """Every MinMaxScaler option is supported; ``feature_range`` is checked."""
    check_feature_range(params.get("feature_range", (0, 1)))


def minmax_scaler_state(moments: Moments, params: dict[str, Any]) -> dict[str, Any]:
    """MinMaxScaler's fitted attributes from the column minima and maxima, as scikit-learn's."""
    low, high = check_feature_range(params.get("feature_range", (0, 1)))
    data_min = np.array(moments.min, dtype=np.float64)
    data_max = np.array(moments.max, dtype=np.float64)
    data_range = data_max - data_min
    scale = (high - low) / _handle_zeros_in_scale(data_range, copy=True)
    return {
        "min_": low - data_min * scale,
        "scale_": scale,
        "data_min_": data_min,
        "data_max_": data_max,
        "data_range_": data_range,
        "n_samples_seen_": int(moments.n),
    }


def fit_minmax_scaler(
    passes: Passes, params: dict[str, Any], *, backend: str = "dask"
) -> dict[str, Any]:
    """Fit MinMaxScaler in one pass: column minima and maxima.

    Returns
    -------
    dict
        ``min_``, ``scale_``, ``data_min_``, ``data_max_``, ``data_range_``,
        ``n_samples_seen_``.
    """
    check_minmax_scaler_params(params, backend=backend)
    passes.expect_passes(1)
    moments = passes.map_reduce(chunk_moments, label="column range", combine=merge_moments)
    return minmax_scaler_state(moments, params)
