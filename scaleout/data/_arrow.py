"""Arrow helpers shared by the file datasets: column checks and Arrow → NumPy.

The conversion fills a preallocated column-major (Fortran-order) array one
Arrow column at a time, straight from the Arrow buffers (no pandas round
trip). Each column is released as soon as it is copied, so the peak memory is
about the Arrow table plus one column, not twice the table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from ..exceptions import DataError, NonNumericDataError
from .columns import check_unique_columns
from .validate import SourceLike, check_features, check_target

__all__ = [
    "columns_to_numpy",
    "convert_columns",
    "feature_dtype",
    "fill_columns",
    "is_label_type",
    "is_numeric_type",
    "pandas_index_columns",
    "select_columns",
    "split_columns",
    "table_to_numpy",
    "target_to_numpy",
]

# Fill columns in parallel only when there is enough data to pay for threads.
_PARALLEL_MIN_VALUES = 1 << 20


def is_numeric_type(t: pa.DataType) -> bool:
    """Whether a column of this type can be a feature (bool, integer, float, decimal)."""
    return (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
    )


def is_label_type(t: pa.DataType) -> bool:
    """Whether a column of this type can be a target (numeric, string or categorical)."""
    if pa.types.is_dictionary(t):
        return is_label_type(t.value_type)
    return (
        is_numeric_type(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or getattr(pa.types, "is_string_view", lambda _: False)(t)
    )


def _listing(names: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "")


def select_names(
    names: Sequence[str],
    target: str | None,
    features: Sequence[str] | None,
    *,
    where: str,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Check the requested column names against the available ones; return the features.

    Parameters
    ----------
    names : sequence of str
        The columns of the source, in order.
    target : str or None
        Target column name.
    features : sequence of str or None
        Feature column names; None means every column except the target.
    where : str
        Description of the source, for messages (``"file '/p/a.parquet'"``).
    exclude : sequence of str, optional
        Columns left out when ``features`` is None (e.g. a stored pandas
        index).

    Returns
    -------
    list of str
        The feature column names, in order.

    Raises
    ------
    DataError
        For a missing target or feature column (listing the available
        columns), a target also listed as a feature, duplicate or no features,
        or a column name that the source has twice (:func:`check_unique_columns`).
    """
    names = list(names)
    if target is not None:
        if not isinstance(target, str):
            raise DataError(f"target must be a column name (str), got {type(target).__name__}")
        if target not in names:
            raise DataError(
                f"target column {target!r} not found in {where}; available columns: "
                f"{_listing(names)}"
            )
    if features is None:
        selected = [n for n in names if n != target and n not in exclude]
    else:
        if isinstance(features, str):
            raise DataError(
                f"features must be a list of column names, got the string {features!r}; "
                f"use features=[{features!r}]"
            )
        selected = [str(f) for f in features]
        missing = [f for f in selected if f not in names]
        if missing:
            label = "column" if len(missing) == 1 else "columns"
            raise DataError(
                f"feature {label} {_listing(missing)} not found in {where}; available "
                f"columns: {_listing(names)}"
            )
        duplicated = sorted({f for f in selected if selected.count(f) > 1})
        if duplicated:
            raise DataError(f"features lists column(s) more than once: {_listing(duplicated)}")
        if target is not None and target in selected:
            raise DataError(f"the target column {target!r} is also listed in features")
    if not selected:
        raise DataError(
            f"Found array with 0 feature(s) in {where}: no feature columns besides the "
            f"target {target!r}"
        )
    check_unique_columns(names, where=where, used=[*selected, target])
    return selected


