"""Engine-neutral out-of-core kernels: one module per algorithm, written against ``Passes``.

A kernel is a pair of functions, ``check_<algo>_params(params, *, backend)``
(raises :class:`~scaleout.exceptions.UnsupportedOnBackend` naming the engine
given) and ``fit_<algo>(passes, params, *, backend)`` returning the fitted
state under scikit-learn's attribute names. The data arrive through a
:class:`~scaleout.kernels.passes.Passes` executor (in memory here, Dask
threads or ``distributed`` in :mod:`scaleout.backends.dask`); this package
imports no engine.

An estimator names its kernel with a :class:`Kernel` (its ``_kernel`` class
attribute), so every engine that executes kernels (dask, or a plug-in) fits it
without a table of its own.

Modules: :mod:`.passes` (the contract, the per-chunk store, the in-memory
executor), :mod:`.scatter` (centred scatter statistics), :mod:`.linear`
(LinearRegression), :mod:`.logistic` (LogisticRegression), :mod:`.tree`
(DecisionTreeClassifier / Regressor), :mod:`.kmeans` (KMeans), :mod:`.pca`
(PCA), :mod:`.scalers` (StandardScaler, MinMaxScaler).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

__all__ = ["Kernel", "kernel_of"]


@dataclass(frozen=True)
class Kernel:
    """Where an algorithm's kernel lives: a module and its check and fit functions.

    Attributes
    ----------
    module : str
        E.g. ``"scaleout.kernels.linear"``.
    check, fit : str
        Names of ``check_*_params(params, *, backend)`` and ``fit_*(passes, params, *, backend)``.
    options : tuple of (str, object)
        Keyword arguments both functions take (e.g. ``(("classifier", True),)``).
    """

    module: str
    check: str
    fit: str
    options: tuple[tuple[str, Any], ...] = ()

    def _function(self, name: str, backend: str) -> Any:
        module = importlib.import_module(self.module)
        return partial(getattr(module, name), **dict(self.options), backend=backend)

    def check_params(self, params: dict[str, Any], *, backend: str) -> None:
        """Raise UnsupportedOnBackend (naming ``backend``) for an option the kernel lacks."""
        self._function(self.check, backend)(params)

    def run(
        self,
        passes: Any,
        params: dict[str, Any],
        *,
        backend: str,
        check_target: Callable[[Any], None] | None = None,
    ) -> dict[str, Any]:
        """Fit on ``passes``; scikit-learn's fitted attributes.

        ``check_target`` (a classifier's: the engine passes ``FitTask.check_target``)
        is called with the classes as soon as the kernel's first pass has read them,
        before the rest of the fit.
        """
        extra = {} if check_target is None else {"check_target": check_target}
        return self._function(self.fit, backend)(passes, params, **extra)


def kernel_of(estimator: type) -> Kernel | None:
    """The kernel an estimator class declares (its ``_kernel``), or None."""
    kernel = getattr(estimator, "_kernel", None)
    return kernel if isinstance(kernel, Kernel) else None
