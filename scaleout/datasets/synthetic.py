"""Synthetic datasets of any size, written to Parquet chunk by chunk.

Every generator writes ``chunk_rows`` rows at a time (one Parquet row group per
chunk), so memory does not grow with ``n_rows``. The files hold the feature
columns ``x0 .. x{p-1}`` (float64) and the target column ``y``. The data is a
function of ``(random_state, n_rows, chunk_rows)`` only: the same values give
byte-identical rows, whatever ``n_files`` is (see :mod:`._common` for the
seeding scheme).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

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
    param_rng,
    table_from_columns,
    write_chunked,
)

__all__ = ["DatasetInfo", "make_blobs", "make_classification", "make_regression"]

TARGET = "y"


def _feature_names(n_features: int) -> list[str]:
    return [f"x{j}" for j in range(n_features)]


def _check_informative(n_informative: int | None, n_features: int) -> int:
    if n_informative is None:
        return n_features
    return check_int(n_informative, "n_informative", minimum=1, maximum=n_features)


def _info(
    path: str | os.PathLike[str], files: list[str], n_rows: int, n_features: int, extra: dict
) -> DatasetInfo:
    return DatasetInfo(
        path=str(path),
        files=files,
        n_rows=n_rows,
        n_features=n_features,
        target=TARGET,
        extra=extra,
    )


def make_regression(
    path: str | os.PathLike[str],
    n_rows: int,
    n_features: int = 20,
    *,
    n_informative: int | None = None,
    noise: float = 1.0,
    random_state: int | None = 0,
    chunk_rows: int = 250_000,
    n_files: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> DatasetInfo:
    """Write a linear regression dataset of any size to Parquet.

    Model: ``X ~ N(0, I)``, ``y = X @ coef + noise * N(0, 1)``. ``coef`` is
    zero except on ``n_informative`` randomly chosen features, where it is
    ``±U(1, 10)``. There is no intercept.

    Parameters
    ----------
    path : str or path-like
        Output directory (created). Files ``part-00000.parquet``, ... are
        written there; each is written under a temporary name and renamed when
        complete.
    n_rows : int
        Number of rows, >= 1.
    n_features : int, default=20
        Number of feature columns ``x0 .. x{n_features-1}``, >= 1.
    n_informative : int, optional
        Number of features with a non-zero coefficient (default: all).
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to ``y``, >= 0.
    random_state : int or None, default=0
        Seed (>= 0). None draws a fresh seed, recorded in ``extra["random_state"]``.
    chunk_rows : int, default=250_000
        Rows generated and written at a time; each chunk is one row group
        (split in two where it crosses a file boundary).
    n_files : int, default=1
        Number of files; rows are split evenly (the first files take one extra
        row when ``n_rows`` is not a multiple).
    progress : bool, default=False
        Show a tqdm progress bar over rows.
    overwrite : bool, default=False
        Replace ``part-*.parquet`` files already in ``path``; when False such
        files raise InvalidParameterError (so no stale parts mix in).

    Returns
    -------
    DatasetInfo
        ``extra`` holds ``coef`` (array of shape ``(n_features,)``),
        ``intercept`` (0.0), ``informative`` (indices), ``noise`` and
        ``random_state``.

    Raises
    ------
    InvalidParameterError
        An argument is out of range; the message names it.

    Examples
    --------
    >>> info = make_regression("/tmp/reg", 1_000_000, 10)  # doctest: +SKIP
    >>> info.files  # doctest: +SKIP
    ['/tmp/reg/part-00000.parquet']
    """
    n_rows, chunk_rows, n_files = check_layout(n_rows, chunk_rows, n_files)
    n_features = check_int(n_features, "n_features", minimum=1)
    n_informative = _check_informative(n_informative, n_features)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_seed(random_state)

    rng = param_rng(seed)
    informative = np.sort(rng.choice(n_features, size=n_informative, replace=False))
    coef = np.zeros(n_features)
    signs = rng.choice(np.array([-1.0, 1.0]), size=n_informative)
    coef[informative] = signs * rng.uniform(1.0, 10.0, size=n_informative)
    names = _feature_names(n_features)

    def make_chunk(k: int, n: int) -> pa.Table:
        crng = chunk_rng(seed, k)
        X = crng.standard_normal((n_features, n))  # one contiguous row per column
        y = coef @ X
        if noise > 0:
            y += noise * crng.standard_normal(n)
        return table_from_columns(X, names, y, TARGET)

    files = write_chunked(
        path,
        n_rows,
        chunk_rows,
        n_files,
        make_chunk,
        progress=progress,
        desc="make_regression",
        overwrite=overwrite,
    )
    extra = {
        "coef": coef,
        "intercept": 0.0,
        "informative": informative,
        "noise": noise,
        "random_state": seed,
        "chunk_rows": chunk_rows,
    }
    return _info(path, files, n_rows, n_features, extra)


def _class_means(
    rng: np.random.Generator, n_classes: int, dim: int, class_sep: float
) -> np.ndarray:
    """Class means, shape (n_classes, dim), about ``2 * class_sep`` apart.

    With ``n_classes <= dim`` the means are ``class_sep * sqrt(2)`` times
    orthonormal vectors, so every pair is exactly ``2 * class_sep`` apart.
    Otherwise they are Gaussian with that expected pairwise distance.
    """
    if n_classes <= dim:
        q, _ = np.linalg.qr(rng.standard_normal((dim, n_classes)))
        return class_sep * np.sqrt(2.0) * q.T
    return class_sep * np.sqrt(2.0 / dim) * rng.standard_normal((n_classes, dim))


def make_classification(
    path: str | os.PathLike[str],
    n_rows: int,
    n_features: int = 20,
    *,
    n_classes: int = 2,
    n_informative: int | None = None,
    class_sep: float = 1.0,
    random_state: int | None = 0,
    chunk_rows: int = 250_000,
    n_files: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> DatasetInfo:
    """Write a Gaussian class-conditional classification dataset to Parquet.

    Model: the label ``y`` is uniform over ``0 .. n_classes-1``; features are
    ``N(0, 1)``, and the ``n_informative`` informative features are shifted by
    the mean of the row's class. The class means are about ``2 * class_sep``
    apart (exactly, when ``n_classes <= n_informative``), so with equal
    covariances the Bayes classifier is linear: LogisticRegression and trees
    both learn it. For two classes the Bayes accuracy is ``Phi(class_sep)``
    (84% at 1.0, 98% at 2.0).

    Parameters
    ----------
    path : str or path-like
        Output directory (see :func:`make_regression`).
    n_rows : int
        Number of rows, >= 1.
    n_features : int, default=20
        Number of feature columns, >= 1.
    n_classes : int, default=2
        Number of classes, >= 2.
    n_informative : int, optional
        Number of features that depend on the class (default: all).
    class_sep : float, default=1.0
        Half the distance between class means, in noise standard deviations; > 0.
    random_state : int or None, default=0
        Seed (>= 0); None draws a fresh one.
    chunk_rows, n_files, progress, overwrite
        As in :func:`make_regression`.

    Returns
    -------
    DatasetInfo
        ``extra`` holds ``class_means`` (shape ``(n_classes, n_features)``,
        zero on non-informative features), ``informative``, ``n_classes``,
        ``class_sep`` and ``random_state``. The label column ``y`` is int64.

    Raises
    ------
    InvalidParameterError
        An argument is out of range; the message names it.
    """
    n_rows, chunk_rows, n_files = check_layout(n_rows, chunk_rows, n_files)
    n_features = check_int(n_features, "n_features", minimum=1)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    n_informative = _check_informative(n_informative, n_features)
    class_sep = check_float(class_sep, "class_sep", minimum=0.0, strict=True)
    seed = check_seed(random_state)

    rng = param_rng(seed)
    informative = np.sort(rng.choice(n_features, size=n_informative, replace=False))
    means_inf = _class_means(rng, n_classes, n_informative, class_sep)
    class_means = np.zeros((n_classes, n_features))
    class_means[:, informative] = means_inf
    shift = np.ascontiguousarray(means_inf.T)  # (n_informative, n_classes)
    names = _feature_names(n_features)

    def make_chunk(k: int, n: int) -> pa.Table:
        crng = chunk_rng(seed, k)
        y = crng.integers(0, n_classes, size=n, dtype=np.int64)
        X = crng.standard_normal((n_features, n))
        X[informative] += shift[:, y]
        return table_from_columns(X, names, y, TARGET)

    files = write_chunked(
        path,
        n_rows,
        chunk_rows,
        n_files,
        make_chunk,
        progress=progress,
        desc="make_classification",
        overwrite=overwrite,
    )
    extra = {
        "class_means": class_means,
        "informative": informative,
        "n_classes": n_classes,
        "class_sep": class_sep,
        "random_state": seed,
        "chunk_rows": chunk_rows,
    }
    return _info(path, files, n_rows, n_features, extra)


def make_blobs(
    path: str | os.PathLike[str],
    n_rows: int,
    n_features: int = 20,
    *,
    centers: int | np.ndarray | Sequence[Sequence[float]] = 8,
    cluster_std: float | Sequence[float] = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    random_state: int | None = 0,
    chunk_rows: int = 250_000,
    n_files: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> DatasetInfo:
    """Write isotropic Gaussian blobs (for clustering) to Parquet.

    Each row picks a center uniformly at random (its label ``y``) and adds
    ``cluster_std[label] * N(0, I)``. The centers are fixed from the seed
    once, so every chunk shares them.

    Parameters
    ----------
    path : str or path-like
        Output directory (see :func:`make_regression`).
    n_rows : int
        Number of rows, >= 1.
    n_features : int, default=20
        Number of feature columns, >= 1.
    centers : int or array-like of shape (n_centers, n_features), default=8
        Number of centers, drawn uniformly in ``center_box``, or the centers.
    cluster_std : float or sequence of float, default=1.0
        Standard deviation of the blobs: one value, or one per center; >= 0.
    center_box : tuple of float, default=(-10.0, 10.0)
        Bounds of the random centers.
    random_state : int or None, default=0
        Seed (>= 0); None draws a fresh one.
    chunk_rows, n_files, progress, overwrite
        As in :func:`make_regression`.

    Returns
    -------
    DatasetInfo
        ``extra`` holds ``centers`` (shape ``(n_centers, n_features)``),
        ``cluster_std`` (shape ``(n_centers,)``) and ``random_state``. The
        label column ``y`` is int64.

    Raises
    ------
    InvalidParameterError
        An argument is out of range; the message names it.
    """
    n_rows, chunk_rows, n_files = check_layout(n_rows, chunk_rows, n_files)
    n_features = check_int(n_features, "n_features", minimum=1)
    seed = check_seed(random_state)
    rng = param_rng(seed)

    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        n_centers = check_int(centers, "centers", minimum=1)
        low, high = (check_float(b, "center_box") for b in center_box)
        if not low < high:
            raise InvalidParameterError(
                f"center_box must be (low, high) with low < high, got {center_box!r}"
            )
        centers_arr = rng.uniform(low, high, size=(n_centers, n_features))
    else:
        try:
            centers_arr = np.array(centers, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"centers must be an int or an array of shape (n_centers, n_features): {exc}"
            ) from exc
        if centers_arr.ndim != 2 or centers_arr.shape[0] < 1:
            raise InvalidParameterError(
                f"centers must be an int or an array of shape (n_centers, n_features), "
                f"got shape {centers_arr.shape}"
            )
        if centers_arr.shape[1] != n_features:
            raise InvalidParameterError(
                f"centers has {centers_arr.shape[1]} columns but n_features={n_features}"
            )
        if not np.all(np.isfinite(centers_arr)):
            raise InvalidParameterError("centers must be finite")
        n_centers = centers_arr.shape[0]

    std = np.array(cluster_std, dtype=np.float64, ndmin=1)
    if std.ndim != 1 or std.size not in (1, n_centers):
        raise InvalidParameterError(
            f"cluster_std must be a number or one value per center ({n_centers}), "
            f"got {cluster_std!r}"
        )
    if not np.all(np.isfinite(std)) or np.any(std < 0):
        raise InvalidParameterError(f"cluster_std must be finite and >= 0, got {cluster_std!r}")
    std = np.broadcast_to(std, (n_centers,)).copy()
    centers_t = np.ascontiguousarray(centers_arr.T)  # (n_features, n_centers)
    names = _feature_names(n_features)

    def make_chunk(k: int, n: int) -> pa.Table:
        crng = chunk_rng(seed, k)
        y = crng.integers(0, n_centers, size=n, dtype=np.int64)
        X = crng.standard_normal((n_features, n))
        X *= std[y]
        X += centers_t[:, y]
        return table_from_columns(X, names, y, TARGET)

    files = write_chunked(
        path,
        n_rows,
        chunk_rows,
        n_files,
        make_chunk,
        progress=progress,
        desc="make_blobs",
        overwrite=overwrite,
    )
    extra = {
        "centers": centers_arr,
        "cluster_std": std,
        "random_state": seed,
        "chunk_rows": chunk_rows,
    }
    return _info(path, files, n_rows, n_features, extra)
