"""Thread-local configuration: which engine, where it runs, how much memory.

Modelled on scikit-learn's ``set_config`` / ``config_context``: a global
default, overridden per thread by :func:`set_config`, and temporarily by the
:func:`config_context` context manager.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil

from .exceptions import InvalidParameterError

_DEFAULTS: dict[str, Any] = {
    # Engine for estimators whose own ``backend`` parameter is "auto".
    "backend": "auto",
    # Bytes of in-memory data above which the size rule leaves scikit-learn.
    # None: a fraction (``memory_fraction``) of the memory available at fit time.
    "memory_budget": None,
    "memory_fraction": 0.5,
    # Dask: None (an active distributed.Client if any, else this machine's threads),
    # "threads" (this machine even when a Client is active), or "tcp://host:port".
    "dask_scheduler": None,
    # Where the local executor keeps decoded chunks between passes:
    # "auto" (memory when the data fits the memory budget, else spill), "memory", "spill",
    # or "none" (re-read the files on every pass).
    "dask_cache": "auto",
    # Preferred rows per chunk (Parquet row groups are grouped up to this size).
    "dask_chunk_rows": 250_000,
    # Spark: master URL and extra ``spark.*`` settings for a new session.
    "spark_master": "local[*]",
    "spark_conf": {},
    # Show per-pass progress lines / bars on long fits.
    "progress": True,
}

_local = threading.local()


def _thread_config() -> dict[str, Any]:
    if not hasattr(_local, "config"):
        _local.config = dict(_DEFAULTS)
    return _local.config


def get_config() -> dict[str, Any]:
    """Return a copy of the current configuration.

    Returns
    -------
    dict
        Keys: ``backend``, ``memory_budget``, ``memory_fraction``,
        ``dask_scheduler``, ``spark_master``, ``spark_conf``, ``progress``.
    """
    return dict(_thread_config())


def set_config(**options: Any) -> None:
    """Set configuration options for the current thread.

    Parameters
    ----------
    **options
        Any of the keys listed by :func:`get_config`. ``backend`` is an engine
        name ("sklearn", "dask", "spark") or "auto"; ``memory_budget`` is a
        number of bytes or None.

    Raises
    ------
    InvalidParameterError
        For an unknown key or a value of the wrong kind.
    """
    config = _thread_config()
    for key, value in options.items():
        if key not in _DEFAULTS:
            raise InvalidParameterError(
                f"Unknown scaleout config option {key!r}; valid options: {sorted(_DEFAULTS)}"
            )
        _check_option(key, value)
    config.update(options)


def _check_option(key: str, value: Any) -> None:
    if key == "backend" and not isinstance(value, str):
        raise InvalidParameterError(f"config 'backend' must be a string, got {value!r}")
    if (
        key == "memory_budget"
        and value is not None
        and (not isinstance(value, (int, float)) or value <= 0)
    ):
        raise InvalidParameterError(
            f"config 'memory_budget' must be a positive number of bytes or None, got {value!r}"
        )
    if key == "memory_fraction" and not (isinstance(value, (int, float)) and 0 < value <= 1):
        raise InvalidParameterError(f"config 'memory_fraction' must be in (0, 1], got {value!r}")
    if key == "spark_conf" and not isinstance(value, dict):
        raise InvalidParameterError(f"config 'spark_conf' must be a dict, got {value!r}")


@contextmanager
def config_context(**options: Any) -> Iterator[None]:
    """Temporarily change configuration options in the current thread.

    Parameters
    ----------
    **options
        As for :func:`set_config`.

    Examples
    --------
    >>> import scaleout as so
    >>> with so.config_context(backend="sklearn"):
    ...     so.get_config()["backend"]
    'sklearn'
    """
    old = get_config()
    set_config(**options)
    try:
        yield
    finally:
        _thread_config().clear()
        _thread_config().update(old)


def memory_budget() -> int:
    """Bytes of data the in-memory engine (and a fit's caches) may take.

    ``memory_budget`` from the config when set, else ``memory_fraction`` of
    the memory available now.
    """
    config = get_config()
    if config["memory_budget"] is not None:
        return int(config["memory_budget"])
    return int(psutil.virtual_memory().available * config["memory_fraction"])
