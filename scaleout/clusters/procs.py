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
from .state import TAG_VARIABLE


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    """Raise a ScaleoutError when ``port`` on ``host`` is already taken.

    Parameters
    ----------
    port : int
        The TCP port.
    what : str
        What the port is for, named in the error.
    host : str
        The address the cluster binds to.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise ScaleoutError(
                f"port {port} on {host} ({what}) is already in use; "
                f"choose another with --port/--ui-port, or 0 for a free one"
            ) from None


def resolve_port(port: int, host: str = "127.0.0.1") -> int:
    """``port``, or a free port on ``host`` when it is 0."""
    return free_port(host) if port == 0 else port


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
    record: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Start a cluster's head process and its workers; wait until ``ready()``.

    Every process logs to ``logs/<role>.log`` and is recorded in
    ``state["processes"]`` with its ``role`` (the head's name, then
    ``worker-<i>``); ``record(state)`` is called as soon as each one started,
    before any waiting, so a ``cluster down`` after an interrupted ``up``
    finds them. On any failure (a process died, ``timeout`` passed, Ctrl-C,
    SIGTERM) all of them are stopped before the error propagates.

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
    record : callable, optional
        Called with ``state`` after each process started (e.g. to write the state file).

    Returns
    -------
    dict
        ``state``, with ``processes`` and ``ready`` True.

    Raises
    ------
    ScaleoutError
        A process died on start (naming it, its log and the log's last
        lines), or the cluster was not ready in time.
    """
    state["processes"] = []
    state["ready"] = False
    commands = [head, *((f"worker-{i}", command) for i, command in enumerate(workers))]
    try:
        for role, command in commands:
            entry = start(command, logs / f"{role}.log", env)
            state["processes"].append({**entry, "role": role})
            if record is not None:
                record(state)
        _wait_ready(state, ready, not_ready, timeout)
    except BaseException:
        stop(state["processes"])
        raise
    state["ready"] = True
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


def stop(
    entries: list[dict[str, Any]], timeout: float = 10.0, tagged: str | None = None
) -> list[int]:
    """Stop the recorded processes and their children: SIGTERM, then SIGKILL after ``timeout``.

    Parameters
    ----------
    entries : list of dict
        Recorded processes (pid and create_time must match).
    timeout : float
        Seconds between SIGTERM and SIGKILL.
    tagged : str, optional
        Also stop every process of this user whose environment has
        :data:`~scaleout.clusters.state.TAG_VARIABLE` set to this value (the
        processes of an ``up`` that was killed before it recorded them).

    Returns
    -------
    list of int
        The pids that were stopped.
    """
    procs: list[psutil.Process] = []
    roots = [p for p in map(process_of, entries) if p is not None]
    if tagged is not None:
        roots += tagged_processes(tagged)
    for proc in roots:
        try:
            procs.extend(proc.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
        procs.append(proc)
    procs = list({p.pid: p for p in procs}.values())
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
    return sorted(p.pid for p in procs)


def tagged_processes(value: str) -> list[psutil.Process]:
    """This user's processes whose environment has ``SCALEOUT_CLUSTER=value``."""
    uid, found = os.getuid(), []
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] is None or proc.info["uids"].real != uid:
                continue
            if proc.pid != os.getpid() and proc.environ().get(TAG_VARIABLE) == value:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def tail(path: str | Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file ("" when it does not exist)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:]).rstrip()
    except OSError:
        return ""
