"""Raw tables for the table transformers: string columns and missing values allowed.

:class:`TableDataset` is the :class:`~scaleout.data.Dataset` the
preprocessing steps that take a raw table read (``SimpleImputer``,
``OneHotEncoder``, ``OrdinalEncoder``, ``ColumnTransformer`` and a pipeline
that starts with one). Its batches' ``X`` is a pandas frame normalised by
:mod:`scaleout.data.table_frame` (or, for a NumPy array given in memory, that
array), never validated as numbers: that is the transformers' job.

What it checks, before any row is read (file metadata only):

* every feature column exists in every file (a column missing from one file
  names the column and the file);
* every column is numeric or string (a list or struct column names its type);
* a column has one kind across files: string in one file and numeric in
  another names the column and both files;
* a Parquet column that is null in every row (from the row groups'
  statistics) names the column: nothing can be learnt from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..exceptions import DataError
from ._arrow import select_names
from ._fs import resolve_files
from .csv import CSV_EXTENSIONS
from .dataset import Batch, Dataset
from .parquet import PARQUET_EXTENSIONS
from .partitions import Partition, group_row_groups
from .table_frame import arrow_to_frame, is_string_type, is_table_type, normalize_frame

__all__ = ["TableDataset", "open_table"]


def _kind(t: pa.DataType) -> str:
    if is_string_type(t):
        return "string"
    if pa.types.is_null(t):
        return "null"
    return "numeric"


def _target_values(table: pa.Table, target: str | None) -> np.ndarray | None:
    if target is None:
        return None
    column = table.column(target)
    if is_string_type(column.type):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    return column.to_numpy()


@dataclass(frozen=True)
class TablePartition(Partition):
    """Row groups of one Parquet file, or a whole CSV file, read as a raw frame."""

    path: str
    display: str
    filesystem: Any
    fmt: str
    row_groups: tuple[int, ...]
    features: tuple[str, ...]
    target: str | None
    row_offset: int
    n_rows: int

    @property
    def description(self) -> str:
        if self.fmt == "csv":
            return f"file '{self.display}'"
        return f"file '{self.display}', row groups {self.row_groups[0]}-{self.row_groups[-1]}"

    def load(self) -> Batch:
        columns = [*self.features] + ([] if self.target is None else [self.target])
        try:
            if self.fmt == "csv":
                table = _read_csv(self.path, self.filesystem, columns)
            else:
                with pq.ParquetFile(self.path, filesystem=self.filesystem) as pf:
                    table = pf.read_row_groups(list(self.row_groups), columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"cannot read {self.description}: {exc}") from None
        y = _target_values(table, self.target)
        return Batch(arrow_to_frame(table, self.features), y, self.description, self.row_offset)


def _csv_options(columns: Sequence[str] | None = None) -> dict[str, Any]:
    convert = pacsv.ConvertOptions(strings_can_be_null=True, include_columns=columns)
    return {"convert_options": convert}


def _read_csv(path: str, filesystem: Any, columns: Sequence[str] | None) -> pa.Table:
    if filesystem is None:
        return pacsv.read_csv(path, **_csv_options(columns))
    with filesystem.open(path, "rb") as handle:
        return pacsv.read_csv(handle, **_csv_options(columns))


class TableDataset(Dataset):
    """A raw table (in memory, or Parquet / CSV files) read as normalised pandas chunks.

    Parameters
    ----------
    frame : pandas.DataFrame or numpy.ndarray, optional
        In-memory data (``y`` the target values).
    files, fmt
        Or a :class:`~scaleout.data._fs.FileList` of Parquet or CSV files.
    target : str or array-like, optional
        A file's target column name, or in-memory target values.
    features : sequence of str, optional
        Feature columns of files (default: every column but the target).
    """

    def __init__(
        self,
        frame: Any = None,
        y: Any = None,
        *,
        files: Any = None,
        fmt: str | None = None,
        target: str | None = None,
        features: Sequence[str] | None = None,
    ) -> None:
        self._frame, self._y, self._files, self._fmt = None, None, files, fmt
        if files is None:
            self._init_memory(frame, y)
        else:
            self._init_files(files, fmt or "parquet", target, features)

    # --------------------------------------------------------------- memory
    def _init_memory(self, frame: Any, y: Any) -> None:
        if isinstance(frame, pd.DataFrame):
            names = [str(c) for c in frame.columns]
            self.has_feature_names = all(isinstance(c, str) for c in frame.columns)
            self._frame = normalize_frame(frame)
        else:
            array = np.asarray(frame)
            if array.ndim != 2:
                raise DataError(
                    f"Expected a 2-D table (a pandas DataFrame or a 2-D array), got an array of "
                    f"shape {array.shape}"
                )
            self._frame = array
            names = [f"x{j}" for j in range(array.shape[1])]
            self.has_feature_names = False
        if self._frame.shape[0] == 0:
            raise DataError(
                "Found array with 0 sample(s) (shape=(0, ...)) while a minimum of 1 is required."
            )
        self.feature_names = names
        if y is not None:
            self._y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
            if len(self._y) != self._frame.shape[0]:
                raise DataError(
                    f"X has {self._frame.shape[0]} rows but y has {len(self._y)}: one target "
                    "value per row"
                )
            self.target = getattr(y, "name", None) or "y"
        self._n_rows = int(self._frame.shape[0])

    # ---------------------------------------------------------------- files
    def _init_files(
        self, files: Any, fmt: str, target: str | None, features: Sequence[str] | None
    ) -> None:
        self.target, self.has_feature_names = target, True
        schemas: list[tuple[str, pa.Schema]] = []
        self._groups: list[list[int]] = []
        for path in files.paths:
            where = f"file '{files.display(path)}'"
            try:
                if fmt == "csv":  # read whole: its types and its row count
                    table = _read_csv(path, files.filesystem, None)
                    schema = table.schema
                    self._groups.append([table.num_rows])
                else:
                    with pq.ParquetFile(path, filesystem=files.filesystem) as pf:
                        schema, metadata = pf.schema_arrow, pf.metadata
                    self._groups.append(
                        [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
                    )
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"cannot read {where} as {fmt}: {exc}") from None
            schemas.append((where, schema))
        where, first = schemas[0]
        self.feature_names = select_names(
            [n for n in first.names if not n.startswith("__index_level_")],
            target,
            features,
            where=where,
        )
        self._check_columns(schemas)
        if fmt == "parquet":
            self._check_all_null(files)
        self._n_rows = sum(sum(g) for g in self._groups)
        self._schema = pa.schema([first.field(n) for n in self._columns])

    @property
    def _columns(self) -> list[str]:
        return self.feature_names + ([] if self.target is None else [self.target])

    def _check_columns(self, schemas: list[tuple[str, pa.Schema]]) -> None:
        kinds: dict[str, tuple[str, str]] = {}
        for where, schema in schemas:
            for name in self._columns:
                if name not in schema.names:
                    raise DataError(
                        f"column {name!r} is missing from {where} (it is in "
                        f"{schemas[0][0]}); every file must have the same columns"
                    )
                t = schema.field(name).type
                if name != self.target and not is_table_type(t):
                    raise DataError(
                        f"column {name!r} of {where} has type {t}; table transformers read "
                        "numeric (bool, integer, float, decimal) and string columns"
                    )
                kind = _kind(t)
                seen = kinds.setdefault(name, (kind, where))
                if {seen[0], kind} == {"string", "numeric"}:
                    raise DataError(
                        f"column {name!r} is {seen[0]} in {seen[1]} but {kind} in {where} "
                        f"({t}); one column must have one type in every file"
                    )

    def _check_all_null(self, files: Any) -> None:
        nulls = dict.fromkeys(self.feature_names, 0)
        known = dict.fromkeys(self.feature_names, True)
        for path in files.paths:
            with pq.ParquetFile(path, filesystem=files.filesystem) as pf:
                metadata = pf.metadata
                names = pf.schema_arrow.names
                for i in range(metadata.num_row_groups):
                    group = metadata.row_group(i)
                    for name in self.feature_names:
                        stats = group.column(names.index(name)).statistics
                        if stats is None or not stats.has_null_count:
                            known[name] = False
                        else:
                            nulls[name] += stats.null_count
        total = sum(sum(g) for g in self._groups)
        for name in self.feature_names:
            if known[name] and total and nulls[name] == total:
                raise DataError(
                    f"column {name!r} is null in every row of {files.description}: nothing "
                    "can be learnt from it; leave it out of the features"
                )

    # -------------------------------------------------------------- Dataset
    @property
    def n_rows(self) -> int | None:
        return self._n_rows

    @property
    def estimated_nbytes(self) -> int:
        if self._files is None:
            if isinstance(self._frame, pd.DataFrame):
                return int(self._frame.memory_usage(deep=False).sum())
            return int(self._frame.nbytes)
        return int(self._n_rows) * (self.n_features + (self.target is not None)) * 8

    @property
    def schema(self) -> pa.Schema:
        if self._files is not None:
            return self._schema
        if isinstance(self._frame, pd.DataFrame):
            return pa.Schema.from_pandas(self._frame, preserve_index=False)
        return pa.schema([(n, pa.from_numpy_dtype(self._frame.dtype)) for n in self.feature_names])

    @property
    def source(self) -> str:
        if self._files is None:
            return "in-memory table"
        return f"{self._fmt} dataset {self._files.description}"

    def partitions(self, target_rows: int = 250_000) -> list[Any]:
        if self._files is None:
            return super().partitions(target_rows)
        parts: list[Any] = []
        offset = 0
        for path, groups in zip(self._files.paths, self._groups, strict=True):
            display = self._files.display(path)
            blocks = [[0]] if self._fmt == "csv" else group_row_groups(groups, target_rows)
            for block in blocks:
                rows = sum(groups[i] for i in block)
                if rows:
                    parts.append(
                        TablePartition(
                            path,
                            display,
                            self._files.filesystem,
                            self._fmt,
                            tuple(block),
                            tuple(self.feature_names),
                            self.target,
                            offset,
                            rows,
                        )
                    )
                offset += rows
        return parts

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        if self._files is not None:
            for part in self.partitions(batch_rows or 250_000):
                yield part.load()
            return
        step = batch_rows or self._n_rows
        for start in range(0, self._n_rows, step):
            stop = min(start + step, self._n_rows)
            X = (
                self._frame.iloc[start:stop]
                if isinstance(self._frame, pd.DataFrame)
                else (self._frame[start:stop])
            )
            y = None if self._y is None else self._y[start:stop]
            yield Batch(X, y, self.source, start)

    def to_numpy(self) -> tuple[Any, np.ndarray | None]:
        """The whole table (a normalised pandas frame, or the array) and the target."""
        if self._files is None:
            return self._frame, self._y
        batches = list(self.iter_batches())
        frames = [b.X for b in batches]
        X = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        ys = [b.y for b in batches if b.y is not None]
        return X, (np.concatenate(ys) if ys else None)


def open_table(
    X: Any,
    y: Any = None,
    features: Sequence[str] | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> TableDataset:
    """Open what a table transformer's ``fit`` got: a frame, an array, or Parquet / CSV paths.

    Parameters
    ----------
    X : pandas.DataFrame, numpy.ndarray, TableDataset, or str / path / list of them
    y : array-like or str, optional
        Target values, or the target column of files.
    features : sequence of str, optional
        Feature columns of files.
    """
    if isinstance(X, TableDataset):
        return X
    if (
        isinstance(X, (str, bytes))
        or hasattr(X, "__fspath__")
        or (isinstance(X, list) and X and isinstance(X[0], str))
    ):
        from .open import path_format

        items = X if isinstance(X, list) else [X]
        fmt = {"Parquet": "parquet", "CSV": "csv"}.get(path_format(items[0], storage_options), "")
        if not fmt:
            raise DataError(f"a raw table must be Parquet or CSV files, got {items[0]!r}")
        extensions = PARQUET_EXTENSIONS if fmt == "parquet" else CSV_EXTENSIONS
        files = resolve_files(
            X,
            extensions=extensions,
            storage_options=storage_options,
            kind=fmt.capitalize() if fmt == "parquet" else "CSV",
        )
        if y is not None and not isinstance(y, str):
            raise DataError("for a file path X, y must be the name of the target column (a str)")
        return TableDataset(files=files, fmt=fmt, target=y, features=features)
    if isinstance(X, Dataset):
        raise DataError(
            f"{type(X).__name__} holds numeric features only; give the table transformers the "
            "raw table (a DataFrame or the Parquet / CSV path)"
        )
    return TableDataset(X, y)
