"""The one SparkSession of the process.

:func:`get_session` reuses the active session (inside ``spark-submit``, a
notebook, or a test fixture); otherwise it builds one from the config
(``spark_master``, ``spark_conf``) with quiet, local-friendly defaults, once
per process.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..._config import get_config, is_set
from ...exceptions import InvalidParameterError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "LOCAL_DEFAULTS",
    "SESSION_DEFAULTS",
    "check_session",
    "get_session",
    "is_local",
    "local_driver_memory",
    "quiet_pandas",
]

#: Settings every session scaleout builds starts from (``spark_conf`` overrides them).
SESSION_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
}

#: Extra defaults for ``local[...]`` masters: bound to loopback, few shuffle partitions.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
}

_PANDAS3_WARNING = r"PySpark does not yet fully support pandas >= 3\.0\.0"

_lock = threading.Lock()
_session: SparkSession | None = None


def is_local(master: str) -> bool:
    """Whether ``master`` runs everything in this process (``local``, ``local[4]``...)."""
    return master == "local" or master.startswith("local[")


def _build(master: str, extra: dict[str, Any]) -> SparkSession:
    with quiet_pandas():
        return _build_quietly(master, extra)


def _build_quietly(master: str, extra: dict[str, Any]) -> SparkSession:
    from pyspark.sql import SparkSession

    conf = dict(SESSION_DEFAULTS)
    if is_local(master):
        conf.update(LOCAL_DEFAULTS)
        # Everything runs in the driver JVM: Spark's 1g default heap is too small for
        # MLlib's caches on a few million rows. A maximum, not an allocation.
        conf["spark.driver.memory"] = local_driver_memory()
        # Python workers must be this interpreter (with numpy, pyarrow, scikit-learn),
        # not whatever "python3" is first on the PATH. Classic PySpark reads the
        # environment variable when the context starts (spark.pyspark.python is
        # only honoured by spark-submit).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf.update({str(k): str(v) for k, v in extra.items()})
    _add_cluster_secret(master, conf)
    builder = SparkSession.builder.master(master).appName("scaleout")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _add_cluster_secret(master: str, conf: dict[str, str]) -> None:
    """The secret of a cluster ``scaleout cluster up`` recorded at ``master`` (if any).

    The JVM is started first without it: pyspark passes a new JVM's settings
    on its command line, which every local user can read.
    """
    from ...clusters.credentials import spark_auth_conf

    auth = spark_auth_conf(master) if master.startswith("spark://") else {}
    if not auth:
        return
    for key, value in auth.items():
        conf.setdefault(key, value)
    from pyspark import SparkConf, SparkContext

    if SparkContext._gateway is None:
        public = SparkConf(loadDefaults=False)
        for key, value in conf.items():
            if key != "spark.authenticate.secret":
                public.set(key, value)
        SparkContext._ensure_initialized(conf=public)


def local_driver_memory() -> str:
    """Heap of a local driver: a quarter of this machine's memory, at least 1g."""
    import psutil

    gib = psutil.virtual_memory().total / (1 << 30)
    return f"{max(1, int(gib // 4))}g"


def get_session() -> SparkSession:
    """Return the SparkSession scaleout runs on.

    The active session when there is one (``spark-submit``, a notebook, a
    session you built yourself); otherwise one built from
    ``so.get_config()["spark_master"]`` ("local[*]", "spark://host:7077",
    "yarn", ...) and ``spark_conf`` over :data:`SESSION_DEFAULTS` (UI off,
    console progress bar off, Arrow on) and, for local masters,
    :data:`LOCAL_DEFAULTS` (driver bound to 127.0.0.1, 4 shuffle partitions) and a
    driver heap of a quarter of the machine's memory (:func:`local_driver_memory`).
    Logs are set to ERROR. The session is built once per process; a running
    session is checked against a ``spark_master`` / ``spark_conf`` that was
    set (:func:`check_session`).

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    InvalidParameterError
        When a session runs already and ``spark_master`` or a static
        ``spark_conf`` setting asked for differs from its own (see
        :func:`check_session`).

    Notes
    -----
    For a local master, ``PYSPARK_PYTHON`` is set to this interpreter when
    unset, so Python workers (used by ``predict`` on a Spark DataFrame) find
    the same packages. On a cluster, set ``spark.pyspark.python`` (or
    ``PYSPARK_PYTHON``) to an interpreter that has scaleout installed.
    """
    global _session
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return check_session(active)
    with _lock:
        if _session is not None and not _is_stopped(_session):
            return check_session(_session)
        config = get_config()
        _session = _build(str(config["spark_master"]), dict(config["spark_conf"]))
        return _session


def check_session(session: SparkSession) -> SparkSession:
    """Check a running session against the ``spark_master`` / ``spark_conf`` asked for.

    Only options that were set (``set_config``, ``config_context``,
    ``so.connect``) are compared; at their defaults the running session is
    used as it is. A process has one SparkContext, which cannot move to
    another master or change its static settings; runtime SQL settings
    (``spark.sql.*`` and others Spark lets change) are applied to the running
    session (for every later job of that session).

    Returns
    -------
    pyspark.sql.SparkSession
        ``session``.

    Raises
    ------
    InvalidParameterError
        When ``spark_master`` differs from the running session's master, or a
        ``spark_conf`` setting that cannot change at run time differs from the
        running session's: naming both values and what to do.
    """
    config = get_config()
    running = str(session.sparkContext.master)
    if is_set("spark_master") and str(config["spark_master"]) != running:
        asked = str(config["spark_master"])
        raise InvalidParameterError(
            f"config spark_master={asked!r}, but this process's Spark session already runs "
            f"on {running!r}, and a process has one SparkContext, which cannot move to "
            f"another master. Either so.connect({asked!r}) (it stops the running session, so "
            f"that the next fit starts one on {asked!r}), or stop the session yourself "
            f"(SparkSession.getActiveSession().stop()), or leave spark_master unset (or "
            f"{running!r}) to fit on the running session."
        )
    if not is_set("spark_conf"):
        return session
    spark_conf = session.sparkContext.getConf()
    for key, value in dict(config["spark_conf"]).items():
        key, value = str(key), str(value)
        if session.conf.isModifiable(key):
            if session.conf.get(key, None) != value:
                session.conf.set(key, value)
            continue
        current = spark_conf.get(key, None)
        if current != value:
            raise InvalidParameterError(
                f"config spark_conf[{key!r}]={value!r}, but this process's Spark session "
                f"(master {running!r}) already runs with {key}={current!r}, a setting that "
                "cannot change while the session runs. Stop the session "
                "(SparkSession.getActiveSession().stop()) so that the next fit starts one "
                f"with the new setting, or leave {key!r} out of spark_conf."
            )
    return session


def _is_stopped(session: SparkSession) -> bool:
    context = session.sparkContext
    return getattr(context, "_jsc", None) is None


@contextmanager
def quiet_pandas() -> Iterator[None]:
    """Silence PySpark's "does not yet fully support pandas >= 3.0.0" FutureWarning.

    scaleout's Spark engine moves data with Arrow (``createDataFrame`` from a
    pyarrow Table, ``toArrow``, ``mapInArrow``); those conversions are
    tested with pandas 3, so the warning says nothing about them.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
        yield
