"""The contract between out-of-core kernels and the executors that run them.

An algorithm is written once as passes over the data: each pass applies a
function to every chunk (a :class:`~scaleout.data.Batch`) and combines the
per-chunk results. The executor decides where the chunks are (read from
Parquet, kept in memory, spilled to disk, on cluster workers) and runs the
functions there; the kernel only sees :meth:`Passes.map_reduce`,
:meth:`Passes.sample` and the per-chunk cache.

The cache
---------
Two things are kept across passes, both only when more than one pass is
coming, and both charged against :func:`scaleout._config.memory_budget`:

* **decoded chunks** (the executor's business): a kernel states its plan with
  :meth:`Passes.expect_passes` before its first pass. A plan of one pass (or no
  plan) keeps nothing: the first pass streams the data and writes no copy. A
  plan of several passes (or a second pass actually asked for) makes the pass
  keep the decoded chunks, in memory when they fit the budget, else (on this
  machine) in spill files removed at :meth:`Passes.close`.
* **derived per-chunk data** (the kernel's business, e.g. a tree's bin codes
  and each row's node): ``map_reduce(fn, with_store=True)`` calls
  ``fn(batch, store)`` with the chunk's :class:`ChunkStore`, which lives where
  the chunk lives (a thread's executor, a cluster worker) for the whole fit and
  is released at :meth:`Passes.close`. Each store may hold its chunk's share of
  the memory budget (``budget * chunk rows / total rows``); beyond that an
  array is spilled to a file when the executor has a spill directory, else not
  kept (``store.put`` returns False and the kernel recomputes it next time).
  A cache never changes a result.

Functions given to ``map_reduce`` must be picklable (module-level functions,
``functools.partial`` of them): on a cluster they run on the workers.
"""

from __future__ import annotations

import abc
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from functools import partial, reduce
from typing import Any, TypeVar

import numpy as np

from .._config import get_config, memory_budget
from ..data.dataset import Batch

__all__ = [
    "ChunkStore",
    "InMemoryPasses",
    "Passes",
    "SampleFn",
    "add",
    "bernoulli_rows",
    "concat_batches",
]

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


# ------------------------------------------------------------ per-chunk store
class ChunkStore:
    """Derived data of one chunk kept across the passes of one fit.

    Parameters
    ----------
    allowance : int
        Bytes the store may hold in memory (its chunk's share of the budget).
    spill_dir : str or callable, optional
        Directory for arrays beyond the allowance (``.npy`` files read back by
        memory map), or a function returning it (called at the first spill, so
        that no directory is made for nothing); None: such values are not kept.
    name : str, default ""
        File-name prefix of this store's spill files (unique per chunk).

    Notes
    -----
    Values are charged by their ``nbytes`` (arrays) or, for tuples/lists of
    arrays, the sum of theirs; other objects are charged 0. A store is used by
    one task at a time (one task per chunk per pass), so it needs no lock.
    """

    def __init__(
        self,
        allowance: int,
        spill_dir: str | Callable[[], str] | None = None,
        name: str = "",
    ) -> None:
        self.allowance = int(allowance)
        self.spill_dir = spill_dir
        self.name = name
        self._values: dict[str, Any] = {}
        self._charged: dict[str, int] = {}
        self._files: dict[str, str] = {}
        self.nbytes = 0
        self.spilled_bytes = 0

    def get(self, key: str, default: Any = None) -> Any:
        """The value kept under ``key`` (a memory map when spilled), else ``default``."""
        if key in self._values:
            return self._values[key]
        path = self._files.get(key)
        if path is not None:
            return np.load(path, mmap_mode="r")
        return default

    def put(self, key: str, value: Any) -> bool:
        """Keep ``value`` under ``key`` (replacing what was there) if it fits.

        Returns
        -------
        bool
            True when the value is kept (in memory or spilled), False when it
            is beyond the allowance and cannot be spilled.
        """
        self.pop(key)
        size = _nbytes(value)
        if self.nbytes + size <= self.allowance:
            self._values[key] = value
            self._charged[key] = size
            self.nbytes += size
            return True
        if self.spill_dir is not None and isinstance(value, np.ndarray) and value.dtype != object:
            directory = self.spill_dir() if callable(self.spill_dir) else self.spill_dir
            path = os.path.join(directory, f"{self.name}{key}.npy".replace(os.sep, "_"))
            np.save(path, value)
            self._files[key] = path
            self.spilled_bytes += size
            return True
        return False

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        """``get(key)``, computing and ``put`` ting the value when it is missing."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def pop(self, key: str) -> None:
        """Forget ``key`` (its bytes are freed, its spill file removed)."""
        if key in self._values:
            del self._values[key]
            self.nbytes -= self._charged.pop(key)
        path = self._files.pop(key, None)
        if path is not None:
            try:
                os.remove(path)
            except OSError:
                pass

    def clear(self) -> None:
        """Forget everything (spill files included)."""
        for key in [*self._values, *self._files]:
            self.pop(key)
        self.spilled_bytes = 0

    def __len__(self) -> int:
        return len(self._values) + len(self._files)


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if hasattr(value, "indptr") and hasattr(value, "data"):  # a SciPy CSR / CSC matrix
        return int(value.data.nbytes + value.indices.nbytes + value.indptr.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


def chunk_allowance(n_rows: int, total_rows: int, budget: int) -> int:
    """A chunk's share of ``budget`` bytes, in proportion to its rows."""
    return int(budget * n_rows / max(total_rows, 1))


