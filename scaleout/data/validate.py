"""Input validation: turn user data into checked NumPy arrays, or say why not.

:func:`check_features` and :func:`check_target` are scaleout's equivalent of
scikit-learn's ``check_array`` / ``column_or_1d``: the shape, dtype and
emptiness messages use scikit-learn's wording (so code and tests written
against scikit-learn keep matching), and the non-finite messages say *where*
the bad value is: the column, the global row and the file / row group it came
from.

Valid float arrays are never copied: the finiteness check first computes the
sum of squares of the whole array (one dot product, no temporary of the
array's size) and only searches column by column when it is not finite or
too large. Finite values beyond :data:`MAX_ABS_VALUE` (1e140) are refused
too: the engines' sums of squares would overflow float64.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..exceptions import DataError, NonNumericDataError
from .labels import check_label_types

__all__ = [
    "FLOAT32_MAX",
    "MAX_ABS_VALUE",
    "SourceLike",
    "check_features",
    "check_float32_range",
    "check_step_output",
    "check_target",
    "check_weight_count",
    "step_output_message",
]

#: Where data came from: a fixed description ("file '/p/a.parquet', row group 2"),
#: or a function mapping a global row number to such a description (used when
#: one array spans several files or row groups).
SourceLike = str | Callable[[int], str]

_IN_MEMORY = "in-memory"

_ENCODE_HINT = (
    "scaleout estimators need numeric features: encode it first "
    "(e.g. sklearn.preprocessing.OneHotEncoder)"
)
_NAN_HINT = (
    "scaleout estimators do not accept missing values encoded as NaN: impute them "
    "first (e.g. sklearn.impute.SimpleImputer) or drop those rows."
)
_INF_HINT = "Remove or clip the infinite values (or values too large for float64) first."


# ---------------------------------------------------------------- helpers
def is_sparse(obj: Any) -> bool:
    """Whether ``obj`` is a SciPy sparse matrix/array (without importing SciPy)."""
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(obj):
        return True
    return type(obj).__module__.startswith("scipy.sparse")


def _is_dataframe(obj: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


def _is_series(obj: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.Series)


def _sparse_error(what: str) -> DataError:
    return DataError(
        f"sparse input is not supported for {what}; convert it with {what}.toarray() "
        "(if it fits in memory) or write it to Parquet and pass the path."
    )


def _describe_location(source: SourceLike, row: int) -> str:
    """`` of file '/p/a.parquet', row group 2`` (empty for in-memory data)."""
    where = source(row) if callable(source) else source
    if not where or where.startswith(_IN_MEMORY):
        return ""
    return f" of {where}"


def _array_repr(X: np.ndarray) -> str:
    return np.array2string(X, threshold=20, edgeitems=3, separator=" ", max_line_width=10**6)


def _feature_name(feature_names: Sequence[str] | None, j: int) -> str:
    if feature_names is not None and j < len(feature_names):
        return str(feature_names[j])
    return f"x{j}"


def check_shape_2d(shape: tuple[int, ...]) -> None:
    """Raise scikit-learn's errors for an empty 2-D shape.

    Parameters
    ----------
    shape : tuple of int
        A 2-D shape ``(n_samples, n_features)``.

    Raises
    ------
    DataError
        For 0 samples or 0 features, with scikit-learn's wording.
    """
    if shape[0] < 1:
        raise DataError(
            f"Found array with 0 sample(s) (shape={tuple(shape)}) while a minimum of 1 is required."
        )
    if shape[1] < 1:
        raise DataError(
            f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 "
            "is required."
        )


def _check_ndim(X: np.ndarray) -> None:
    if X.ndim == 2:
        return
    if X.ndim == 1:
        raise DataError(
            f"Expected 2D array, got 1D array instead: array={_array_repr(X)}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a "
            "single feature or array.reshape(1, -1) if it contains a single sample."
        )
    if X.ndim == 0:
        raise DataError(
            f"Expected 2D array, got scalar array instead (shape=()): array={X!r}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a "
            "single feature or array.reshape(1, -1) if it contains a single sample."
        )
    raise DataError(
        f"Found array with dim {X.ndim} (shape={X.shape}); expected a 2D array of shape "
        "(n_samples, n_features)."
    )


# ------------------------------------------------------------- finiteness
#: Largest magnitude accepted in a feature (or a float target). Larger finite
#: values make the sums every engine computes overflow float64 (squares of
#: differences reach 4e280 and stay finite summed over up to 1e27 values;
#: squares of 1e200 are already infinite), which ends in NaN or all-zero models:
#: they are refused, naming the column, before any fitting.
MAX_ABS_VALUE = 1e140

#: Largest float32 value: the limit of fits that compare float32 values (trees).
FLOAT32_MAX = float(np.finfo(np.float32).max)

_BIG_HINT = (
    f"scaleout refuses values with |x| > {MAX_ABS_VALUE:.0e}: sums of their squares overflow "
    "float64 and every engine would return NaN or all-zero models. Rescale the column "
    "(e.g. divide it by a power of ten, or sklearn.preprocessing.StandardScaler on "
    "smaller values) or take its logarithm first."
)


def _sum_is_finite(a: np.ndarray) -> bool:
    """Fast whole-array finiteness test: no temporary of the array's size.

    The sum may overflow to inf with only finite values: callers then search
    precisely, so a False here is only a hint.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum(dtype=np.float64)))


