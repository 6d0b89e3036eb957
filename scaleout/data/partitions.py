"""Picklable pieces of a dataset that a worker can load by itself.

Out-of-core engines ship a :class:`Partition` to where the work runs (a
thread, or a worker process of a cluster) and call :meth:`Partition.load`
there: a Parquet partition names its file and row groups, so the rows are
read by the worker and never pass through the client.
"""

from __future__ import annotations

import abc
import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..exceptions import DataError
from ._arrow import table_to_numpy
from .dataset import Batch

__all__ = ["BatchPartition", "ParquetPartition", "Partition", "group_row_groups"]


class Partition(abc.ABC):
    """A contiguous block of rows of a dataset.

    Attributes
    ----------
    row_offset : int
        Global index of the first row.
    n_rows : int
        Rows in the block.
    """

    row_offset: int
    n_rows: int

    @abc.abstractmethod
    def load(self) -> Batch:
        """Read and validate the rows (raises DataError naming file and row)."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where the rows are, for messages and logs."""


@dataclass(frozen=True)
class BatchPartition(Partition):
    """A block already in memory (NumPy / pandas input, or read by the client)."""

    batch: Batch

    @property
    def row_offset(self) -> int:  # type: ignore[override]
        return self.batch.row_offset

    @property
    def n_rows(self) -> int:  # type: ignore[override]
        return self.batch.n_rows

    def load(self) -> Batch:
        return self.batch

    @property
    def description(self) -> str:
        return self.batch.source


@dataclass(frozen=True)
class _RowGroupLocator:
    """Maps a global row to ``"file '...', row group i"`` (picklable)."""

    display: str
    starts: tuple[int, ...]
    groups: tuple[int, ...]

    def __call__(self, row: int) -> str:
        index = max(bisect.bisect_right(self.starts, row) - 1, 0)
        return f"file '{self.display}', row group {self.groups[index]}"


@dataclass(frozen=True)
class ParquetPartition(Partition):
    """Consecutive row groups of one Parquet file.

    Attributes
    ----------
    path : str
        File path as the filesystem knows it.
    display : str
        The path as shown to users (with its URL protocol).
    filesystem : object or None
        An fsspec filesystem for remote/URL paths; None for local files.
    row_groups : tuple of int
        Row-group indices in the file.
    features, target
        Columns to read.
    row_offset, n_rows
        Global position and size.
    """

    path: str
    display: str
    filesystem: Any
    row_groups: tuple[int, ...]
    group_rows: tuple[int, ...]
    features: tuple[str, ...]
    target: str | None
    row_offset: int
    n_rows: int

    @property
    def description(self) -> str:
        groups = self.row_groups
        which = (
            f"row group {groups[0]}"
            if len(groups) == 1
            else (f"row groups {groups[0]}-{groups[-1]}")
        )
        return f"file '{self.display}', {which}"

    def load(self) -> Batch:
        columns = [*self.features] + ([] if self.target is None else [self.target])
        try:
            with pq.ParquetFile(self.path, filesystem=self.filesystem) as pf:
                table = pf.read_row_groups(
                    list(self.row_groups), columns=columns, use_threads=False
                )
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"cannot read {self.description} as Parquet: {exc}") from None
        starts, start = [], self.row_offset
        for n in self.group_rows:
            starts.append(start)
            start += n
        locator = _RowGroupLocator(self.display, tuple(starts), self.row_groups)
        X, y = table_to_numpy(
            table, list(self.features), self.target, source=locator, row_offset=self.row_offset
        )
        return Batch(X, y, self.description, self.row_offset)


def group_row_groups(group_rows: Sequence[int], target_rows: int) -> list[list[int]]:
    """Group consecutive row groups until each group holds >= ``target_rows`` rows.

    Empty row groups are dropped; a final group may be smaller.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, n in enumerate(group_rows):
        if not n:
            continue
        current.append(index)
        size += n
        if size >= target_rows:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups
