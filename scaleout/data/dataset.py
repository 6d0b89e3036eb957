"""The :class:`Dataset` abstraction, its :class:`Batch` and the in-memory dataset.

A dataset knows its columns, its row count (when that is knowable without
reading the data) and its estimated in-memory size, and hands out validated
NumPy data either in batches (:meth:`Dataset.iter_batches`) or all at once
(:meth:`Dataset.to_numpy`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..exceptions import DataError
from .columns import check_unique_columns
from .sparse import check_sparse_features, describe_sparse, sparse_nbytes
from .validate import check_features, check_target, is_sparse

__all__ = ["Batch", "Dataset", "InMemoryDataset"]

#: Source description of in-memory data (validation omits it from messages).
IN_MEMORY_SOURCE = "in-memory array"


@dataclass(frozen=True, eq=False, repr=False)
class Batch:
    """A validated block of rows.

    Attributes
    ----------
    X : numpy.ndarray or scipy.sparse matrix
        2-D float array ``(n_rows, n_features)``; float64 unless the source is
        float32. Sparse (CSR, CSC or COO) for a dataset that ``is_sparse``.
    y : numpy.ndarray or None
        1-D target, or None when the dataset has no target.
    source : str
        Where the rows came from, for messages: ``"file '/p/part-1.parquet',
        row group 2"`` or ``"in-memory array"``.
    row_offset : int
        Index of the batch's first row within the whole dataset.
    weights : numpy.ndarray or None
        1-D float64 sample weights of the rows, or None (every row weighs 1).
        Out-of-core executors attach the slice of the fit's ``sample_weight``.
    """

    X: np.ndarray
    y: np.ndarray | None
    source: str
    row_offset: int
    weights: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Number of rows in the batch."""
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        y = "" if self.y is None else ", with y"
        y += "" if self.weights is None else ", weighted"
        return (
            f"Batch(rows {self.row_offset}..{self.row_offset + self.n_rows - 1} "
            f"({self.n_rows} x {self.X.shape[1]} {getattr(self.X, 'dtype', 'table')}{y}) "
            f"from {self.source})"
        )


