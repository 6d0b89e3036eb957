"""Configuration: which engine, where it runs, how much memory.

Modelled on scikit-learn's ``set_config`` / ``config_context``, with one
difference a multi-threaded program needs: :func:`set_config` (and
:func:`scaleout.connect`) outside any ``config_context`` set the
**process-wide** defaults, seen by fits in every thread (a thread pool of fits
included), while :func:`config_context` overrides options only for the code
it wraps, in its own thread (a :mod:`contextvars` context: a new thread does
not inherit it). ``set_config`` inside a ``config_context`` changes that
context's options only, and they are undone when it exits, as in
scikit-learn.

Lookup order: the innermost ``config_context``, then the process-wide values
set by ``set_config`` / ``connect``, then the defaults.
"""

from __future__ import annotations

import contextvars
import numbers
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
    # Most distinct values an encoder / a most_frequent imputer counts per column.
    "max_distinct_values": 100_000,
    # Spark: master URL and extra ``spark.*`` settings for a new session.
    "spark_master": "local[*]",
    "spark_conf": {},
    # Show per-pass progress lines / bars on long fits.
    "progress": True,
}

#: Accepted values of ``dask_cache``.
DASK_CACHE_VALUES = ("auto", "memory", "spill", "none")

_lock = threading.Lock()
#: Options set process-wide (by ``set_config`` / ``connect`` outside any context).
_process: dict[str, Any] = {}
#: Options of the innermost ``config_context`` of this thread / task (None: none active).
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "scaleout_config", default=None
)


def get_config() -> dict[str, Any]:
    """Return a copy of the current configuration.

    Returns
    -------
    dict
        Keys: ``backend``, ``memory_budget``, ``memory_fraction``,
        ``dask_scheduler``, ``dask_cache``, ``dask_chunk_rows``,
        ``spark_master``, ``spark_conf``, ``progress``.
    """
    with _lock:
        config = {**_DEFAULTS, **_process}
    config.update(_context.get() or {})
    return config


def is_set(key: str) -> bool:
    """Whether option ``key`` was set (by ``set_config``, ``connect`` or a
    ``config_context`` in effect here) rather than left at its default."""
    return key in (_context.get() or {}) or key in _process


def set_config(**options: Any) -> None:
    """Set configuration options.

    Outside any :func:`config_context`, the options become the process-wide
    defaults: every thread's later fits see them. Inside a ``config_context``,
    they change that context only (undone when it exits).

    Parameters
    ----------
    **options
        Any of the keys listed by :func:`get_config`. ``backend`` is an engine
        name ("sklearn", "dask", "spark") or "auto"; ``memory_budget`` is a
        number of bytes or None; ``dask_cache`` one of "auto", "memory",
        "spill", "none"; ``dask_chunk_rows`` a positive int.

    Raises
    ------
    InvalidParameterError
        For an unknown key or a value of the wrong kind (naming the option
        and what it accepts); nothing is set then.
    """
    for key, value in options.items():
        if key not in _DEFAULTS:
            raise InvalidParameterError(
                f"Unknown scaleout config option {key!r}; valid options: {sorted(_DEFAULTS)}"
            )
        _check_option(key, value)
    local = _context.get()
    if local is not None:
        local.update(options)
        return
    with _lock:
        _process.update(options)


def _check_option(key: str, value: Any) -> None:
    if key == "backend" and not isinstance(value, str):
        raise InvalidParameterError(f"config 'backend' must be a string, got {value!r}")
    if (
        key == "memory_budget"
        and value is not None
        and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0)
    ):
        raise InvalidParameterError(
            f"config 'memory_budget' must be a positive number of bytes or None, got {value!r}"
        )
    if key == "memory_fraction" and not (
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
    ):
        raise InvalidParameterError(f"config 'memory_fraction' must be in (0, 1], got {value!r}")
    if key == "spark_conf" and not isinstance(value, dict):
        raise InvalidParameterError(f"config 'spark_conf' must be a dict, got {value!r}")
    if key == "spark_master" and not (isinstance(value, str) and value):
        raise InvalidParameterError(
            f"config 'spark_master' must be a Spark master URL such as 'local[*]' or "
            f"'spark://host:7077', got {value!r}"
        )
    if key == "dask_cache" and value not in DASK_CACHE_VALUES:
        raise InvalidParameterError(
            f"config 'dask_cache' must be one of {', '.join(map(repr, DASK_CACHE_VALUES))}, "
            f"got {value!r}"
        )
    if key == "dask_chunk_rows" and not (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    ):
        raise InvalidParameterError(
            f"config 'dask_chunk_rows' must be a positive int (rows per chunk, e.g. 250000), "
            f"got {value!r}"
        )
    if key == "dask_scheduler" and value is not None and not isinstance(value, str):
        raise InvalidParameterError(
            "config 'dask_scheduler' must be None, 'threads' or a scheduler address such as "
            f"'tcp://host:8786', got {value!r}"
        )


@contextmanager
def config_context(**options: Any) -> Iterator[None]:
    """Temporarily change configuration options for the code it wraps.

    The change is seen in this thread (and in asyncio tasks started inside
    it), not by other threads: those see the process-wide values of
    :func:`set_config`.

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
    for key, value in options.items():
        if key not in _DEFAULTS:
            raise InvalidParameterError(
                f"Unknown scaleout config option {key!r}; valid options: {sorted(_DEFAULTS)}"
            )
        _check_option(key, value)
    token = _context.set({**(_context.get() or {}), **options})
    try:
        yield
    finally:
        _context.reset(token)


def memory_budget() -> int:
    """Bytes of data the in-memory engine (and a fit's caches) may take.

    ``memory_budget`` from the config when set, else ``memory_fraction`` of
    the memory available now.
    """
    config = get_config()
    if config["memory_budget"] is not None:
        return int(config["memory_budget"])
    return int(psutil.virtual_memory().available * config["memory_fraction"])