def _sum_of_squares(a: np.ndarray) -> float:
    """``sum(a**2)`` of a contiguous float64 array in one dot product (inf on overflow)."""
    flat = np.ravel(a, order="K")
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.einsum("i,i->", flat, flat))  # see _squares_are_small: not BLAS


def _squares_are_small(a: np.ndarray) -> bool:
    """Fast whole-array test that every value is finite and ``|x| <= MAX_ABS_VALUE``.

    One ``einsum`` of the array with itself: no temporary of the array's size,
    about the cost of a sum. Not a BLAS dot product: the checks run in the dask
    engine's worker threads, where a multi-threaded BLAS call competes with
    them (measured: a dask tree fit 1.18x slower with ``flat @ flat``). The sum of
    squares is NaN / inf for a NaN / inf value, and larger than
    ``MAX_ABS_VALUE**2`` for a value beyond the limit. A False here is only a
    hint (many large values can add up): callers then search precisely.
    """
    if a.dtype != np.float64:  # float32 and smaller cannot hold values that large
        return _sum_is_finite(a)
    with np.errstate(over="ignore", invalid="ignore"):
        if a.flags.c_contiguous or a.flags.f_contiguous:
            flat = np.ravel(a, order="K")
            total = float(np.einsum("i,i->", flat, flat))
        else:
            total = float(np.einsum("ij,ij->", a, a) if a.ndim == 2 else np.einsum("i,i->", a, a))
    return total <= MAX_ABS_VALUE * MAX_ABS_VALUE


