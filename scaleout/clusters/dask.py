"""A local ``distributed`` cluster: one TLS scheduler and N worker processes on 127.0.0.1."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import procs
from .credentials import make_dask_credentials, security_from

DEFAULT_PORT = 8786
DEFAULT_UI_PORT = 8787


def _connected_workers(address: str, security: Any, timeout: float) -> int:
    from distributed import Client

    with Client(address, security=security, timeout=timeout, set_as_default=False) as client:
        return len(client.scheduler_info(n_workers=-1)["workers"])


def start_dask(
    workers: int,
    *,
    port: int = DEFAULT_PORT,
    ui_port: int = DEFAULT_UI_PORT,
    cores: int = 1,
    memory: str = "2GiB",
    timeout: float = 60.0,
    host: str = "127.0.0.1",
    logs: Path,
    env: dict[str, str] | None = None,
    record: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Start a TLS scheduler and ``workers`` worker processes; wait until all are connected.

    Every process uses new TLS credentials
    (:func:`~scaleout.clusters.credentials.make_dask_credentials`) and requires
    them of its peers; every listening socket (scheduler, dashboard, workers,
    nannies, the workers' HTTP servers) is on ``host``.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    port, ui_port : int
        Scheduler and dashboard ports on ``host`` (0: a free port).
    cores : int
        Threads per worker.
    memory : str
        Memory limit per worker ("2GiB", "1g", ...).
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

    Returns
    -------
    dict
        The state to record: engine, ``tls://`` address, ports, credential
        paths (``security``), processes (pid, log).
    """
    port, ui_port = procs.resolve_port(port, host), procs.resolve_port(ui_port, host)
    procs.check_port_free(port, "dask scheduler", host)
    procs.check_port_free(ui_port, "dask dashboard", host)
    files = make_dask_credentials()
    address = f"tls://{host}:{port}"
    tls = [
        "--tls-ca-file",
        files["tls_ca_file"],
        "--tls-cert",
        files["tls_cert"],
        "--tls-key",
        files["tls_key"],
    ]
    py = [sys.executable, "-m", "dask"]
    scheduler = [
        *py,
        "scheduler",
        "--protocol",
        "tls",
        "--host",
        host,
        "--port",
        str(port),
        "--dashboard-address",
        f"{host}:{ui_port}",
        *tls,
    ]
    worker_commands = [
        [
            *py,
            "worker",
            address,
            "--protocol",
            "tls",
            "--host",
            host,
            # the worker's HTTP server (metrics, health) listens even with --no-dashboard:
            # on ':0', i.e. every interface, unless given a host
            "--dashboard-address",
            f"{host}:0",
            "--no-dashboard",
            "--nthreads",
            str(cores),
            "--memory-limit",
            _dask_memory(memory),
            "--name",
            f"worker-{i}",
            *tls,
        ]
        for i in range(workers)
    ]
    state: dict[str, Any] = {
        "engine": "dask",
        "address": address,
        "host": host,
        "port": port,
        "dashboard": f"http://{host}:{ui_port}/status",
        "ui_port": ui_port,
        "workers": workers,
        "security": files,
        "logs": str(logs),
        "started": time.time(),
    }
    security = security_from(files)
    return procs.launch(
        state,
        ("scheduler", scheduler),
        worker_commands,
        logs,
        ready=lambda: _connected_workers(address, security, timeout=5) >= workers,
        not_ready=(
            f"dask cluster at {address} did not get {workers} workers in {timeout:.0f} s; "
            f"see the logs in {logs}"
        ),
        timeout=timeout,
        env={**DASK_ENV, **(env or {})},
        record=record,
    )


#: Dask settings of every process: refuse unencrypted (``tcp://``) connections.
DASK_ENV = {"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}


def _dask_memory(memory: str) -> str:
    text = memory.strip()
    if text[-1:].lower() in "kmgt" and text[:-1].replace(".", "").isdigit():
        return text[:-1] + text[-1].upper() + "iB"
    return text
