"""Raw table columns (strings, missing values) as the pandas frame the table transformers read.

The preprocessing steps that take a raw table (``SimpleImputer``,
``OneHotEncoder``, ``OrdinalEncoder``, ``ColumnTransformer``) see every chunk
of it, on every engine, as the same :class:`pandas.DataFrame` that
scikit-learn sees when it is given the whole table:

* a string column (``string``, ``large_string``, ``string_view``, or a
  dictionary of strings) is an ``object`` column of Python ``str``, a missing
  value is ``np.nan`` -- what scikit-learn's ``check_array`` makes of a pandas
  ``str`` / ``category`` column;
* a numeric column (bool, integer, float, decimal) is float64 with ``NaN`` for
  a missing value, or int64 / bool when it has no missing value in the chunk
  (pyarrow's ``to_pandas``).

So the per-chunk statistics of a fit, merged, equal scikit-learn's on the
whole table, and the fitted transformers transform a chunk exactly as
scikit-learn's transform the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._arrow import is_numeric_type

__all__ = ["arrow_to_frame", "is_string_type", "is_table_type", "normalize_frame"]


def is_string_type(t: pa.DataType) -> bool:
    """Whether an Arrow column holds strings (also dictionary-encoded ones)."""
    if pa.types.is_dictionary(t):
        return is_string_type(t.value_type)
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or getattr(pa.types, "is_string_view", lambda _: False)(t)
    )


def is_table_type(t: pa.DataType) -> bool:
    """Whether a table transformer reads a column of this type (numeric or string)."""
    return is_numeric_type(t) or is_string_type(t) or pa.types.is_null(t)


def _string_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = column.to_numpy(zero_copy_only=False)  # object array, None for a null
    values = np.asarray(values, dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values[missing] = np.nan
    return values


def arrow_to_frame(table: pa.Table, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The pandas frame of ``table``'s ``columns`` (all by default), normalised as above."""
    names = list(table.column_names if columns is None else columns)
    data: dict[str, np.ndarray] = {}
    for name in names:
        column = table.column(name)
        if is_string_type(column.type):
            data[name] = _string_values(column)
        elif pa.types.is_null(column.type):
            data[name] = np.full(len(column), np.nan)
        elif column.null_count:  # bool / integer / decimal with nulls: float64 with NaN
            data[name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            data[name] = column.to_pandas().to_numpy()
    return _frame(data, names)


def _frame(data: dict[str, np.ndarray], names: list[str], index: pd.Index | None = None) -> Any:
    """A frame of these arrays, ``object`` kept (pandas 3 would infer ``str`` from strings)."""
    series = {name: pd.Series(data[name], dtype=data[name].dtype, copy=False) for name in names}
    frame = pd.DataFrame(series, columns=names, copy=False)
    if index is not None:
        frame.index = index
    return frame


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """An in-memory pandas frame normalised as a chunk read from a file is.

    ``str`` / ``string`` / ``category`` / ``object`` columns become ``object``
    columns with ``np.nan`` for a missing value (``None`` and ``pd.NA``
    included); numeric nullable columns (``Int64``, ``Float64``) become float64
    with ``NaN``. Other columns are kept.
    """
    data: dict[str, np.ndarray] = {}
    for name in frame.columns:
        column = frame[name]
        dtype = column.dtype
        textual = isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
        if textual or pd.api.types.is_object_dtype(dtype):
            values = column.to_numpy(dtype=object, na_value=np.nan)
            missing = pd.isna(values)
            if missing.any():
                values = values.copy()
                values[missing] = np.nan
            data[name] = values
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            data[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            data[name] = column.to_numpy()
    return _frame(data, list(frame.columns), frame.index)
