"""Pipelines whose every step runs on the same engine.

:class:`Pipeline` is scikit-learn's ``Pipeline`` with a ``backend``
parameter: the engine is chosen once for the whole pipeline and every step
is checked against it before any data moves.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from sklearn.pipeline import Pipeline as _SkPipeline

from ._params import validate_backend_param
from .backends import get_backend
from .backends.resolve import resolve_backend
from .base import ScaleoutEstimator
from .data import as_dataset
from .registry import register_estimator


@register_estimator
class Pipeline(_SkPipeline):
    """A chain of transformers and a final estimator, fitted on one engine.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As in :class:`sklearn.pipeline.Pipeline`.
    transform_input, memory, verbose
        As in scikit-learn.
    backend : str, default="auto"
        The engine for every step; "auto" resolves once for the pipeline.

    Attributes
    ----------
    backend_ : str
        The engine that fitted the steps.
    fit_stats_ : dict
        ``rows``, ``passes``, ``seconds`` of the whole fit.
    """

    _composite = True

    def __init__(
        self,
        steps: list[tuple[str, Any]],
        *,
        transform_input: list[str] | None = None,
        memory: Any = None,
        verbose: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.backend = backend

    def fit(self, X: Any, y: Any = None, **params: Any) -> Pipeline:
        """Fit every step on the engine chosen for the pipeline.

        Parameters
        ----------
        X : array-like, DataFrame, path or Dataset
        y : array-like or str, default=None
        **params
            Routed to the steps as in scikit-learn.

        Returns
        -------
        self
        """
        validate_backend_param(type(self).__name__, self.backend)
        ours = [step for _, step in self.steps if isinstance(step, ScaleoutEstimator)]
        for step in ours:
            step._validate_params()
        dataset = as_dataset(X, y)
        decision = resolve_backend(self, dataset)
        backend = get_backend(decision.backend)
        for step in ours:
            backend.check_supported(step)
        result = backend.fit_pipeline(self, dataset, **params)
        self.backend_ = decision.backend
        self.fit_stats_ = {"backend": decision.backend, "decided_by": decision.rule, **result.stats}
        return self

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Fit on the pipeline's engine, then transform ``X``."""
        return self.fit(X, y, **params).transform(X)

    def fit_predict(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Fit on the pipeline's engine, then predict ``X``."""
        return self.fit(X, y, **params).predict(X)

    def to_sklearn(self) -> _SkPipeline:
        """The equivalent fitted :class:`sklearn.pipeline.Pipeline`."""
        steps = [
            (name, step.to_sklearn() if hasattr(step, "to_sklearn") else copy.deepcopy(step))
            for name, step in self.steps
        ]
        return _SkPipeline(steps, memory=self.memory, verbose=self.verbose)

    def save(self, path: str, *, storage_options: dict[str, Any] | None = None) -> str:
        """Save the fitted pipeline (JSON + NumPy arrays, no pickle).

        See :func:`scaleout.persist.save` for ``path`` (local or a URL) and
        ``storage_options``.
        """
        from .persist import save

        return save(self, path, storage_options=storage_options)


def make_pipeline(
    *steps: Any, backend: str = "auto", memory: Any = None, verbose: bool = False
) -> Pipeline:
    """Build a :class:`Pipeline`, naming steps after their classes.

    Parameters
    ----------
    *steps : estimators
        E.g. ``so.PCA(50), so.LogisticRegression()``.
    backend : str, default="auto"
    memory, verbose
        As in scikit-learn.

    Returns
    -------
    Pipeline
        Steps named like scikit-learn's ``make_pipeline`` ("pca",
        "logisticregression"; repeated names get "-1", "-2").
    """
    names = [type(step).__name__.lower() for step in steps]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    named = []
    for name, step in zip(names, steps, strict=True):
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        named.append((name, step))
    return Pipeline(named, backend=backend, memory=memory, verbose=verbose)
