"""The data layer: lazy datasets over NumPy, pandas and files, and input checks.

A :class:`Dataset` knows its columns, its row count (from metadata, when that
is possible without reading rows) and its estimated in-memory size, and hands
out validated NumPy data in batches (:meth:`Dataset.iter_batches`) or all at
once (:meth:`Dataset.to_numpy`).

- :func:`as_dataset` wraps what ``fit`` receives: a Dataset, NumPy, pandas,
  a SciPy sparse matrix (kept sparse, :mod:`.sparse`), a list, a file path or a
  list of file paths.
- :func:`open_path` opens a path, glob, directory, URL or list of files by
  one rule (the file suffix decides); ``fit``, the command line and jobs use it.
- :func:`read_parquet`, :func:`read_csv`, :func:`read_npy` open files of one
  format lazily (local paths, globs, directories, any fsspec URL, or a list).
- :func:`check_features`, :func:`check_target` validate arrays with
  scikit-learn's wording, naming the column, row and file of a bad value;
  :func:`check_weight_count` checks one sample weight per row (every engine's
  check, also a plug-in's once it knows the row count).
"""

from __future__ import annotations

from .convert import as_dataset
from .csv import CsvDataset, read_csv
from .dataset import Batch, Dataset, InMemoryDataset
from .npy import NpyDataset, read_npy
from .open import open_path
from .parquet import ParquetDataset, read_parquet
from .validate import check_features, check_target, check_weight_count

__all__ = [
    "Batch",
    "CsvDataset",
    "Dataset",
    "InMemoryDataset",
    "NpyDataset",
    "ParquetDataset",
    "as_dataset",
    "check_features",
    "check_target",
    "check_weight_count",
    "open_path",
    "read_csv",
    "read_npy",
    "read_parquet",
]
