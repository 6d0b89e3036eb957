"""Local clusters on 127.0.0.1: ``scaleout cluster up|down|status``.

:func:`up` starts a Dask (scheduler + workers) or Spark standalone (master +
workers) cluster as background processes, records them in a JSON state file
(``$SCALEOUT_STATE_DIR`` or ``~/.scaleout/clusters/<engine>.json``), and
returns that state; :func:`status` reads it back and checks each process;
:func:`down` stops exactly the recorded processes (matched by pid and start
time) and removes the state.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ScaleoutError
from . import procs
from .state import ENGINES, read_state, remove_state, state_file, write_state

__all__ = ["ENGINES", "down", "status", "up"]


def up(engine: str, workers: int = 2, **options: Any) -> dict[str, Any]:
    """Start a local ``engine`` cluster and record it.

    Parameters
    ----------
    engine : {"dask", "spark"}
        Which cluster.
    workers : int
        Number of worker processes.
    **options
        ``port``, ``ui_port``, ``cores``, ``memory``, ``timeout`` (see
        :func:`scaleout.clusters.dask.start_dask` / :func:`~scaleout.clusters.spark.start_spark`).

    Returns
    -------
    dict
        The recorded state (address, dashboard, processes with pids and logs).

    Raises
    ------
    ScaleoutError
        Unknown engine, a cluster already up, a port in use, Java missing, a
        process that died on start.
    """
    if engine not in ENGINES:
        raise ScaleoutError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if workers < 1:
        raise ScaleoutError(f"--workers must be >= 1, got {workers}")
    current = read_state(engine)
    if current is not None:
        if any(procs.is_alive(p) for p in current["processes"]):
            raise ScaleoutError(
                f"a {engine} cluster is already up at {current['address']}; "
                f"stop it first with: scaleout cluster down --engine {engine}"
            )
        remove_state(engine)  # stale: every process is gone
    if engine == "dask":
        from .dask import start_dask

        state = start_dask(workers, **options)
    else:
        from .spark import start_spark

        state = start_spark(workers, **options)
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


def down(engine: str | None = None) -> list[dict[str, Any]]:
    """Stop the recorded processes of ``engine`` (default: every engine); remove the state.

    Returns
    -------
    list of dict
        ``{"engine", "address", "stopped": [pids]}`` per cluster stopped.
    """
    stopped = []
    for name in [engine] if engine else ENGINES:
        state = read_state(name)
        if state is None:
            continue
        # workers first, then the scheduler/master
        pids = procs.stop(state["processes"][1:]) + procs.stop(state["processes"][:1])
        remove_state(name)
        stopped.append({"engine": name, "address": state["address"], "stopped": pids})
    return stopped