def _first_nonfinite(X: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first non-finite value in row order, or None.

    Only called when the fast whole-array check failed; works one column at
    a time so no temporary larger than a column is made.
    """
    best: tuple[int, int] | None = None
    for j in range(X.shape[1]):
        column = X[:, j]
        if _sum_is_finite(column):
            continue
        bad = np.flatnonzero(~np.isfinite(column))
        if bad.size and (best is None or bad[0] < best[0]):
            best = (int(bad[0]), j)
    return best


def _first_too_large(X: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the largest value of the first column with ``|x| > MAX_ABS_VALUE``."""
    for j in range(X.shape[1]):
        column = X[:, j]
        if _squares_are_small(column):
            continue
        i = int(np.argmax(np.abs(column)))
        if abs(column[i]) > MAX_ABS_VALUE:
            return i, j
    return None


def too_large_message(what: str, value: float, row: int | None, where: str) -> str:
    """The message of a value beyond :data:`MAX_ABS_VALUE` (shared by the engines)."""
    at = "" if row is None else f", row {row}"
    return (
        f"Input {what} has values too large for float64 arithmetic: {value:.3g}{at}{where}. "
        f"{_BIG_HINT}"
    )


def check_float32_range(
    X: np.ndarray,
    *,
    feature_names: Sequence[str] | None,
    why: str,
    source: SourceLike = _IN_MEMORY,
    row_offset: int = 0,
) -> None:
    """Raise a DataError naming the first column with values beyond float32's range.

    For fits that convert the data to float32 (scikit-learn's trees), where
    such values would end in a raw ``ValueError``.

    Parameters
    ----------
    X : numpy.ndarray
        Checked float data (2-D).
    feature_names : sequence of str or None
        For the message.
    why : str
        Who needs float32, e.g. ``"DecisionTreeClassifier on engine 'sklearn'"``.
    source, row_offset
        Where the rows are (see :func:`check_features`).

    Raises
    ------
    DataError
        Naming the column, the value, its row and source.
    """
    if X.dtype != np.float64 or X.size == 0:
        return
    if (X.flags.c_contiguous or X.flags.f_contiguous) and _sum_of_squares(X) <= FLOAT32_MAX**2:
        return  # fast path: one sum of squares, no value beyond float32's range
    tops, bottoms = X.max(axis=0), X.min(axis=0)  # along rows: 2x the per-column scans
    for j in map(int, np.flatnonzero((tops > FLOAT32_MAX) | (bottoms < -FLOAT32_MAX))):
        column = X[:, j]
        top, bottom = float(tops[j]), float(bottoms[j])
        if top > FLOAT32_MAX or bottom < -FLOAT32_MAX:
            value = top if top > FLOAT32_MAX else bottom
            row = row_offset + int(np.flatnonzero(column == value)[0])
            raise DataError(
                float32_range_message(
                    _feature_name(feature_names, j),
                    j,
                    value,
                    f", row {row}{_describe_location(source, row)}",
                    why,
                )
            )


def float32_range_message(name: str, j: int, value: float, where: str, why: str) -> str:
    """The message of a value beyond float32's range in a fit that needs float32."""
    return (
        f"Input X column {name!r} (feature {j}) has values beyond float32's range "
        f"(|x| > {FLOAT32_MAX:.4g}): {value:.3g}{where}: {why} compares float32 values, as "
        "scikit-learn's trees do, and these would all be infinite. Rescale the column first."
    )


def _assert_all_finite_2d(
    X: np.ndarray,
    *,
    feature_names: Sequence[str] | None,
    source: SourceLike,
    row_offset: int,
) -> None:
    if X.dtype.kind != "f" or X.size == 0:
        return
    if _squares_are_small(X):  # fast path: no copy, one pass
        return
    found = _first_nonfinite(X)
    if found is not None:
        i, j = found
        value = X[i, j]
        row = row_offset + i
        kind = "NaN" if np.isnan(value) else "infinity"
        hint = _NAN_HINT if kind == "NaN" else _INF_HINT
        raise DataError(
            f"Input X contains {kind}: column {_feature_name(feature_names, j)!r} "
            f"(feature {j}), row {row}{_describe_location(source, row)}. {hint}"
        )
    found = _first_too_large(X)
    if found is None:  # many large values, each within the limit
        return
    i, j = found
    row = row_offset + i
    raise DataError(
        too_large_message(
            f"X column {_feature_name(feature_names, j)!r} (feature {j})",
            float(X[i, j]),
            row,
            _describe_location(source, row),
        )
    )


# ---------------------------------------------------------- sample weights
def check_weight_count(sample_weight: Any, n_rows: int | None) -> None:
    """Raise a DataError unless there is one weight per row (the one check of every engine).

    Parameters
    ----------
    sample_weight : array-like, scalar or None
        The weights. None and a scalar (broadcast to every row) pass.
    n_rows : int or None
        The data's row count; None (not known without reading, e.g. CSV)
        passes: the engine checks again once it knows.

    Raises
    ------
    DataError
        ``sample_weight.shape == (59,), expected (60,): one weight per row``.
    """
    if sample_weight is None or n_rows is None or np.ndim(sample_weight) == 0:
        return
    shape = np.shape(sample_weight)
    if shape != (n_rows,):
        raise DataError(f"sample_weight.shape == {shape}, expected ({n_rows},): one weight per row")


# ------------------------------------------------ a pipeline step's output
def step_output_message(
    step: str, index: int, consumer: str, column: int, problem: str, where: str
) -> str:
    """The message of a pipeline step whose output the next step cannot take (every engine).

    Parameters
    ----------
    step, consumer : str
        The class names of the step and of the step after it (``"PCA"``,
        ``"LogisticRegression"``).
    index : int
        The step's position in the pipeline (0-based); the consumer is ``index + 1``.
    column : int
        The output column at fault.
    problem : str
        ``"has values too large for float64 arithmetic: -1.03e+140"``,
        ``"contains infinity"``, ...
    where : str
        ``", row 221"`` and the source, or ``""``.
    """
    return (
        f"{step} output (pipeline step {index}), column {column}, {problem}{where} (the input "
        f"of {consumer}, pipeline step {index + 1}). The input data is within scaleout's "
        f"limits (finite, |x| <= {MAX_ABS_VALUE:.0e}) but {step} turns it into values the "
        f"next step cannot use: rescale the input columns before the pipeline (e.g. divide "
        f"the large ones by a power of ten, or standardize them first)."
    )


def check_step_output(
    Z: np.ndarray,
    *,
    step: str,
    index: int,
    consumer: str,
    source: SourceLike = _IN_MEMORY,
    row_offset: int = 0,
) -> None:
    """Raise a DataError when a pipeline step's output is no valid input of the next step.

    The data checks see the pipeline's input only; a step (e.g. PCA, whose
    projections reach ``sqrt(n_features)`` times the input's largest value)
    can turn valid data into values beyond :data:`MAX_ABS_VALUE`, or into
    NaN / infinity. Without this check the next step would blame a column
    ``'x0'`` the user never had, or fit all-zero coefficients.

    Parameters
    ----------
    Z : numpy.ndarray
        The step's output (2-D): a whole array or one chunk.
    step, index, consumer
        See :func:`step_output_message`.
    source, row_offset
        Where the rows are (see :func:`check_features`).

    Raises
    ------
    DataError
        Naming the step, the output column, the value and its global row.
    """
    Z = np.asarray(Z)
    if Z.ndim != 2 or Z.dtype.kind != "f" or Z.size == 0 or _squares_are_small(Z):
        return
    found = _first_nonfinite(Z)
    if found is not None:
        i, j = found
        kind = "NaN" if np.isnan(Z[i, j]) else "infinity"
        problem = f"contains {kind}"
    else:
        found = _first_too_large(Z)
        if found is None:  # many large values, each within the limit
            return
        i, j = found
        problem = f"has values too large for float64 arithmetic: {float(Z[i, j]):.3g}"
    row = row_offset + i
    where = f", row {row}{_describe_location(source, row)}"
    raise DataError(step_output_message(step, index, consumer, j, problem, where))


# ----------------------------------------------------------- conversions
def _dataframe_to_numpy(X: Any, feature_names: Sequence[str] | None) -> np.ndarray:
    import pandas as pd

    names = feature_names if feature_names is not None else [str(c) for c in X.columns]
    dtypes = list(X.dtypes)
    extension = False
    for j, dtype in enumerate(dtypes):
        name = _feature_name(names, j)
        if pd.api.types.is_complex_dtype(dtype):
            raise DataError(f"Complex data not supported: column {name!r} has dtype {dtype}.")
        if pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
        ):
            extension = extension or not isinstance(dtype, np.dtype)
            continue
        if isinstance(dtype, np.dtype) and dtype.kind == "O":
            column = X.iloc[:, j].to_numpy()
            try:  # an object column of numbers converts, as in scikit-learn
                column.astype(np.float64)
                continue
            except (TypeError, ValueError):
                pass
            kinds = sorted({type(v).__name__ for v in column[:1000]})
            described = f"object ({', '.join(kinds)})" if kinds else "object"
        else:
            described = str(dtype)
        raise NonNumericDataError(
            f"column {name!r} has non-numeric dtype {described}; {_ENCODE_HINT}."
        )
    all_float32 = bool(dtypes) and all(isinstance(d, np.dtype) and d == np.float32 for d in dtypes)
    dtype = np.float32 if all_float32 else np.float64
    if extension:  # nullable (pd.NA) columns: NA becomes NaN
        return X.to_numpy(dtype=dtype, na_value=np.nan)
    return X.to_numpy(dtype=dtype)


