"""Local clusters on 127.0.0.1: ``scaleout cluster up|down|status``.

:func:`up` starts a Dask (TLS scheduler + workers) or Spark standalone
(authenticated master + workers) cluster as background processes, with new
credentials, and records them in a JSON state file (``$SCALEOUT_STATE_DIR``
or ``~/.scaleout/clusters/<engine>.json``, see :mod:`.state`); :func:`status`
reads it back and checks each process; :func:`down` stops exactly the recorded
processes (matched by pid and start time) and those tagged with the state
directory, and removes the state and the credentials.

``up`` and ``down`` hold the engine's lock (``<engine>.lock``) while they run:
a second ``up`` or a ``down`` of the same engine meanwhile fails at once with a
:class:`~scaleout.exceptions.ClusterError` naming the holder's pid. ``up``
records each process as soon as it started, so ``down`` stops everything
even after an ``up`` that was killed or failed halfway.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..exceptions import ClusterError, ScaleoutError
from . import procs
from .state import (
    ENGINES,
    TAG_VARIABLE,
    locked,
    log_dir,
    read_state,
    remove_state,
    state_file,
    tag,
    write_state,
)

__all__ = ["ENGINES", "down", "status", "up"]


@contextmanager
def _sigterm_interrupts(engine: str) -> Iterator[None]:
    """Turn SIGTERM into a ClusterError while starting, so the started processes are stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise ClusterError(
            f"cluster up --engine {engine} was stopped by signal {signum} (SIGTERM) before the "
            "cluster was ready; the processes it had started are stopped"
        )

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def up(engine: str, workers: int = 2, **options: Any) -> dict[str, Any]:
    """Start a local ``engine`` cluster with new credentials and record it.

    Parameters
    ----------
    engine : {"dask", "spark"}
        Which cluster.
    workers : int
        Number of worker processes.
    **options
        ``host`` (default "127.0.0.1": every process listens there only),
        ``port``, ``ui_port``, ``cores``, ``memory``, ``timeout`` (see
        :func:`scaleout.clusters.dask.start_dask` / :func:`~scaleout.clusters.spark.start_spark`);
        Spark only: ``rest=True`` (and ``rest_port``, default 6066) turns on the
        master's REST submission server on ``host``, which has no
        authentication (a ``UserWarning`` says so).

    Returns
    -------
    dict
        The recorded state (address, dashboard, credentials, processes with pids and logs).

    Raises
    ------
    ScaleoutError
        Unknown engine, a port in use, Java missing, a process that died on start.
    ClusterError
        A cluster already up, another ``up``/``down`` of this engine running,
        a damaged state file.
    """
    if engine not in ENGINES:
        raise ScaleoutError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if workers < 1:
        raise ScaleoutError(f"--workers must be >= 1, got {workers}")
    if engine != "spark" and (options.get("rest") or "rest_port" in options):
        raise ScaleoutError(
            "the REST submission server (--spark-rest) is a Spark option; "
            f"a {engine} cluster has none"
        )
    with locked(engine):
        current = read_state(engine)
        if current is not None:
            if any(procs.is_alive(p) for p in current["processes"]):
                raise ClusterError(
                    f"a {engine} cluster is already up at {current['address']}; "
                    f"stop it first with: scaleout cluster down --engine {engine}"
                )
            remove_state(engine)  # stale: every process is gone
        cluster_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        options.update(
            logs=log_dir(engine, cluster_id),
            env={TAG_VARIABLE: tag(engine)},
            record=lambda state: write_state(engine, state),
        )
        try:
            with _sigterm_interrupts(engine):
                if engine == "dask":
                    from .dask import start_dask

                    state = start_dask(workers, **options)
                else:
                    from .spark import start_spark

                    state = start_spark(workers, **options)
        except BaseException:
            # the started processes are stopped (procs.launch); forget them
            procs.stop([], tagged=tag(engine))
            remove_state(engine)
            raise
        state["id"] = cluster_id
        state["state_file"] = str(write_state(engine, state))
        return state


def status(engine: str | None = None) -> list[dict[str, Any]]:
    """The recorded clusters, each process marked ``alive`` True/False.

    Parameters
    ----------
    engine : str, optional
        Only this engine.

    Returns
    -------
    list of dict
        One state per recorded cluster.

    Raises
    ------
    ClusterError
        A damaged state file (naming it and ``scaleout cluster down --force``).
    """
    result = []
    for name in [engine] if engine else ENGINES:
        state = read_state(name)
        if state is None:
            continue
        for entry in state["processes"]:
            entry["alive"] = procs.is_alive(entry)
        state["state_file"] = str(state_file(name))
        result.append(state)
    return result


def down(engine: str | None = None, *, force: bool = False) -> list[dict[str, Any]]:
    """Stop the ``engine`` cluster (default: every engine); remove its state and credentials.

    Stops the recorded processes, their children, and every
    process of this user tagged with this state directory and engine
    (:data:`~scaleout.clusters.state.TAG_VARIABLE`): also those of an ``up``
    that was killed halfway.

    Parameters
    ----------
    engine : str, optional
        Only this engine.
    force : bool
        Also when the state file is damaged: stop the tagged processes and remove it.

    Returns
    -------
    list of dict
        ``{"engine", "address", "stopped": [pids]}`` per cluster stopped.

    Raises
    ------
    ClusterError
        A damaged state file without ``force``; another ``up``/``down`` running.
    """
    stopped = []
    for name in [engine] if engine else ENGINES:
        with locked(name):
            try:
                state = read_state(name)
            except ClusterError:
                if not force:
                    raise
                state = {"address": "(damaged state file)", "processes": []}
            # all at once (stopping the workers first makes their nannies wait for them)
            pids = procs.stop(state["processes"] if state else [], tagged=tag(name))
            if state is None and not pids:
                continue
            remove_state(name)
            address = state["address"] if state else "(not recorded)"
            stopped.append({"engine": name, "address": address, "stopped": sorted(pids)})
    return stopped
