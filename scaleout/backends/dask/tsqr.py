"""Centred tall-skinny QR in one pass: the statistics LinearRegression and PCA share.

Each chunk returns ``(n, mean, R)`` with ``R`` the triangular factor of its
centred rows; two results merge exactly (Chan et al.'s update in square-root
form)::

    n = n1 + n2,  mean = (n1 m1 + n2 m2) / n
    R = qr([R1; R2; sqrt(n1 n2 / n) (m2 - m1)])

so the final ``R`` is the triangular factor of the whole centred matrix,
``Xc = Q R``: least squares and the SVD are then solved from ``R`` (p x p)
without ever forming ``X^T X`` (no squared condition number).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...data import Batch


class CenteredR(NamedTuple):
    """Rows, column means and the R factor of the centred rows."""

    n: int
    mean: np.ndarray
    R: np.ndarray


def _r_factor(A: np.ndarray) -> np.ndarray:
    if A.shape[0] == 0:
        return np.zeros((0, A.shape[1]))
    return np.linalg.qr(A, mode="r")


def chunk_stats(batch: Batch, *, with_target: bool, center: bool = True) -> CenteredR:
    """The centred R factor of one chunk (``[X | y]`` when ``with_target``)."""
    Z = np.column_stack([batch.X, batch.y]) if with_target else np.asarray(batch.X)
    Z = np.asarray(Z, dtype=np.float64)
    mean = Z.mean(axis=0) if center and len(Z) else np.zeros(Z.shape[1])
    return CenteredR(len(Z), mean, _r_factor(Z - mean if center else Z))


def merge(a: CenteredR, b: CenteredR) -> CenteredR:
    """Exact merge of two chunks' statistics (associative)."""
    if a.n == 0:
        return b
    if b.n == 0:
        return a
    n = a.n + b.n
    mean = (a.n * a.mean + b.n * b.mean) / n
    correction = np.sqrt(a.n * b.n / n) * (b.mean - a.mean)
    stacked = np.vstack([a.R, b.R, correction[None, :]])
    return CenteredR(n, mean, _r_factor(stacked)[: a.R.shape[1]])


def merge_uncentered(a: CenteredR, b: CenteredR) -> CenteredR:
    """Merge for statistics computed with ``center=False`` (means unused)."""
    stacked = np.vstack([a.R, b.R])
    return CenteredR(a.n + b.n, a.mean, _r_factor(stacked)[: a.R.shape[1]])
