"""Overhead against a baseline, timed in adjacent ABBA pairs.

On a shared machine the same fit can take 2x longer from one minute to the
next (measured here: a hand-written pyspark.ml LogisticRegression took 3.2 to
6.3 s in one run). Comparing two medians taken apart then swings by more
than a 10% target. Each pair here times the baseline and scaleout seconds
apart, in ABBA order (neither side always runs second, on warm caches), and
the overhead is the median of the pair ratios, with its interquartile range.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PairedTimes", "paired_times"]


@dataclass
class PairedTimes:
    """Times of ``pairs`` baseline/scaleout pairs (seconds, in run order).

    ``wall`` holds (baseline, ours) wall seconds per pair; ``cpu`` the same
    for the ``cpu_clock`` given to :func:`paired_times` (empty without one).
    ``last`` is what the last call of ours returned.
    """

    wall: list[tuple[float, float]] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)
    last: Any = None

    @staticmethod
    def _summary(times: list[tuple[float, float]]) -> dict[str, float]:
        ratios = [ours / base for base, ours in times]
        q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else ratios * 3
        return {
            "baseline_s": statistics.median(b for b, _ in times),
            "ours_s": statistics.median(o for _, o in times),
            "ratio": statistics.median(ratios),
            "ratio_q1": q1,
            "ratio_q3": q3,
        }

    def summary(self) -> dict[str, Any]:
        """Medians of each side, the median pair ratio and its quartiles (wall, CPU)."""
        out: dict[str, Any] = {**self._summary(self.wall), "pairs": len(self.wall)}
        if self.cpu:
            out.update({f"cpu_{k}": v for k, v in self._summary(self.cpu).items()})
        return out


def paired_times(
    baseline: Callable[[], object],
    ours: Callable[[], object],
    pairs: int,
    *,
    cpu_clock: Callable[[], float] | None = None,
    before_each: Callable[[], object] | None = None,
) -> PairedTimes:
    """Time ``baseline`` and ``ours`` in ``pairs`` adjacent pairs, ABBA order.

    Parameters
    ----------
    baseline, ours : callable
        The two ways of doing the same work.
    pairs : int
        Number of pairs (each runs both once).
    cpu_clock : callable, optional
        CPU seconds so far (e.g. ``time.process_time``, or a process tree's
        CPU time when the work runs in a JVM); CPU ratios are then reported
        too, being less sensitive than wall time to other programs.
    before_each : callable, optional
        Run, untimed, before every timed call (e.g. a JVM garbage
        collection, so neither side pays for the other's garbage).

    Returns
    -------
    PairedTimes
    """
    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    result = PairedTimes()

    def timed(fn: Callable[[], object], is_ours: bool) -> tuple[float, float]:
        if before_each is not None:
            before_each()
        cpu = cpu_clock() if cpu_clock is not None else 0.0
        start = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - start
        if is_ours:
            result.last = out
        return wall, (cpu_clock() - cpu if cpu_clock is not None else 0.0)

    for i in range(pairs):
        if i % 2 == 0:
            base, mine = timed(baseline, False), timed(ours, True)
        else:
            mine = timed(ours, True)
            base = timed(baseline, False)
        result.wall.append((base[0], mine[0]))
        if cpu_clock is not None:
            result.cpu.append((base[1], mine[1]))
    return result
