"""Loading MNIST from IDX files, with scikit-learn's digits as a fallback."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from scaleout.exceptions import DataError, DataFileNotFoundError, InvalidParameterError

from .idx import read_idx_with_magic

__all__ = ["MNIST_ENV_VAR", "default_mnist_dir", "load_mnist"]

logger = logging.getLogger(__name__)

#: Environment variable naming the directory that holds the MNIST IDX files.
MNIST_ENV_VAR = "SCALEOUT_MNIST_DIR"

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
FALLBACK_SOURCE = "sklearn load_digits (fallback: no MNIST directory given)"

_FILES = {
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
}


class _Images(NamedTuple):
    images: np.ndarray  # (n, h, w) uint8
    labels: np.ndarray  # (n,) int64
    source: str
    max_value: int  # 255 for MNIST, 16 for load_digits


def default_mnist_dir() -> str | None:
    """Return the MNIST directory named by ``$SCALEOUT_MNIST_DIR``, or None.

    Returns
    -------
    str or None
        The variable's value, or None when it is unset or empty.
    """
    value = os.environ.get(MNIST_ENV_VAR, "").strip()
    return value or None


def _find(directory: Path, stem: str) -> Path:
    """Return ``stem.gz`` or ``stem`` inside ``directory`` (gz preferred)."""
    for name in (stem + ".gz", stem):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    if not directory.is_dir():
        raise DataFileNotFoundError(
            f"MNIST file {stem!r} (or {stem + '.gz'!r}) not found: the directory "
            f"{str(directory)!r} does not exist"
        )
    raise DataFileNotFoundError(
        f"MNIST file {stem!r} (or {stem + '.gz'!r}) not found in {str(directory)!r}"
    )


def _load_idx_pair(directory: Path, split: str) -> _Images:
    images_stem, labels_stem = _FILES[split]
    images_path = _find(directory, images_stem)
    labels_path = _find(directory, labels_stem)

    magic, images = read_idx_with_magic(images_path)
    if magic != IMAGES_MAGIC:
        raise DataError(
            f"MNIST images file {str(images_path)!r} has magic number {magic}, "
            f"expected {IMAGES_MAGIC} (unsigned bytes, 3 dimensions)"
        )
    magic, labels = read_idx_with_magic(labels_path)
    if magic != LABELS_MAGIC:
        raise DataError(
            f"MNIST labels file {str(labels_path)!r} has magic number {magic}, "
            f"expected {LABELS_MAGIC} (unsigned bytes, 1 dimension)"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"MNIST files disagree on the number of items: {str(images_path)!r} "
            f"holds {images.shape[0]} images, {str(labels_path)!r} holds "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise DataError(
            f"MNIST labels file {str(labels_path)!r} has label {int(labels[bad])} "
            f"at item {bad}; labels must be in 0..9"
        )
    return _Images(images, labels.astype(np.int64), f"mnist:{directory}", 255)


def _load_digits() -> _Images:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values 0..16
    return _Images(images, digits.target.astype(np.int64), FALLBACK_SOURCE, 16)


def _resolve_dir(path: str | os.PathLike[str] | None) -> Path | None:
    if path is not None:
        return Path(path)
    env = default_mnist_dir()
    return Path(env) if env is not None else None


def _load_images(path: str | os.PathLike[str] | None, split: str) -> _Images:
    """Images (n, h, w) uint8 and labels, from MNIST or the digits fallback."""
    if split not in _FILES:
        raise InvalidParameterError(f"split must be one of {sorted(_FILES)}, got {split!r}")
    directory = _resolve_dir(path)
    if directory is None:
        logger.info(
            "No MNIST directory given (path=None and $%s unset): using "
            "scikit-learn's load_digits (1797 8x8 images) instead",
            MNIST_ENV_VAR,
        )
        return _load_digits()
    return _load_idx_pair(directory, split)


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    flatten: bool = True,
    as_float: bool = True,
    return_source: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, str]:
    """Load MNIST from its IDX files, or scikit-learn's digits as a fallback.

    Parameters
    ----------
    path : str or path-like, optional
        Directory holding ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte`` (``split="test"``) or ``train-images-idx3-ubyte``
        and ``train-labels-idx1-ubyte`` (``split="train"``), each raw or with
        ``.gz``. When None, ``$SCALEOUT_MNIST_DIR`` is used; when that is unset
        too, :func:`sklearn.datasets.load_digits` is loaded instead (8x8 images,
        1797 rows) and an info message is logged.
    split : {"test", "train"}, default="test"
        Which MNIST split to read (ignored by the fallback).
    flatten : bool, default=True
        Return X of shape ``(n, h * w)`` (784 for MNIST, 64 for the fallback);
        otherwise ``(n, h, w)``.
    as_float : bool, default=True
        Return float64 pixels scaled to [0, 1] (divided by 255, or by 16 for the
        fallback); otherwise the raw uint8 values (0..255, or 0..16).
    return_source : bool, default=False
        Also return a short string saying where the data came from:
        ``"mnist:<dir>"`` or ``"sklearn load_digits (fallback: no MNIST
        directory given)"``.

    Returns
    -------
    X : numpy.ndarray
        Images.
    y : numpy.ndarray of int64
        Labels 0..9.
    source : str
        Only when ``return_source`` is True.

    Raises
    ------
    DataFileNotFoundError
        ``path`` (or ``$SCALEOUT_MNIST_DIR``) is given but the directory or
        one of the two files is missing; the message names the missing file.
    DataError
        Wrong magic numbers (images 2051, labels 2049), different numbers of
        images and labels, labels outside 0..9, or a malformed IDX file.
    InvalidParameterError
        ``split`` is not ``"test"`` or ``"train"``.

    Examples
    --------
    >>> X, y = load_mnist("/data/mnist")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype  # doctest: +SKIP
    ((10000, 784), dtype('float64'), dtype('int64'))
    """
    loaded = _load_images(path, split)
    X = loaded.images
    if as_float:
        X = X.astype(np.float64) / loaded.max_value
    if flatten:
        X = X.reshape(X.shape[0], -1)
    if return_source:
        return X, loaded.labels, loaded.source
    return X, loaded.labels