def _object_to_float(
    X: np.ndarray, feature_names: Sequence[str] | None, source: SourceLike, row_offset: int
) -> np.ndarray:
    try:
        return X.astype(np.float64)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        for j in range(X.shape[1]):
            column = X[:, j]
            try:
                column.astype(np.float64)
                continue
            except (TypeError, ValueError) as col_exc:
                message = str(col_exc)
            for i, value in enumerate(column):
                try:
                    float(value)
                except (TypeError, ValueError):
                    row = row_offset + i
                    raise NonNumericDataError(
                        f"could not convert X to float: {message} (column "
                        f"{_feature_name(feature_names, j)!r} (feature {j}), row {row}"
                        f"{_describe_location(source, row)}: value {value!r}). "
                        f"{_ENCODE_HINT}."
                    ) from None
        raise NonNumericDataError(
            f"could not convert X to float: {message}. {_ENCODE_HINT}."
        ) from None


def _to_float_array(
    X: np.ndarray, feature_names: Sequence[str] | None, source: SourceLike, row_offset: int
) -> np.ndarray:
    kind = X.dtype.kind
    if kind == "f":
        if X.dtype in (np.float32, np.float64):
            return X
        return X.astype(np.float64)  # float16, longdouble
    if kind in "biu":
        return X.astype(np.float64)
    if kind == "c":
        raise DataError(f"Complex data not supported\n{_array_repr(X)}\n")
    if kind == "O":
        return _object_to_float(X, feature_names, source, row_offset)
    if kind in "USa":
        raise NonNumericDataError(
            f"X has string dtype {X.dtype}; {_ENCODE_HINT}, or convert numeric "
            "strings explicitly with X.astype(float)."
        )
    raise NonNumericDataError(f"X has non-numeric dtype {X.dtype}; {_ENCODE_HINT}.")


