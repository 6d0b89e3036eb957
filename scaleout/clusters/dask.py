"""A local ``distributed`` cluster: one scheduler and N worker processes on 127.0.0.1."""

from __future__ import annotations

import sys
import time
from typing import Any

from . import procs
from .state import log_dir

DEFAULT_PORT = 8786
DEFAULT_UI_PORT = 8787


def _connected_workers(address: str, timeout: float) -> int:
    from distributed import Client

    with Client(address, timeout=timeout, set_as_default=False) as client:
        return len(client.scheduler_info(n_workers=-1)["workers"])


def start_dask(
    workers: int,
    *,
    port: int = DEFAULT_PORT,
    ui_port: int = DEFAULT_UI_PORT,
    cores: int = 1,
    memory: str = "2GiB",
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Start a scheduler and ``workers`` worker processes; wait until all are connected.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    port, ui_port : int
        Scheduler and dashboard ports on 127.0.0.1 (0: a free port).
    cores : int
        Threads per worker.
    memory : str
        Memory limit per worker ("2GiB", "1g", ...).
    timeout : float
        Seconds to wait for the workers.

    Returns
    -------
    dict
        The state to record: engine, address, ports, processes (pid, log).
    """
    port, ui_port = procs.resolve_port(port), procs.resolve_port(ui_port)
    procs.check_port_free(port, "dask scheduler")
    procs.check_port_free(ui_port, "dask dashboard")
    logs = log_dir("dask")
    address = f"tcp://127.0.0.1:{port}"
    py = [sys.executable, "-m", "dask"]
    scheduler = [
        *py,
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dashboard-address",
        f"127.0.0.1:{ui_port}",
    ]
    worker_commands = [
        [
            *py,
            "worker",
            address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            str(cores),
            "--memory-limit",
            _dask_memory(memory),
            "--no-dashboard",
            "--name",
            f"worker-{i}",
        ]
        for i in range(workers)
    ]
    state: dict[str, Any] = {
        "engine": "dask",
        "address": address,
        "port": port,
        "dashboard": f"http://127.0.0.1:{ui_port}/status",
        "ui_port": ui_port,
        "workers": workers,
        "started": time.time(),
    }
    return procs.launch(
        state,
        ("scheduler", scheduler),
        worker_commands,
        logs,
        ready=lambda: _connected_workers(address, timeout=5) >= workers,
        not_ready=(
            f"dask cluster at {address} did not get {workers} workers in {timeout:.0f} s; "
            f"see the logs in {logs}"
        ),
        timeout=timeout,
    )


def _dask_memory(memory: str) -> str:
    text = memory.strip()
    if text[-1:].lower() in "kmgt" and text[:-1].replace(".", "").isdigit():
        return text[:-1] + text[-1].upper() + "iB"
    return text