def _without_store(fn: Callable[[Batch], T], batch: Batch, store: ChunkStore | None) -> T:
    return fn(batch)


# ------------------------------------------------------------------ contract
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
    storage : str
        Where decoded chunks were kept between passes: ``"none"`` (streamed,
        nothing kept), ``"memory"``, ``"spill"`` or ``"cluster memory"``.
    weighted : bool
        Whether the batches carry sample weights.
    feature_names : list of str or None
        The data's column names, for the kernels' messages (None: ``x0, x1, ...``).
    """

    n_rows: int
    n_features: int
    weighted: bool = False
    feature_names: list[str] | None = None

    description = "scaleout"

    def __init__(self) -> None:
        self.passes = 0
        self.sample_passes = 0  # sample() reads the data too; counted apart
        self.pass_seconds = 0.0
        self.storage = "none"
        self._planned = 1  # passes the kernel said are coming (math.inf: several)
        self._bar: Any = None

    # ---------------------------------------------------------------- plan
    def expect_passes(self, n: int | None) -> None:
        """Declare the passes the kernel is about to run.

        Parameters
        ----------
        n : int or None
            Passes still to come, the next one included (``1``: a one-pass
            fit, which keeps no decoded copy of the data); None: more than one,
            number unknown (e.g. an iterative solver).

        Notes
        -----
        Without a declaration a fit is taken to be one pass; a second pass,
        if it comes, then fills the cache.
        """
        self._planned = math.inf if n is None else max(int(n), 1)

    def keeps_chunks(self) -> bool:
        """Whether the pass about to run should keep the decoded chunks.

        True when a second pass has been asked for: declared with
        :meth:`expect_passes`, or a pass has already run.
        """
        return self._planned > 1 or self.passes + self.sample_passes > 0

    # --------------------------------------------------------------- passes
    def map_reduce(
        self,
        fn: Callable[..., T],
        *,
        label: str,
        combine: Callable[[T, T], T] = add,
        with_store: bool = False,
    ) -> T:
        """One pass: ``fn`` on every chunk, the results combined with ``combine``.

        Parameters
        ----------
        fn : callable
            ``fn(batch) -> partial result`` or, with ``with_store``,
            ``fn(batch, store)`` where ``store`` is the chunk's
            :class:`ChunkStore`; picklable.
        label : str
            What the pass computes, for the progress line (e.g. "lbfgs eval 3").
        combine : callable, default :func:`add`
            Associative merge of two partial results.
        with_store : bool, default False
            Pass the chunk's store to ``fn``.

        Returns
        -------
        The combined result.
        """
        chunk_fn = fn if with_store else partial(_without_store, fn)
        start = time.perf_counter()
        result = self._map_reduce(chunk_fn, combine)
        seconds = time.perf_counter() - start
        self.passes += 1
        self._planned = max(self._planned - 1, 1)
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
        """Release what the passes hold (progress bar, caches, spill files)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Passes:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @abc.abstractmethod
    def _map_reduce(
        self, fn: Callable[[Batch, ChunkStore | None], T], combine: Callable[[T, T], T]
    ) -> T:
        """Apply ``fn(batch, store)`` to every chunk and combine; executors implement this."""

    @abc.abstractmethod
    def sample(self, n: int, random_state: int | None) -> Batch:
        """About ``n`` rows drawn uniformly without replacement (one pass at most).

        Exact ``n`` is not promised; each row is kept with probability
        ``n / n_rows``. The result is reproducible for a given random_state
        and chunking.
        """


