"""Fitting the table transformers out of core: summaries in passes, scikit-learn's state from them.

A table transformer is fitted in two parts:

1. **Passes** (:func:`imputer_passes`, :func:`encoder_passes`): a generator
   that yields :class:`Request` s -- a per-chunk function and its merge -- and
   receives each merged result, until it returns the transformer's *summary*:
   the few numbers scikit-learn's fit depends on (a column's mean or median or
   mode and whether it has missing values; an encoder column's distinct values
   with their counts, and the row count).
2. **State** (:func:`fitted_imputer`, :func:`fitted_encoder`): scikit-learn's
   own class is fitted on a *representative table* built from the summary, a
   table of a few rows on which its fit computes exactly the statistics of the
   whole data: one row holding the column's mean / median / mode (the mean of
   one value is that value) plus one missing value where the column had one;
   an encoder's distinct values. An encoder's category counts (for
   ``min_frequency`` / ``max_categories``) are the whole data's: they are
   handed to scikit-learn's ``_fit_infrequent_category_mapping`` in place of
   the representative table's. Everything else -- validation, dtypes, the
   order of categories, ``drop``, infrequent groups, the missing indicator --
   is scikit-learn's own code. The summary is also what a saved model stores.

Several transformers fitted together (a ``ColumnTransformer``'s branches, see
:mod:`scaleout.kernels.column_plan`) share each pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import UnsupportedOnBackend
from .table_stats import (
    add_lists,
    chunk_counts,
    chunk_key_histograms,
    chunk_range_values,
    chunk_totals,
    concat_lists,
    count_key,
    median_plan,
    merge_counts,
    merge_totals,
)

__all__ = [
    "Layout",
    "Request",
    "chunk_layout",
    "encoder_passes",
    "fitted_encoder",
    "fitted_imputer",
    "imputer_passes",
    "merge_layouts",
    "representative_table",
]

#: Default most distinct values an encoder or a most_frequent imputer counts per column.
MAX_DISTINCT_VALUES = 100_000


@dataclass(frozen=True)
class Request:
    """One pass a fit asks for: ``fn(chunk)`` on every chunk, merged by ``combine``."""

    fn: Callable[[Any], Any]
    combine: Callable[[Any, Any], Any]
    label: str = "statistics"


FitPasses = Generator[Request, Any, dict[str, Any]]


# ------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """What a step's input looks like: a named frame or an array, and each column's dtype.

    Attributes
    ----------
    names : tuple of str or None
        Column names when the input is a pandas frame, None for an array.
    dtypes : tuple of str
        Per column: ``"object"``, ``"float64"``, ``"int64"`` or ``"bool"``,
        widened over chunks (a column with a missing value in some chunk is
        float64).
    """

    names: tuple[str, ...] | None
    dtypes: tuple[str, ...]


def _kind(dtype: np.dtype) -> str:
    if dtype.kind in "USO":
        return "object"
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iu":
        return "int64"
    return "float64"


def chunk_layout(X: Any) -> Layout:
    """The :class:`Layout` of one chunk."""
    if isinstance(X, pd.DataFrame):
        return Layout(tuple(str(c) for c in X.columns), tuple(_kind(d) for d in X.dtypes))
    X = np.asarray(X)
    return Layout(None, (_kind(X.dtype),) * X.shape[1])


_ORDER = {"bool": 0, "int64": 1, "float64": 2, "object": 3}
#: The dtypes a layout may name.
LAYOUT_DTYPES = tuple(_ORDER)


def layout_document(layout: Layout) -> dict[str, Any]:
    """A layout as plain data (what a saved model holds)."""
    names = None if layout.names is None else list(layout.names)
    return {"names": names, "dtypes": list(layout.dtypes)}


def as_layout(value: Layout | dict[str, Any]) -> Layout:
    """A :class:`Layout` from itself or its :func:`layout_document`."""
    if isinstance(value, Layout):
        return value
    names = value["names"]
    return Layout(None if names is None else tuple(names), tuple(value["dtypes"]))


def merge_layouts(a: Layout, b: Layout) -> Layout:
    """The wider of two chunks' layouts (bool < int64 < float64 < object per column)."""
    dtypes = tuple(
        max(x, y, key=_ORDER.__getitem__) for x, y in zip(a.dtypes, b.dtypes, strict=True)
    )
    return Layout(a.names, dtypes)


