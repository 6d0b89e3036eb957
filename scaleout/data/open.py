"""``open_path``: one rule that turns a path, glob, directory, URL or list of files into a Dataset.

The Python API (``model.fit("data/")``, :func:`~scaleout.data.as_dataset`),
the command line (``scaleout fit --data``) and training jobs (``--input``)
all open files through :func:`open_path`, so they accept the same inputs and
reject the same bad ones with the same message.

The rule: **the file suffix decides.**

1. A path whose name (lower case; a trailing ``/`` ignored) ends with a known
   suffix has that format: ``.parquet`` / ``.pq`` / ``.parq`` → Parquet,
   ``.csv`` / ``.csv.gz`` / ``.csv.bz2`` → CSV, ``.npy`` → NumPy. This holds
   for files, globs (``data/*.csv``) and directories named so (Spark's
   ``out.parquet/``); nothing is listed to decide.
2. Any other path is listed (local or any fsspec URL). A **directory** is
   Parquet when it holds Parquet files (recursively; names starting with
   ``_`` or ``.`` skipped, as Spark and Dask write them; other files
   ignored), else CSV when it holds CSV files, else NumPy when it holds one
   ``.npy`` file. A **glob** has the format of its matches (a matched
   directory counts as its data files); every matched file must have a known
   suffix and all must be one format. A **file** with another suffix is an
   error naming it and the supported formats; a path that matches nothing is
   a :class:`~scaleout.exceptions.DataFileNotFoundError` naming it.
3. A **list** (or tuple) of paths: each item by rules 1-2, all of one format;
   the Parquet and CSV readers read the files in the list's order. A ``.npy``
   dataset is one file.
4. The **target** of Parquet and CSV data is a column name and ``features``
   name columns; a ``.npy`` file has no columns: its target is the values or
   a ``.npy`` file of them, and ``features`` is an error (never ignored).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from typing import Any

import fsspec

from ..exceptions import DataError, DataFileNotFoundError
from ._fs import PathLike, Source, has_glob, is_hidden
from .csv import CSV_EXTENSIONS, read_csv
from .dataset import Dataset
from .npy import read_npy
from .parquet import PARQUET_EXTENSIONS, read_parquet

__all__ = ["FORMATS", "SUPPORTED", "format_of", "open_path", "path_format"]

PARQUET, CSV, NPY = "Parquet", "CSV", "NumPy .npy"

#: Format name → the lower-case file name endings that mean it.
FORMATS: dict[str, tuple[str, ...]] = {
    PARQUET: PARQUET_EXTENSIONS,
    CSV: CSV_EXTENSIONS,
    NPY: (".npy",),
}

#: The supported formats, as error messages list them.
SUPPORTED = (
    "supported: Parquet (.parquet, .pq, .parq files, or a directory or glob of them), "
    "CSV (.csv, .csv.gz, .csv.bz2, or a directory or glob of them), NumPy (one .npy file)"
)


def format_of(name: str) -> str | None:
    """The format a file name's suffix means (``"Parquet"``, ``"CSV"``, ``"NumPy .npy"``), or None.

    Examples
    --------
    >>> format_of("s3://bucket/train/part-0.snappy.parquet"), format_of("x.csv.gz")
    ('Parquet', 'CSV')
    >>> format_of("data/") is None
    True
    """
    lower = name.lower().rstrip("/")
    for fmt, suffixes in FORMATS.items():
        if lower.endswith(suffixes):
            return fmt
    return None


def _data_files(fs: Any, root: str) -> list[str]:
    """The files under a directory with a known suffix (hidden names skipped), sorted."""
    root = root.rstrip("/")
    return sorted(
        f
        for f in fs.find(root)
        if format_of(f) is not None and not is_hidden(posixpath.relpath(f, root) if root else f)
    )


def path_format(path: PathLike, storage_options: dict[str, Any] | None = None) -> str:
    """The format of one path, glob, directory or URL (the rule of :mod:`scaleout.data.open`).

    Parameters
    ----------
    path : str or os.PathLike
    storage_options : dict, optional
        Passed to the fsspec filesystem when the path must be listed.

    Returns
    -------
    str
        ``"Parquet"``, ``"CSV"`` or ``"NumPy .npy"``.

    Raises
    ------
    DataFileNotFoundError
        When the path (without a known suffix) matches nothing.
    DataError
        For a file of another format, or a glob matching one or matching more
        than one format.
    """
    text = os.fspath(path)
    known = format_of(text)
    if known is not None:
        return known
    try:
        fs, fs_path = fsspec.core.url_to_fs(text, **(storage_options or {}))
    except (ValueError, ImportError) as exc:
        raise DataError(f"cannot open data path '{text}': {exc}") from None
    if has_glob(fs_path):
        matches = sorted(fs.glob(fs_path))
        if not matches:
            raise DataFileNotFoundError(f"no data files match the glob '{text}'")
        files: list[str] = []
        for match in matches:
            if fs.isdir(match):
                files += _data_files(fs, match)
            elif format_of(match) is None:
                raise DataError(
                    f"cannot tell the file format of '{fs.unstrip_protocol(match)}' (matched by "
                    f"'{text}') from its name; {SUPPORTED}. Narrow the glob (e.g. "
                    "'*.parquet') or use scaleout.data.read_parquet / read_csv / read_npy "
                    "to choose explicitly."
                )
            else:
                files.append(match)
        formats = _formats(files)
        if len(formats) > 1:
            found = ", ".join(f"{fmt} ('{fs.unstrip_protocol(f)}')" for fmt, f in formats.items())
            raise DataError(
                f"the glob '{text}' matches files of more than one format: {found}; a dataset "
                "is one format: narrow the glob (e.g. '*.parquet')"
            )
    elif fs.isdir(fs_path):
        formats = _formats(_data_files(fs, fs_path))
    elif fs.exists(fs_path):
        raise DataError(
            f"cannot tell the file format of '{text}' from its name; {SUPPORTED}. Use "
            "scaleout.data.read_parquet / read_csv / read_npy to choose explicitly."
        )
    else:
        raise DataFileNotFoundError(f"data file or directory not found: '{text}'")
    if not formats:
        raise DataFileNotFoundError(f"no data files under '{text}'; {SUPPORTED}")
    # A directory: Parquet before CSV before .npy (its other files are ignored).
    return next(fmt for fmt in FORMATS if fmt in formats)


def _formats(files: list[str]) -> dict[str, str]:
    """Format → the first file of that format."""
    found: dict[str, str] = {}
    for f in files:
        found.setdefault(format_of(f) or "", f)
    return found


def _items(source: Any) -> list[PathLike]:
    if isinstance(source, (str, os.PathLike)):
        return [source]
    if isinstance(source, (list, tuple)) and all(
        isinstance(p, (str, os.PathLike)) for p in source
    ):
        if not source:
            raise DataError("the list of data paths is empty")
        return list(source)
    raise DataError(
        "a data path must be a str, an os.PathLike or a list of them, got "
        f"{type(source).__name__}"
    )


def open_path(
    source: Source,
    target: Any = None,
    features: Sequence[str] | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> Dataset:
    """Open a path, glob, directory, URL or list of files as a lazy :class:`Dataset`.

    The format follows one rule, shared by ``model.fit(path)``, ``scaleout
    fit --data`` and training jobs: the file suffix decides (see
    :mod:`scaleout.data.open`). Only metadata is read (Parquet footers, the
    first CSV block, the ``.npy`` header).

    Parameters
    ----------
    source : str, os.PathLike or list of them
        A file, a directory, a glob, an fsspec URL (``s3://...``) of any of
        these, or a list of them of one format.
    target : str or array-like, optional
        Parquet and CSV: the target column's name. ``.npy``: the target
        values or a ``.npy`` file of them (a ``.npy`` file has no columns).
    features : sequence of str, optional
        Parquet and CSV: the feature columns, in order (default: every column
        but the target).
    storage_options : dict, optional
        Passed to the fsspec filesystem (credentials, endpoint, ...).

    Returns
    -------
    Dataset
        A :class:`~scaleout.data.ParquetDataset`,
        :class:`~scaleout.data.CsvDataset` or :class:`~scaleout.data.NpyDataset`.

    Raises
    ------
    DataFileNotFoundError
        For a path (or an item of the list) that matches nothing; the message
        names it.
    DataError
        For a file whose suffix is not a supported format (naming it and the
        formats), a list or directory mixing formats, a column name as the
        target of a ``.npy`` file, or columns that the data does not have.

    Examples
    --------
    >>> open_path("data/train/", target="label")  # doctest: +SKIP
    >>> open_path(["s3://b/a.parquet", "s3://b/b.parquet"], target="y")  # doctest: +SKIP
    """
    items = _items(source)
    formats = [(item, path_format(item, storage_options)) for item in items]
    fmt = formats[0][1]
    other = next(((item, f) for item, f in formats if f != fmt), None)
    if other is not None:
        raise DataError(
            f"a list of data paths must be of one format: '{os.fspath(items[0])}' is {fmt}, "
            f"'{os.fspath(other[0])}' is {other[1]}"
        )
    path = items[0] if isinstance(source, (str, os.PathLike)) else items
    if fmt == NPY:
        if len(items) > 1:
            raise DataError(
                f"a list of .npy files is not supported ({len(items)} given): a .npy "
                "dataset is one 2-D file; write the data to Parquet to read several files"
            )
        if features is not None:
            raise DataError(
                f"features={list(features)!r} cannot select from '{os.fspath(items[0])}': a "
                ".npy file has no column names (features apply to Parquet and CSV data)"
            )
        if isinstance(target, str) and format_of(target) != NPY:
            raise DataError(
                f"the target of '{os.fspath(items[0])}' cannot be the column {target!r}: a .npy "
                "file has no column names; give the target values or a .npy file of them"
            )
        return read_npy(items[0], target, storage_options=storage_options)
    if target is not None and not isinstance(target, str):
        raise DataError(
            "for a file path X, y must be the name of the target column (a str), got "
            f"{type(target).__name__}"
        )
    reader = read_parquet if fmt == PARQUET else read_csv
    return reader(path, target, features, storage_options=storage_options)
