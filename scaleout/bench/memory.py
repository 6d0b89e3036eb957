"""Peak resident memory of every process a fit involves, sampled from a thread.

The process set is this process (the driver), all its descendants (Dask
LocalCluster nannies and workers, the Spark driver JVM of ``local[N]``,
PySpark's Python workers, the JVMs of a standalone cluster started from here
and their executors), and any extra pids given (e.g. the processes recorded
by :func:`scaleout.clusters.up`) with their descendants. Every ``interval``
seconds the RSS of each is read; the peak of the sum is kept, and the peak of
each group: ``driver`` (this process), ``jvm`` (Java processes), ``workers``
(every other process).

RSS counts pages shared between processes (e.g. after a fork) once per
process, so the sum can overstate the machine's use slightly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from types import TracebackType

import psutil

__all__ = ["MemorySampler", "process_set"]


def process_set(extra_pids: Iterable[int] = ()) -> list[psutil.Process]:
    """This process, its descendants, and ``extra_pids`` with theirs (no duplicates)."""
    roots = [psutil.Process(os.getpid())]
    for pid in extra_pids:
        try:
            roots.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    seen: dict[int, psutil.Process] = {}
    for root in roots:
        try:
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in family:
            seen.setdefault(proc.pid, proc)
    return list(seen.values())


def _group(proc: psutil.Process, me: int) -> str:
    if proc.pid == me:
        return "driver"
    try:
        name = proc.name().lower()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "workers"
    return "jvm" if name.startswith("java") else "workers"


class MemorySampler:
    """Context manager: peak RSS of the process set while the block runs.

    Parameters
    ----------
    extra_pids : iterable of int
        Processes outside this one's tree to include (with their descendants).
    interval : float
        Seconds between samples (the process list is refreshed every 10 samples).

    Attributes
    ----------
    peak : dict
        After the block: ``total`` (peak of the sum), ``driver``, ``workers``,
        ``jvm`` (peak of each group's sum, bytes), ``processes`` (most processes
        seen at once), ``samples``.
    before : int
        The sum when the block started (what the processes held already).

    Examples
    --------
    >>> with MemorySampler() as mem:
    ...     data = bytearray(50_000_000)
    >>> mem.peak["total"] > 50_000_000
    True
    """

    def __init__(self, extra_pids: Iterable[int] = (), interval: float = 0.05) -> None:
        self.extra_pids = list(extra_pids)
        self.interval = interval
        self.peak: dict[str, int] = {}
        self.before = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self, procs: list[psutil.Process], me: int) -> int:
        groups = {"driver": 0, "workers": 0, "jvm": 0}
        for proc in procs:
            try:
                groups[_group(proc, me)] += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        total = sum(groups.values())
        peak = self.peak
        peak["total"] = max(peak.get("total", 0), total)
        for key, value in groups.items():
            peak[key] = max(peak.get(key, 0), value)
        peak["processes"] = max(peak.get("processes", 0), len(procs))
        peak["samples"] = peak.get("samples", 0) + 1
        return total

    def _run(self) -> None:
        me = os.getpid()
        procs: list[psutil.Process] = []
        tick = 0
        while True:
            if tick % 10 == 0:
                procs = process_set(self.extra_pids)
            self._sample(procs, me)
            tick += 1
            if self._stop.wait(self.interval):
                break

    def __enter__(self) -> MemorySampler:
        self.peak = {}
        self.before = self._sample(process_set(self.extra_pids), os.getpid())
        self._thread = threading.Thread(target=self._run, name="scaleout-bench-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample(process_set(self.extra_pids), os.getpid())