def representative_table(layout: Layout, columns: Sequence[Sequence[Any]]) -> Any:
    """A table of ``layout`` whose column ``j`` holds the values ``columns[j]``.

    Shorter columns are padded by repeating their first value (a repeat changes
    no statistic the representative fits read); a ``None`` is a missing value.
    """
    length = max(1, *(len(c) for c in columns)) if columns else 1
    arrays = []
    for values, dtype in zip(columns, layout.dtypes, strict=True):
        values = [np.nan if v is None else v for v in values] or [np.nan]
        values = values + [values[0]] * (length - len(values))
        if dtype == "object":
            arrays.append(np.array(values, dtype=object))
        elif dtype in ("int64", "bool") and not any(v != v for v in values):
            arrays.append(np.array(values, dtype=dtype))
        else:
            arrays.append(np.array(values, dtype=np.float64))
    if layout.names is None:
        if not arrays:
            return np.empty((1, 0))
        common = object if "object" in layout.dtypes else None
        return np.column_stack(arrays).astype(common) if common else np.column_stack(arrays)
    series = {
        name: pd.Series(a, dtype=a.dtype) for name, a in zip(layout.names, arrays, strict=True)
    }
    return pd.DataFrame(series, columns=list(layout.names))


def _column_name(layout: Layout, j: int) -> str:
    return repr(layout.names[j]) if layout.names else f"{j}"


def _counted(counts: Counter) -> tuple[list[Any], list[int]]:
    values = list(counts)
    return values, [int(counts[v]) for v in values]


# ------------------------------------------------------------------ SimpleImputer
def check_imputer_params(params: dict[str, Any]) -> None:
    """Refuse a ``missing_values`` other than NaN/None (chunks hold missing values as NaN)."""
    missing = params.get("missing_values", np.nan)
    if not (
        missing is None or missing is pd.NA or (isinstance(missing, float) and missing != missing)
    ):
        raise UnsupportedOnBackend(
            f"SimpleImputer(missing_values={missing!r}) is not supported: scaleout reads "
            "missing values as NaN / None (Parquet and CSV nulls); supported: np.nan"
        )


def _mode(counts: Counter) -> Any:
    present = {k: n for k, n in counts.items() if k is not None}
    if not present:
        return None
    top = max(present.values())
    return min(k for k, n in present.items() if n == top)  # scikit-learn: smallest of ties


def _count_request(limit: int | None) -> Request:
    return Request(
        partial(chunk_counts, limit=limit), partial(merge_counts, limit=limit), "value counts"
    )


def imputer_passes(
    params: dict[str, Any], step: str = "SimpleImputer", limit: int | None = MAX_DISTINCT_VALUES
) -> FitPasses:
    """The passes of a SimpleImputer; returns its summary (see :func:`fitted_imputer`).

    One pass for every strategy but ``median`` (totals or counts); ``median``
    then adds its refinement passes (:func:`~.table_stats.median_plan`).
    """
    check_imputer_params(params)
    strategy = params.get("strategy", "mean")
    if strategy in ("most_frequent", "constant"):
        counts = yield _count_request(limit if strategy == "most_frequent" else None)
        if strategy == "most_frequent":
            values = [_mode(c) for c in counts]
        else:
            values = [next((k for k in c if k is not None), None) for c in counts]
        missing = [c.get(None, 0) > 0 for c in counts]
        return {"strategy": strategy, "values": values, "missing": missing}
    if callable(strategy) or strategy not in ("mean", "median"):
        raise UnsupportedOnBackend(
            f"SimpleImputer(strategy={strategy!r}) is not supported out of core; supported: "
            "'mean', 'median', 'most_frequent', 'constant'"
        )
    totals = yield Request(chunk_totals, merge_totals, "column totals")
    present, rows = totals[0], totals[4]
    if strategy == "mean":
        values = [float(s / n) if n else None for s, n in zip(totals[1], present, strict=True)]
    else:
        plan = median_plan(totals, range(totals.shape[1]))
        result = None
        try:
            while True:
                kind, ranges = plan.send(result)
                if kind == "histograms":
                    fn, combine = partial(chunk_key_histograms, ranges=ranges), add_lists
                else:
                    fn, combine = partial(chunk_range_values, ranges=ranges), concat_lists
                result = yield Request(fn, combine, f"median {kind}")
        except StopIteration as done:
            medians = done.value
        values = [None if np.isnan(medians[j]) else medians[j] for j in range(totals.shape[1])]
    missing = [bool(p < r) for p, r in zip(present, rows, strict=True)]
    return {"strategy": strategy, "values": values, "missing": missing}


