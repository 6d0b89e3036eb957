"""A local Spark standalone cluster: one master and N workers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ..exceptions import ScaleoutError
from . import procs
from .state import log_dir

DEFAULT_PORT = 7077
DEFAULT_UI_PORT = 8080


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


def spark_env() -> dict[str, str]:
    """Environment of the Spark processes: SPARK_HOME, loopback address, this interpreter."""
    return {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "SPARK_LOG_DIR": str(log_dir("spark")),
        "SPARK_WORKER_DIR": str(log_dir("spark") / "work"),
    }


def master_json(ui_port: int, timeout: float = 2.0) -> dict[str, Any]:
    """The master web UI's JSON (``/json``): workers, their state, cores, memory."""
    url = f"http://127.0.0.1:{ui_port}/json/"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def alive_workers(ui_port: int) -> int:
    """Number of workers the master reports ALIVE."""
    return sum(w.get("state") == "ALIVE" for w in master_json(ui_port).get("workers", []))


def start_spark(
    workers: int,
    *,
    port: int = DEFAULT_PORT,
    ui_port: int = DEFAULT_UI_PORT,
    cores: int = 1,
    memory: str = "1g",
    timeout: float = 90.0,
) -> dict[str, Any]:
    """Start a master and ``workers`` workers; wait until the master lists them ALIVE.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    port, ui_port : int
        Master RPC and web UI ports on 127.0.0.1 (0: a free port).
    cores : int
        Cores each worker offers.
    memory : str
        Memory each worker offers ("1g", "512m").
    timeout : float
        Seconds to wait for the workers.

    Returns
    -------
    dict
        The state to record: engine, master URL, ports, processes (pid, log).
    """
    check_java()
    port, ui_port = procs.resolve_port(port), procs.resolve_port(ui_port)
    procs.check_port_free(port, "spark master")
    procs.check_port_free(ui_port, "spark master web UI")
    env = spark_env()
    Path(env["SPARK_WORKER_DIR"]).mkdir(parents=True, exist_ok=True)
    logs = log_dir("spark")
    spark_class = str(spark_home() / "bin" / "spark-class")
    url = f"spark://127.0.0.1:{port}"
    master = [
        spark_class,
        "org.apache.spark.deploy.master.Master",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--webui-port",
        str(ui_port),
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
            "127.0.0.1",
            "--webui-port",
            "0",
            "--work-dir",
            env["SPARK_WORKER_DIR"],
        ]
        for _ in range(workers)
    ]
    state: dict[str, Any] = {
        "engine": "spark",
        "address": url,
        "port": port,
        "dashboard": f"http://127.0.0.1:{ui_port}",
        "ui_port": ui_port,
        "workers": workers,
        "started": time.time(),
    }
    return procs.launch(
        state,
        ("master", master),
        worker_commands,
        logs,
        ready=lambda: alive_workers(ui_port) >= workers,
        not_ready=(
            f"spark master {url} did not list {workers} ALIVE workers in {timeout:.0f} s; "
            f"see the logs in {logs}"
        ),
        timeout=timeout,
        env=env,
    )
