"""Dask DataFrames and Arrays as a :class:`Dataset` that stays in Dask.

Each Dask partition becomes a :class:`DaskPartition` holding the partition's
delayed task graph: the dask engine computes it where the work runs (a
thread here, or a cluster worker), so data read by Dask (``dd.read_parquet``)
is read by the workers. The engine choice prefers ``dask`` for this input
(``native_backend``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ...data.dataset import Batch, Dataset, check_batch_rows, rebatch
from ...data.partitions import Partition
from ...data.validate import check_features, check_target
from ...exceptions import DataError, NonNumericDataError

__all__ = ["DaskDataset", "DaskPartition", "is_dask_collection"]


def is_dask_collection(obj: Any) -> bool:
    """Whether ``obj`` is a Dask DataFrame, Series or Array (without importing dask)."""
    return type(obj).__module__.startswith("dask") and hasattr(obj, "to_delayed")


@dataclass(frozen=True)
class DaskPartition(Partition):
    """One Dask partition: its delayed graph and where its rows go."""

    delayed: Any
    target_delayed: Any
    features: tuple[str, ...]
    target: str | None
    row_offset: int
    n_rows: int
    index: int

    @property
    def description(self) -> str:
        return f"Dask partition {self.index}"

    def load(self) -> Batch:
        import dask

        part, y_part = dask.compute(self.delayed, self.target_delayed, scheduler="sync")
        source = self.description
        if hasattr(part, "columns"):  # a pandas DataFrame partition
            X = check_features(
                part[list(self.features)],
                feature_names=list(self.features),
                source=source,
                row_offset=self.row_offset,
            )
            if self.target is not None and y_part is None:
                y_part = part[self.target]
        else:
            X = check_features(
                np.asarray(part),
                feature_names=list(self.features),
                source=source,
                row_offset=self.row_offset,
            )
        y = None
        if y_part is not None:
            y = check_target(
                np.asarray(y_part),
                n_rows=X.shape[0],
                name=self.target or "y",
                source=source,
                row_offset=self.row_offset,
            )
        return Batch(X, y, source, self.row_offset)


class DaskDataset(Dataset):
    """A Dask DataFrame (feature columns + optional target column) or Dask Array.

    Parameters
    ----------
    X : dask.dataframe.DataFrame or dask.array.Array
    y : str, dask Series or dask Array, optional
        For a DataFrame, the target column's name (or a Series aligned with
        it); for an Array, a 1-D Array chunked like ``X``'s rows.
    """

    native_backend = "dask"

    def __init__(self, X: Any, y: Any = None) -> None:
        self._y_delayed: list[Any] | None = None
        if hasattr(X, "columns"):
            self._init_frame(X, y)
        else:
            self._init_array(X, y)
        self._offsets = np.concatenate([[0], np.cumsum(self._lengths)]).astype(int)

    def _init_frame(self, frame: Any, y: Any) -> None:
        if y is not None and not isinstance(y, str):
            name = getattr(y, "name", None) or "y"
            frame = frame.assign(**{name: y})
            y = name
        if y is not None and y not in frame.columns:
            raise DataError(
                f"target column {y!r} is not in the Dask DataFrame; columns: {list(frame.columns)}"
            )
        self.target = y
        self.feature_names = [str(c) for c in frame.columns if c != y]
        self.has_feature_names = all(isinstance(c, str) for c in frame.columns)
        for name, dtype in frame.dtypes.items():
            if name != y and dtype.kind not in "biuf":
                raise NonNumericDataError(
                    f"column {name!r} of the Dask DataFrame has non-numeric dtype {dtype}; "
                    "scaleout estimators need numeric features: encode it first"
                )
        self._schema = pa.Schema.from_pandas(frame._meta, preserve_index=False)
        self._delayed = list(frame.to_delayed())
        self._lengths = [int(n) for n in frame.map_partitions(len).compute()]
        self._kind = "Dask DataFrame"

    def _init_array(self, array: Any, y: Any) -> None:
        if array.ndim != 2:
            raise DataError(f"a Dask Array X must be 2-D, got shape {array.shape}")
        if len(array.chunks[1]) > 1:
            array = array.rechunk({1: -1})
        if any(np.isnan(c) for c in array.chunks[0]):
            array.compute_chunk_sizes()
        self._lengths = [int(c) for c in array.chunks[0]]
        self.feature_names = [f"x{j}" for j in range(array.shape[1])]
        self.has_feature_names = False
        self.target = None
        if y is not None:
            y = y.rechunk((tuple(self._lengths),))
            self._y_delayed = list(y.to_delayed().ravel())
            self.target = "y"
        self._schema = pa.schema(
            [(n, pa.from_numpy_dtype(array.dtype)) for n in self.feature_names]
        )
        self._delayed = list(array.to_delayed().ravel())
        self._kind = "Dask Array"

    @property
    def n_rows(self) -> int:
        return int(self._offsets[-1])

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def source(self) -> str:
        return f"{self._kind} ({len(self._delayed)} partitions)"

    def partitions(self, target_rows: int = 250_000) -> list[Any]:
        """One :class:`DaskPartition` per Dask partition (``target_rows`` unused)."""
        return [
            DaskPartition(
                delayed=part,
                target_delayed=None if self._y_delayed is None else self._y_delayed[i],
                features=tuple(self.feature_names),
                target=self.target,
                row_offset=int(self._offsets[i]),
                n_rows=self._lengths[i],
                index=i,
            )
            for i, part in enumerate(self._delayed)
            if self._lengths[i]
        ]

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        batch_rows = check_batch_rows(batch_rows)
        yield from rebatch((p.load() for p in self.partitions()), batch_rows)

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        batches = [p.load() for p in self.partitions()]
        if not batches:
            raise DataError(f"{self.source} has no rows: found array with 0 sample(s)")
        X = np.concatenate([b.X for b in batches])
        y = None if self.target is None else np.concatenate([b.y for b in batches])
        return X, y

    def __repr__(self) -> str:
        return f"DaskDataset({self.source}, {self.n_rows} rows, target={self.target!r})"
