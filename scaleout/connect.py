"""``so.connect(address)``: run later fits on a cluster."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

from ._config import get_config, set_config
from .exceptions import ScaleoutError

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_LOOPBACK_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def connect(address: str | None) -> str | None:
    """Point scaleout at a cluster: later fits with that engine run there.

    Parameters
    ----------
    address : str or None
        ``"tcp://host:port"`` (a Dask ``distributed`` scheduler: sets the
        ``dask_scheduler`` config), ``"spark://host:port"`` (a Spark
        standalone master), ``"yarn"``, ``"local[*]"`` (sets
        ``spark_master``), or None to go back to this machine (both reset).

    Returns
    -------
    str or None
        The engine the address belongs to, ``"dask"`` or ``"spark"``; None for a reset.

    Notes
    -----
    Only the current thread's config changes (as :func:`scaleout.set_config`).
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
        set_config(dask_scheduler=None, spark_master="local[*]")
        _stop_other_session("local[*]")
        return None
    if not isinstance(address, str) or not address:
        raise ScaleoutError(f"connect() expects an address string or None, got {address!r}")
    scheme = address.split("://", 1)[0] if "://" in address else ""
    if scheme in ("tcp", "tls", "ucx", "inproc"):
        set_config(dask_scheduler=address)
        return "dask"
    if (
        scheme in ("spark", "k8s", "mesos")
        or address in ("yarn", "local")
        or address.startswith("local[")
    ):
        conf = dict(get_config()["spark_conf"])
        if scheme == "spark" and urlparse(address).hostname in _LOOPBACK:
            for key, value in _LOOPBACK_CONF.items():
                conf.setdefault(key, value)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        set_config(spark_master=address, spark_conf=conf)
        _stop_other_session(address)
        return "spark"
    raise ScaleoutError(
        f"cannot tell the engine of {address!r}; expected 'tcp://host:port' (dask), "
        "'spark://host:port', 'yarn' or 'local[*]' (spark)"
    )


def _stop_other_session(master: str) -> None:
    if "pyspark" not in sys.modules:
        return
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    session = SparkSession.getActiveSession()
    if session is not None and session.sparkContext.master != master:
        session.stop()
