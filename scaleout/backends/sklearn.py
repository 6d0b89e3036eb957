"""The in-memory engine: scikit-learn itself.

The data is loaded once into NumPy (column-major, straight from Arrow) and
handed to the mirrored scikit-learn estimator; the fitted attributes are
copied out as plain arrays.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sklearn

from .._config import config_context
from .base import Backend, FitResult

if TYPE_CHECKING:
    from ..base import ScaleoutEstimator
    from ..data import Dataset
    from ..pipeline import Pipeline


class SklearnBackend(Backend):
    """Fit in memory with scikit-learn; supports every scikit-learn option."""

    name = "sklearn"

    def fit(
        self, estimator: ScaleoutEstimator, dataset: Dataset, sample_weight: Any = None
    ) -> FitResult:
        start = time.perf_counter()
        X, y = dataset.to_numpy()
        loaded = time.perf_counter()
        if estimator._supervised:
            y = estimator.check_fit_target(y)
        model = estimator._sklearn_class(**estimator._sklearn_params())
        fit_args = (X, y) if estimator._supervised else (X,)
        fit_kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        # The dataset already checked X and y for NaN/inf, with better messages:
        # scikit-learn need not scan them again.
        with sklearn.config_context(assume_finite=True):
            model.fit(*fit_args, **fit_kwargs)
        done = time.perf_counter()
        state = {
            name: getattr(model, name) for name in estimator._fitted_attrs if hasattr(model, name)
        }
        return FitResult(state, _stats(X.shape[0], start, loaded, done))

    def fit_pipeline(self, pipeline: Pipeline, dataset: Dataset, **fit_params: Any) -> FitResult:
        from sklearn.pipeline import Pipeline as SkPipeline

        start = time.perf_counter()
        X, y = dataset.to_numpy()
        loaded = time.perf_counter()
        with config_context(backend=self.name), sklearn.config_context(assume_finite=True):
            SkPipeline.fit(pipeline, X, y, **fit_params)
        return FitResult({}, _stats(X.shape[0], start, loaded, time.perf_counter()))


def _stats(rows: int, start: float, loaded: float, done: float) -> dict[str, Any]:
    return {
        "rows": int(rows),
        "passes": 1,
        "storage": "memory",
        "read_seconds": loaded - start,
        "fit_seconds": done - loaded,
        "seconds": done - start,
    }


BACKEND = SklearnBackend
