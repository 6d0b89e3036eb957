"""The one registry of algorithms: estimator class → how each engine runs it.

Every table that lists algorithms (persistence, the command line, jobs, the
benchmark, ``so.explain``) is derived from this registry, so an algorithm is
added in one place:

* the estimator module registers its class with :func:`register_estimator`;
* each engine declares its implementation next to its own code with
  :func:`register_implementation` (the estimator class is the key).

The registry imports no estimator and no engine: estimator modules and
engines import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

from .exceptions import ScaleoutError

__all__ = [
    "algorithm_name",
    "estimator_class",
    "estimator_classes",
    "implementation",
    "register_estimator",
    "register_implementation",
    "registered_engines",
]

E = TypeVar("E", bound=type)

_ESTIMATORS: dict[str, type] = {}
_IMPLEMENTATIONS: dict[type, dict[str, Any]] = {}


def algorithm_name(cls: type) -> str:
    """The command-line name of a class: ``LogisticRegression`` → ``logistic_regression``.

    Runs of capitals stay together (``PCA`` → ``pca``, ``KMeans`` → ``kmeans``).
    """
    name = cls.__name__
    if name == "KMeans":
        return "kmeans"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def register_estimator(cls: E) -> E:
    """Register a scaleout estimator class (usable as a class decorator).

    Parameters
    ----------
    cls : type
        The estimator class; its ``__name__`` is the name saved in model files
        and its :func:`algorithm_name` the command-line name.

    Returns
    -------
    type
        ``cls`` itself.
    """
    _ESTIMATORS[cls.__name__] = cls
    _IMPLEMENTATIONS.setdefault(cls, {})
    return cls


def _load_estimators() -> None:
    # The built-in estimator modules register on import; importing the package does it.
    import scaleout  # noqa: F401


def estimator_classes(*, algorithms_only: bool = False) -> dict[str, type]:
    """Every registered estimator class by class name.

    Parameters
    ----------
    algorithms_only : bool, default=False
        Leave out composites (pipelines), keeping what a job or the CLI can fit alone.
    """
    _load_estimators()
    return {
        name: cls
        for name, cls in sorted(_ESTIMATORS.items())
        if not (algorithms_only and getattr(cls, "_composite", False))
    }


def _normalise(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def estimator_class(name: str) -> type:
    """The estimator class called ``LogisticRegression`` or ``logistic_regression``.

    Raises
    ------
    ScaleoutError
        For an unknown name; the message lists the known algorithm names.
    """
    classes = estimator_classes(algorithms_only=True)
    by_key = {_normalise(cls_name): cls for cls_name, cls in classes.items()}
    cls = by_key.get(_normalise(str(name)))
    if cls is None:
        known = sorted(algorithm_name(c) for c in classes.values())
        raise ScaleoutError(f"unknown algorithm {name!r}; expected one of {known}")
    return cls


def register_implementation(engine: str, estimators: type | Iterable[type], impl: Any) -> Any:
    """Declare that ``engine`` fits ``estimators`` with ``impl``.

    Engines call this next to the code of each algorithm; what ``impl`` is
    belongs to the engine (the registry only stores it).

    Parameters
    ----------
    engine : str
        The engine's name.
    estimators : type or iterable of types
        Estimator classes the implementation fits.
    impl : object
        The engine's implementation.

    Returns
    -------
    object
        ``impl`` itself.
    """
    classes = [estimators] if isinstance(estimators, type) else list(estimators)
    for cls in classes:
        _IMPLEMENTATIONS.setdefault(cls, {})[engine] = impl
    return impl


def implementation(engine: str, cls: type) -> Any | None:
    """What ``engine`` registered for ``cls``, or None."""
    for klass in cls.__mro__:
        impl = _IMPLEMENTATIONS.get(klass, {}).get(engine)
        if impl is not None:
            return impl
    return None


def registered_engines(cls: type) -> list[str]:
    """Engines that registered an implementation for ``cls`` (loaded engines only)."""
    engines: set[str] = set()
    for klass in cls.__mro__:
        engines.update(_IMPLEMENTATIONS.get(klass, {}))
    return sorted(engines)
