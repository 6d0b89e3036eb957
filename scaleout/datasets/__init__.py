"""Data for scaleout's tests, demos and benchmarks.

* :func:`load_mnist` / :func:`read_idx` -- the real MNIST IDX files (directory
  given, or ``$SCALEOUT_MNIST_DIR``), with scikit-learn's ``load_digits`` as
  the fallback when no directory is configured;
* :func:`make_regression`, :func:`make_classification`, :func:`make_blobs` --
  synthetic Parquet datasets of any size, written chunk by chunk;
* :func:`make_mnist8m` -- MNIST-8M-style data of any size from shifted MNIST
  images.

Nothing here downloads data.
"""

from __future__ import annotations

from ._common import DatasetInfo
from .idx import read_idx
from .mnist import default_mnist_dir, load_mnist
from .mnist8m import make_mnist8m
from .synthetic import make_blobs, make_classification, make_regression

__all__ = [
    "DatasetInfo",
    "default_mnist_dir",
    "load_mnist",
    "make_blobs",
    "make_classification",
    "make_mnist8m",
    "make_regression",
    "read_idx",
]
