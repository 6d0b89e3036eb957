"""Parquet files as a lazy :class:`Dataset`.

Construction reads only the Parquet footers (schema and row-group row
counts), so the row count, schema and estimated size are known before any
row is read, and column mistakes are reported at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..exceptions import DataError
from ._arrow import (
    feature_dtype,
    fill_columns,
    pandas_index_columns,
    select_columns,
    split_columns,
    table_to_numpy,
    target_to_numpy,
)
from ._fs import FileList, Source, resolve_files
from .columns import check_unique_columns
from .dataset import Batch, Dataset, check_batch_rows, rebatch
from .validate import check_features, check_target

__all__ = ["ParquetDataset", "read_parquet"]

PARQUET_EXTENSIONS = (".parquet", ".pq", ".parq")

#: ``to_numpy`` reads about this many bytes (as float64) at a time.
READ_GROUP_BYTES = 128 << 20


class ParquetDataset(Dataset):
    """One or more Parquet files with the same columns, read lazily.

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (every ``*.parquet`` / ``*.pq`` / ``*.parq`` file
        under it, recursively, sorted; names starting with ``_`` or ``.``
        skipped), a glob, an fsspec URL of any of these (``s3://...``,
        ``memory://...``), or a list of any of these (read in the list's
        order; all on one filesystem).
    target : str, optional
        Target column; None for unsupervised data.
    features : sequence of str, optional
        Feature columns, in order; None means every column except the target.
    storage_options : dict, optional
        Passed to the fsspec filesystem.

    Raises
    ------
    DataFileNotFoundError
        When ``path`` matches no file.
    DataError
        Before any row is read: a missing or non-numeric column, or a file
        whose columns differ from the first file's.
    """

    def __init__(
        self,
        path: Source,
        target: str | None = None,
        features: Sequence[str] | None = None,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self._files: FileList = resolve_files(
            path,
            extensions=PARQUET_EXTENSIONS,
            storage_options=storage_options,
            kind="Parquet",
        )
        self.target = target
        self.has_feature_names = True
        self._row_groups: list[list[int]] = []
        # (min, max) or None (unknown) per non-empty row group of the target
        self._target_bounds: list[tuple[Any, Any] | None] = []
        first_schema: pa.Schema | None = None
        first_file = ""
        for file_path in self._files.paths:
            where = f"file '{self._files.display(file_path)}'"
            with self._open(file_path) as pf:
                schema = pf.schema_arrow
                metadata = pf.metadata
            if first_schema is None:
                first_schema, first_file = schema, where
                self.feature_names = select_columns(
                    schema, target, features, where=where, exclude=pandas_index_columns(schema)
                )
                self._columns = self.feature_names + ([] if target is None else [target])
            else:
                self._check_same_columns(first_schema, first_file, schema, where)
            self._row_groups.append(
                [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            )
            if target is not None:
                self._target_bounds += row_group_bounds(metadata, target)
        assert first_schema is not None
        self._schema = pa.schema([first_schema.field(c) for c in self._columns])
        # Global start row of every non-empty row group, for locating rows.
        self._starts: list[int] = []
        self._locations: list[tuple[int, int]] = []
        start = 0
        for k, groups in enumerate(self._row_groups):
            for i, n in enumerate(groups):
                if n:
                    self._starts.append(start)
                    self._locations.append((k, i))
                    start += n
        self._n_rows = start

    # ----------------------------------------------------------- internals
    def _open(self, file_path: str) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(file_path, filesystem=self._files.filesystem)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(
                f"cannot read file '{self._files.display(file_path)}' as Parquet: {exc}"
            ) from None

    def _check_same_columns(
        self, first: pa.Schema, first_file: str, schema: pa.Schema, where: str
    ) -> None:
        check_unique_columns(schema.names, where=where, used=self._columns)
        for name in self._columns:
            if schema.get_field_index(name) < 0:
                raise DataError(
                    f"{where} has a different schema than {first_file}: it has no column "
                    f"{name!r} (its columns: {', '.join(map(repr, schema.names))})"
                )
            expected, found = first.field(name).type, schema.field(name).type
            if not found.equals(expected):
                raise DataError(
                    f"{where} has a different schema than {first_file}: column {name!r} "
                    f"is {found} there but {expected} in {first_file}"
                )

    def _location(self, row: int) -> str:
        """``"file '/p/part-3.parquet', row group 2"`` for a global row number."""
        index = max(bisect.bisect_right(self._starts, row) - 1, 0)
        k, i = self._locations[index]
        return f"file '{self._files.display(self._files.paths[k])}', row group {i}"

    def _row_group_batches(self) -> Iterator[Batch]:
        offset = 0
        for k, file_path in enumerate(self._files.paths):
            if not any(self._row_groups[k]):
                continue
            with self._open(file_path) as pf:
                for i, n in enumerate(self._row_groups[k]):
                    if not n:
                        continue
                    source = f"file '{self._files.display(file_path)}', row group {i}"
                    table = pf.read_row_group(i, columns=self._columns, use_threads=True)
                    X, y = table_to_numpy(
                        table,
                        self.feature_names,
                        self.target,
                        source=source,
                        row_offset=offset,
                    )
                    yield Batch(X, y, source, offset)
                    offset += n

    def _repr_location(self) -> str:
        return self._files.description

    # -------------------------------------------------------------- public
    @property
    def files(self) -> list[str]:
        """The files read, sorted (with their URL protocol, if any)."""
        return [self._files.display(p) for p in self._files.paths]

    @property
    def n_rows(self) -> int:
        """Total rows, from the Parquet metadata (no rows read)."""
        return self._n_rows

    @property
    def schema(self) -> pa.Schema:
        """Feature columns then the target column, with their stored types."""
        return self._schema

    @property
    def target_bounds(self) -> tuple[Any, Any] | None:
        """(min, max) of an integer or boolean target from the files' statistics (no rows read).

        None without a target, for other types, or when a row group has no
        min/max statistics or counts a null.
        """
        if self.target is None or not _has_exact_bounds(self._schema.field(self.target).type):
            return None
        bounds = self._target_bounds
        if not bounds or any(b is None for b in bounds):
            return None
        try:
            return min(b[0] for b in bounds), max(b[1] for b in bounds)
        except TypeError:  # files store the target with different types
            return None

    @property
    def source(self) -> str:
        """``"Parquet dataset '/data/*.parquet' (12 files)"``."""
        return f"Parquet dataset {self._files.description}"

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        """Iterate over validated batches; by default one per row group.

        Parameters
        ----------
        batch_rows : int, optional
            Rows per batch: row groups are split and regrouped (across files)
            into batches of exactly this size (the last may be smaller).

        Yields
        ------
        Batch
            With ``source`` ``"file '...', row group i"`` and the global
            ``row_offset``.

        Raises
        ------
        DataError
            For NaN / infinite / missing values, naming the column, global row,
            file and row group.
        """
        batch_rows = check_batch_rows(batch_rows)
        yield from rebatch(self._row_group_batches(), batch_rows)

    def partitions(self, target_rows: int = 250_000) -> list[Any]:
        """Blocks of consecutive row groups (one file each) that workers read.

        Parameters
        ----------
        target_rows : int, default 250_000
            Row groups of a file are grouped until a block holds this many
            rows; a row group is never split.

        Returns
        -------
        list of ParquetPartition
        """
        from .partitions import ParquetPartition, group_row_groups

        filesystem = self._files.filesystem
        parts = []
        offset = 0
        for k, file_path in enumerate(self._files.paths):
            sizes = self._row_groups[k]
            for groups in group_row_groups(sizes, target_rows):
                rows = tuple(sizes[i] for i in groups)
                parts.append(
                    ParquetPartition(
                        path=file_path,
                        display=self._files.display(file_path),
                        filesystem=filesystem,
                        row_groups=tuple(groups),
                        group_rows=rows,
                        features=tuple(self.feature_names),
                        target=self.target,
                        row_offset=offset,
                        n_rows=sum(rows),
                    )
                )
                offset += sum(rows)
        return parts

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Read everything into NumPy: ``pq.read_table`` then a column-major fill.

        The result array is allocated once (the row count is known from the
        metadata) and filled from reads of about ``READ_GROUP_BYTES`` each
        (consecutive whole files, or row groups of a large file), so the peak
        memory is the result plus one read, not the result plus the whole
        Arrow table.

        Returns
        -------
        X : numpy.ndarray
            ``(n_rows, n_features)``, Fortran order; float32 when every
            feature column is float32, else float64.
        y : numpy.ndarray or None
            Numeric targets keep their dtype; string / categorical labels are
            an object array.

        Raises
        ------
        DataError
            For NaN / infinite / missing values, naming the column, global row,
            file and row group.
        """
        features = self.feature_names
        dtype = feature_dtype([self._schema.field(f).type for f in features])
        X = np.empty((self._n_rows, len(features)), dtype=dtype, order="F")
        ys: list[np.ndarray] = []
        offset = 0
        for files, row_groups in self._read_plan():
            columns, y_column, n = split_columns(
                self._read(files, row_groups), features, self.target
            )
            if offset + n > self._n_rows:
                raise DataError(f"{self.source} changed while being read (more rows)")
            fill_columns(X, columns, offset)
            if y_column is not None:
                ys.append(target_to_numpy(y_column))
            del columns, y_column
            offset += n
        if offset != self._n_rows:
            raise DataError(f"{self.source} changed while being read (fewer rows)")
        X = check_features(X, feature_names=features, source=self._location)
        y = None
        if self.target is not None:
            y = ys[0] if len(ys) == 1 else np.concatenate(ys)
            y = check_target(y, n_rows=self._n_rows, name=self.target, source=self._location)
        return X, y

    def _read_plan(self) -> list[tuple[list[int], list[int] | None]]:
        """Reads of about READ_GROUP_BYTES: (whole files, None) or ([file], row groups)."""
        row_bytes = 8 * len(self._columns)
        plan: list[tuple[list[int], list[int] | None]] = []
        files: list[int] = []
        size = 0
        for k, groups in enumerate(self._row_groups):
            if sum(groups) * row_bytes > READ_GROUP_BYTES and len(groups) > 1:
                if files:
                    plan.append((files, None))
                    files, size = [], 0
                chunk: list[int] = []
                chunk_size = 0
                for i, n in enumerate(groups):
                    chunk.append(i)
                    chunk_size += n * row_bytes
                    if chunk_size >= READ_GROUP_BYTES:
                        plan.append(([k], chunk))
                        chunk, chunk_size = [], 0
                if chunk:
                    plan.append(([k], chunk))
                continue
            files.append(k)
            size += sum(groups) * row_bytes
            if size >= READ_GROUP_BYTES:
                plan.append((files, None))
                files, size = [], 0
        if files:
            plan.append((files, None))
        return plan

    def _read(self, files: list[int], row_groups: list[int] | None) -> pa.Table:
        paths = [self._files.paths[k] for k in files]
        try:
            if row_groups is not None:
                with self._open(paths[0]) as pf:
                    return pf.read_row_groups(row_groups, columns=self._columns, use_threads=True)
            return pq.read_table(
                paths[0] if len(paths) == 1 else paths,
                columns=self._columns,
                use_threads=True,
                filesystem=self._files.filesystem,
                partitioning=None,
            )
        except (pa.ArrowInvalid, OSError) as exc:
            shown = ", ".join(f"'{self._files.display(p)}'" for p in paths)
            raise DataError(f"cannot read Parquet file(s) {shown}: {exc}") from None


