"""Where running clusters are recorded: one JSON file per engine in a private state directory.

Layout of the state directory (``$SCALEOUT_STATE_DIR``, else ``~/.scaleout/clusters``;
mode 0700, every file in it 0600)::

    <engine>.json            the running cluster: address, ports, processes (pid, start time, log)
    <engine>.lock            held (fcntl.flock) by `cluster up` / `cluster down` while they run
    <engine>-credentials/    the cluster's credentials (Dask TLS key and certificates, Spark secret)
    <engine>-logs/<id>/      the log files of one cluster (one directory per `cluster up`)
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..exceptions import ClusterError

ENGINES = ("dask", "spark")

#: Environment variable set on every process a cluster starts (inherited by their children):
#: ``<state dir>::<engine>``, so ``cluster down`` finds them even without a readable state file.
TAG_VARIABLE = "SCALEOUT_CLUSTER"


def _private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing; make it 0700; refuse one another user owns."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise ClusterError(
            f"the cluster state directory {path} belongs to another user (uid {info.st_uid}); "
            "set SCALEOUT_STATE_DIR to a directory of your own"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


def state_dir() -> Path:
    """The state directory: ``$SCALEOUT_STATE_DIR``, else ``~/.scaleout/clusters``.

    Returns
    -------
    pathlib.Path
        The directory (created if missing, readable by its owner only: mode 0700).

    Raises
    ------
    ClusterError
        The directory belongs to another user.
    """
    return _private_dir(state_path())


def state_path() -> Path:
    """Where the state directory is (:func:`state_dir`), without creating it."""
    env = os.environ.get("SCALEOUT_STATE_DIR")
    path = Path(env) if env else Path.home() / ".scaleout" / "clusters"
    return path.absolute()


def state_file(engine: str) -> Path:
    """The JSON file that records the ``engine`` cluster."""
    return state_dir() / f"{engine}.json"


def tag(engine: str) -> str:
    """The value of :data:`TAG_VARIABLE` on the processes of this state directory's ``engine``."""
    return f"{state_dir()}::{engine}"


def log_dir(engine: str, cluster_id: str | None = None) -> Path:
    """The log directory of one ``engine`` cluster (created if missing, mode 0700).

    Parameters
    ----------
    engine : str
    cluster_id : str, optional
        The cluster's id (one directory per ``cluster up``); None: the parent directory.
    """
    path = _private_dir(state_dir() / f"{engine}-logs")
    return _private_dir(path / cluster_id) if cluster_id else path


def credentials_dir(engine: str, *, fresh: bool = False) -> Path:
    """The directory of the ``engine`` cluster's credentials (mode 0700).

    Parameters
    ----------
    engine : str
    fresh : bool
        Remove what it holds first (a new cluster gets new credentials).
    """
    path = state_dir() / f"{engine}-credentials"
    if fresh:
        shutil.rmtree(path, ignore_errors=True)
    return _private_dir(path)


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable and writable by the owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)
    return path


def damaged(path: Path, why: str, engine: str) -> ClusterError:
    """The error of an unreadable state file: names it and what to do."""
    return ClusterError(
        f"the cluster state file {path} is damaged ({why}); stop what it recorded and "
        f"remove it with: scaleout cluster down --engine {engine} --force"
    )


def read_state(engine: str) -> dict[str, Any] | None:
    """The recorded state of the ``engine`` cluster, or None when there is none.

    Raises
    ------
    ClusterError
        The file is not a state file (truncated, not JSON, fields missing),
        naming it and ``scaleout cluster down --force``.
    """
    path = state_file(engine)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise damaged(path, f"cannot be read: {exc}", engine) from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise damaged(path, f"not JSON: {exc}", engine) from None
    if not isinstance(state, dict):
        raise damaged(path, f"a JSON {type(state).__name__}, not an object", engine)
    processes = state.get("processes")
    if (
        not isinstance(state.get("address"), str)
        or not isinstance(processes, list)
        or not all(
            isinstance(p, dict) and isinstance(p.get("pid"), int) and "create_time" in p
            for p in processes
        )
    ):
        raise damaged(path, "no address, or processes without pid and create_time", engine)
    return state


def write_state(engine: str, state: dict[str, Any]) -> Path:
    """Record ``state`` atomically (private temporary file + rename), mode 0600."""
    path = state_file(engine)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write_private(tmp, json.dumps(state, indent=2, default=str))
    os.replace(tmp, path)
    return path


def remove_state(engine: str) -> None:
    """Forget the ``engine`` cluster and its credentials (its logs are kept)."""
    state_file(engine).unlink(missing_ok=True)
    shutil.rmtree(state_dir() / f"{engine}-credentials", ignore_errors=True)


@contextmanager
def locked(engine: str) -> Iterator[None]:
    """Hold the ``engine`` cluster's lock (``<engine>.lock``, fcntl.flock) or fail at once.

    ``cluster up`` and ``cluster down`` hold it while they run, so two of them
    never start or stop the same engine's cluster at once. The lock is released
    when the holder exits, however it exits (even SIGKILL).

    Raises
    ------
    ClusterError
        Another process holds it, naming its pid and the lock file.
    """
    path = state_dir() / f"{engine}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise ClusterError(
                f"another scaleout cluster command (pid {holder}) is starting or stopping the "
                f"{engine} cluster of {path.parent} (lock {path}); wait for it to finish, "
                "then run `scaleout cluster status`"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
