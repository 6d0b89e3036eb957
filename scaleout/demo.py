"""``scaleout demo``: the six demos of the classic scikit-learn introduction.

Each demo writes its training split to Parquet, fits a scaleout estimator
from the lazy :class:`~scaleout.data.Dataset` on one engine, and scores the
fitted (plain NumPy) model on the held-out split. Every demo runs on every
installed backend, so the table compares engines on the same task.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn import datasets as skdatasets
from sklearn import metrics
from sklearn.model_selection import train_test_split

from ._config import config_context
from .cluster import KMeans
from .data import read_parquet
from .datasets import default_mnist_dir, load_mnist
from .decomposition import PCA
from .engines import available_backends
from .linear_model import LinearRegression, LogisticRegression
from .pipeline import make_pipeline
from .tree import DecisionTreeClassifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoResult:
    """One row of the demo table."""

    algorithm: str
    dataset: str
    backend: str
    metric: str
    value: float
    fit_seconds: float
    rows: int


@dataclass(frozen=True)
class _Task:
    name: str
    dataset: str
    metric: str
    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    make: Callable[[str], Any]
    score: Callable[[Any, np.ndarray, np.ndarray], float]
    supervised: bool = True


def write_parquet(X: np.ndarray, y: np.ndarray | None, path: str | os.PathLike[str]) -> str:
    """Write a feature matrix (and target column ``y``) to one Parquet file.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Columns are named ``x0 .. x{p-1}``.
    y : ndarray of shape (n_rows,) or None
    path : str or path-like

    Returns
    -------
    str
        The path written (atomically: temp file, then rename).
    """
    arrays = [pa.array(np.ascontiguousarray(X[:, j])) for j in range(X.shape[1])]
    names = [f"x{j}" for j in range(X.shape[1])]
    if y is not None:
        arrays.append(pa.array(np.asarray(y)))
        names.append("y")
    path = os.fspath(path)
    tmp = path + ".tmp"
    pq.write_table(pa.Table.from_arrays(arrays, names=names), tmp)
    os.replace(tmp, path)
    return path


def _mnist(mnist_dir: str | None) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    return lambda: load_mnist(mnist_dir)  # type: ignore[return-value]


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(metrics.accuracy_score(y, model.predict(X)))


def _tasks(mnist_dir: str | None) -> list[_Task]:
    mnist_name = "MNIST test split" if mnist_dir else "digits (no MNIST dir given)"

    def blobs() -> tuple[np.ndarray, np.ndarray]:
        return skdatasets.make_blobs(
            n_samples=20_000, centers=6, n_features=2, cluster_std=0.8, random_state=0
        )

    def pca_variance(model: Any, X: np.ndarray, y: np.ndarray) -> float:
        return float(model.explained_variance_ratio_.sum())

    def kmeans_ari(model: Any, X: np.ndarray, y: np.ndarray) -> float:
        return float(metrics.adjusted_rand_score(y, model.predict(X)))

    return [
        _Task(
            "LinearRegression",
            "diabetes",
            "R2",
            lambda: skdatasets.load_diabetes(return_X_y=True),
            lambda b: LinearRegression(backend=b),
            lambda m, X, y: float(metrics.r2_score(y, m.predict(X))),
        ),
        _Task(
            "LogisticRegression",
            "iris (3 classes)",
            "accuracy",
            lambda: skdatasets.load_iris(return_X_y=True),
            lambda b: LogisticRegression(max_iter=500, backend=b),
            _accuracy,
        ),
        _Task(
            "DecisionTreeClassifier",
            "breast_cancer",
            "accuracy",
            lambda: skdatasets.load_breast_cancer(return_X_y=True),
            lambda b: DecisionTreeClassifier(max_depth=4, random_state=0, backend=b),
            _accuracy,
        ),
        _Task(
            "KMeans",
            "blobs 20k x 2",
            "adjusted Rand",
            blobs,
            lambda b: KMeans(6, n_init=3, random_state=0, backend=b),
            kmeans_ari,
            supervised=False,
        ),
        _Task(
            "PCA",
            mnist_name,
            "variance kept (50 comp.)",
            _mnist(mnist_dir),
            lambda b: PCA(50, random_state=0, backend=b),
            pca_variance,
            supervised=False,
        ),
        _Task(
            "PCA + LogisticRegression",
            mnist_name,
            "accuracy",
            _mnist(mnist_dir),
            lambda b: make_pipeline(
                PCA(50, random_state=0), LogisticRegression(max_iter=300), backend=b
            ),
            _accuracy,
        ),
    ]


def run_demos(
    backends: list[str] | None = None,
    *,
    mnist_dir: str | None = None,
    plot_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[DemoResult]:
    """Run every demo on every backend.

    Parameters
    ----------
    backends : list of str, optional
        Engines to run on; default: every installed backend.
    mnist_dir : str, optional
        Directory of the MNIST IDX files; default ``$SCALEOUT_MNIST_DIR``, and
        scikit-learn's ``load_digits`` when neither is set.
    plot_dir : str, optional
        Write PNG plots here (needs matplotlib).
    progress : callable, optional
        Called with one line per step.

    Returns
    -------
    list of DemoResult
    """
    backends = backends or available_backends()
    mnist_dir = mnist_dir or default_mnist_dir()
    say = progress or log.info
    results: list[DemoResult] = []
    tasks = _tasks(mnist_dir)
    # The demo prints one line per step; per-pass progress bars would interleave with them.
    with (
        tempfile.TemporaryDirectory(prefix="scaleout-demo-") as tmp,
        config_context(progress=False),
    ):
        for step, task in enumerate(tasks, 1):
            X, y = task.data()
            X_train, X_test, y_train, y_test = train_test_split(
                X,
                y,
                test_size=0.25,
                random_state=0,
                stratify=y if task.metric == "accuracy" else None,
            )
            path = write_parquet(
                X_train, y_train if task.supervised else None, Path(tmp) / f"{step}.parquet"
            )
            data = read_parquet(path, target="y" if task.supervised else None)
            for backend in backends:
                say(
                    f"[{step}/{len(tasks)}] {task.name} on {task.dataset} "
                    f"({data.n_rows} rows) with backend={backend!r} ..."
                )
                model = task.make(backend)
                start = time.perf_counter()
                model.fit(data)
                seconds = time.perf_counter() - start
                value = task.score(model, X_test, y_test)
                results.append(
                    DemoResult(
                        task.name,
                        task.dataset,
                        model.backend_,
                        task.metric,
                        value,
                        seconds,
                        int(data.n_rows),
                    )
                )
                if plot_dir and backend == backends[0]:
                    _plot(task.name, model, X_test, y_test, plot_dir, say)
    return results


def _plot(
    name: str, model: Any, X: np.ndarray, y: np.ndarray, plot_dir: str, say: Callable[[str], None]
) -> None:
    from . import plots

    os.makedirs(plot_dir, exist_ok=True)
    if name == "PCA":
        say(f"    wrote {plots.pca_projection(model, X, y, Path(plot_dir) / 'pca_mnist_2d.png')}")
    elif name == "KMeans":
        say(f"    wrote {plots.kmeans_clusters(model, X, Path(plot_dir) / 'kmeans_clusters.png')}")


def format_table(results: list[DemoResult]) -> str:
    """Render results as an aligned text table."""
    header = ("algorithm", "dataset", "backend", "metric", "value", "fit s")
    rows = [
        (r.algorithm, r.dataset, r.backend, r.metric, f"{r.value:.4f}", f"{r.fit_seconds:.3f}")
        for r in results
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells: Iterator[str] | tuple[str, ...]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])