def read_parquet(
    path: Source,
    target: str | None = None,
    features: Sequence[str] | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> ParquetDataset:
    """Open Parquet data lazily (only the footers are read).

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (all ``*.parquet`` / ``*.pq`` / ``*.parq`` under
        it, recursively, sorted), a glob, any fsspec URL, or a list of these
        (as pyarrow, Dask and Spark take one), read in the list's order.
    target : str, optional
        Target column; None for unsupervised data.
    features : sequence of str, optional
        Feature columns, in order; None means every column except the target.
    storage_options : dict, optional
        Passed to the fsspec filesystem (credentials, endpoint, ...).

    Returns
    -------
    ParquetDataset

    Raises
    ------
    DataFileNotFoundError
        When ``path`` (or an item of the list) matches no file; the message
        names it.
    DataError
        For a missing or non-numeric column, files with differing schemas, or
        a list whose items are on different filesystems.

    Examples
    --------
    >>> ds = read_parquet("/data/train/", target="label")  # doctest: +SKIP
    >>> ds.n_rows, ds.n_features  # doctest: +SKIP
    (2000000, 20)
    >>> read_parquet(["s3://b/day1.parquet", "s3://b/day2.parquet"], "y")  # doctest: +SKIP
    """
    return ParquetDataset(path, target, features, storage_options=storage_options)


def _has_exact_bounds(arrow_type: pa.DataType) -> bool:
    return pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type)


def row_group_bounds(metadata: pq.FileMetaData, name: str) -> list[tuple[Any, Any] | None]:
    """(min, max) of column ``name`` in each non-empty row group, from the footer statistics.

    Returns
    -------
    list
        One entry per row group with rows: ``(min, max)``, or None when the
        group has no min/max statistics for the column or counts nulls in it.
    """
    bounds: list[tuple[Any, Any] | None] = []
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        if group.num_rows == 0:
            continue
        column = next(
            (
                group.column(j)
                for j in range(group.num_columns)
                if group.column(j).path_in_schema == name
            ),
            None,
        )
        stats = None if column is None else column.statistics
        known = (
            stats is not None
            and stats.has_min_max
            and stats.has_null_count
            and not stats.null_count
        )
        bounds.append((stats.min, stats.max) if known else None)
    return bounds
