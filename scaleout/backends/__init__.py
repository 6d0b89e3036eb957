"""The registry of engines.

A backend is registered by name with the module that implements it, the
packages it needs and the ``pip install`` extra that brings them; it is
imported only when first used, as joblib's ``register_parallel_backend``
keeps a small name → factory table.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from ..exceptions import BackendUnavailable
from .base import Backend, FitResult

__all__ = [
    "Backend",
    "BackendSpec",
    "FitResult",
    "available_backends",
    "backend_spec",
    "get_backend",
    "known_backends",
    "register_backend",
]


@dataclass(frozen=True)
class BackendSpec:
    """How to find and install one backend.

    Attributes
    ----------
    name : str
        The name users pass as ``backend=``.
    module : str
        Module defining ``BACKEND``, the backend class.
    requires : tuple of str
        Importable packages the backend needs.
    extra : str or None
        The ``pip install 'scaleout[extra]'`` that brings them.
    out_of_core : bool
        Whether the size rule may pick it for data larger than memory.
    """

    name: str
    module: str
    requires: tuple[str, ...] = ()
    extra: str | None = None
    out_of_core: bool = False

    def is_installed(self) -> bool:
        """Whether every package in ``requires`` can be imported."""
        return all(importlib.util.find_spec(pkg) is not None for pkg in self.requires)


_REGISTRY: dict[str, BackendSpec] = {}
_INSTANCES: dict[str, Backend] = {}


def register_backend(spec: BackendSpec) -> None:
    """Add (or replace) a backend in the registry.

    Parameters
    ----------
    spec : BackendSpec
        Where the backend lives and what it needs.
    """
    _REGISTRY[spec.name] = spec
    _INSTANCES.pop(spec.name, None)


def known_backends() -> list[str]:
    """Names of every registered backend, installed or not."""
    return sorted(_REGISTRY)


def available_backends() -> list[str]:
    """Names of the registered backends whose packages are installed."""
    return [name for name in known_backends() if _REGISTRY[name].is_installed()]


def backend_spec(name: str) -> BackendSpec:
    """Return the registry entry of ``name``.

    Raises
    ------
    BackendUnavailable
        When ``name`` is not registered; the message lists the valid names.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        valid = ["auto", *known_backends()]
        raise BackendUnavailable(f"Invalid backend: {name!r}, expected one of {valid}") from None


def get_backend(name: str) -> Backend:
    """Return the backend called ``name``, importing it on first use.

    Raises
    ------
    BackendUnavailable
        When ``name`` is unknown, or its packages are not installed (the
        message gives the ``pip install`` command).
    """
    if name in _INSTANCES:
        return _INSTANCES[name]
    spec = backend_spec(name)
    missing = [pkg for pkg in spec.requires if importlib.util.find_spec(pkg) is None]
    if missing:
        hint = (
            f"pip install 'scaleout[{spec.extra}]'"
            if spec.extra
            else f"pip install {' '.join(missing)}"
        )
        raise BackendUnavailable(
            f"Backend {name!r} needs {', '.join(missing)}, which is not installed; "
            f"install it with: {hint}. Installed backends: {available_backends()}"
        )
    backend = importlib.import_module(spec.module).BACKEND()
    _INSTANCES[name] = backend
    return backend


register_backend(BackendSpec("sklearn", "scaleout.backends.sklearn", requires=("sklearn",)))
register_backend(
    BackendSpec(
        "dask",
        "scaleout.backends.dask",
        requires=("dask", "distributed"),
        extra="dask",
        out_of_core=True,
    )
)
register_backend(
    BackendSpec("spark", "scaleout.backends.spark", requires=("pyspark",), extra="spark")
)
