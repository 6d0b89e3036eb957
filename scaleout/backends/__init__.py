"""scaleout's own engines, one package (or module) each: ``sklearn``, ``dask``, ``spark``.

The contract they implement and the registry that finds them are in
:mod:`scaleout.engines`; this package only holds implementations, which the
registry imports through the ``scaleout.backends`` entry-point group. Engines
may import the estimator classes (they register implementations keyed by
them); nothing below the engines imports this package.
"""

from ..engines import (
    Backend,
    FitResult,
    FitTask,
    PipelineResult,
    available_backends,
    get_backend,
    known_backends,
    register_backend,
)

__all__ = [
    "Backend",
    "FitResult",
    "FitTask",
    "PipelineResult",
    "available_backends",
    "get_backend",
    "known_backends",
    "register_backend",
]
