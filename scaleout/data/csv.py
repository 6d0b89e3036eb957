"""CSV files as a lazy :class:`Dataset`, read with ``pyarrow.csv``.

Construction reads the first block of the first file to learn the columns
and their types (pyarrow infers types from the first block). Feature columns
inferred as integer or float are then read as float64 everywhere, so a later
``1.5`` in a column that started with integers is fine; a later value that is
not a number is reported naming the file and the column. The row count of a
CSV file is unknown until it is read (``n_rows`` is None).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..exceptions import DataError
from ._arrow import convert_columns, select_columns, split_columns, table_to_numpy
from ._fs import FileList, Source, resolve_files
from .dataset import Batch, Dataset, check_batch_rows, rebatch

__all__ = ["CsvDataset", "read_csv"]

CSV_EXTENSIONS = (".csv", ".csv.gz", ".csv.bz2")

#: Bytes read from a file to learn its column names (more when the header is longer).
HEADER_BLOCK_BYTES = 64 * 1024

#: Size-estimate rule: one value per this many bytes of CSV text.
BYTES_PER_VALUE = 10
#: Size-estimate rule: compressed files are assumed to expand this much.
COMPRESSION_RATIO = 4

_OWN_CONVERT_OPTIONS = {"include_columns", "include_missing_columns"}
_ALIASES = {"sep": "delimiter"}


def _option_names(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_") and n not in ("equals", "validate")}


_READ_NAMES = _option_names(pacsv.ReadOptions)
_PARSE_NAMES = _option_names(pacsv.ParseOptions)
_CONVERT_NAMES = _option_names(pacsv.ConvertOptions) - _OWN_CONVERT_OPTIONS


def _split_options(
    options: dict[str, Any],
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, dict[str, Any]]:
    read: dict[str, Any] = {}
    parse: dict[str, Any] = {}
    convert: dict[str, Any] = {}
    for key, value in options.items():
        name = _ALIASES.get(key, key)
        if name in _READ_NAMES:
            read[name] = value
        elif name in _PARSE_NAMES:
            parse[name] = value
        elif name in _CONVERT_NAMES:
            convert[name] = value
        elif name in _OWN_CONVERT_OPTIONS:
            raise TypeError(f"read_csv() sets {name!r} itself; choose columns with features=[...]")
        else:
            valid = sorted(_READ_NAMES | _PARSE_NAMES | _CONVERT_NAMES | set(_ALIASES))
            raise TypeError(
                f"read_csv() got an unexpected keyword argument {key!r}; valid CSV "
                f"options (of pyarrow.csv's ReadOptions, ParseOptions, ConvertOptions): "
                f"{', '.join(valid)}"
            )
    return pacsv.ReadOptions(**read), pacsv.ParseOptions(**parse), convert


def _as_float64(t: pa.DataType) -> bool:
    """Inferred numeric types read as float64 (so ints then floats both parse)."""
    return pa.types.is_integer(t) or pa.types.is_float64(t) or pa.types.is_null(t)


class CsvDataset(Dataset):
    """One or more CSV files with the same columns, read in blocks.

    Columns are read by name: the files may order them differently (see
    :meth:`file_headers`).

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (every ``*.csv`` / ``*.csv.gz`` / ``*.csv.bz2``
        under it, recursively, sorted), a glob, any fsspec URL, or a list of
        these (read in the list's order; all on one filesystem).
    target : str, optional
        Target column; None for unsupervised data.
    features : sequence of str, optional
        Feature columns, in order; None means every column except the target.
    storage_options : dict, optional
        Passed to the fsspec filesystem.
    **csv_options
        Fields of ``pyarrow.csv.ReadOptions``, ``ParseOptions`` or
        ``ConvertOptions`` (e.g. ``delimiter=";"`` (alias ``sep``),
        ``block_size``, ``null_values``, ``column_types``).

    Raises
    ------
    DataFileNotFoundError
        When ``path`` matches no file.
    DataError
        For a missing or non-numeric column (by the types inferred from the
        first block), or an unreadable first file.
    TypeError
        For an unknown CSV option.
    """

    def __init__(
        self,
        path: Source,
        target: str | None = None,
        features: Sequence[str] | None = None,
        *,
        storage_options: dict[str, Any] | None = None,
        **csv_options: Any,
    ) -> None:
        self._files: FileList = resolve_files(
            path, extensions=CSV_EXTENSIONS, storage_options=storage_options, kind="CSV"
        )
        self._read, self._parse, convert = _split_options(csv_options)
        self.target = target
        self.has_feature_names = True
        first = self._files.paths[0]
        self._first = f"file '{self._files.display(first)}'"
        inferred = self._header(first, pacsv.ConvertOptions(**convert))
        checkable = pa.schema(
            [pa.field(f.name, pa.float64()) if pa.types.is_null(f.type) else f for f in inferred]
        )
        self.feature_names = select_columns(checkable, target, features, where=self._first)
        self._columns = self.feature_names + ([] if target is None else [target])
        user_types = dict(convert.pop("column_types", None) or {})
        types: dict[str, pa.DataType] = {}
        for name in self._columns:
            t = inferred.field(name).type
            # Features read as float64; an integer target keeps its class labels.
            as_float = _as_float64(t) if name != target else pa.types.is_null(t)
            types[name] = pa.float64() if as_float else t
        types.update(user_types)
        self._schema = pa.schema([pa.field(n, types[n]) for n in self._columns])
        self._convert = pacsv.ConvertOptions(
            **convert, column_types=types, include_columns=self._columns
        )
        self._n_file_columns = len(inferred)
        self._total_bytes = sum(self._text_bytes(p) for p in self._files.paths)
        self._all_columns = not features
        self._headers: list[tuple[str, ...]] | None = (
            [tuple(inferred.names)] if len(self._files.paths) == 1 else None
        )

    # ----------------------------------------------------------- internals
    def _text_bytes(self, file_path: str) -> int:
        size = self._files.size(file_path)
        compressed = file_path.lower().endswith((".gz", ".bz2"))
        return size * COMPRESSION_RATIO if compressed else size

    def _header(self, file_path: str, convert: pacsv.ConvertOptions) -> pa.Schema:
        """Column names and types inferred from the file's first block."""
        try:
            with self._files.open(file_path, compression="infer") as stream:
                reader = pacsv.open_csv(
                    stream,
                    read_options=self._read,
                    parse_options=self._parse,
                    convert_options=convert,
                )
                schema = reader.schema
                reader.close()
        except (pa.ArrowInvalid, pa.ArrowKeyError, OSError) as exc:
            raise DataError(
                f"cannot read CSV file '{self._files.display(file_path)}': {exc}"
            ) from None
        return schema

    def _header_names(self, file_path: str) -> tuple[str, ...]:
        """The column names of one file, from its header (a small first block)."""
        read = self._read
        small = pacsv.ReadOptions(
            use_threads=False,
            block_size=min(read.block_size, HEADER_BLOCK_BYTES),
            skip_rows=read.skip_rows,
            skip_rows_after_names=read.skip_rows_after_names,
            column_names=read.column_names,
            autogenerate_column_names=read.autogenerate_column_names,
            encoding=read.encoding,
        )
        for options in (small, read):
            try:
                with self._files.open(file_path, compression="infer") as stream:
                    reader = pacsv.open_csv(
                        stream,
                        read_options=options,
                        parse_options=self._parse,
                        convert_options=pacsv.ConvertOptions(),
                    )
                    names = tuple(reader.schema.names)
                    reader.close()
                return names
            except (pa.ArrowInvalid, pa.ArrowKeyError, OSError) as exc:
                if options is read or "straddl" not in str(exc):
                    raise DataError(
                        f"cannot read CSV file '{self._files.display(file_path)}': {exc}"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def file_headers(self) -> list[tuple[str, ...]]:
        """The column names of every file, in :attr:`files` order, checked.

        Every file must have the columns read (the features and the target),
        in any order: files are read by column name on every engine. When
        ``features`` was not given (every column but the target is a feature),
        every file must have exactly the first file's columns.

        Returns
        -------
        list of tuple of str
            One header per file (read once, then cached).

        Raises
        ------
        DataError
            Naming the file and the column it lacks (or has in excess), before
            any row is read.
        """
        if self._headers is not None:
            return self._headers
        headers = [self._header_names(p) for p in self._files.paths]
        first = set(headers[0])
        for path, names in zip(self._files.paths, headers, strict=True):
            where = f"CSV file '{self._files.display(path)}'"
            have = set(names)
            missing = [c for c in self._columns if c not in have]
            if missing:
                what = "target" if missing[0] == self.target else "feature"
                raise DataError(
                    f"{where} has no column {missing[0]!r} ({what}; the first file "
                    f"{self._first} has it): every file must have the columns read "
                    f"({', '.join(map(repr, self._columns))}), in any order. Fix the file, "
                    "or leave it out."
                )
            extra = [c for c in names if c not in first]
            if extra and self._all_columns:
                raise DataError(
                    f"{where} has a column {extra[0]!r} that the first file {self._first} "
                    "has not: every column but the target is a feature, so every file must "
                    "have the same columns (in any order). Fix the file, or choose the "
                    "columns with features=[...]."
                )
        self._headers = headers
        return headers

    def _wrap(self, exc: Exception, file_path: str) -> DataError:
        """A pyarrow read error as a DataError naming the file and column."""
        where = f"CSV file '{self._files.display(file_path)}'"
        message = str(exc)
        if isinstance(exc, pa.ArrowKeyError) or "does not exist in CSV file" in message:
            return DataError(
                f"{where} has different columns than {self._first} (the first file): {message}"
            )
        match = re.search(r"In CSV column #(\d+)", message)
        if match:
            try:
                names = self._header(file_path, pacsv.ConvertOptions()).names
                name: str | None = names[int(match.group(1))]
            except (DataError, IndexError):
                name = None
            column = f"column #{match.group(1)}" if name is None else f"column {name!r}"
            kind = "feature" if name in self.feature_names else "target"
            return DataError(
                f"{where}: {kind} {column} has a value that is not numeric / not of the "
                f"type inferred from the first block of {self._first}: {message}. "
                "Fix the data, leave the column out with features=[...], or set its "
                "type with column_types={...}."
            )
        return DataError(f"cannot read {where}: {message}")

    def _locator(self, starts: list[int]) -> Callable[[int], str]:
        """Map a global row to ``"file '/p/b.csv' (data row 34 of that file)"``."""

        def locate(row: int) -> str:
            k = max(bisect.bisect_right(starts, row) - 1, 0)
            display = self._files.display(self._files.paths[k])
            return f"file '{display}' (data row {row - starts[k]} of that file)"

        return locate

    def _block_batches(self) -> Iterator[Batch]:
        self.file_headers()
        offset = 0
        starts: list[int] = []
        locate = self._locator(starts)
        for file_path in self._files.paths:
            starts.append(offset)
            display = self._files.display(file_path)
            with self._files.open(file_path, compression="infer") as stream:
                try:
                    reader = pacsv.open_csv(
                        stream,
                        read_options=self._read,
                        parse_options=self._parse,
                        convert_options=self._convert,
                    )
                    block = 0
                    while True:
                        try:
                            record_batch = reader.read_next_batch()
                        except StopIteration:
                            break
                        n = record_batch.num_rows
                        if not n:
                            continue
                        source = f"file '{display}', block {block}"
                        X, y = table_to_numpy(
                            record_batch,
                            self.feature_names,
                            self.target,
                            source=locate,
                            row_offset=offset,
                        )
                        yield Batch(X, y, source, offset)
                        offset += n
                        block += 1
                except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
                    raise self._wrap(exc, file_path) from None

    def _repr_location(self) -> str:
        return self._files.description

    # -------------------------------------------------------------- public
    @property
    def files(self) -> list[str]:
        """The files read, sorted (with their URL protocol, if any)."""
        return [self._files.display(p) for p in self._files.paths]

    @property
    def n_rows(self) -> None:
        """None: a CSV file's row count is unknown until it is read."""
        return None

    @property
    def schema(self) -> pa.Schema:
        """Feature then target columns, with the types they are read as.

        Integer and float feature columns (inferred from the first block) are
        read as float64.
        """
        return self._schema

    @property
    def estimated_nbytes(self) -> int:
        """Estimated in-memory bytes of X (float64) and y, from the file sizes.

        Rule: one value per ``BYTES_PER_VALUE`` (10) bytes of CSV text, so
        ``total_bytes / (10 * n_file_columns)`` rows, times
        ``(n_features + (1 if target)) * 8`` bytes. Compressed files count as
        ``COMPRESSION_RATIO`` (4) times their size.
        """
        est_rows = self._total_bytes / (BYTES_PER_VALUE * max(self._n_file_columns, 1))
        return int(est_rows * (self.n_features + (self.target is not None)) * 8)

    @property
    def source(self) -> str:
        """``"CSV dataset '/data/*.csv' (3 files)"``."""
        return f"CSV dataset {self._files.description}"

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        """Stream validated batches with ``pyarrow.csv.open_csv``.

        Parameters
        ----------
        batch_rows : int, optional
            Rows per batch; None gives one batch per CSV block (``block_size``
            bytes of text, 1 MiB by default).

        Yields
        ------
        Batch
            With ``source`` ``"file '...', block k"`` and the global
            ``row_offset``.

        Raises
        ------
        DataError
            For a value that is not a number (naming file and column), or NaN
            / infinite / missing values (naming column, global row and file).
        """
        batch_rows = check_batch_rows(batch_rows)
        yield from rebatch(self._block_batches(), batch_rows)

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Read every file (multi-threaded ``pyarrow.csv.read_csv``) into NumPy.

        Returns
        -------
        X : numpy.ndarray
            ``(n_rows, n_features)``, Fortran order, float64 (float32 only when
            ``column_types`` makes every feature float32).
        y : numpy.ndarray or None
        """
        self.file_headers()
        tables: list[pa.Table] = []
        starts: list[int] = []
        offset = 0
        for file_path in self._files.paths:
            try:
                with self._files.open(file_path, compression="infer") as stream:
                    table = pacsv.read_csv(
                        stream,
                        read_options=self._read,
                        parse_options=self._parse,
                        convert_options=self._convert,
                    )
            except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
                raise self._wrap(exc, file_path) from None
            starts.append(offset)
            offset += table.num_rows
            tables.append(table)
            del table
        columns, y_column, n_rows = split_columns(
            pa.concat_tables(tables), self.feature_names, self.target
        )
        tables.clear()
        return convert_columns(
            columns,
            y_column,
            n_rows,
            features=self.feature_names,
            target=self.target,
            source=self._locator(starts),
        )


def read_csv(
    path: Source,
    target: str | None = None,
    features: Sequence[str] | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
    **csv_options: Any,
) -> CsvDataset:
    """Open CSV data lazily (only the first block of the first file is read).

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (all ``*.csv`` / ``*.csv.gz`` / ``*.csv.bz2``
        under it, recursively, sorted), a glob, any fsspec URL, or a list of
        these, read in the list's order.
    target : str, optional
        Target column; None for unsupervised data.
    features : sequence of str, optional
        Feature columns, in order; None means every column except the target.
    storage_options : dict, optional
        Passed to the fsspec filesystem.
    **csv_options
        Fields of ``pyarrow.csv.ReadOptions`` / ``ParseOptions`` /
        ``ConvertOptions``, e.g. ``delimiter=";"``, ``block_size=1 << 22``,
        ``null_values=["NA"]``, ``column_types={"id": pa.int64()}``.

    Returns
    -------
    CsvDataset

    Raises
    ------
    DataFileNotFoundError
        When ``path`` (or an item of the list) matches no file; the message
        names it.
    DataError
        For a missing or non-numeric column (types inferred from the first
        block), or a list whose items are on different filesystems.
    """
    return CsvDataset(path, target, features, storage_options=storage_options, **csv_options)