class Dataset(abc.ABC):
    """Tabular data with numeric feature columns and an optional target column.

    Subclasses read lazily: constructing one reads at most metadata / a
    header, and checks the columns, so mistakes show up before any rows move.

    Attributes
    ----------
    target : str or None
        Target column name; None when there is no target.
    feature_names : list of str
        Ordered feature column names (``["x0", "x1", ...]`` for NumPy input).
    has_feature_names : bool
        True when the names come from the data (DataFrame or file columns).
    native_backend : str or None
        Name of the engine the data lives in (a Spark or Dask DataFrame), which
        the engine resolution then prefers; None for NumPy, pandas and files.
    is_sparse : bool
        True when the features are a SciPy sparse matrix (in memory): the
        batches' ``X`` is then sparse too, and only engines that declare
        ``sparse_input`` fit it.
    """

    target: str | None = None
    feature_names: list[str]
    has_feature_names: bool = False
    is_sparse: bool = False
    # Extension point: datasets wrapping engine-native data (Spark / Dask
    # DataFrames, added in later issues) set this to the engine's name.
    native_backend: str | None = None

    @property
    @abc.abstractmethod
    def n_rows(self) -> int | None:
        """Exact row count when knowable without reading the rows, else None."""

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return len(self.feature_names)

    @property
    @abc.abstractmethod
    def schema(self) -> pa.Schema:
        """Arrow schema: the feature columns, then the target column, as stored."""

    @property
    def estimated_nbytes(self) -> int:
        """Estimated bytes of the data once loaded: X as float64 plus y.

        ``n_rows * (n_features + (1 if target else 0)) * 8``. Subclasses whose
        row count is unknown estimate it (see :class:`CsvDataset`).
        """
        n_rows = self.n_rows
        if n_rows is None:
            raise NotImplementedError(
                f"{type(self).__name__} must estimate its size without a row count"
            )
        return int(n_rows) * (self.n_features + (self.target is not None)) * 8

    @property
    @abc.abstractmethod
    def source(self) -> str:
        """Human description, e.g. ``"Parquet dataset '/data/*.parquet' (12 files)"``."""

    @abc.abstractmethod
    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        """Iterate over the data in validated batches.

        Parameters
        ----------
        batch_rows : int, optional
            Rows per batch (the last batch may be smaller). None uses the
            source's natural blocks (a Parquet row group, a CSV block).

        Yields
        ------
        Batch
            Validated rows, with their source and global row offset.
        """

    def partitions(self, target_rows: int = 250_000) -> list[Any]:
        """Split the dataset into picklable blocks that load themselves.

        The default materialises :meth:`iter_batches` on the caller (fine for
        in-memory data); file datasets that can be read piecewise by workers
        (Parquet) override it.

        Parameters
        ----------
        target_rows : int, default 250_000
            Preferred rows per block.

        Returns
        -------
        list of scaleout.data.partitions.Partition
        """
        from .partitions import BatchPartition

        return [BatchPartition(batch) for batch in self.iter_batches(target_rows)]

    @abc.abstractmethod
    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Load the whole dataset, validated.

        Returns
        -------
        X : numpy.ndarray
            2-D float array (float32 when every feature is float32).
        y : numpy.ndarray or None
            1-D target, or None when the dataset has no target.
        """

    def _repr_location(self) -> str:
        """Where the data is, for ``repr`` (the class name is shown already)."""
        return self.source

    def __repr__(self) -> str:
        rows = "? rows" if self.n_rows is None else f"{self.n_rows:,} rows"
        target = "no target" if self.target is None else f"target {self.target!r}"
        return (
            f"<{type(self).__name__} {self._repr_location()}: {rows} x {self.n_features} "
            f"features, {target}>"
        )


def check_batch_rows(batch_rows: int | None) -> int | None:
    """Validate the ``batch_rows`` argument of ``iter_batches``."""
    if batch_rows is None:
        return None
    if (
        isinstance(batch_rows, (bool, np.bool_))
        or not isinstance(batch_rows, (int, np.integer))
        or batch_rows < 1
    ):
        raise DataError(f"batch_rows must be a positive integer or None, got {batch_rows!r}")
    return int(batch_rows)


def _slice(batch: Batch, start: int, stop: int) -> Batch:
    if start == 0 and stop == batch.n_rows:
        return batch
    y = None if batch.y is None else batch.y[start:stop]
    w = None if batch.weights is None else batch.weights[start:stop]
    return Batch(batch.X[start:stop], y, batch.source, batch.row_offset + start, w)


def _join(parts: list[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    X = np.concatenate([p.X for p in parts])
    y = None if parts[0].y is None else np.concatenate([p.y for p in parts])
    w = None if parts[0].weights is None else np.concatenate([p.weights for p in parts])
    first, last = parts[0].source, parts[-1].source
    source = first if first == last else f"{first} to {last}"
    return Batch(X, y, source, parts[0].row_offset, w)


def rebatch(pieces: Iterable[Batch], batch_rows: int | None) -> Iterator[Batch]:
    """Split and regroup consecutive batches into batches of ``batch_rows`` rows.

    Parameters
    ----------
    pieces : iterable of Batch
        Consecutive validated batches (e.g. one per row group).
    batch_rows : int or None
        Rows per output batch (the last may be smaller); None yields
        ``pieces`` unchanged.

    Yields
    ------
    Batch
        Slices of a piece are views; batches spanning pieces are copies whose
        source reads ``"<first source> to <last source>"``.
    """
    if batch_rows is None:
        yield from pieces
        return
    buffered: list[Batch] = []
    n_buffered = 0
    for piece in pieces:
        start = 0
        while start < piece.n_rows:
            take = min(batch_rows - n_buffered, piece.n_rows - start)
            buffered.append(_slice(piece, start, start + take))
            n_buffered += take
            start += take
            if n_buffered == batch_rows:
                yield _join(buffered)
                buffered, n_buffered = [], 0
    if buffered:
        yield _join(buffered)


# ------------------------------------------------------------- in memory
def _describe_input(X: Any) -> str:
    if isinstance(X, np.ndarray):
        return "numpy array"
    module = type(X).__module__.split(".")[0]
    return f"{module} {type(X).__name__}" if module != "builtins" else type(X).__name__


def _arrow_type(dtype: Any) -> pa.DataType:
    """Arrow type of a NumPy / pandas column dtype (float64 when there is none)."""
    arrow = getattr(dtype, "pyarrow_dtype", None)  # pandas ArrowDtype
    if arrow is not None:
        return arrow
    numpy_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
    if isinstance(numpy_dtype, np.dtype) and numpy_dtype.kind in "biuf":
        try:
            return pa.from_numpy_dtype(numpy_dtype)
        except (NotImplementedError, pa.ArrowNotImplementedError):
            pass
    return pa.float64()


def target_arrow_type(y: np.ndarray) -> pa.DataType:
    """Arrow type of a validated target array (strings for object labels)."""
    if y.dtype.kind in "biuf":
        return _arrow_type(y.dtype)
    sample = y[:100].tolist()
    if all(isinstance(v, str) for v in sample):
        return pa.string()
    try:
        return pa.infer_type(sample)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.string()


class InMemoryDataset(Dataset):
    """A dataset over NumPy arrays, pandas objects or lists.

    Validation happens at construction (no copy for valid float arrays), so
    :meth:`to_numpy` returns the checked arrays directly.

    Parameters
    ----------
    X : array-like, pandas.DataFrame or scipy.sparse matrix
        Features, 2-D. DataFrame column names become ``feature_names`` when
        they are all strings (scikit-learn's rule). A SciPy sparse matrix or
        array stays sparse (:func:`~scaleout.data.sparse.check_sparse_features`).
    y : array-like or pandas.Series, optional
        Target, 1-D (a column vector is ravelled with a warning).
    target_name : str, optional
        Name of the target; defaults to the Series' name, else ``"y"``.

    Raises
    ------
    DataError
        When X or y fails :func:`check_features` / :func:`check_target`.
    """

    def __init__(self, X: Any, y: Any = None, *, target_name: str | None = None) -> None:
        self._kind = _describe_input(X)
        columns = getattr(X, "columns", None)
        if columns is not None:
            check_unique_columns(list(columns), where=f"the {self._kind}")
        names: list[str] | None = None
        if columns is not None and len(columns) and all(isinstance(c, str) for c in columns):
            names = list(columns)
        dtypes = list(getattr(X, "dtypes", []))
        self.is_sparse = is_sparse(X)
        if self.is_sparse:
            self._X = check_sparse_features(X)
        else:
            self._X = check_features(X, feature_names=names)
        if not dtypes:
            original = X.dtype if isinstance(X, np.ndarray) else self._X.dtype
            dtypes = [original] * self._X.shape[1]
        self.feature_names = (
            names if names is not None else [f"x{j}" for j in range(self._X.shape[1])]
        )
        self.has_feature_names = names is not None
        self._dtypes = dtypes

        self._y: np.ndarray | None = None
        self.target = None
        if y is not None:
            if target_name is None:
                series_name = getattr(y, "name", None)
                y_columns = getattr(y, "columns", None)
                if y_columns is not None and len(y_columns) == 1:
                    series_name = y_columns[0]
                target_name = series_name if isinstance(series_name, str) else "y"
            self.target = target_name
            self._y = check_target(y, n_rows=self._X.shape[0], name=target_name)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self._X.shape[0])

    @property
    def estimated_nbytes(self) -> int:
        """Bytes of the data in memory: for sparse X its stored values and indices."""
        if not self.is_sparse:
            return super().estimated_nbytes
        y = 0 if self._y is None else int(self._y.nbytes)
        return sparse_nbytes(self._X) + y

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the features (original dtypes) and the target."""
        fields = [
            pa.field(name, _arrow_type(dtype))
            for name, dtype in zip(self.feature_names, self._dtypes, strict=True)
        ]
        if self._y is not None and self.target is not None:
            fields.append(pa.field(self.target, target_arrow_type(self._y)))
        return pa.schema(fields)

    @property
    def source(self) -> str:
        """``"in-memory numpy array"``, ``"in-memory pandas DataFrame"``, ...

        For sparse X: ``"in-memory scipy.sparse csr_matrix of shape (n, p), k stored values"``.
        """
        if self.is_sparse:
            return f"in-memory {describe_sparse(self._X)}"
        return f"in-memory {self._kind}"

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        """Iterate over the rows; one batch of everything when ``batch_rows`` is None.

        Parameters
        ----------
        batch_rows : int, optional
            Rows per batch; batches are views of the validated arrays.

        Yields
        ------
        Batch
            Sparse X stays sparse (CSR when it is split into several batches).
        """
        batch_rows = check_batch_rows(batch_rows)
        X = self._X
        if self.is_sparse and batch_rows is not None and batch_rows < X.shape[0]:
            X = X.tocsr()  # row slices: views of CSR; COO has none, CSC's copy columns
        whole = Batch(X, self._y, IN_MEMORY_SOURCE, 0)
        yield from rebatch([whole], batch_rows)

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the validated ``(X, y)``, without copying valid float arrays.

        Returns
        -------
        X : numpy.ndarray or scipy.sparse matrix
            Sparse when the input was (as given for CSR / CSC / COO).
        y : numpy.ndarray or None
        """
        return self._X, self._y
