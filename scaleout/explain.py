"""``so.explain``: which engine would fit this, and why."""

from __future__ import annotations

from typing import Any

from .engines import wrap_input
from .engines.resolve import EngineDecision, resolve_backend


def explain(estimator: Any, X: Any, y: Any = None) -> EngineDecision:
    """Return the engine ``estimator.fit(X, y)`` would use, with its reasons.

    No data is read: the decision uses the estimator's ``backend``
    parameter, the configuration, the input's type and its estimated size.

    Parameters
    ----------
    estimator : scaleout estimator or Pipeline
    X : array-like, DataFrame, path or Dataset
    y : array-like or str, default=None

    Returns
    -------
    EngineDecision
        ``str()`` of it reads as one line per rule consulted.

    Examples
    --------
    >>> import numpy as np, scaleout as so
    >>> print(so.explain(so.KMeans(8), np.zeros((10, 2))).backend)
    sklearn
    """
    return resolve_backend(estimator, wrap_input(X, y))
