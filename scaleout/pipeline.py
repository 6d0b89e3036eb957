"""Pipelines whose every step runs on the same engine.

:class:`Pipeline` is scikit-learn's ``Pipeline`` with a ``backend``
parameter: the engine is chosen once for the whole pipeline and every step
is checked against it before any data moves.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections import Counter
from typing import Any

import sklearn
from sklearn.pipeline import Pipeline as _SkPipeline
from sklearn.utils.metaestimators import available_if

from ._config import config_context
from ._params import validate_backend_param
from ._task import FitTask
from .base import ScaleoutEstimator
from .data import Dataset
from .data.validate import check_step_output
from .engines import Backend, get_backend, in_memory_stats, wrap_input
from .engines.resolve import resolve_backend, takes_sparse_input
from .exceptions import DataError, UnsupportedOnBackend
from .registry import register_estimator


def _naming_steps(name: str) -> Any:
    """scikit-learn's ``Pipeline.<name>``, whose DataError names the step at fault.

    A later step refuses its input (an earlier step's output) naming columns
    ``'x0'``, ... that the user never had: the error then names the step whose
    output it was (:meth:`Pipeline._check_step_outputs`). Available exactly
    when scikit-learn's method is.
    """

    def method(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(super(Pipeline, self), name)(X, *args, **kwargs)
        except DataError:
            self._check_step_outputs(X)
            raise

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(_SkPipeline, name).__doc__
    return available_if(lambda self: hasattr(super(Pipeline, self), name))(method)


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

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's Pipeline tags; no sparse input on an engine that refuses it."""
        tags = super().__sklearn_tags__()
        if not takes_sparse_input(self.backend):
            tags.input_tags.sparse = False
        return tags

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
        dataset = self._open_input(X, y)
        decision = resolve_backend(self, dataset)
        backend = get_backend(decision.backend)
        if backend.native_pipelines:
            stats = self._fit_on_engine(backend, dataset, params)
        else:
            for step in ours:
                backend.check_supported(FitTask.of(step))
            stats = self._fit_in_memory(backend.name, dataset, params)
        self.backend_ = decision.backend
        self.fit_stats_ = {"backend": decision.backend, "decided_by": decision.rule, **stats}
        return self

    def _open_input(self, X: Any, y: Any) -> Dataset:
        """The data as the first step reads it: a raw table for a table transformer."""
        from ._table import TableTransformer
        from .data.table import open_table

        first = next((s for _, s in self.steps if s not in (None, "passthrough")), None)
        if isinstance(first, TableTransformer):
            return open_table(X, y)
        return wrap_input(X, y)

    def _fit_on_engine(
        self, backend: Backend, dataset: Dataset, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The engine fits every step (streaming); each step takes its state back."""
        for name, step in self.steps:
            if not isinstance(step, ScaleoutEstimator):
                raise UnsupportedOnBackend(
                    f"pipeline step {name!r} ({type(step).__name__}) is not a scaleout "
                    f"estimator; backend {backend.name!r} runs only scaleout estimators"
                )
        tasks = [FitTask.of(step) for _, step in self.steps]
        for task in tasks:
            backend.check_supported(task)
        backend.check_input(tasks[0], dataset)  # the first step reads the data (sparse?)
        result = backend.fit_pipeline(tasks, dataset, **params)
        names = dataset.feature_names if dataset.has_feature_names else None
        for index, ((_, step), fitted) in enumerate(zip(self.steps, result.steps, strict=True)):
            step._set_fitted(
                fitted.state,
                n_features=dataset.n_features if fitted.n_features is None else fitted.n_features,
                feature_names=names if index == 0 else None,
                backend=backend.name,
                stats={"backend": backend.name, "decided_by": "pipeline", **result.stats},
            )
        return result.stats

    def _fit_in_memory(
        self, engine: str, dataset: Dataset, params: dict[str, Any]
    ) -> dict[str, Any]:
        """scikit-learn's Pipeline over the data in memory, every scaleout step on ``engine``."""
        start = time.perf_counter()
        X, y = dataset.to_numpy()
        loaded = time.perf_counter()
        before = [_fitted_state(step) for _, step in self.steps]
        # The dataset checked X and y for NaN/inf already.
        with config_context(backend=engine), sklearn.config_context(assume_finite=True):
            try:
                _SkPipeline.fit(self, X, y, **params)
            except DataError:
                self._check_step_outputs(X, before)  # a step's output at fault: name it
                raise
        return in_memory_stats(X.shape[0], start, loaded, time.perf_counter())

    def _check_step_outputs(self, X: Any, before: list[dict[str, int]] | None = None) -> None:
        """After a DataError: raise the one naming the step whose output caused it, if any.

        The steps are replayed on ``X`` (in a fit: those it completed, whose
        fitted attributes changed from ``before``); each output is checked as
        the next step's input (:func:`~scaleout.data.validate.check_step_output`).
        Nothing is raised when they are all valid: the error was the failing
        step's own, and the caller raises it.
        """
        Xt = X
        estimators = [(i, step) for i, (_, step) in enumerate(self.steps)
                      if step not in (None, "passthrough")]
        for (index, step), (_, consumer) in itertools.pairwise(estimators):
            if before is not None and _fitted_state(step) == before[index]:
                return  # not fitted by this fit: the error came from it
            try:
                Xt = step.transform(Xt)
            except DataError:
                return  # the step's own input: its error stands
            check_step_output(
                Xt, step=type(step).__name__, index=index, consumer=type(consumer).__name__
            )

    predict = _naming_steps("predict")
    predict_proba = _naming_steps("predict_proba")
    predict_log_proba = _naming_steps("predict_log_proba")
    decision_function = _naming_steps("decision_function")
    score = _naming_steps("score")
    score_samples = _naming_steps("score_samples")
    transform = _naming_steps("transform")

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


def _fitted_state(step: Any) -> dict[str, int]:
    """Identity of ``step``'s fitted attributes (``name_``): changes when a fit sets them."""
    if step is None or isinstance(step, str):
        return {}
    return {k: id(v) for k, v in vars(step).items() if k.endswith("_") and not k.startswith("_")}


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