def select_columns(
    schema: pa.Schema,
    target: str | None,
    features: Sequence[str] | None,
    *,
    where: str,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Check the requested columns against a schema; return the feature names.

    The names are checked by :func:`select_names` (same parameters, with the
    schema's names); then the types.

    Returns
    -------
    list of str
        The feature column names, in order.

    Raises
    ------
    DataError
        As :func:`select_names`, or for a target whose type is neither
        numeric nor class labels.
    NonNumericDataError
        For a feature column whose type is not numeric.
    """
    selected = select_names(schema.names, target, features, where=where, exclude=exclude)
    for name in selected:
        t = schema.field(name).type
        if not is_numeric_type(t):
            raise NonNumericDataError(
                f"feature column {name!r} has non-numeric type {t} in {where}; scaleout "
                "estimators need numeric features (bool, integer, float): encode it "
                "first (e.g. sklearn.preprocessing.OneHotEncoder), or leave it out with "
                "features=[...]"
            )
    if target is not None:
        t = schema.field(target).type
        if not is_label_type(t):
            raise DataError(
                f"target column {target!r} has unsupported type {t} in {where}; a target "
                "must be numeric (bool, integer, float) or class labels (string, "
                "categorical)"
            )
    return selected


def pandas_index_columns(schema: pa.Schema) -> list[str]:
    """Columns that hold a pandas index written by ``DataFrame.to_parquet``."""
    metadata = schema.pandas_metadata or {}
    return [c for c in metadata.get("index_columns", []) if isinstance(c, str)]


def _chunk_to_numpy(chunk: pa.Array) -> np.ndarray:
    t = chunk.type
    if chunk.null_count or pa.types.is_decimal(t) or pa.types.is_null(t):
        # Nulls become NaN (reported by validation); decimals become floats.
        target_type = pa.float32() if pa.types.is_float32(t) else pa.float64()
        chunk = chunk.cast(target_type)
    return chunk.to_numpy(zero_copy_only=False)


def _fill_column(
    out: np.ndarray, j: int, columns: list[pa.ChunkedArray | None], row_start: int
) -> None:
    column = columns[j]
    assert column is not None
    offset = row_start
    for chunk in column.chunks:
        n = len(chunk)
        if n:
            out[offset : offset + n, j] = _chunk_to_numpy(chunk)
            offset += n
    columns[j] = None  # release the Arrow memory of this column now


def feature_dtype(types: Sequence[pa.DataType]) -> np.dtype:
    """float32 when every feature column is float32, else float64."""
    if types and all(pa.types.is_float32(t) for t in types):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def fill_columns(
    out: np.ndarray, columns: list[pa.ChunkedArray | None], row_start: int = 0
) -> None:
    """Copy Arrow columns into rows ``row_start:`` of a column-major array.

    Parameters
    ----------
    out : numpy.ndarray
        2-D, Fortran order, one column per entry of ``columns``.
    columns : list of pyarrow.ChunkedArray
        The feature columns; the list's entries are set to None as each one
        is copied (so the caller should hold no other reference to them).
        Nulls become NaN.
    row_start : int, default 0
        First row of ``out`` to fill.
    """
    n_rows = max((len(c) for c in columns if c is not None), default=0)
    workers = min(len(columns), os.cpu_count() or 1)
    if workers > 1 and n_rows * len(columns) >= _PARALLEL_MIN_VALUES:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda j: _fill_column(out, j, columns, row_start), range(len(columns))))
    else:
        for j in range(len(columns)):
            _fill_column(out, j, columns, row_start)


def columns_to_numpy(columns: list[pa.ChunkedArray | None], n_rows: int) -> np.ndarray:
    """Copy Arrow columns into a new column-major float array.

    Parameters
    ----------
    columns : list of pyarrow.ChunkedArray
        The feature columns; emptied as they are copied (see
        :func:`fill_columns`).
    n_rows : int
        Total length of each column.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_rows, len(columns))``, Fortran order, float32 when every
        column is float32 else float64. Nulls become NaN.
    """
    dtype = feature_dtype([c.type for c in columns if c is not None])
    out = np.empty((n_rows, len(columns)), dtype=dtype, order="F")
    fill_columns(out, columns)
    return out


def target_to_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Convert a target column: numeric → its NumPy dtype, labels → object array.

    Nulls become NaN (numeric) or None (labels); :func:`check_target` reports
    both.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_decode()
        if is_numeric_type(chunk.type) and (chunk.null_count or pa.types.is_decimal(chunk.type)):
            chunk = chunk.cast(pa.float64())
        parts.append(chunk.to_numpy(zero_copy_only=False))
    if not parts:
        value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        dtype = value_type.to_pandas_dtype() if is_numeric_type(value_type) else object
        return np.empty(0, dtype=dtype)
    y = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if not y.flags.writeable:  # zero-copy view of Arrow memory
        y = y.copy()
    return y


def split_columns(
    table: pa.Table | pa.RecordBatch, features: Sequence[str], target: str | None
) -> tuple[list[pa.ChunkedArray | None], pa.ChunkedArray | None, int]:
    """Take the feature and target columns out of a table.

    Call it as ``split_columns(pq.read_table(...), ...)`` so that nothing else
    references the table: :func:`convert_columns` then frees each column as
    soon as it is copied.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    columns: list[pa.ChunkedArray | None] = [table.column(f) for f in features]
    y_column = None if target is None else table.column(target)
    return columns, y_column, table.num_rows


def convert_columns(
    columns: list[pa.ChunkedArray | None],
    y_column: pa.ChunkedArray | None,
    n_rows: int,
    *,
    features: Sequence[str],
    target: str | None,
    source: SourceLike,
    row_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert and validate feature and target columns (see :func:`split_columns`).

    Parameters
    ----------
    columns : list of pyarrow.ChunkedArray
        Feature columns, in order; emptied as they are copied.
    y_column : pyarrow.ChunkedArray or None
        Target column.
    n_rows : int
        Number of rows.
    features : sequence of str
        Feature names, for messages.
    target : str or None
        Target name, for messages.
    source : str or callable
        For error messages (see :func:`check_features`).
    row_offset : int, default 0
        Global index of the first row.

    Returns
    -------
    X : numpy.ndarray
        2-D, Fortran order, validated.
    y : numpy.ndarray or None
        Validated target.
    """
    X = columns_to_numpy(columns, n_rows)
    X = check_features(X, feature_names=features, source=source, row_offset=row_offset)
    y = None
    if y_column is not None:
        y = check_target(
            target_to_numpy(y_column),
            n_rows=n_rows,
            name=target or "y",
            source=source,
            row_offset=row_offset,
        )
    return X, y


def table_to_numpy(
    table: pa.Table | pa.RecordBatch,
    features: Sequence[str],
    target: str | None,
    *,
    source: SourceLike,
    row_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert and validate an Arrow table holding the feature and target columns.

    Parameters
    ----------
    table : pyarrow.Table or pyarrow.RecordBatch
        Holds at least ``features`` and ``target``.
    features : sequence of str
        Feature columns, in order.
    target : str or None
        Target column.
    source : str or callable
        For error messages (see :func:`check_features`).
    row_offset : int, default 0
        Global index of the table's first row.

    Returns
    -------
    X : numpy.ndarray
        2-D, Fortran order.
    y : numpy.ndarray or None
    """
    columns, y_column, n_rows = split_columns(table, features, target)
    return convert_columns(
        columns,
        y_column,
        n_rows,
        features=features,
        target=target,
        source=source,
        row_offset=row_offset,
    )
