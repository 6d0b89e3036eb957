"""``so.connect(address)``: run later fits on a cluster.

The address is handed to the engine that accepts it (each engine declares its
address schemes, see :class:`scaleout.engines.Backend`).
"""

from __future__ import annotations

from .engines import available_backends, backend_class, get_backend, known_backends
from .exceptions import ScaleoutError


def connect(address: str | None) -> str | None:
    """Point scaleout at a cluster: later fits with that engine run there.

    Parameters
    ----------
    address : str or None
        ``"tcp://host:port"`` (a Dask ``distributed`` scheduler: sets the
        ``dask_scheduler`` config), ``"spark://host:port"`` (a Spark
        standalone master), ``"yarn"``, ``"local[*]"`` (sets
        ``spark_master``), an address of a plug-in engine, or None to go back
        to this machine (every engine resets).

    Returns
    -------
    str or None
        The engine the address belongs to, e.g. ``"dask"`` or ``"spark"``; None for a reset.

    Notes
    -----
    Outside a :func:`scaleout.config_context` the setting is process-wide: fits in
    every thread see it (as :func:`scaleout.set_config`); inside one, it lasts as
    long as that context.
    For a Spark master on 127.0.0.1 the driver is bound to loopback too, and
    the executors use this interpreter (``PYSPARK_PYTHON``) unless set. A
    Spark session already started by scaleout on another master is stopped,
    so the next fit builds one on the new master.

    Examples
    --------
    >>> import scaleout as so
    >>> so.connect("tcp://127.0.0.1:8786")  # doctest: +SKIP
    'dask'
    """
    if address is None:
        for name in available_backends():
            get_backend(name).connect(None)
        return None
    if not isinstance(address, str) or not address:
        raise ScaleoutError(f"connect() expects an address string or None, got {address!r}")
    for name in known_backends():
        if backend_class(name).accepts_address(address):
            get_backend(name).connect(address)
            return name
    expected = [
        f"{backend_class(name).address_help} ({name})"
        for name in known_backends()
        if backend_class(name).address_help
    ]
    raise ScaleoutError(
        f"cannot tell the engine of {address!r}; expected {', '.join(expected)}"
    )
