"""PNG plots for the demo (needs matplotlib: ``pip install 'scaleout[plot]'``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .exceptions import BackendUnavailable


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BackendUnavailable(
            "plots need matplotlib; install it with: pip install 'scaleout[plot]'"
        ) from None
    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def pca_projection(model: Any, X: np.ndarray, y: np.ndarray, path: str | os.PathLike[str]) -> str:
    """Scatter the first two principal components, coloured by label."""
    plt = _pyplot()
    Z = model.transform(X)[:, :2]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=4, alpha=0.7)
    fig.colorbar(points, ax=ax, label="digit")
    ratio = model.explained_variance_ratio_[:2].sum()
    ax.set(
        title=f"MNIST projected on 2 principal components ({ratio:.1%} of variance)",
        xlabel="PC 1",
        ylabel="PC 2",
    )
    path = _save(fig, path)
    plt.close(fig)
    return path


def kmeans_clusters(model: Any, X: np.ndarray, path: str | os.PathLike[str]) -> str:
    """Scatter 2-D points coloured by their k-means cluster, with the centres."""
    plt = _pyplot()
    labels = model.predict(X)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="tab10", s=4, alpha=0.6)
    centers = model.cluster_centers_
    ax.scatter(centers[:, 0], centers[:, 1], marker="X", s=160, c="black", label="centres")
    ax.legend(loc="best")
    ax.set(
        title=f"k-means, k={len(centers)} (inertia {model.inertia_:.0f})", xlabel="x0", ylabel="x1"
    )
    path = _save(fig, path)
    plt.close(fig)
    return path