# ------------------------------------------------------------------ sampling
def bernoulli_rows(batch: Batch, fraction: float, seed: int) -> Batch:
    """The rows of ``batch`` kept with probability ``fraction`` (seeded by its offset)."""
    rng = np.random.default_rng([seed, batch.row_offset])
    keep = rng.random(batch.n_rows) < fraction
    y = None if batch.y is None else batch.y[keep]
    w = None if batch.weights is None else batch.weights[keep]
    X = batch.X.iloc[keep] if hasattr(batch.X, "iloc") else batch.X[keep]
    return Batch(X, y, batch.source, batch.row_offset, w)


def concat_batches(a: Batch, b: Batch) -> Batch:
    """Rows of ``a`` then ``b`` (a sample's combine)."""
    y = None if a.y is None else np.concatenate([a.y, b.y])
    w = None if a.weights is None else np.concatenate([a.weights, b.weights])
    if hasattr(a.X, "iloc"):  # a raw table's frames (scaleout.data.table)
        import pandas as pd

        X = pd.concat([a.X, b.X], ignore_index=True)
    else:
        X = np.concatenate([a.X, b.X])
    return Batch(X, y, "sample", 0, w)


class SampleFn:
    """Picklable Bernoulli row sampler: ``SampleFn(fraction, seed)(batch)``."""

    def __init__(self, fraction: float, seed: int) -> None:
        self.fraction = fraction
        self.seed = seed

    def __call__(self, batch: Batch, store: ChunkStore | None = None) -> Batch:
        return bernoulli_rows(batch, self.fraction, self.seed)

    @classmethod
    def for_passes(cls, passes: Passes, n: int, random_state: int | None) -> SampleFn:
        """The sampler drawing about ``n`` of the rows of ``passes``."""
        fraction = min(1.0, n / max(passes.n_rows, 1))
        return cls(fraction, 0 if random_state is None else int(random_state))


# ----------------------------------------------------------------- in memory
class InMemoryPasses(Passes):
    """Passes over chunks held in a list: for small data and for kernel tests.

    Parameters
    ----------
    chunks : sequence of Batch
        The data, in order.

    Notes
    -----
    The chunks are in memory already (``storage`` is "memory"); the per-chunk
    stores share the memory budget (no spill), and are dropped by
    :meth:`close`.
    """

    description = "scaleout (in memory)"

    def __init__(self, chunks: Sequence[Batch]) -> None:
        super().__init__()
        self.chunks = list(chunks)
        self.n_rows = sum(c.n_rows for c in self.chunks)
        self.n_features = self.chunks[0].X.shape[1]
        self.weighted = self.chunks[0].weights is not None
        self.storage = "memory"
        self.stores: list[ChunkStore] | None = None

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        y: np.ndarray | None = None,
        chunk_rows: int = 1000,
        *,
        sample_weight: np.ndarray | None = None,
    ) -> InMemoryPasses:
        """Split arrays into chunks of ``chunk_rows`` rows.

        Parameters
        ----------
        X, y : ndarray
            Features and optional target.
        chunk_rows : int, default 1000
            Rows per chunk (the last may be smaller).
        sample_weight : ndarray of shape (n_rows,), optional
            Row weights, attached to the chunks as ``Batch.weights``.
        """
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        chunks = [
            Batch(
                X[i : i + chunk_rows],
                None if y is None else y[i : i + chunk_rows],
                f"rows {i}..{min(i + chunk_rows, len(X)) - 1}",
                i,
                None if w is None else w[i : i + chunk_rows],
            )
            for i in range(0, len(X), chunk_rows)
        ]
        return cls(chunks)

    def _stores(self) -> list[ChunkStore]:
        if self.stores is None:
            budget = memory_budget()
            self.stores = [
                ChunkStore(chunk_allowance(c.n_rows, self.n_rows, budget)) for c in self.chunks
            ]
        return self.stores

    def _map_reduce(
        self, fn: Callable[[Batch, ChunkStore | None], T], combine: Callable[[T, T], T]
    ) -> T:
        stores = self._stores()
        return reduce(combine, (fn(c, s) for c, s in zip(self.chunks, stores, strict=True)))

    def sample(self, n: int, random_state: int | None) -> Batch:
        sampler = SampleFn.for_passes(self, n, random_state)
        return reduce(concat_batches, (sampler(c) for c in self.chunks))

    def close(self) -> None:
        super().close()
        if self.stores is not None:
            for store in self.stores:
                store.clear()
            self.stores = None
