"""``as_dataset``: wrap whatever the user passed to ``fit`` in a :class:`Dataset`."""

from __future__ import annotations

import os
from typing import Any

from ..exceptions import DataError
from .columns import check_unique_columns
from .dataset import Dataset, InMemoryDataset
from .open import open_path

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


def _is_path_list(X: Any) -> bool:
    """A non-empty list or tuple of str / os.PathLike: files to open, not rows of data."""
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(p, (str, os.PathLike)) for p in X)
    )


def as_dataset(X: Any, y: Any = None) -> Dataset:
    """Wrap the data given to ``fit`` in a :class:`Dataset`.

    Parameters
    ----------
    X : Dataset, array-like, pandas.DataFrame, scipy.sparse matrix, str, os.PathLike or \
list of paths
        A :class:`Dataset` is returned as is. A NumPy array, list, DataFrame
        or SciPy sparse matrix / array (kept sparse) becomes an
        :class:`InMemoryDataset`. A path (file,
        directory, glob or URL) or a list of paths (a non-empty list whose
        items are all str / os.PathLike) is opened by
        :func:`~scaleout.data.open_path`: the file suffix decides the format
        (``.parquet`` / ``.pq`` / ``.parq``, ``.csv`` / ``.csv.gz`` /
        ``.csv.bz2``, ``.npy``; a directory or glob by the files in it).
    y : array-like, pandas.Series or str, optional
        The target values; for a file path (or a DataFrame), the name of the
        target column; for a ``.npy`` path, a ``.npy`` path or values.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For ``y`` given with a Dataset, Spark / Dask objects that no engine
        claimed, an unknown file format, or invalid data.
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
    _reject_engine_input(X, "X")
    _reject_engine_input(y, "y")
    if isinstance(X, (str, os.PathLike)) or _is_path_list(X):
        return open_path(X, y)
    if isinstance(y, str):
        columns = getattr(X, "columns", None)
        if columns is None:
            raise DataError(
                f"y is a string ({y!r}), which names a target column, but X is a "
                f"{type(X).__name__}, not a DataFrame or a file path; pass the target values"
            )
        check_unique_columns(list(columns), where="the DataFrame")
        if y not in columns:
            raise DataError(
                f"target column {y!r} not found in the DataFrame; available columns: "
                f"{', '.join(map(repr, columns))}"
            )
        return InMemoryDataset(X.drop(columns=[y]), X[y], target_name=y)
    return InMemoryDataset(X, y)