def fitted_imputer(
    sklearn_class: type, params: dict[str, Any], summary: dict, layout: Layout
) -> Any:
    """scikit-learn's SimpleImputer fitted on the representative table of ``summary``."""
    layout = as_layout(layout)
    numeric = summary["strategy"] in ("mean", "median")
    if numeric and "object" not in layout.dtypes:  # (strings: scikit-learn's own error)
        layout = Layout(layout.names, ("float64",) * len(layout.dtypes))
    columns = [
        [value] + ([None] if missing else [])
        for value, missing in zip(summary["values"], summary["missing"], strict=True)
    ]
    imputer = sklearn_class(**params)
    imputer.fit(representative_table(layout, columns))
    return imputer


# --------------------------------------------------------------------- encoders
def encoder_passes(
    params: dict[str, Any], step: str = "OneHotEncoder", limit: int | None = MAX_DISTINCT_VALUES
) -> FitPasses:
    """The pass of a OneHotEncoder / OrdinalEncoder: every column's value counts."""
    counts = yield _count_request(limit)
    rows = sum(counts[0].values()) if counts else 0
    columns = [_counted(c) for c in counts]
    return {
        "values": [values for values, _ in columns],
        "counts": [n for _, n in columns],
        "n_samples": int(rows),
    }


def fitted_encoder(
    sklearn_class: type, params: dict[str, Any], summary: dict, layout: Layout
) -> Any:
    """scikit-learn's encoder fitted on the distinct values, with the whole data's counts."""
    layout = as_layout(layout)
    encoder = sklearn_class(**params)
    tallies = [
        dict(zip(map(count_key, v), n, strict=True))
        for v, n in zip(summary["values"], summary["counts"], strict=True)
    ]
    mapping = encoder._fit_infrequent_category_mapping
    n_samples = summary["n_samples"]

    def with_true_counts(_n: int, _counts: list, missing_indices: dict) -> Any:
        counts = [
            np.array([tally.get(count_key(c), 0) for c in categories], dtype=np.int64)
            for tally, categories in zip(tallies, encoder.categories_, strict=True)
        ]
        return mapping(n_samples, counts, missing_indices)

    encoder._fit_infrequent_category_mapping = with_true_counts
    try:
        encoder.fit(representative_table(layout, summary["values"]))
    finally:
        del encoder._fit_infrequent_category_mapping
    return encoder


def onehot_nonzeros(encoder: Any, summary: dict, layout: Layout) -> int:
    """Non-zero entries of a fitted OneHotEncoder's output on its training rows.

    Each column's categories are encoded once (:func:`representative_table`);
    a category's row of the output block holds 1 or 0 ones (0 for a dropped
    category), times its count.
    """
    layout = as_layout(layout)
    total = 0
    sizes = encoder._n_features_outs
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for j, (values, counts) in enumerate(zip(summary["values"], summary["counts"], strict=True)):
        table = representative_table(
            layout,
            [
                values if k == j else [summary["values"][k][0]]
                for k in range(len(summary["values"]))
            ],
        )
        block = encoder.transform(table)
        block = block[:, starts[j] : starts[j + 1]]
        ones = np.asarray(block.sum(axis=1)).ravel()[: len(values)]
        total += int(np.dot(ones, np.asarray(counts, dtype=np.int64)))
    return total
