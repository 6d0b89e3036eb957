"""What every Spark algorithm module provides: an MLlib stage and its conversion.

An :class:`Algorithm` says which target it needs and which column facts
:func:`~scaleout.backends.spark.convert.prepare` must compute, builds the
``pyspark.ml`` estimator for scikit-learn's parameters (:meth:`stage`), and
turns the fitted MLlib model into scikit-learn's attributes (:meth:`state`).
A pipeline chains stages; a lone fit runs one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...data.validate import MAX_ABS_VALUE
from ...exceptions import UnsupportedOnBackend

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...data import Dataset
    from .convert import Prepared


class Algorithm:
    """One scikit-learn estimator fitted by Spark MLlib.

    Attributes
    ----------
    label : {"class", "value"} or None
        The target a fit needs: class labels, real values, or none.
    moments : bool
        Whether the fit needs the column means and variances.
    weights : bool
        Whether ``sample_weight`` / ``class_weight`` become a weight column.
    max_abs : float
        Largest feature magnitude the data check accepts (lower for models
        that compare float32 values, as trees).
    """

    label: ClassVar[str | None] = None
    moments: ClassVar[bool] = False
    weights: ClassVar[bool] = False
    max_abs: ClassVar[float] = MAX_ABS_VALUE

    def stage(
        self, params: dict[str, Any], prepared: Prepared, features: str, n_features: int
    ) -> Any:
        """The unfitted ``pyspark.ml`` estimator reading vector column ``features``."""
        raise NotImplementedError

    def state(
        self, model: Any, params: dict[str, Any], prepared: Prepared, n_features: int
    ) -> dict[str, Any]:
        """scikit-learn's fitted attributes from the fitted MLlib ``model``."""
        raise NotImplementedError

    def info(self, model: Any) -> dict[str, Any]:
        """Facts about the fit for ``fit_stats_`` (e.g. ``iterations``)."""
        return {}

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fit on ``frame``'s vector column ``features``; return (state, info).

        ``info["mllib_seconds"]`` is the time inside the MLlib estimator's
        ``fit``: the rest of a fit is scaleout's own (check, conversion).
        """
        stage = self.stage(params, prepared, features, n_features)
        start = time.perf_counter()
        model = stage.fit(frame)
        mllib_seconds = time.perf_counter() - start
        info = {**self.info(model), "mllib_seconds": mllib_seconds}
        return self.state(model, params, prepared, n_features), info

    def finish(
        self,
        state: dict[str, Any],
        info: dict[str, Any],
        dataset: Dataset,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """Complete ``state`` / ``info`` from the training data once the fit is done.

        Most algorithms have nothing to add; KMeans adds ``labels_``.
        ``transform`` maps the data's rows to this step's input (a pipeline).
        """

    def flip_features(self, state: dict[str, Any], signs: np.ndarray, name: str) -> None:
        """Adjust ``state`` fitted on features ``z`` to features ``z * signs``.

        A pipeline's PCA step hands Spark's components on, whose signs can
        differ from scikit-learn's convention.
        """
        raise UnsupportedOnBackend(
            f"{name} after PCA in a Pipeline is not supported by backend 'spark'; supported "
            "final steps after PCA: LinearRegression, LogisticRegression, KMeans"
        )


def training_iterations(model: Any) -> int:
    """Iterations of an MLlib model's optimiser (0 when it keeps no summary)."""
    try:
        return int(model.summary.totalIterations) if model.hasSummary else 0
    except Exception:
        return 0
