"""The registry of engines, and the contract they implement (:mod:`.base`).

Engines are :class:`~scaleout.engines.base.Backend` subclasses found through
the ``scaleout.backends`` entry-point group (scaleout's own three are
registered there too, in pyproject.toml), or registered at run time with
:func:`register_backend`, as joblib's ``register_parallel_backend`` keeps a
small name → factory table. An engine's class is imported when the registry
is first read (it must import without the engine's packages); the engine
itself is created on first use, after its packages were found.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
from typing import Any

from ..exceptions import BackendUnavailable
from .base import Backend, FitResult, FitTask, PipelineResult, in_memory_stats

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "FitResult",
    "FitTask",
    "PipelineResult",
    "available_backends",
    "backend_class",
    "claiming_backend",
    "engines_for",
    "format_support_matrix",
    "get_backend",
    "in_memory_stats",
    "known_backends",
    "register_backend",
    "support_matrix",
    "unregister_backend",
    "wrap_input",
]

ENTRY_POINT_GROUP = "scaleout.backends"

#: scaleout's own engines, used only when the package's metadata (and so its
#: entry points) cannot be read, e.g. a source tree on sys.path that was never
#: installed. An installed scaleout reads them from the entry points.
_BUILTIN = {
    "sklearn": "scaleout.backends.sklearn:SklearnBackend",
    "dask": "scaleout.backends.dask:DaskBackend",
    "spark": "scaleout.backends.spark:SparkBackend",
}

log = logging.getLogger("scaleout")

_CLASSES: dict[str, type[Backend]] = {}
_INSTANCES: dict[str, Backend] = {}
_loaded = False


def _load(target: str) -> type[Backend]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _discover() -> None:
    """Read the entry points once (later registrations override them)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    targets = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    for name, target in _BUILTIN.items():
        targets.setdefault(name, target)
    for name, target in targets.items():
        if name in _CLASSES:
            continue
        try:
            cls = _load(target)
        except Exception as exc:  # a broken plug-in must not break the others
            log.warning("scaleout: engine %r (%s) could not be loaded: %s", name, target, exc)
            continue
        _CLASSES[name] = cls


def register_backend(backend: type[Backend], name: str | None = None) -> None:
    """Add (or replace) an engine.

    Parameters
    ----------
    backend : type
        A :class:`Backend` subclass.
    name : str, optional
        The name users pass as ``backend=``; default ``backend.name``.
    """
    _discover()
    if not (isinstance(backend, type) and issubclass(backend, Backend)):
        raise TypeError(f"register_backend expects a Backend subclass, got {backend!r}")
    key = name or backend.name
    _CLASSES[key] = backend
    _INSTANCES.pop(key, None)


def unregister_backend(name: str) -> None:
    """Remove an engine (tests; a plug-in that is going away)."""
    _discover()
    _CLASSES.pop(name, None)
    _INSTANCES.pop(name, None)


def known_backends() -> list[str]:
    """Names of every registered engine, installed or not."""
    _discover()
    return sorted(_CLASSES)


def available_backends() -> list[str]:
    """Names of the registered engines whose packages are installed."""
    return [name for name in known_backends() if _CLASSES[name].is_installed()]


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name``.

    Raises
    ------
    BackendUnavailable
        When ``name`` is not registered; the message lists the valid names.
    """
    _discover()
    try:
        return _CLASSES[name]
    except (KeyError, TypeError):
        valid = ["auto", *known_backends()]
        raise BackendUnavailable(f"Invalid backend: {name!r}, expected one of {valid}") from None


def get_backend(name: str) -> Backend:
    """Return the engine called ``name``, created on first use.

    Raises
    ------
    BackendUnavailable
        When ``name`` is unknown, or its packages are not installed (the
        message gives the ``pip install`` command).
    """
    if name in _INSTANCES:
        return _INSTANCES[name]
    cls = backend_class(name)
    missing = [pkg for pkg in cls.requires if importlib.util.find_spec(pkg) is None]
    if missing:
        hint = (
            f"pip install 'scaleout[{cls.extra}]'"
            if cls.extra
            else f"pip install {' '.join(missing)}"
        )
        raise BackendUnavailable(
            f"Backend {name!r} needs {', '.join(missing)}, which is not installed; "
            f"install it with: {hint}. Installed backends: {available_backends()}"
        )
    if cls.implementations_module:
        importlib.import_module(cls.implementations_module)
    backend = cls()
    _INSTANCES[name] = backend
    return backend


def engines_for(estimator: type) -> list[str]:
    """The installed engines that fit ``estimator`` (a scaleout estimator class)."""
    return [name for name in available_backends() if get_backend(name).supports(estimator)]


def support_matrix() -> dict[str, list[str]]:
    """Every registered algorithm → the installed engines that fit it.

    Derived from the algorithm registry and the engines' declarations; shown
    by ``scaleout --help`` and ``so.explain``.
    """
    from ..registry import estimator_classes

    return {
        name: engines_for(cls) for name, cls in estimator_classes(algorithms_only=True).items()
    }


def format_support_matrix() -> str:
    """:func:`support_matrix` as a text table, one algorithm a line."""
    matrix = support_matrix()
    engines = available_backends()
    width = max(len(name) for name in matrix) if matrix else 10
    lines = [f"{'algorithm':<{width}}  " + "  ".join(engines)]
    for name, fitted_by in matrix.items():
        marks = "  ".join(f"{'yes' if e in fitted_by else '-':<{len(e)}}" for e in engines)
        lines.append(f"{name:<{width}}  {marks}".rstrip())
    return "\n".join(lines)


def claiming_backend(data: Any) -> str | None:
    """The engine whose own type ``data`` is (a Spark DataFrame: ``"spark"``), or None."""
    for name in known_backends():
        if _CLASSES[name].claims(data):
            return name
    return None


def wrap_input(X: Any, y: Any = None) -> Any:
    """Wrap the data given to ``fit`` in a Dataset: an engine's own frame by that engine.

    The data layer knows no engine; a Spark or Dask DataFrame is recognised by
    the engine that :meth:`~Backend.claims` it, which wraps it.
    """
    from ..data import Dataset, as_dataset

    if not isinstance(X, Dataset):
        engine = claiming_backend(X)
        if engine is not None:
            return get_backend(engine).wrap(X, y)
    return as_dataset(X, y)