# ------------------------------------------------------------------ public
def check_features(
    X: Any,
    *,
    feature_names: Sequence[str] | None = None,
    source: SourceLike = "in-memory array",
    row_offset: int = 0,
) -> np.ndarray:
    """Validate features and return them as a 2-D float array.

    Parameters
    ----------
    X : array-like or pandas.DataFrame
        The features: a NumPy array, a list of rows, or a DataFrame whose
        columns are all numeric (bool, integer or float).
    feature_names : sequence of str, optional
        Column names, used in error messages. Defaults to the DataFrame's
        columns, else ``x0, x1, ...``.
    source : str or callable, default "in-memory array"
        Where the data came from, used in error messages, e.g.
        ``"file '/p/part-1.parquet', row group 2"``. A callable is given the
        global row number of a bad value and returns the description (for an
        array that spans several files).
    row_offset : int, default 0
        Global index of the first row of ``X``; error messages report global
        row numbers (``row_offset`` + local index).

    Returns
    -------
    numpy.ndarray
        2-D, float32 when the input is float32 (all columns, for a DataFrame),
        else float64. A valid float32/float64 array is returned as is (no
        copy).

    Raises
    ------
    DataError
        For sparse input, non-numeric or complex data, a shape that is not 2-D,
        0 samples or 0 features, NaN or infinite values, and finite values
        beyond :data:`MAX_ABS_VALUE` (naming the column, the global row and
        the source).
    """
    if is_sparse(X):
        raise _sparse_error("X")
    if _is_dataframe(X):
        if feature_names is None and all(isinstance(c, str) for c in X.columns):
            feature_names = list(X.columns)
        X = _dataframe_to_numpy(X, feature_names)
    elif not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise DataError(f"X cannot be converted to an array: {exc}") from None
    _check_ndim(X)
    check_shape_2d(X.shape)
    X = _to_float_array(X, feature_names, source, row_offset)
    _assert_all_finite_2d(X, feature_names=feature_names, source=source, row_offset=row_offset)
    return X


def _series_to_numpy(y: Any) -> np.ndarray:
    import pandas as pd

    dtype = y.dtype
    if isinstance(dtype, np.dtype):
        return y.to_numpy()
    if pd.api.types.is_bool_dtype(dtype) and not y.hasnans:
        return y.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        if y.hasnans:  # nullable (pd.NA) values become NaN
            return y.to_numpy(dtype=np.float64, na_value=np.nan)
        return y.to_numpy(dtype=getattr(dtype, "numpy_dtype", np.float64))
    if isinstance(dtype, pd.CategoricalDtype):
        return np.asarray(y)
    return y.to_numpy(dtype=object)  # strings (pandas "str"), etc.


