"""One quality metric per task, computed by the same code for every engine and peer.

A fitted model of any origin (scaleout, scikit-learn, dask-ml, pyspark.ml) is
reduced to a :class:`Fitted`: a ``predict`` function on NumPy, or the
cluster centres, or the principal axes. The metric is then computed on the
same sample of the training data (:func:`scaleout.bench.data.sample`):

* regression: R²;
* classification: accuracy;
* clustering: the sample's inertia under the model's centres divided by its
  inertia under scikit-learn's KMeans fitted on that sample with the same
  settings (1.0 = as good as scikit-learn; lower is better);
* decomposition: the fraction of the sample's variance the model's
  components capture (the explained-variance ratio sum).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["METRIC_NAMES", "Fitted", "from_model", "quality", "reference_inertia"]

METRIC_NAMES = {
    "regression": "R²",
    "classification": "accuracy",
    "clustering": "inertia / sklearn's",
    "decomposition": "explained variance ratio",
}


@dataclass
class Fitted:
    """What the metric needs of a fitted model."""

    predict: Callable[[np.ndarray], np.ndarray] | None = None
    centers: np.ndarray | None = None
    components: np.ndarray | None = None
    passes: int | None = None


def from_model(model: Any, task: str) -> Fitted:
    """A :class:`Fitted` from an estimator with scikit-learn's attributes.

    Parameters
    ----------
    model : estimator
        scaleout, scikit-learn or dask-ml, fitted.
    task : str
        The algorithm's task (:data:`METRIC_NAMES` keys).
    """
    stats = getattr(model, "fit_stats_", None) or {}
    passes = stats.get("passes")
    if task == "clustering":
        return Fitted(centers=np.asarray(model.cluster_centers_), passes=passes)
    if task == "decomposition":
        return Fitted(components=np.asarray(model.components_), passes=passes)

    def predict(X: np.ndarray) -> np.ndarray:
        out = model.predict(X)
        return np.asarray(out.compute() if hasattr(out, "compute") else out)

    return Fitted(predict=predict, passes=passes)


def _inertia(centers: np.ndarray, X: np.ndarray) -> float:
    dist = (X * X).sum(1)[:, None] - 2 * X @ centers.T + (centers * centers).sum(1)[None, :]
    return float(np.maximum(dist.min(1), 0).sum())


def reference_inertia(X: np.ndarray, params: dict[str, Any]) -> float:
    """Inertia of scikit-learn's KMeans fitted on the sample ``X`` with ``params``."""
    from sklearn.cluster import KMeans

    return _inertia(KMeans(**params).fit(X).cluster_centers_, X)


def quality(
    task: str, fitted: Fitted, X: np.ndarray, y: np.ndarray, ref_inertia: float | None = None
) -> float:
    """The task's metric of ``fitted`` on the sample ``(X, y)``.

    Parameters
    ----------
    task : str
        "regression", "classification", "clustering" or "decomposition".
    fitted : Fitted
        The model.
    X, y : ndarray
        The sample.
    ref_inertia : float, optional
        :func:`reference_inertia` of the sample (clustering only).

    Returns
    -------
    float
    """
    if task == "regression":
        pred = fitted.predict(X).astype(np.float64)
        return float(1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
    if task == "classification":
        pred = fitted.predict(X)
        return float(np.mean(pred.astype(np.float64) == y.astype(np.float64)))
    if task == "clustering":
        return _inertia(fitted.centers, X) / float(ref_inertia)
    if task == "decomposition":
        centred = X - X.mean(0)
        basis, _ = np.linalg.qr(np.asarray(fitted.components, dtype=np.float64).T)
        return float(np.sum((centred @ basis) ** 2) / np.sum(centred**2))
    raise ValueError(f"unknown task {task!r}")
