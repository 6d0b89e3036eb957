"""Per-column statistics of raw table chunks, merged exactly across chunks.

The table transformers (``SimpleImputer``, ``OneHotEncoder``,
``OrdinalEncoder``) are fitted from three kinds of per-column summaries, each
computed on a chunk and merged associatively, so any chunking gives the
statistics of the whole table:

* **value counts** (:func:`chunk_counts`, :func:`merge_counts`): every
  distinct value and its number of rows, a missing value (``NaN`` or ``None``)
  counted under the key ``None``. Exact. The number of distinct values of a
  column is bounded (``max_distinct_values``, a :class:`DataError` naming the
  column beyond it): counts are the categories of an encoder or the mode of an
  imputer, not a histogram of a continuous column.
* **numeric totals** (:func:`chunk_totals`): per column the non-missing rows,
  their sum, minimum and maximum (float64; the mean ``sum / count`` is within
  a few ulps of scikit-learn's ``np.ma.mean``).
* **exact medians** (:func:`median_plan`): selection by refinement. Each
  float maps to an order-preserving 64-bit key; a pass counts the keys of the
  range still holding the wanted rank in 4,096 buckets, which narrows the range
  4,096-fold, until few enough values remain that a last pass collects them and
  the median is read off sorted values. Typically 2-3 passes after the first,
  at most 6 for 64-bit keys; the result equals ``np.ma.median`` exactly (the
  two middle values averaged for an even count), as scikit-learn's.

Chunks are what :func:`scaleout.data.table_frame.arrow_to_frame` produces (or
a later step's NumPy output): a pandas frame or a 2-D array, string columns as
``object`` with ``np.nan`` for a missing value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MEDIAN_BUCKETS",
    "MEDIAN_COLLECT",
    "TooManyValues",
    "add_lists",
    "chunk_counts",
    "chunk_key_histograms",
    "chunk_missing",
    "chunk_range_values",
    "chunk_totals",
    "column_arrays",
    "concat_lists",
    "count_key",
    "float_keys",
    "key_value",
    "median_plan",
    "merge_counts",
    "merge_totals",
]

#: Buckets of a median refinement pass, and the most values a last pass collects.
MEDIAN_BUCKETS = 4096
MEDIAN_COLLECT = 1 << 16


def column_arrays(X: Any) -> list[np.ndarray]:
    """The columns of a chunk (pandas frame or 2-D array) as 1-D NumPy arrays."""
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j].to_numpy() for j in range(X.shape[1])]
    X = np.asarray(X)
    return [X[:, j] for j in range(X.shape[1])]


def count_key(value: Any) -> Any:
    """A count's key: ``None`` for a missing value, else a plain Python scalar."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if isinstance(value, np.generic) else value


class TooManyValues(Exception):
    """A column has more distinct values than the limit (``column`` its position)."""

    def __init__(self, column: int, count: int, limit: int) -> None:
        super().__init__(column, count, limit)
        self.column, self.count, self.limit = column, count, limit


def _check_limit(counts: list[Counter], limit: int | None) -> None:
    if limit is None:
        return
    for j, column in enumerate(counts):
        if len(column) > limit:
            raise TooManyValues(j, len(column), limit)


def chunk_counts(X: Any, limit: int | None = None) -> list[Counter]:
    """Per column, every distinct value's number of rows (``None``: missing values).

    Raises :class:`TooManyValues` when a column has more than ``limit`` values.
    """
    counts = []
    for values in column_arrays(X):
        series = pd.Series(values, copy=False)
        tally = series.value_counts(dropna=False, sort=False)
        column: Counter = Counter()
        for value, n in zip(tally.index.tolist(), tally.to_numpy().tolist(), strict=True):
            column[count_key(value)] += int(n)
        counts.append(column)
    _check_limit(counts, limit)
    return counts


def merge_counts(a: list[Counter], b: list[Counter], limit: int | None = None) -> list[Counter]:
    """Add two chunks' counts (exact, associative, commutative); ``limit`` as above."""
    merged = []
    for left, right in zip(a, b, strict=True):
        total = Counter(left)
        total.update(right)
        merged.append(total)
    _check_limit(merged, limit)
    return merged


def chunk_totals(X: Any) -> np.ndarray:
    """Per column ``[non-missing rows, their sum, min, max, rows]`` of a numeric chunk, (5, p)."""
    columns = column_arrays(X)
    out = np.empty((5, len(columns)))
    for j, values in enumerate(columns):
        values = np.asarray(values, dtype=np.float64)
        present = values[~np.isnan(values)]
        out[0, j] = present.size
        out[1, j] = present.sum()
        out[2, j] = present.min() if present.size else np.inf
        out[3, j] = present.max() if present.size else -np.inf
        out[4, j] = values.size
    return out


def chunk_missing(X: Any) -> np.ndarray:
    """Per column the number of missing values (``NaN`` or ``None``), and the rows, (p + 1,)."""
    columns = column_arrays(X)
    counts = [int(pd.isna(values).sum()) for values in columns]
    return np.array([*counts, len(columns[0]) if columns else 0], dtype=np.int64)


