"""The in-memory engine: scikit-learn itself.

The data is loaded once into NumPy (column-major, straight from Arrow) and
handed to the mirrored scikit-learn estimator; the fitted attributes are
copied out as plain arrays. Every scaleout estimator runs here, with every
scikit-learn option: the implementation is the estimator's own scikit-learn
class (:meth:`SklearnBackend.supports` says yes to every estimator).

SciPy sparse features are handed to scikit-learn as they are (never
densified), wherever scikit-learn's estimator takes them with the given
parameters (its ``input_tags.sparse``); otherwise
:meth:`SklearnBackend.check_input` refuses them before the fit, naming the
option.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sklearn
from sklearn.tree import BaseDecisionTree

from ..data.sparse import check_sparse_float32_range, is_sparse
from ..data.validate import check_float32_range, check_weight_count
from ..engines.base import Backend, FitResult, FitTask, in_memory_stats
from ..exceptions import DataError, ScaleoutError, UnsupportedOnBackend

if TYPE_CHECKING:
    from ..data import Dataset


class SklearnBackend(Backend):
    """Fit in memory with scikit-learn; supports every scikit-learn option."""

    name = "sklearn"
    requires = ("sklearn",)
    sparse_input = True

    def supports(self, estimator: type) -> bool:
        """Every scaleout estimator: each mirrors a scikit-learn class."""
        return hasattr(estimator, "_sklearn_class")

    def check_supported(self, task: FitTask) -> None:
        """Nothing to refuse: scikit-learn honours all of its own options."""

    def check_input(self, task: FitTask, dataset: Dataset) -> None:
        """Refuse sparse input where scikit-learn's estimator refuses it (e.g. a PCA solver).

        Raises
        ------
        UnsupportedOnBackend
            Naming the option and the values that take sparse input (the
            estimator's ``_sparse_options``), before the data is handed over.
        """
        if not dataset.is_sparse:
            return
        model = task.sklearn_class(**task.sklearn_params())
        if model.__sklearn_tags__().input_tags.sparse:
            return
        options = getattr(task.estimator, "_sparse_options", {})
        for option, values in options.items():
            value = task.params.get(option)
            if value not in values:
                raise UnsupportedOnBackend(
                    f"{task.name}({option}={value!r}) does not take sparse input on backend "
                    f"{self.name!r} (scikit-learn's {task.name} refuses it); with sparse "
                    f"input, supported {option}: {', '.join(map(repr, values))}"
                )
        raise UnsupportedOnBackend(
            f"{task.name} with these parameters does not take sparse input on backend "
            f"{self.name!r} (scikit-learn's {task.name} refuses it); pass dense data"
        )

    def fit(self, task: FitTask, dataset: Dataset, sample_weight: Any = None) -> FitResult:
        if getattr(task.estimator, "_kernel_everywhere", False):
            return self._fit_kernel(task, dataset)
        start = time.perf_counter()
        X, y = dataset.to_numpy()
        loaded = time.perf_counter()
        if task.supervised:
            task.check_target(y)
        check_weight_count(sample_weight, X.shape[0])
        if issubclass(task.sklearn_class, BaseDecisionTree):  # fitted in float32
            check = check_sparse_float32_range if is_sparse(X) else check_float32_range
            check(X, feature_names=dataset.feature_names, why=f"{task.name} on engine 'sklearn'")
        model = task.sklearn_class(**task.sklearn_params())
        fit_args = (X, y) if task.supervised else (X,)
        fit_kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        # The dataset already checked X and y for NaN/inf, with better messages:
        # scikit-learn need not scan them again.
        with sklearn.config_context(assume_finite=True):
            try:
                model.fit(*fit_args, **fit_kwargs)
            except ValueError as exc:  # what scikit-learn refuses in the data (the
                # parameters were checked before): a scaleout error, not a raw traceback
                if isinstance(exc, ScaleoutError):
                    raise
                raise DataError(f"{task.name}: {exc}") from exc
        done = time.perf_counter()
        state = {name: getattr(model, name) for name in task.fitted_attrs if hasattr(model, name)}
        return FitResult(state, in_memory_stats(X.shape[0], start, loaded, done))

    def _fit_kernel(self, task: FitTask, dataset: Dataset) -> FitResult:
        """The kernel over the data in memory: estimators whose every engine runs their kernel.

        The table transformers (``_kernel_everywhere``): their fitted state is the
        kernel's summary, from which scikit-learn's transformer is rebuilt, so
        the in-memory fit is the same code as the out-of-core one.
        """
        from ..kernels import kernel_of
        from ..kernels.passes import InMemoryPasses

        start = time.perf_counter()
        passes = InMemoryPasses(list(dataset.iter_batches()))
        passes.feature_names = list(dataset.feature_names)
        loaded = time.perf_counter()
        kernel = kernel_of(task.estimator)
        assert kernel is not None
        try:
            state = kernel.run(passes, task.params, backend=self.name)
        finally:
            passes.close()
        stats = in_memory_stats(passes.n_rows, start, loaded, time.perf_counter())
        return FitResult(state, {**stats, "passes": passes.passes})

