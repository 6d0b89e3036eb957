"""``so.Incremental``: one streaming pass through any scikit-learn ``partial_fit``.

For data too large to hold, when one pass of an online algorithm
(SGDClassifier, SGDRegressor, MiniBatchKMeans, IncrementalPCA, ...) is the
goal: the dataset is read batch by batch (one Parquet row group at a time by
default) and each batch is handed to ``partial_fit``; memory holds one batch.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier

from ._config import get_config
from .data import Dataset, InMemoryDataset
from .engines import wrap_input
from .exceptions import DataError, InvalidParameterError, NotFittedError


def _target_classes(dataset: Dataset) -> np.ndarray:
    """Class labels of the whole target, reading only the target column when possible."""
    files = getattr(dataset, "files", None)
    if files is not None and dataset.target is not None:
        import pyarrow.parquet as pq

        try:
            column = pq.read_table(files, columns=[dataset.target]).column(0)
            return np.unique(column.to_numpy(zero_copy_only=False))
        except Exception:
            pass
    labels: np.ndarray | None = None
    for batch in dataset.iter_batches():
        found = np.unique(batch.y)
        labels = found if labels is None else np.union1d(labels, found)
    return np.asarray(labels)


class Incremental(MetaEstimatorMixin, BaseEstimator):
    """Stream a dataset once through ``estimator.partial_fit``.

    Parameters
    ----------
    estimator : scikit-learn estimator with ``partial_fit``
        Cloned at fit; the fitted copy is ``estimator_``.
    classes : array-like, optional
        All class labels (classifiers). When None they are read from the
        target column first (a cheap column-only scan for Parquet).
    batch_rows : int, optional
        Rows per ``partial_fit`` call; default one Parquet row group / CSV
        block (250,000 rows for in-memory data).

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator.
    classes_ : ndarray
        Classifiers only.
    fit_stats_ : dict
        ``rows``, ``batches``, ``passes`` (1, or 2 when classes were read
        first), ``seconds``.
    """

    def __init__(
        self, estimator: Any, *, classes: Any = None, batch_rows: int | None = None
    ) -> None:
        self.estimator = estimator
        self.classes = classes
        self.batch_rows = batch_rows

    def fit(self, X: Any, y: Any = None) -> Incremental:
        """One pass over the data through a fresh clone of ``estimator``.

        Parameters
        ----------
        X : array-like, DataFrame, path or Dataset
        y : array-like or str, optional

        Returns
        -------
        self
        """
        if not hasattr(self.estimator, "partial_fit"):
            raise InvalidParameterError(
                f"Incremental needs an estimator with partial_fit; "
                f"{type(self.estimator).__name__} has none (e.g. use SGDClassifier, "
                "SGDRegressor, MiniBatchKMeans, IncrementalPCA)"
            )
        start = time.perf_counter()
        dataset = wrap_input(X, y)
        estimator = clone(self.estimator)
        passes = 1
        kwargs: dict[str, Any] = {}
        if is_classifier(estimator):
            if dataset.target is None:
                raise DataError(f"{type(estimator).__name__} requires y: the data has no target")
            classes = self.classes
            if classes is None:
                classes = _target_classes(dataset)
                passes += 1
            kwargs["classes"] = np.asarray(classes)
        rows = batches = 0
        batch_rows = self.batch_rows
        if batch_rows is None and isinstance(dataset, InMemoryDataset):
            batch_rows = 250_000
        bar = _progress(dataset, type(estimator).__name__)
        for batch in dataset.iter_batches(batch_rows):
            if batch.y is not None:
                estimator.partial_fit(batch.X, batch.y, **kwargs)
            else:
                estimator.partial_fit(batch.X, **kwargs)
            rows += batch.n_rows
            batches += 1
            if bar is not None:
                bar.update(batch.n_rows)
        if bar is not None:
            bar.close()
        self.estimator_ = estimator
        if "classes" in kwargs:
            self.classes_ = kwargs["classes"]
        self.n_features_in_ = dataset.n_features
        self.fit_stats_ = {
            "backend": "incremental",
            "rows": rows,
            "batches": batches,
            "passes": passes,
            "seconds": time.perf_counter() - start,
        }
        return self

    def _fitted(self) -> Any:
        if not hasattr(self, "estimator_"):
            raise NotFittedError("This Incremental instance is not fitted yet. Call 'fit' first.")
        return self.estimator_

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the fitted estimator."""
        return self._fitted().predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the fitted estimator."""
        return self._fitted().predict_proba(X)

    def transform(self, X: Any) -> np.ndarray:
        """Transform with the fitted estimator."""
        return self._fitted().transform(X)

    def score(self, X: Any, y: Any = None) -> float:
        """The fitted estimator's score."""
        return self._fitted().score(X, y)

    def to_sklearn(self) -> Any:
        """The fitted scikit-learn estimator."""
        return self._fitted()


def _progress(dataset: Dataset, name: str) -> Any:
    if not get_config()["progress"]:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=dataset.n_rows,
        desc=f"Incremental {name}",
        unit="row",
        unit_scale=True,
        leave=False,
        mininterval=0.5,
    )