def merge_totals(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge two chunks' :func:`chunk_totals`."""
    out = a + b
    out[2] = np.minimum(a[2], b[2])
    out[3] = np.maximum(a[3], b[3])
    return out


# ----------------------------------------------------------------------- medians
_SIGN = np.uint64(1 << 63)


def float_keys(values: np.ndarray) -> np.ndarray:
    """Order-preserving uint64 keys of float64 values (no NaN): ``a < b`` iff keys ``<``."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    negative = (bits & _SIGN) != 0
    return np.where(negative, ~bits, bits | _SIGN)


def key_value(key: int) -> float:
    """The float64 whose :func:`float_keys` key is ``key`` (the inverse)."""
    bits = np.array([key], dtype=np.uint64)
    negative = (bits & _SIGN) == 0
    raw = np.where(negative, ~bits, bits & ~_SIGN)
    return float(raw.view(np.float64)[0])


def _present(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[~np.isnan(values)]


def chunk_key_histograms(X: Any, ranges: Sequence[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """For each ``(column, low key, high key, bucket width)``, the bucket counts of its keys.

    Keys outside ``[low, high]`` are left out; bucket ``k`` holds keys in
    ``[low + k * width, low + (k + 1) * width)``. The last entry of each
    histogram is the number of keys below ``low``.
    """
    columns = column_arrays(X)
    out = []
    for j, low, high, width in ranges:
        keys = float_keys(_present(columns[j]))
        below = int(np.count_nonzero(keys < np.uint64(low)))
        inside = keys[(keys >= np.uint64(low)) & (keys <= np.uint64(high))]
        buckets = ((inside - np.uint64(low)) // np.uint64(width)).astype(np.int64)
        histogram = np.bincount(buckets, minlength=MEDIAN_BUCKETS + 1).astype(np.int64)
        histogram[MEDIAN_BUCKETS] = below
        out.append(histogram)
    return out


def chunk_range_values(X: Any, ranges: Sequence[tuple[int, int, int]]) -> list[np.ndarray]:
    """For each ``(column, low key, high key)``, the values whose keys are in ``[low, high]``."""
    columns = column_arrays(X)
    out = []
    for j, low, high in ranges:
        values = _present(columns[j])
        keys = float_keys(values)
        out.append(values[(keys >= np.uint64(low)) & (keys <= np.uint64(high))])
    return out


def add_lists(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    """Element-wise sum of two lists of arrays (histograms)."""
    return [x + y for x, y in zip(a, b, strict=True)]


def concat_lists(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    """Element-wise concatenation of two lists of arrays (collected values)."""
    return [np.concatenate([x, y]) for x, y in zip(a, b, strict=True)]


class _Rank:
    """The search for the value of one rank of one column: a key range and what is below it."""

    def __init__(self, column: int, rank: int, low: int, high: int) -> None:
        self.column, self.rank = column, rank
        self.low, self.high, self.below = low, high, 0
        self.value: float | None = None
        self.inside = MEDIAN_COLLECT + 1

    @property
    def width(self) -> int:
        return max(1, -(-(self.high - self.low + 1) // MEDIAN_BUCKETS))

    def narrow(self, histogram: np.ndarray) -> None:
        """Keep the bucket that holds the rank."""
        self.below = int(histogram[MEDIAN_BUCKETS])
        cumulative = self.below + np.cumsum(histogram[:MEDIAN_BUCKETS])
        bucket = int(np.searchsorted(cumulative, self.rank, side="right"))
        width = self.width
        self.below = self.below if bucket == 0 else int(cumulative[bucket - 1])
        self.low, self.high = (
            self.low + bucket * width,
            min(self.high, self.low + (bucket + 1) * width - 1),
        )
        self.inside = int(histogram[bucket])

    def pick(self, values: np.ndarray) -> None:
        self.value = float(np.sort(values)[self.rank - self.below])


def median_plan(totals: np.ndarray, columns: Sequence[int]) -> Any:
    """A generator of the median passes of ``columns``; returns ``{column: median}``.

    Parameters
    ----------
    totals : ndarray of shape (5, p)
        The merged :func:`chunk_totals` (counts, minima and maxima).
    columns : sequence of int
        The columns whose median is wanted (those with no value get NaN).

    Yields
    ------
    tuple
        ``("histograms", ranges)`` or ``("values", ranges)``: the caller runs
        :func:`chunk_key_histograms` or :func:`chunk_range_values` over every
        chunk, merges with :func:`add_lists` / :func:`concat_lists`, and sends
        the result back.
    """
    ranks: list[_Rank] = []
    medians: dict[int, float] = {}
    for j in columns:
        n = int(totals[0, j])
        if n == 0:
            medians[j] = float("nan")
            continue
        low = int(float_keys(np.array([totals[2, j]]))[0])
        high = int(float_keys(np.array([totals[3, j]]))[0])
        for rank in sorted({(n - 1) // 2, n // 2}):
            ranks.append(_Rank(j, rank, low, high))
    pending = list(ranks)
    while pending:
        for r in [r for r in pending if r.low == r.high]:  # one key left: its value
            r.value = key_value(r.low)
        pending = [r for r in pending if r.value is None]
        if not pending:
            break
        small = [r for r in pending if r.inside <= MEDIAN_COLLECT]
        if small:
            values = yield ("values", [(r.column, r.low, r.high) for r in small])
            for r, found in zip(small, values, strict=True):
                r.pick(found)
            pending = [r for r in pending if r not in small]
            continue
        histograms = yield ("histograms", [(r.column, r.low, r.high, r.width) for r in pending])
        for r, histogram in zip(pending, histograms, strict=True):
            r.narrow(histogram)
    for j in columns:
        if j in medians:
            continue
        values = [r.value for r in ranks if r.column == j]
        medians[j] = float(np.mean(values)) if len(values) == 2 else float(values[0])
    return medians
