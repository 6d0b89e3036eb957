"""The contract between out-of-core kernels and the executors that run them.

An algorithm is written once as passes over the data: each pass applies a
function to every chunk (a :class:`~scaleout.data.Batch`) and combines the
per-chunk results. The executor decides where the chunks are (read from
Parquet, cached in memory, spilled to disk, on cluster workers) and runs the
functions there; the kernel only sees :meth:`Passes.map_reduce`.

Functions given to ``map_reduce`` must be picklable (module-level functions,
``functools.partial`` of them): on a cluster they run on the workers.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any, TypeVar

import numpy as np

from ..._config import get_config
from ...data import Batch

T = TypeVar("T")
log = logging.getLogger("scaleout")


def add(a: Any, b: Any) -> Any:
    """Elementwise sum of two results of the same structure.

    Objects with a ``merge`` method merge themselves; arrays and numbers are
    added; tuples, lists and dicts are added entry by entry; None acts as zero.
    """
    if a is None:
        return b
    if b is None:
        return a
    if hasattr(a, "merge"):
        return a.merge(b)
    if isinstance(a, tuple):
        return tuple(add(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, list):
        return [add(x, y) for x, y in zip(a, b, strict=True)]
    if isinstance(a, dict):
        return {k: add(a[k], b[k]) for k in a}
    return a + b


class Passes(abc.ABC):
    """Runs passes over chunked data and counts them.

    Attributes
    ----------
    n_rows : int
        Rows in the data.
    n_features : int
        Feature columns.
    passes : int
        Passes run so far (each :meth:`map_reduce` call is one).
    sample_passes : int
        Calls of :meth:`sample` by executors that read the data for it.
    """

    n_rows: int
    n_features: int

    description = "scaleout"

    def __init__(self) -> None:
        self.passes = 0
        self.sample_passes = 0  # sample() reads the data too; counted apart
        self.pass_seconds = 0.0
        self._bar: Any = None

    def map_reduce(
        self,
        fn: Callable[[Batch], T],
        *,
        label: str,
        combine: Callable[[T, T], T] = add,
    ) -> T:
        """One pass: ``fn`` on every chunk, the results combined with ``combine``.

        Parameters
        ----------
        fn : callable
            ``fn(batch) -> partial result``; picklable.
        label : str
            What the pass computes, for the progress line (e.g. "lbfgs eval 3").
        combine : callable, default :func:`add`
            Associative merge of two partial results.

        Returns
        -------
        The combined result.
        """
        start = time.perf_counter()
        result = self._map_reduce(fn, combine)
        seconds = time.perf_counter() - start
        self.passes += 1
        self.pass_seconds += seconds
        self.report(label, seconds)
        return result

    def report(self, label: str, seconds: float) -> None:
        """One progress line per pass: pass number, label, rows/s.

        Logged on the ``scaleout`` logger (INFO), and shown as a progress bar
        on stderr when ``so.get_config()["progress"]`` is true.
        """
        rate = self.n_rows / seconds if seconds > 0 else float("inf")
        line = (
            f"pass {self.passes} ({label}): {self.n_rows} rows in {seconds:.2f} s, "
            f"{rate:.3g} rows/s"
        )
        log.info(line)
        if self._bar is None and get_config()["progress"]:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc=self.description, unit="pass", leave=False, mininterval=0.5)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{label}, {rate:.3g} rows/s", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        """Release what the passes hold (progress bar, caches)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @abc.abstractmethod
    def _map_reduce(self, fn: Callable[[Batch], T], combine: Callable[[T, T], T]) -> T:
        """Apply ``fn`` to every chunk and combine; executors implement this."""

    @abc.abstractmethod
    def sample(self, n: int, random_state: int | None) -> Batch:
        """About ``n`` rows drawn uniformly without replacement (one pass at most).

        Exact ``n`` is not promised; each row is kept with probability
        ``n / n_rows``. The result is reproducible for a given random_state
        and chunking.
        """


def _bernoulli_rows(batch: Batch, fraction: float, seed: int) -> Batch:
    rng = np.random.default_rng([seed, batch.row_offset])
    keep = rng.random(batch.n_rows) < fraction
    y = None if batch.y is None else batch.y[keep]
    return Batch(batch.X[keep], y, batch.source, batch.row_offset)


def _concat(a: Batch, b: Batch) -> Batch:
    y = None if a.y is None else np.concatenate([a.y, b.y])
    return Batch(np.concatenate([a.X, b.X]), y, "sample", 0)


class InMemoryPasses(Passes):
    """Passes over chunks held in a list: for small data and for kernel tests.

    Parameters
    ----------
    chunks : sequence of Batch
        The data, in order.
    """

    def __init__(self, chunks: Sequence[Batch]) -> None:
        super().__init__()
        self.chunks = list(chunks)
        self.n_rows = sum(c.n_rows for c in self.chunks)
        self.n_features = self.chunks[0].X.shape[1]

    @classmethod
    def from_arrays(
        cls, X: np.ndarray, y: np.ndarray | None = None, chunk_rows: int = 1000
    ) -> InMemoryPasses:
        """Split arrays into chunks of ``chunk_rows`` rows."""
        chunks = [
            Batch(
                X[i : i + chunk_rows],
                None if y is None else y[i : i + chunk_rows],
                f"rows {i}..{min(i + chunk_rows, len(X)) - 1}",
                i,
            )
            for i in range(0, len(X), chunk_rows)
        ]
        return cls(chunks)

    def _map_reduce(self, fn: Callable[[Batch], T], combine: Callable[[T, T], T]) -> T:
        return reduce(combine, (fn(chunk) for chunk in self.chunks))

    def sample(self, n: int, random_state: int | None) -> Batch:
        fraction = min(1.0, n / max(self.n_rows, 1))
        seed = 0 if random_state is None else int(random_state)
        return reduce(_concat, (_bernoulli_rows(c, fraction, seed) for c in self.chunks))
