"""A 2-D NumPy ``.npy`` file as a lazy :class:`Dataset`.

Construction reads only the ``.npy`` header (shape, dtype, order); the data
is read by :meth:`NpyDataset.to_numpy` or, memory-mapped for local files, in
row slices by :meth:`NpyDataset.iter_batches`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa

from ..exceptions import DataError
from ._fs import FileList, PathLike, resolve_files
from .dataset import Batch, Dataset, check_batch_rows, target_arrow_type
from .validate import check_features, check_shape_2d, check_target

__all__ = ["NpyDataset", "read_npy"]

#: Default bytes per batch of :meth:`NpyDataset.iter_batches` (64 MiB).
DEFAULT_BATCH_BYTES = 64 << 20


class _NpyFile:
    """One ``.npy`` file: its header, and row-slice / whole reads."""

    def __init__(self, files: FileList, what: str) -> None:
        if len(files) != 1:
            raise DataError(
                f"{what} must be a single .npy file, but {files.quoted_pattern} matches "
                f"{len(files)} files"
            )
        self.files = files
        self.path = files.paths[0]
        self.display = files.display(self.path)
        try:
            with files.open(self.path) as f:
                version = np.lib.format.read_magic(f)
                if version[0] == 1:
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                self.data_offset = f.tell()
        except (ValueError, OSError) as exc:
            raise DataError(f"cannot read file '{self.display}' as .npy: {exc}") from None
        self.shape: tuple[int, ...] = tuple(shape)
        self.fortran: bool = bool(fortran)
        self.dtype: np.dtype = np.dtype(dtype)

    @property
    def local(self) -> bool:
        return self.files.filesystem is None

    def _open(self) -> IO[bytes]:
        return self.files.open(self.path)

    def load(self) -> np.ndarray:
        """Read the whole array."""
        if self.local:
            return np.load(self.path, allow_pickle=False)
        with self._open() as f:
            return np.load(f, allow_pickle=False)

    def memmap(self) -> np.ndarray | None:
        """A read-only memory map of a local file, else None."""
        if not self.local:
            return None
        return np.load(self.path, mmap_mode="r", allow_pickle=False)

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of a C-order remote file, read with one seek."""
        row_shape = self.shape[1:]
        row_bytes = self.dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
        with self._open() as f:
            f.seek(self.data_offset + start * row_bytes)
            buffer = f.read((stop - start) * row_bytes)
        return np.frombuffer(buffer, dtype=self.dtype).reshape((stop - start, *row_shape)).copy()


def _check_header(npy: _NpyFile) -> None:
    where = f"file '{npy.display}'"
    kind = npy.dtype.kind
    if kind == "c":
        raise DataError(f"Complex data not supported: {where} has dtype {npy.dtype}.")
    if kind not in "biuf":
        raise DataError(
            f"{where} has non-numeric dtype {npy.dtype}; scaleout estimators need a "
            "numeric (bool, integer, float) array"
        )
    if len(npy.shape) == 1:
        raise DataError(
            f"Expected 2D array, got 1D array instead: {where} has shape {npy.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a "
            "single feature or array.reshape(1, -1) if it contains a single sample."
        )
    if len(npy.shape) != 2:
        raise DataError(
            f"Found array with dim {len(npy.shape)} in {where} (shape={npy.shape}); "
            "expected a 2D array of shape (n_samples, n_features)."
        )
    check_shape_2d(npy.shape)


