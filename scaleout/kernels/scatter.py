"""Centred scatter matrices in one pass: the statistics LinearRegression and PCA share.

Each chunk returns ``(n, mean, M)`` with ``M = Zcᵀ Zc`` the scatter of its
centred rows (``Z = X`` or ``[X | y]``). Two results merge exactly (Chan,
Golub & LeVeque's pairwise update)::

    n = n1 + n2,  mean = (n1 m1 + n2 m2) / n
    M = M1 + M2 + (n1 n2 / n) d dᵀ,  d = m2 - m1

so the final ``M`` is the scatter of the whole centred matrix. Centring each
chunk before its product removes the mean offsets that make the plain
``XᵀX`` ill-conditioned; what is left is scikit-learn's own
``svd_solver="covariance_eigh"`` route (its default for tall data).

A chunk costs one BLAS ``Zᵀ Z`` (measured here: 0.02 s for 250,000 x 21,
against 0.3 s for a Householder QR of the same block), so a pass runs at
the speed of reading the data.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..data.dataset import Batch


class Scatter(NamedTuple):
    """Rows, column means and the scatter matrix of the centred rows.

    With sample weights ``w``: ``weight = sum(w)``, ``mean`` the weighted
    mean and ``M = sum_i w_i (z_i - mean)(z_i - mean)ᵀ``; without,
    ``weight == n``.
    """

    n: int
    mean: np.ndarray
    M: np.ndarray
    weight: float


def chunk_scatter(batch: Batch, *, with_target: bool, center: bool = True) -> Scatter:
    """The (centred, weighted when the batch has weights) scatter of one chunk.

    Of ``[X | y]`` when ``with_target``, else of ``X``.
    """
    Z = np.column_stack([batch.X, batch.y]) if with_target else np.asarray(batch.X)
    Z = np.asarray(Z, dtype=np.float64)
    w = batch.weights
    weight = float(len(Z)) if w is None else float(np.sum(w))
    if center and len(Z) and weight > 0:
        mean = Z.mean(axis=0) if w is None else (w @ Z) / weight
        Z = Z - mean
    else:
        mean = np.zeros(Z.shape[1])
    M = Z.T @ Z if w is None else (Z * w[:, None]).T @ Z
    return Scatter(len(Z), mean, M, weight)


def merge(a: Scatter, b: Scatter) -> Scatter:
    """Exact merge of two chunks' centred statistics (associative)."""
    if a.weight == 0:
        return b._replace(n=a.n + b.n)
    if b.weight == 0:
        return a._replace(n=a.n + b.n)
    weight = a.weight + b.weight
    d = b.mean - a.mean
    mean = a.mean + d * (b.weight / weight)
    M = a.M + b.M + np.outer(d, d) * (a.weight * b.weight / weight)
    return Scatter(a.n + b.n, mean, M, weight)


def merge_uncentered(a: Scatter, b: Scatter) -> Scatter:
    """Merge for statistics computed with ``center=False``."""
    return Scatter(a.n + b.n, a.mean, a.M + b.M, a.weight + b.weight)


def sorted_eigh(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, clipped at 0) and eigenvectors (columns) of a scatter."""
    values, vectors = np.linalg.eigh(M)
    order = np.argsort(values)[::-1]
    return np.clip(values[order], 0.0, None), vectors[:, order]
