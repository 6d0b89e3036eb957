"""``as_dataset``: wrap whatever the user passed to ``fit`` in a :class:`Dataset`."""

from __future__ import annotations

import os
from typing import Any

import fsspec

from ..exceptions import DataError
from .csv import CSV_EXTENSIONS, read_csv
from .dataset import Dataset, InMemoryDataset
from .npy import read_npy
from .parquet import PARQUET_EXTENSIONS, read_parquet
from .validate import is_sparse

__all__ = ["as_dataset"]

# Engine-native inputs, recognised by the module of their type (never imported
# here). The engines wrap the frames they claim before this layer sees them
# (scaleout.engines.wrap_input); what reaches here is refused with a remedy.
_ENGINE_MODULES = ("pyspark", "dask")


def _engine_of(obj: Any) -> str | None:
    module = type(obj).__module__
    if module.startswith(_ENGINE_MODULES):
        return module.split(".")[0]
    return None


def _reject_engine_input(obj: Any, what: str) -> None:
    engine = _engine_of(obj)
    if engine is None:
        return
    raise DataError(
        f"{what} is a {engine} {type(obj).__name__}, which scaleout cannot read; supported: "
        "a Dask DataFrame or Array, a Spark DataFrame (as X, with y a column name), or "
        "write it to Parquet (e.g. df.write.parquet(path) / df.to_parquet(path)) and pass "
        "the path."
    )


def _is_directory(path: str) -> bool:
    try:
        fs, fs_path = fsspec.core.url_to_fs(path)
        return bool(fs.isdir(fs_path))
    except (ValueError, ImportError, OSError):
        return False


def _from_path(path: str | os.PathLike, y: Any) -> Dataset:
    text = os.fspath(path)
    lowered = text.lower().rstrip("/")
    if lowered.endswith(".npy"):
        return read_npy(path, y)
    if y is not None and not isinstance(y, str):
        raise DataError(
            f"for a file path X, y must be the name of the target column (a str), got "
            f"{type(y).__name__}"
        )
    if lowered.endswith(PARQUET_EXTENSIONS):
        return read_parquet(path, target=y)
    if lowered.endswith(CSV_EXTENSIONS):
        return read_csv(path, target=y)
    if _is_directory(text):
        return read_parquet(path, target=y)
    raise DataError(
        f"cannot tell the file format of '{text}' from its name: expected a .parquet/.pq "
        "file, a directory of Parquet files, a .csv or a .npy file (or a glob of them); "
        "use scaleout.data.read_parquet / read_csv / read_npy to choose explicitly."
    )


def as_dataset(X: Any, y: Any = None) -> Dataset:
    """Wrap the data given to ``fit`` in a :class:`Dataset`.

    Parameters
    ----------
    X : Dataset, array-like, pandas.DataFrame, str or os.PathLike
        A :class:`Dataset` is returned as is. A NumPy array, list or
        DataFrame becomes an :class:`InMemoryDataset`. A path is opened by
        its extension: ``.parquet`` / ``.pq`` or a directory →
        :func:`read_parquet`, ``.csv`` → :func:`read_csv`, ``.npy`` →
        :func:`read_npy`.
    y : array-like, pandas.Series or str, optional
        The target values; for a file path (or a DataFrame), the name of the
        target column; for a ``.npy`` path, a ``.npy`` path or values.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For ``y`` given with a Dataset, sparse input, Spark / Dask DataFrames
        (not supported yet), an unknown file format, or invalid data.
    DataFileNotFoundError
        For a path that matches no file.
    """
    if isinstance(X, Dataset):
        if y is not None:
            target = "none" if X.target is None else repr(X.target)
            raise DataError(
                f"y must not be given when X is a Dataset; its target is {target} (set the "
                "target when creating it, e.g. read_parquet(path, target='label'))"
            )
        return X
    if is_sparse(X):
        raise DataError(
            "sparse input is not supported; convert it with X.toarray() (if it fits in "
            "memory) or write it to Parquet and pass the path."
        )
    _reject_engine_input(X, "X")
    _reject_engine_input(y, "y")
    if isinstance(X, (str, os.PathLike)):
        return _from_path(X, y)
    if isinstance(y, str):
        columns = getattr(X, "columns", None)
        if columns is None:
            raise DataError(
                f"y is a string ({y!r}), which names a target column, but X is a "
                f"{type(X).__name__}, not a DataFrame or a file path; pass the target values"
            )
        if y not in columns:
            raise DataError(
                f"target column {y!r} not found in the DataFrame; available columns: "
                f"{', '.join(map(repr, columns))}"
            )
        return InMemoryDataset(X.drop(columns=[y]), X[y], target_name=y)
    return InMemoryDataset(X, y)