class NpyDataset(Dataset):
    """A 2-D ``.npy`` array of features, with an optional target.

    Parameters
    ----------
    path : str or os.PathLike
        One ``.npy`` file (local path or fsspec URL) holding a 2-D numeric
        array.
    y : str, os.PathLike or array-like, optional
        The target: a path to a 1-D ``.npy`` file, or the values.
    storage_options : dict, optional
        Passed to the fsspec filesystem.

    Raises
    ------
    DataFileNotFoundError
        When a file does not exist.
    DataError
        For an array that is not 2-D, a non-numeric or complex dtype, an empty
        array, or a target whose length differs from the number of rows.
    """

    def __init__(
        self,
        path: PathLike,
        y: Any = None,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self._npy = _NpyFile(
            resolve_files(
                path, extensions=(".npy",), storage_options=storage_options, kind="NumPy .npy"
            ),
            "X",
        )
        _check_header(self._npy)
        n_rows, n_features = self._npy.shape
        self.feature_names = [f"x{j}" for j in range(n_features)]
        self.has_feature_names = False
        self._y_file: _NpyFile | None = None
        self._y: np.ndarray | None = None
        self.target = None
        if y is None:
            return
        self.target = "y"
        if isinstance(y, (str, os.PathLike)):
            y_file = _NpyFile(
                resolve_files(
                    y, extensions=(".npy",), storage_options=storage_options, kind="NumPy .npy"
                ),
                "y",
            )
            if y_file.dtype.kind not in "biufUS":
                raise DataError(f"file '{y_file.display}' has unsupported dtype {y_file.dtype}")
            y_rows = y_file.shape[0] if y_file.shape else 0
            if len(y_file.shape) == 2 and y_file.shape[1] > 1:
                raise DataError(
                    f"multi-output targets (shape {y_file.shape}) are not supported; file "
                    f"'{y_file.display}' must hold a 1-D array"
                )
            if len(y_file.shape) not in (1, 2):
                raise DataError(
                    f"y should be a 1d array, got an array of shape {y_file.shape} in file "
                    f"'{y_file.display}' instead."
                )
            if y_rows != n_rows:
                raise DataError(
                    "Found input variables with inconsistent numbers of samples: "
                    f"[{n_rows}, {y_rows}]"
                )
            self._y_file = y_file
        else:
            self._y = check_target(y, n_rows=n_rows, name="y")

    # ----------------------------------------------------------- internals
    def _where(self, start: int | None = None, stop: int | None = None) -> str:
        where = f"file '{self._npy.display}'"
        return where if start is None else f"{where}, rows {start}-{stop - 1}"

    def _batches(self, batch_rows: int) -> Iterator[Batch]:
        n_rows = self._npy.shape[0]
        x_map = self._npy.memmap()
        whole = None
        if x_map is None and self._npy.fortran:
            whole = self._npy.load()  # column-major remote file: rows are not contiguous
        y_all = self._y
        if self._y_file is not None:
            y_all = self._y_file.memmap()
            if y_all is None:
                y_all = self._y_file.load()
        for start in range(0, n_rows, batch_rows):
            stop = min(start + batch_rows, n_rows)
            if x_map is not None:
                X = np.array(x_map[start:stop])
            elif whole is not None:
                X = whole[start:stop]
            else:
                X = self._npy.read_rows(start, stop)
            X = check_features(
                X, feature_names=self.feature_names, source=self._where(), row_offset=start
            )
            y = None
            if y_all is not None:
                y = y_all[start:stop]
                if self._y_file is not None:  # in-memory y was checked at construction
                    y = check_target(
                        np.array(y),
                        n_rows=stop - start,
                        name="y",
                        source=f"file '{self._y_file.display}'",
                        row_offset=start,
                    )
            yield Batch(X, y, self._where(start, stop), start)

    def _repr_location(self) -> str:
        return self._npy.files.quoted_pattern

    # -------------------------------------------------------------- public
    @property
    def n_rows(self) -> int:
        """Rows, from the ``.npy`` header."""
        return int(self._npy.shape[0])

    @property
    def dtype(self) -> np.dtype:
        """The stored dtype of X (from the header)."""
        return self._npy.dtype

    @property
    def schema(self) -> pa.Schema:
        """``x0 .. x{p-1}`` with the stored dtype, then ``y``."""
        t = pa.from_numpy_dtype(self._npy.dtype)
        fields = [pa.field(name, t) for name in self.feature_names]
        if self._y_file is not None:
            y_dtype = self._y_file.dtype
            fields.append(
                pa.field("y", pa.string() if y_dtype.kind in "US" else pa.from_numpy_dtype(y_dtype))
            )
        elif self._y is not None:
            fields.append(pa.field("y", target_arrow_type(self._y)))
        return pa.schema(fields)

    @property
    def source(self) -> str:
        """``"NumPy file '/data/X.npy'"``."""
        return f"NumPy file {self._npy.files.quoted_pattern}"

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        """Iterate over row slices (memory-mapped for local files).

        Parameters
        ----------
        batch_rows : int, optional
            Rows per batch; None gives about 64 MiB of stored data per batch.

        Yields
        ------
        Batch
            With ``source`` ``"file '...', rows a-b"`` and ``row_offset`` a.
        """
        batch_rows = check_batch_rows(batch_rows)
        if batch_rows is None:
            row_bytes = self._npy.dtype.itemsize * self._npy.shape[1]
            batch_rows = max(1, DEFAULT_BATCH_BYTES // max(row_bytes, 1))
        yield from self._batches(batch_rows)

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Read the whole array (and target) into memory, validated.

        Returns
        -------
        X : numpy.ndarray
            2-D; float32 stays float32, other dtypes become float64.
        y : numpy.ndarray or None
        """
        X = check_features(self._npy.load(), feature_names=self.feature_names, source=self._where())
        y = self._y
        if self._y_file is not None:
            y = check_target(
                self._y_file.load(),
                n_rows=X.shape[0],
                name="y",
                source=f"file '{self._y_file.display}'",
            )
        return X, y


def read_npy(
    path: PathLike,
    y: Any = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> NpyDataset:
    """Open a 2-D ``.npy`` file lazily (only its header is read).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` file holding X, 2-D and numeric (local path or fsspec URL).
    y : str, os.PathLike or array-like, optional
        The target: another ``.npy`` path, or the values.
    storage_options : dict, optional
        Passed to the fsspec filesystem.

    Returns
    -------
    NpyDataset
        Feature names ``x0 .. x{p-1}`` (``has_feature_names`` False).

    Raises
    ------
    DataFileNotFoundError
        When a file does not exist.
    DataError
        For a 1-D or 3-D array, a non-numeric dtype, or a target length that
        differs from the number of rows.
    """
    return NpyDataset(path, y, storage_options=storage_options)
