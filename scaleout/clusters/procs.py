"""Start, identify and stop the processes of a local cluster."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from ..exceptions import ScaleoutError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int, what: str) -> None:
    """Raise a ScaleoutError when ``port`` on 127.0.0.1 is already taken.

    Parameters
    ----------
    port : int
        The TCP port.
    what : str
        What the port is for, named in the error.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ScaleoutError(
                f"port {port} on 127.0.0.1 ({what}) is already in use; "
                f"choose another with --port/--ui-port, or 0 for a free one"
            ) from None


def resolve_port(port: int) -> int:
    """``port``, or a free port when it is 0."""
    return free_port() if port == 0 else port


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Start ``cmd`` in its own session with stdout/stderr to ``log``.

    Returns
    -------
    dict
        ``pid``, ``create_time`` (to recognise the process later), ``cmd``, ``log``.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return {
        "pid": proc.pid,
        "create_time": psutil.Process(proc.pid).create_time(),
        "cmd": cmd,
        "log": str(log),
    }


def launch(
    state: dict[str, Any],
    head: tuple[str, list[str]],
    workers: list[list[str]],
    logs: Path,
    *,
    ready: Callable[[], bool],
    not_ready: str,
    timeout: float,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Start a cluster's head process and its workers; wait until ``ready()``.

    Every process logs to ``logs/<role>.log`` and is recorded in
    ``state["processes"]`` with its ``role`` (the head's name, then
    ``worker-<i>``). On any failure (a process died, ``timeout`` passed,
    Ctrl-C) all of them are stopped before the error propagates.

    Parameters
    ----------
    state : dict
        The cluster's state (engine, address, ports, ...); completed and returned.
    head : (str, list of str)
        The head's role ("scheduler", "master") and command.
    workers : list of list of str
        One command per worker.
    logs : Path
        Directory of the log files.
    ready : callable
        True once the head lists every worker (OSError: not reachable yet).
    not_ready : str
        The error message when ``timeout`` passes first.
    timeout : float
        Seconds to wait.
    env : dict, optional
        Extra environment of the processes.

    Returns
    -------
    dict
        ``state``, with ``processes``.

    Raises
    ------
    ScaleoutError
        A process died on start (naming it, its log and the log's last
        lines), or the cluster was not ready in time.
    """
    role, command = head
    entry = start(command, logs / f"{role}.log", env)
    state["processes"] = [{**entry, "role": role}]
    try:
        for i, command in enumerate(workers):
            entry = start(command, logs / f"worker-{i}.log", env)
            state["processes"].append({**entry, "role": f"worker-{i}"})
        _wait_ready(state, ready, not_ready, timeout)
    except BaseException:
        stop(state["processes"])
        raise
    return state


def _wait_ready(
    state: dict[str, Any], ready: Callable[[], bool], not_ready: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for entry in state["processes"]:
            if not is_alive(entry):
                last = " | ".join(tail(entry["log"], 3).splitlines())
                raise ScaleoutError(
                    f"{state['engine']} {entry['role']} (pid {entry['pid']}) died on start; "
                    f"log {entry['log']}: {last}"
                )
        try:
            if ready():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ScaleoutError(not_ready)
        time.sleep(0.5)


def process_of(entry: dict[str, Any]) -> psutil.Process | None:
    """The live process recorded in ``entry``, or None when it has gone (or the pid was reused)."""
    try:
        proc = psutil.Process(int(entry["pid"]))
        if abs(proc.create_time() - float(entry["create_time"])) > 1.0:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_alive(entry: dict[str, Any]) -> bool:
    """Whether the process recorded in ``entry`` still runs."""
    return process_of(entry) is not None


def stop(entries: list[dict[str, Any]], timeout: float = 10.0) -> list[int]:
    """Stop the recorded processes and their children: SIGTERM, then SIGKILL after ``timeout``.

    Returns
    -------
    list of int
        The pids that were stopped.
    """
    procs: list[psutil.Process] = []
    for entry in entries:
        proc = process_of(entry)
        if proc is None:
            continue
        try:
            procs.extend(proc.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
        procs.append(proc)
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=timeout)
    return [p.pid for p in procs]


def tail(path: str | Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file ("" when it does not exist)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:]).rstrip()
    except OSError:
        return ""