def _target_label(name: str) -> str:
    return f"target {name!r}, "


def check_target(
    y: Any,
    *,
    n_rows: int | None,
    name: str = "y",
    source: SourceLike = "in-memory array",
    row_offset: int = 0,
    allow_nonnumeric: bool = True,
) -> np.ndarray:
    """Validate a target and return it as a 1-D array.

    Parameters
    ----------
    y : array-like or pandas.Series
        Target values. A column vector ``(n, 1)`` is ravelled with a
        ``DataConversionWarning``, as in scikit-learn.
    n_rows : int or None
        Number of rows of X; ``len(y)`` must match. None skips the check.
    name : str, default "y"
        Target column name, used in error messages.
    source : str or callable, default "in-memory array"
        Where the data came from (see :func:`check_features`).
    row_offset : int, default 0
        Global index of the first value of ``y``.
    allow_nonnumeric : bool, default True
        Accept string / object class labels (checked for missing values).
        When False, the target is converted to float64.

    Returns
    -------
    numpy.ndarray
        1-D; numeric targets keep their dtype, labels are an object or str
        array. A valid 1-D array is returned as is (no copy).

    Raises
    ------
    DataError
        For sparse or complex y, multi-output y, a length that differs from
        ``n_rows``, NaN / infinity / missing labels (naming the target and the
        first bad row), or non-numeric y when ``allow_nonnumeric`` is False.
    """
    from sklearn.exceptions import DataConversionWarning

    if is_sparse(y):
        raise _sparse_error("y")
    if _is_series(y):
        y = _series_to_numpy(y)
    elif _is_dataframe(y):
        y = y.to_numpy()
    elif not isinstance(y, np.ndarray):
        try:
            y = np.asarray(y)
        except (TypeError, ValueError) as exc:
            raise DataError(f"y cannot be converted to an array: {exc}") from None

    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=2,
        )
        y = y[:, 0]
    elif y.ndim == 2:
        raise DataError(
            f"multi-output targets (shape {y.shape}) are not supported; y must be 1-D "
            "of shape (n_samples,)."
        )
    elif y.ndim != 1:
        raise DataError(f"y should be a 1d array, got an array of shape {y.shape} instead.")

    if n_rows is not None and y.shape[0] != n_rows:
        raise DataError(
            f"Found input variables with inconsistent numbers of samples: [{n_rows}, {y.shape[0]}]"
        )

    kind = y.dtype.kind
    if kind == "c":
        raise DataError("Complex data not supported for the target y.")
    if kind in "OUSa" and not allow_nonnumeric:
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"Input y must be numeric ({_target_label(name)}dtype {y.dtype}): {exc}"
            ) from None
        kind = "f"
    if kind == "f" and y.size and not _squares_are_small(y):
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            i = int(bad[0])
            row = row_offset + i
            what = "NaN" if np.isnan(y[i]) else "infinity"
            raise DataError(
                f"Input y contains {what}: {_target_label(name)}row {row}"
                f"{_describe_location(source, row)}."
            )
        i = int(np.argmax(np.abs(y)))
        if abs(y[i]) > MAX_ABS_VALUE:
            row = row_offset + i
            raise DataError(
                too_large_message(
                    f"y (target {name!r})", float(y[i]), row, _describe_location(source, row)
                )
            )
    elif kind == "O" and y.size:
        import pandas as pd

        missing = np.flatnonzero(pd.isna(y))
        if missing.size:
            row = row_offset + int(missing[0])
            raise DataError(
                f"Input y contains missing values ({y[missing[0]]!r}): "
                f"{_target_label(name)}row {row}{_describe_location(source, row)}; "
                f"{missing.size} missing in total. Drop those rows or fill in the labels."
            )
        check_label_types(y, name=name, row_offset=row_offset)
    elif kind not in "biufOUSa":
        raise DataError(f"y has unsupported dtype {y.dtype}.")
    return y
