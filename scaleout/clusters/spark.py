"""A local Spark standalone cluster: one master and N workers on 127.0.0.1, authenticated."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exceptions import ScaleoutError
from . import procs
from .credentials import make_spark_credentials

DEFAULT_PORT = 7077
DEFAULT_UI_PORT = 8080
#: Spark's default port of the master's REST submission server.
DEFAULT_REST_PORT = 6066

#: Warned (and printed by ``scaleout cluster up --spark-rest``) when the REST server is on.
REST_WARNING = (
    "Spark's REST submission server at {url} has no authentication: any account that can "
    "connect to it can submit a driver that runs code as you (spark.authenticate does not "
    "apply to it); turn it on only when you need it"
)


def spark_home() -> Path:
    """The pyspark package directory, which ships ``bin/spark-class`` and ``bin/spark-submit``."""
    try:
        import pyspark
    except ImportError:
        raise ScaleoutError(
            "pyspark is not installed; install it with: pip install 'scaleout[spark]'"
        ) from None
    return Path(pyspark.__file__).resolve().parent


def check_java() -> str:
    """The java executable ($JAVA_HOME/bin/java or java on the PATH); ScaleoutError if none."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise ScaleoutError(
            "Java was not found (no $JAVA_HOME, no java on the PATH); Spark needs Java 17+ "
            "(3.5 also runs on Java 8 or 11): install e.g. openjdk-17-jre-headless"
        )
    return found


def spark_env(logs: Path | None = None, host: str = "127.0.0.1") -> dict[str, str]:
    """Environment of the Spark processes: SPARK_HOME, bind address, this interpreter.

    Parameters
    ----------
    logs : Path, optional
        The cluster's log directory (``SPARK_LOG_DIR``; the workers' work
        directory is ``<logs>/work``); None: a client (spark-submit), no log directory.
    host : str
        The address the processes bind to (``SPARK_LOCAL_IP``).
    """
    env = {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": host,
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }
    if logs is not None:
        env["SPARK_LOG_DIR"] = str(logs)
        env["SPARK_WORKER_DIR"] = str(logs / "work")
    return env


def master_json(ui_port: int, timeout: float = 2.0, host: str = "127.0.0.1") -> dict[str, Any]:
    """The master web UI's JSON (``/json``): workers, their state, cores, memory."""
    url = f"http://{host}:{ui_port}/json/"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def alive_workers(ui_port: int, host: str = "127.0.0.1") -> int:
    """Number of workers the master reports ALIVE."""
    workers = master_json(ui_port, host=host).get("workers", [])
    return sum(w.get("state") == "ALIVE" for w in workers)


def start_spark(
    workers: int,
    *,
    port: int = DEFAULT_PORT,
    ui_port: int = DEFAULT_UI_PORT,
    cores: int = 1,
    memory: str = "1g",
    timeout: float = 90.0,
    host: str = "127.0.0.1",
    logs: Path,
    env: dict[str, str] | None = None,
    record: Callable[[dict[str, Any]], Any] | None = None,
    rest: bool = False,
    rest_port: int = DEFAULT_REST_PORT,
) -> dict[str, Any]:
    """Start a master and ``workers`` workers; wait until the master lists them ALIVE.

    Every process reads a new secret (``spark.authenticate``, see
    :func:`~scaleout.clusters.credentials.make_spark_credentials`) from a 0600
    properties file; the master's REST submission server is off unless
    ``rest``; every listening socket (master, workers, their web UIs, the
    executors they start, the REST server) is on ``host``.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    port, ui_port : int
        Master RPC and web UI ports on ``host`` (0: a free port).
    cores : int
        Cores each worker offers.
    memory : str
        Memory each worker offers ("1g", "512m").
    timeout : float
        Seconds to wait for the workers.
    host : str
        The address every process listens on.
    logs : Path
        The cluster's log directory.
    env : dict, optional
        Extra environment of the processes.
    record : callable, optional
        Called with the state as soon as each process started.
    rest : bool
        Turn on the master's REST submission server (``spark.master.rest.enabled``),
        on ``host`` only. It has **no authentication** (``spark.authenticate``
        does not cover it): anyone who can connect to it can run code as
        you. A ``UserWarning`` says so.
    rest_port : int
        Its port on ``host`` (default 6066; 0: a free port). Only with ``rest``.

    Returns
    -------
    dict
        The state to record: engine, master URL, ports, the properties file,
        processes (pid, log), ``rest_url`` and ``rest_port`` (None when off).
    """
    check_java()
    port, ui_port = procs.resolve_port(port, host), procs.resolve_port(ui_port, host)
    procs.check_port_free(port, "spark master", host)
    procs.check_port_free(ui_port, "spark master web UI", host)
    env = {**spark_env(logs, host), **(env or {})}
    rest_url = None
    if rest:
        rest_port = procs.resolve_port(rest_port, host)
        procs.check_port_free(rest_port, "spark master REST server", host)
        rest_url = f"spark://{host}:{rest_port}"
        # The master alone reads SPARK_MASTER_OPTS; -D settings win over the properties
        # file (spark.master.rest.enabled false there, for every other process and client).
        opts = (
            f"-Dspark.master.rest.enabled=true -Dspark.master.rest.host={host} "
            f"-Dspark.master.rest.port={rest_port}"
        )
        previous = env.get("SPARK_MASTER_OPTS", os.environ.get("SPARK_MASTER_OPTS", ""))
        env["SPARK_MASTER_OPTS"] = f"{previous} {opts}".strip()
        warnings.warn(REST_WARNING.format(url=rest_url), UserWarning, stacklevel=3)
    Path(env["SPARK_WORKER_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    properties = make_spark_credentials()
    spark_class = str(spark_home() / "bin" / "spark-class")
    url = f"spark://{host}:{port}"
    master = [
        spark_class,
        "org.apache.spark.deploy.master.Master",
        "--host",
        host,
        "--port",
        str(port),
        "--webui-port",
        str(ui_port),
        "--properties-file",
        properties,
    ]
    worker_commands = [
        [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            url,
            "--cores",
            str(cores),
            "--memory",
            memory,
            "--host",
            host,
            "--webui-port",
            "0",
            "--work-dir",
            env["SPARK_WORKER_DIR"],
            "--properties-file",
            properties,
        ]
        for _ in range(workers)
    ]
    state: dict[str, Any] = {
        "engine": "spark",
        "address": url,
        "host": host,
        "port": port,
        "dashboard": f"http://{host}:{ui_port}",
        "ui_port": ui_port,
        "workers": workers,
        "properties_file": properties,
        "rest_url": rest_url,
        "rest_port": rest_port if rest else None,
        "logs": str(logs),
        "started": time.time(),
    }
    return procs.launch(
        state,
        ("master", master),
        worker_commands,
        logs,
        ready=lambda: alive_workers(ui_port, host) >= workers,
        not_ready=(
            f"spark master {url} did not list {workers} ALIVE workers in {timeout:.0f} s; "
            f"see the logs in {logs}"
        ),
        timeout=timeout,
        env=env,
        record=record,
    )
