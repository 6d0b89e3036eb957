"""SciPy sparse features: checked without densifying, handed on sparse.

The sklearn engine fits scikit-learn's estimators on sparse input as
scikit-learn does; this module is what the data layer checks first, with the
messages of :mod:`.validate` (the column and row of a bad value). Only the
stored values are read (``X.data``, ``nnz`` of them): nothing of the dense
shape is ever allocated.

CSR, CSC and COO input (``sparray`` and ``spmatrix`` classes, 32- or 64-bit
indices) is kept as given, so scikit-learn receives the caller's own object;
the other formats (DOK, LIL, DIA, BSR) become CSR once, as scikit-learn's
``check_array`` converts them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import DataError, NonNumericDataError
from .validate import (
    _INF_HINT,
    _NAN_HINT,
    FLOAT32_MAX,
    MAX_ABS_VALUE,
    _feature_name,
    _squares_are_small,
    check_shape_2d,
    float32_range_message,
    is_sparse,
    too_large_message,
)

__all__ = [
    "KEPT_FORMATS",
    "check_sparse_features",
    "check_sparse_float32_range",
    "describe_sparse",
    "is_sparse",
    "sparse_nbytes",
]

#: Formats handed to scikit-learn as given; any other is converted to CSR.
KEPT_FORMATS = ("csr", "csc", "coo")


def describe_sparse(X: Any) -> str:
    """``"scipy.sparse csr_matrix of shape (200000, 50000), 1,000,000 stored values"``."""
    return (
        f"scipy.sparse {type(X).__name__} of shape {tuple(X.shape)}, "
        f"{int(X.nnz):,} stored values"
    )


def sparse_nbytes(X: Any) -> int:
    """Bytes a CSR / CSC / COO matrix holds: its values and index arrays.

    Parameters
    ----------
    X : scipy.sparse matrix or array
        In one of :data:`KEPT_FORMATS`.

    Returns
    -------
    int
    """
    arrays = [X.data]
    if X.format == "coo":
        arrays += [X.row, X.col]
    else:
        arrays += [X.indices, X.indptr]
    return int(sum(a.nbytes for a in arrays))


def _row_col(X: Any, k: int) -> tuple[int, int]:
    """Row and column of the ``k``-th stored value."""
    if X.format == "coo":
        return int(X.row[k]), int(X.col[k])
    outer = int(np.searchsorted(X.indptr, k, side="right")) - 1
    inner = int(X.indices[k])
    return (outer, inner) if X.format == "csr" else (inner, outer)


def _to_float(X: Any) -> Any:
    kind = X.dtype.kind
    if kind == "f" and X.dtype in (np.float32, np.float64):
        return X
    if kind in "biuf":  # bool, integers, float16 / longdouble: float64, as scikit-learn
        return X.astype(np.float64)
    if kind == "c":
        raise DataError(f"Complex data not supported: sparse X has dtype {X.dtype}.")
    raise NonNumericDataError(
        f"sparse X has non-numeric dtype {X.dtype}; scaleout estimators need numeric features."
    )


def _check_stored_values(X: Any, feature_names: Sequence[str] | None) -> None:
    """NaN, infinity or ``|x| > MAX_ABS_VALUE`` among the stored values: name the first."""
    data = X.data
    if data.size == 0 or _squares_are_small(data):  # fast path: one einsum over nnz values
        return
    bad = np.flatnonzero(~np.isfinite(data))
    if bad.size:
        k = int(bad[0])
        i, j = _row_col(X, k)
        kind = "NaN" if np.isnan(data[k]) else "infinity"
        hint = _NAN_HINT if kind == "NaN" else _INF_HINT
        raise DataError(
            f"Input X contains {kind}: column {_feature_name(feature_names, j)!r} "
            f"(feature {j}), row {i} (a stored value of the sparse X). {hint}"
        )
    k = int(np.argmax(np.abs(data)))
    if abs(data[k]) <= MAX_ABS_VALUE:  # many large values, each within the limit
        return
    i, j = _row_col(X, k)
    raise DataError(
        too_large_message(
            f"X column {_feature_name(feature_names, j)!r} (feature {j})", float(data[k]), i, ""
        )
    )


def check_sparse_features(X: Any, *, feature_names: Sequence[str] | None = None) -> Any:
    """Validate sparse features and return them sparse (never densified).

    Parameters
    ----------
    X : scipy.sparse matrix or array
        Any format, ``sparray`` or ``spmatrix``.
    feature_names : sequence of str, optional
        Column names for messages (default ``x0, x1, ...``).

    Returns
    -------
    scipy.sparse matrix or array
        ``X`` itself when it is CSR, CSC or COO of float32 / float64 with valid
        values; else a CSR conversion (other formats) and / or a float64 copy
        of the stored values (other dtypes). Same class family (``sparray`` /
        ``spmatrix``) as the input.

    Raises
    ------
    DataError
        For a shape that is not 2-D, 0 samples or 0 features, complex data,
        NaN or infinite stored values and values beyond
        :data:`~scaleout.data.validate.MAX_ABS_VALUE` (naming the column and
        row).
    NonNumericDataError
        For a non-numeric dtype.
    """
    if len(X.shape) != 2:
        raise DataError(
            f"Expected a 2D sparse matrix, got a {len(X.shape)}D {type(X).__name__} of shape "
            f"{tuple(X.shape)}; X must have shape (n_samples, n_features)."
        )
    check_shape_2d(X.shape)
    if X.format not in KEPT_FORMATS:
        X = X.tocsr()
    X = _to_float(X)
    _check_stored_values(X, feature_names)
    return X


def check_sparse_float32_range(
    X: Any, *, feature_names: Sequence[str] | None, why: str
) -> None:
    """The sparse form of :func:`~scaleout.data.validate.check_float32_range`.

    Parameters
    ----------
    X : scipy.sparse matrix or array
        Checked by :func:`check_sparse_features`.
    feature_names : sequence of str or None
        For the message.
    why : str
        Who needs float32, e.g. ``"DecisionTreeClassifier on engine 'sklearn'"``.

    Raises
    ------
    DataError
        Naming the column, the value and its row.
    """
    data = X.data
    if X.dtype != np.float64 or data.size == 0:
        return
    beyond = np.flatnonzero(np.abs(data) > FLOAT32_MAX)
    if not beyond.size:
        return
    k = int(beyond[0])
    i, j = _row_col(X, k)
    raise DataError(
        float32_range_message(_feature_name(feature_names, j), j, float(data[k]), f", row {i}", why)
    )
