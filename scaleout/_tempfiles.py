"""Temporary files and directories that name their owner, and the sweep of stale ones.

Every temporary file (an atomic save's ``.scaleout-tmp-...``) and spill
directory (``scaleout-spill-...``) scaleout makes carries the host name and
the process id of its owner in its name::

    .scaleout-tmp-<host>-<pid>-<random><suffix>
    scaleout-spill-<host>-<pid>-<random>

and so does the staging object an upload to a URL writes beside its target
on filesystems whose uploads are not atomic (:func:`staging_name`)::

    <target>.tmp-<host>-<pid>-<random>

A process that ends normally, or on an exception (including SIGTERM / SIGINT
in the command line, which turns them into exceptions), removes its own.
One killed outright (SIGKILL, power loss) leaves them behind: the next
process that creates a temporary in the same directory removes the stale
siblings, those whose owner is gone; the next upload to the same URL target
removes its stale staging objects (:func:`stale_staging`). A sibling is
removed only when all of these hold, so another live process's files are
never touched:

- its name has exactly scaleout's pattern, with this machine's host name
  (a directory shared over the network may hold other hosts' files);
- it belongs to this user (local files; an object store has no such owner);
- no process with its pid exists on this machine (a reused pid keeps it,
  which errs on the safe side).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterable

__all__ = [
    "SPILL_PREFIX",
    "STAGING_INFIX",
    "TMP_PREFIX",
    "apply_umask",
    "current_umask",
    "make_spill_dir",
    "make_temp_file",
    "owner_alive",
    "staging_name",
    "stale_staging",
    "sweep_stale",
]

#: Name prefix of a temporary file beside a file being written.
TMP_PREFIX = ".scaleout-tmp-"
#: Name prefix of a spill directory.
SPILL_PREFIX = "scaleout-spill-"
#: What follows the target's name in the name of an upload's staging object.
STAGING_INFIX = ".tmp-"


def _host() -> str:
    """This machine's name, reduced to characters safe in a file name."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "localhost"


def _owner_prefix(prefix: str) -> str:
    return f"{prefix}{_host()}-{os.getpid()}-"


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{prefix}{_host()}-") + r"(\d+)-[A-Za-z0-9_]+(\.[A-Za-z0-9.]+)?$")


def owner_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists on this machine (any user's)."""
    if pid <= 0:
        return True  # not a real owner: never treat as gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def sweep_stale(directory: str, prefix: str) -> list[str]:
    """Remove ``directory``'s temporaries of ``prefix`` whose owner process is gone.

    Parameters
    ----------
    directory : str
        Where to look (not recursively).
    prefix : str
        :data:`TMP_PREFIX` or :data:`SPILL_PREFIX`.

    Returns
    -------
    list of str
        The paths removed. Failures (a file removed meanwhile, no permission)
        are ignored: the sweep is a courtesy, never an error.
    """
    pattern = _pattern(prefix)
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if owner_alive(int(match.group(1))):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(entry.path)
    return removed


def staging_name(target: str) -> str:
    """The name of a new staging object for an upload to ``target`` (a path inside a filesystem).

    ``<target>.tmp-<host>-<pid>-<random>``: beside the target, unique, and
    naming its owner, so that :func:`stale_staging` can tell a killed
    writer's object from a live one's.
    """
    return f"{target}{STAGING_INFIX}{_host()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def stale_staging(target: str, siblings: Iterable[str]) -> list[str]:
    """The stale staging objects of ``target`` among ``siblings`` (its directory's entries).

    A staging object is stale when :func:`staging_name` made it for this very
    target on this machine, in a process other than this one that no longer
    exists. Others' objects (another host's, a live writer's, older names
    without an owner, any other file) are never listed.

    Parameters
    ----------
    target : str
        The path of the target inside its filesystem.
    siblings : iterable of str
        Paths (or names) of the entries of the target's directory.

    Returns
    -------
    list of str
        The entries of ``siblings`` to remove, as given.
    """
    base = posixpath.basename(target.rstrip("/"))
    pattern = re.compile(re.escape(f"{base}{STAGING_INFIX}{_host()}-") + r"(\d+)-[0-9a-f]+$")
    stale = []
    for sibling in siblings:
        match = pattern.match(posixpath.basename(sibling.rstrip("/")))
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and not owner_alive(pid):
            stale.append(sibling)
    return stale


def make_temp_file(directory: str, suffix: str = "") -> str:
    """A new empty file in ``directory`` named after this process; stale siblings removed.

    Parameters
    ----------
    directory : str
        Where to create it (beside the file it will replace).
    suffix : str
        End of its name (e.g. ``".scaleout"``).

    Returns
    -------
    str
        Its path. The name is unique (host, pid and a random part; created
        exclusively), so concurrent writers of one target never share it.
    """
    sweep_stale(directory, TMP_PREFIX)
    handle, path = tempfile.mkstemp(prefix=_owner_prefix(TMP_PREFIX), suffix=suffix, dir=directory)
    os.close(handle)
    return path


def make_spill_dir(root: str | None = None) -> str:
    """A new spill directory under ``root`` (default: the temp dir); stale siblings removed."""
    root = root or tempfile.gettempdir()
    sweep_stale(root, SPILL_PREFIX)
    return tempfile.mkdtemp(prefix=_owner_prefix(SPILL_PREFIX), dir=root)


def current_umask() -> int:
    """This process's umask (read without changing it where the system allows)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str) -> None:
    """Give ``path`` the mode a new file gets from ``open``: ``0o666 & ~umask``.

    ``mkstemp`` makes files readable by the owner only; a saved model or a
    prediction file should have the user's normal permissions.
    """
    os.chmod(path, 0o666 & ~current_umask())
