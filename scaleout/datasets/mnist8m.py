"""MNIST-8M / infiMNIST-style data: any number of rows made from the real
MNIST test images by small random shifts."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from scaleout.exceptions import InvalidParameterError

from ._common import (
    DatasetInfo,
    check_float,
    check_int,
    check_layout,
    check_seed,
    chunk_rng,
    write_chunked,
)
from .mnist import _load_images

__all__ = ["make_mnist8m", "shift_images"]

TARGET = "y"
META_COLUMNS = ("source_index", "shift_x", "shift_y")


def shift_images(
    images: np.ndarray, source: np.ndarray, shift_y: np.ndarray, shift_x: np.ndarray
) -> np.ndarray:
    """Shifted copies of ``images[source]``, with zero fill.

    Output row ``i`` satisfies ``out[i, r, c] == images[source[i], r - shift_y[i],
    c - shift_x[i]]`` where that pixel exists, and 0 elsewhere (positive
    ``shift_x`` moves the digit right, positive ``shift_y`` down). Rows are
    grouped by their ``(shift_y, shift_x)`` pair and each group is one numpy
    slice assignment, so there is no Python loop over images.

    Parameters
    ----------
    images : numpy.ndarray of shape (n_images, h, w)
        The base images.
    source : numpy.ndarray of int, shape (n,)
        Index of the base image of each output row.
    shift_y, shift_x : numpy.ndarray of int, shape (n,)
        Shift of each output row, each in ``(-h, h)`` resp. ``(-w, w)``.

    Returns
    -------
    numpy.ndarray of shape (n, h, w)
        Same dtype as ``images``.
    """
    _, h, w = images.shape
    n = source.shape[0]
    out = np.zeros((n, h, w), dtype=images.dtype)
    if n == 0:
        return out
    pairs, group = np.unique(np.stack([shift_y, shift_x]), axis=1, return_inverse=True)
    order = np.argsort(group, kind="stable")
    bounds = np.cumsum(np.bincount(group, minlength=pairs.shape[1]))[:-1]
    for (dy, dx), rows in zip(pairs.T, np.split(order, bounds), strict=True):
        dy, dx = int(dy), int(dx)
        # destination rows/cols [r0, r1) take source rows/cols [r0 - dy, r1 - dy)
        r0, r1 = max(dy, 0), h + min(dy, 0)
        c0, c1 = max(dx, 0), w + min(dx, 0)
        if r0 >= r1 or c0 >= c1:
            continue
        out[rows, r0:r1, c0:c1] = images[source[rows], r0 - dy : r1 - dy, c0 - dx : c1 - dx]
    return out


def make_mnist8m(
    path: str | os.PathLike[str],
    n_rows: int,
    *,
    mnist_dir: str | os.PathLike[str] | None = None,
    random_state: int | None = 0,
    max_shift: int | None = None,
    noise: float = 0.0,
    chunk_rows: int = 100_000,
    n_files: int = 1,
    progress: bool = False,
    meta_columns: bool = False,
    overwrite: bool = False,
) -> DatasetInfo:
    """Write an MNIST-8M-style dataset of any size to Parquet.

    Each row takes a random base image (uniformly, with its label) from the
    10,000 MNIST test images and shifts it by a random whole number of pixels
    in x and in y, each uniform in ``[-max_shift, max_shift]``, filling with
    zeros (like infiMNIST, reduced to translations). Optionally a little
    Gaussian pixel noise is added and the result clipped to [0, 1].

    Without an MNIST directory (``mnist_dir`` None and ``$SCALEOUT_MNIST_DIR``
    unset) the base images are scikit-learn's ``load_digits`` (1797 8x8
    images, pixel values 0..16 scaled to [0, 1]), exactly as in
    :func:`~scaleout.datasets.load_mnist`; ``extra["source"]`` says which.

    Parameters
    ----------
    path : str or path-like
        Output directory (created); files ``part-00000.parquet``, ...
    n_rows : int
        Number of rows, >= 1.
    mnist_dir : str or path-like, optional
        Directory with ``t10k-images-idx3-ubyte(.gz)`` and
        ``t10k-labels-idx1-ubyte(.gz)``; default ``$SCALEOUT_MNIST_DIR``.
    random_state : int or None, default=0
        Seed (>= 0); None draws a fresh one. Same seed, ``n_rows`` and
        ``chunk_rows`` give the same rows.
    max_shift : int, optional
        Largest shift in pixels, >= 0 and smaller than the image side.
        Default: 2 for 28x28 MNIST, 1 for the 8x8 fallback.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the [0, 1] pixels
        (then clipped to [0, 1]); 0 adds none.
    chunk_rows : int, default=100_000
        Rows generated and written at a time (one row group each). A chunk of
        100,000 MNIST rows peaks at about 0.5 GB of RAM while being written.
    n_files : int, default=1
        Number of files; rows are split evenly.
    progress : bool, default=False
        Show a tqdm progress bar over rows.
    meta_columns : bool, default=False
        Also write the int64 columns ``source_index`` (row of the base image),
        ``shift_x`` and ``shift_y`` (see :func:`shift_images`).
    overwrite : bool, default=False
        Replace ``part-*.parquet`` files already in ``path``.

    Returns
    -------
    DatasetInfo
        Columns ``p0 .. p{h*w-1}`` float32 in [0, 1] (784 for MNIST, 64 for the
        fallback) and ``y`` int64. ``extra`` holds ``source``,
        ``image_shape``, ``n_base_images``, ``max_shift``, ``noise``,
        ``random_state`` and ``feature_prefix`` (``"p"``).

    Raises
    ------
    DataFileNotFoundError
        ``mnist_dir`` (or the variable) names a directory without the files.
    InvalidParameterError
        An argument is out of range; the message names it.
    """
    n_rows, chunk_rows, n_files = check_layout(n_rows, chunk_rows, n_files)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_seed(random_state)

    base = _load_images(mnist_dir, "test")
    images, labels = base.images, base.labels
    n_base, h, w = images.shape
    if max_shift is None:
        max_shift = 2 if min(h, w) >= 28 else 1
    max_shift = check_int(max_shift, "max_shift", minimum=0)
    if max_shift >= min(h, w):
        raise InvalidParameterError(
            f"max_shift must be smaller than the image side {min(h, w)}, got {max_shift}"
        )
    n_pixels = h * w
    names = [f"p{j}" for j in range(n_pixels)]
    scale = np.float32(base.max_value)

    def make_chunk(k: int, n: int) -> pa.Table:
        crng = chunk_rng(seed, k)
        source = crng.integers(0, n_base, size=n, dtype=np.int64)
        shift_y = crng.integers(-max_shift, max_shift + 1, size=n, dtype=np.int64)
        shift_x = crng.integers(-max_shift, max_shift + 1, size=n, dtype=np.int64)
        shifted = shift_images(images, source, shift_y, shift_x).reshape(n, n_pixels)
        shifted = np.asfortranarray(shifted)  # contiguous pixel columns (uint8)
        arrays = []
        for j in range(n_pixels):
            col = shifted[:, j].astype(np.float32)
            col /= scale
            if noise > 0:
                col += np.float32(noise) * crng.standard_normal(n, dtype=np.float32)
                np.clip(col, 0.0, 1.0, out=col)
            arrays.append(pa.array(col))
        del shifted
        arrays.append(pa.array(labels[source]))
        all_names = [*names, TARGET]
        if meta_columns:
            arrays += [pa.array(source), pa.array(shift_x), pa.array(shift_y)]
            all_names += list(META_COLUMNS)
        return pa.Table.from_arrays(arrays, names=all_names)

    files = write_chunked(
        path,
        n_rows,
        chunk_rows,
        n_files,
        make_chunk,
        progress=progress,
        desc="make_mnist8m",
        overwrite=overwrite,
    )
    extra = {
        "source": base.source,
        "image_shape": (h, w),
        "n_base_images": n_base,
        "max_shift": max_shift,
        "noise": noise,
        "random_state": seed,
        "chunk_rows": chunk_rows,
        "feature_prefix": "p",
        "meta_columns": bool(meta_columns),
    }
    return DatasetInfo(
        path=str(path), files=files, n_rows=n_rows, n_features=n_pixels, target=TARGET, extra=extra
    )
