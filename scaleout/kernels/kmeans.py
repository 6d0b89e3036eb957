"""Out-of-core k-means: k-means|| seeding and Lloyd iterations as passes over chunks.

scikit-learn's ``KMeans(algorithm="lloyd")`` (``sklearn.cluster._kmeans``)
centres the data on its mean, seeds with greedy k-means++, then runs Lloyd
iterations (assign every row to its closest centre, move each centre to the
mean of its rows) until the labels stop changing ("strict convergence") or the
squared centre shift summed over the clusters is at most
``tol * mean(np.var(X, axis=0))``, at most ``max_iter`` times; an empty
cluster is moved to the row farthest from its centre. ``inertia_`` is the sum
of squared distances of the rows to the closest of the *final* centres.

This module does the same with passes over the chunks (:class:`Passes`):

1. **Statistics and picks** (1 pass). Per-feature mean and variance (Chan's
   parallel merge of per-chunk means and sums of squared deviations) give the
   tolerance; the same pass fetches ``n_clusters`` rows per run whose global
   indices were drawn uniformly without replacement on the driver (the first
   centre of k-means||, or the centres of ``init="random"``).
2. **k-means|| seeding** (Bahmani et al., "Scalable k-means++", 2012), for
   ``init="k-means++"``: 5 rounds of 1 pass each with oversampling factor
   ``l = 2 * n_clusters``. A round computes every row's squared distance
   ``d2`` to the closest candidate so far and keeps it with probability
   ``min(1, l * d2 / cost)``, ``cost`` being the sum of ``d2`` over all rows.
   That sum is known only at the end of the pass, so each chunk draws one
   uniform ``u`` per row (a generator seeded from the run's seed, the round
   and the chunk's ``row_offset``: reproducible for a given chunking) and
   returns its rows with the smallest ``u / d2``; after the combine, the rows
   with ``u / d2 < l / cost`` are exactly those the rule keeps (the number
   returned, ``3 l + 50`` per run, exceeds the ``<= l`` expected by many
   standard deviations). One more pass counts and sums the rows closest to
   each candidate (about ``10 * n_clusters + 1`` of them). Each candidate is
   then replaced by the mean of its rows (its Voronoi cell), weighted by their
   number: for partitions made of whole cells, the weighted k-means cost of
   these means is the data's cost up to a constant, a closer summary than the
   candidates themselves (on digits, k=10, over 30 seeds: worst inertia ratio
   to scikit-learn 1.005 instead of 1.017). scikit-learn's
   ``KMeans(init="k-means++", n_init=10)`` on them, in memory, gives the
   ``n_clusters`` initial centres. Spark uses 2 rounds (its default
   ``initSteps``) and the bare candidates, which measured 29% worse inertia
   than scikit-learn on 2M x 20 blobs.
3. **Lloyd** (1 pass per iteration): per chunk the labels (scikit-learn's
   compiled ``lloyd_iter_chunked_dense`` E-step when importable, else a NumPy
   ``X @ C.T`` block version), per-cluster sums (a sparse one-hot product),
   counts and the inertia. The driver divides, measures the shift and stops as
   scikit-learn does. A shift of exactly zero is scikit-learn's strict
   convergence (unchanged labels give bit-identical means); the inertia just
   computed then belongs to the final centres and no final pass is needed.
   When clusters come out empty, one extra pass fetches the rows farthest from
   their centres and they are relocated as scikit-learn does.
4. **Inertia and labels** (1 pass, unless strict convergence): the inertia
   with the final centres and ``labels_``, the index of the closest final
   centre of every row (scikit-learn's final E-step). After strict
   convergence the last Lloyd pass used the final centres already: it left
   each chunk's labels in the chunk's store
   (:class:`~scaleout.kernels.passes.ChunkStore`), and one more pass only
   collects them (computing them where a store did not keep them).

``labels_`` is a NumPy ``int32`` array in row order: 4 bytes per row held by
the driver (e.g. 640 MB for 160 million rows). When that exceeds the memory
budget (:func:`scaleout._config.memory_budget`) it is not computed and the
fit warns (``UserWarning``) saying so and how to get the labels
(``predict`` on the data in parts); it is never silently missing.

Sample weights (``Batch.weights``) weigh every statistic as scikit-learn
does: the centres are weighted means, ``inertia_`` the weighted sum of
squared distances, k-means|| samples rows with probability proportional to
``w * d2``, its candidates are weighted by the weight of their cells, the
first centres (and ``init="random"``) are drawn with probability
proportional to the weights, and relocated empty clusters carry their row's
weight. The tolerance uses the unweighted variance, as scikit-learn's.

The data are shifted by their mean in every pass when the mean is far from
the origin compared with the spread (``||mean||^2 > sum(var)``), as
scikit-learn centres ``X``, so that the ``||x||^2 - 2 x.c + ||c||^2``
expansion keeps its precision; otherwise the shift would cost a copy of each
chunk and buy nothing.

Several initialisations (``n_init``) run side by side in the same passes (each
chunk is read once per pass for all runs; a run that has finished drops out);
the run with the lowest inertia wins. Passes, with ``R = 5`` rounds (fewer
only if every row already is a candidate)::

    init="k-means++":  1 + R + 1 + L
    init="random":     1 + L
    init=ndarray:      L          (the statistics ride on the first Lloyd pass)

    L = max over runs of (Lloyd iterations + relocation passes
                          + 1 final inertia pass unless strict convergence)
        + 1 labels pass when the winning run stopped by strict convergence

e.g. 1 + 5 + 1 + 2 + 1 = 10 for a run stopped by ``tol`` after 2 iterations.
On 2,000,000 x 20 blobs in 8 chunks held in memory, ``KMeans(8,
random_state=0)``: 9 passes, the same inertia and centres as scikit-learn,
0.6-0.9x its wall time (median 0.77) on an otherwise idle 2-core machine; the
seeding rounds take most of it.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans as _SklearnKMeans
from sklearn.utils import check_random_state

from .._config import memory_budget
from ..data.dataset import Batch
from ..exceptions import DataError, InvalidParameterError, UnsupportedOnBackend
from .passes import ChunkStore, Passes, add

try:  # scikit-learn's compiled E-step; a NumPy version stands in without it.
    from sklearn.cluster._k_means_common import _inertia_dense as _sk_inertia
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense as _sk_lloyd
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from sklearn.utils.parallel import _get_threadpool_controller
except ImportError:  # pragma: no cover - depends on scikit-learn internals
    _sk_lloyd = None

__all__ = ["check_kmeans_params", "fit_kmeans"]

#: k-means|| rounds and oversampling factor (candidates per round / n_clusters).
_ROUNDS = 5
_OVERSAMPLING = 2
#: k-means++ initialisations of the in-memory k-means on the weighted candidates.
_CANDIDATE_N_INIT = 10
#: Rows per OpenMP thread of the compiled E-step: fewer threads on small chunks,
#: whose parallel regions would cost more than they save (a lot more on a busy
#: machine, where a thread waits at the barrier for a descheduled one).
_ROWS_PER_THREAD = 1 << 16
#: Scores (rows x centres) per block in the NumPy E-step.
_BLOCK_ELEMENTS = 1 << 18

_USE_SKLEARN = _sk_lloyd is not None

LABEL_BYTES = 4
"""Bytes per row of ``labels_`` (int32) held by the driver at the end of a fit."""


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def _unsupported(option: str, value: Any, supported: str, backend: str) -> UnsupportedOnBackend:
    return UnsupportedOnBackend(
        f"KMeans({option}={value!r}) is not supported by backend '{backend}'; "
        f"supported: {supported}"
    )


_INIT_SUPPORTED = (
    "'k-means++' (seeded by k-means|| on this backend), 'random', "
    "an array of shape (n_clusters, n_features)"
)


def check_kmeans_params(params: dict, *, backend: str = "dask") -> None:
    """Raise if the kernel cannot honour these KMeans options.

    Parameters
    ----------
    params : dict
        ``KMeans.get_params()`` (scikit-learn 1.9 names).
    backend : str, default="dask"
        The engine running the kernel, named in the messages.

    Raises
    ------
    UnsupportedOnBackend
        For ``algorithm`` other than ``'lloyd'``, a callable ``init`` or an
        ``init`` string other than ``'k-means++'`` and ``'random'``, or an
        array ``init`` that is not 2-D. The message names the option, its value
        and what is supported.

    Notes
    -----
    ``init='k-means++'`` is honoured with k-means|| seeding (k-means++ needs
    ``n_clusters`` passes); ``n_init`` initialisations run side by side in the
    same passes. ``verbose`` is accepted (the passes log one progress line
    each; nothing else is printed) and ``copy_x`` is ignored (chunks are never
    modified).
    """
    algorithm = params.get("algorithm", "lloyd")
    if algorithm != "lloyd":
        raise _unsupported("algorithm", algorithm, "'lloyd'", backend)
    init = params.get("init", "k-means++")
    if isinstance(init, str):
        if init not in ("k-means++", "random"):
            raise _unsupported("init", init, _INIT_SUPPORTED, backend)
    elif callable(init):
        raise _unsupported("init", init, _INIT_SUPPORTED, backend)
    elif np.ndim(init) != 2:
        raise _unsupported("init", init, _INIT_SUPPORTED, backend)


def _n_runs(params: dict) -> int:
    """Initialisations to run, as scikit-learn's ``_check_params_vs_input``."""
    init = params.get("init", "k-means++")
    n_init = params.get("n_init", "auto")
    if n_init == "auto":
        n_init = 10 if isinstance(init, str) and init == "random" else 1
    n_init = int(n_init)
    if not isinstance(init, str) and n_init != 1:
        warnings.warn(
            "Explicit initial center position passed: performing only one init in "
            f"KMeans instead of n_init={n_init}.",
            RuntimeWarning,
            stacklevel=3,
        )
        n_init = 1
    return n_init


# ---------------------------------------------------------------------------
# Mergeable partial results
# ---------------------------------------------------------------------------


@dataclass
class _Stats:
    """Row count, per-feature mean and sum of squared deviations (Chan merge)."""

    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> _Stats:
        if X.shape[0] == 0:
            return cls(0, np.zeros(X.shape[1]), np.zeros(X.shape[1]))
        mean = X.mean(axis=0)
        dev = X - mean
        return cls(X.shape[0], mean, np.einsum("ij,ij->j", dev, dev))

    def merge(self, other: _Stats) -> _Stats:
        n = self.n + other.n
        if n == 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.n * other.n / n)
        return _Stats(n, mean, m2)

    @property
    def var(self) -> np.ndarray:
        return self.m2 / self.n


@dataclass
class _Smallest:
    """The ``size`` rows with the smallest keys (and an integer tag per row)."""

    keys: np.ndarray
    rows: np.ndarray
    tags: np.ndarray
    size: int

    @classmethod
    def of(cls, keys: np.ndarray, rows: np.ndarray, tags: np.ndarray, size: int) -> _Smallest:
        if len(keys) > size:
            idx = np.argpartition(keys, size - 1)[:size] if size > 0 else np.arange(0)
            keys, rows, tags = keys[idx], rows[idx], tags[idx]
        return cls(keys, rows, tags, size)

    @classmethod
    def of_chunk(
        cls,
        keys: np.ndarray,
        X: np.ndarray,
        size: int,
        tags: np.ndarray | None = None,
        offset: int = 0,
    ) -> _Smallest:
        """The chunk's rows with the ``size`` smallest finite keys (copied);
        tagged with ``tags`` or, by default, their index plus ``offset``."""
        if len(keys) > size:
            idx = np.argpartition(keys, size - 1)[:size] if size > 0 else np.arange(0)
        else:
            idx = np.arange(len(keys))
        idx = idx[np.isfinite(keys[idx])]
        return cls(keys[idx], X[idx], idx + offset if tags is None else tags[idx], size)

    def merge(self, other: _Smallest) -> _Smallest:
        return _Smallest.of(
            np.concatenate([self.keys, other.keys]),
            np.concatenate([self.rows, other.rows]),
            np.concatenate([self.tags, other.tags]),
            self.size,
        )


# ---------------------------------------------------------------------------
# Per-chunk primitives
# ---------------------------------------------------------------------------


def _shifted(X: np.ndarray, shift: np.ndarray | None) -> np.ndarray:
    """``X - shift`` as C-contiguous float64 (``X`` itself when no shift)."""
    if shift is None:
        return np.ascontiguousarray(X, dtype=np.float64)
    return np.subtract(X, shift, dtype=np.float64, order="C")


def _labels_numpy(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest centre and squared distance to it, in blocks of rows.

    ``argmax_c (x.c - ||c||^2 / 2)`` with one matrix product per block (a
    column of ones in the block, ``-||c||^2 / 2`` in the centres); ties go to
    the first centre, as in scikit-learn.
    """
    n, p = X.shape
    k = centers.shape[0]
    aug = np.empty((k, p + 1))
    aug[:, :p] = centers
    aug[:, p] = -0.5 * np.einsum("ij,ij->i", centers, centers)
    block = max(256, _BLOCK_ELEMENTS // max(k, 1))
    buf = np.empty((min(block, n), p + 1))
    buf[:, p] = 1.0
    labels = np.empty(n, dtype=np.int32)
    d2 = np.empty(n)
    for start in range(0, n, block):
        xb = X[start : start + block]
        m = xb.shape[0]
        xa = buf[:m]
        xa[:, :p] = xb
        scores = xa @ aug.T
        lab = scores.argmax(axis=1)
        best = np.take_along_axis(scores, lab[:, None], axis=1)[:, 0]
        labels[start : start + m] = lab
        d2[start : start + m] = np.einsum("ij,ij->i", xb, xb) - 2.0 * best
    np.maximum(d2, 0.0, out=d2)
    return labels, d2


@lru_cache(maxsize=4)
def _ones(n: int) -> np.ndarray:
    """A read-only vector of ``n`` ones (unit sample weights), reused."""
    ones = np.ones(n)
    ones.flags.writeable = False
    return ones


def _threads(n_rows: int) -> int:
    """OpenMP threads for ``n_rows`` rows: at most scikit-learn's choice
    (``OMP_NUM_THREADS`` or the CPUs), one per ``_ROWS_PER_THREAD`` rows."""
    return max(1, min(_openmp_effective_n_threads(), n_rows // _ROWS_PER_THREAD))


def _weights_of(batch: Batch) -> np.ndarray | None:
    """The chunk's sample weights as float64, or None (all 1)."""
    return None if batch.weights is None else np.asarray(batch.weights, dtype=np.float64)


def _labels(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the closest centre of every row (int32).

    scikit-learn's compiled E-step with its OpenMP threads (:func:`_threads`;
    Dask workers set ``OMP_NUM_THREADS=1``), each calling BLAS on blocks of 256 rows
    (which is why :func:`fit_kmeans` limits BLAS to one thread, as scikit-learn
    does around it); else :func:`_labels_numpy`.
    """
    if not _USE_SKLEARN:
        return _labels_numpy(X, centers)[0]
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int32)
    if n:
        _sk_lloyd(X, _ones(n), centers, None, None, labels, None, _threads(n), update_centers=False)
    return labels


def _row_d2(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Squared distance of every row to ``centers[labels]``."""
    n, p = X.shape
    d2 = np.empty(n)
    block = 1 << 14
    buf = np.empty((min(block, n), p))
    for start in range(0, n, block):
        xb = X[start : start + block]
        diff = buf[: xb.shape[0]]
        np.take(centers, labels[start : start + block], axis=0, out=diff)
        np.subtract(xb, diff, out=diff)
        d2[start : start + xb.shape[0]] = np.einsum("ij,ij->i", diff, diff)
    return d2


def _labels_d2(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest centre of every row and the squared distance to it."""
    if not _USE_SKLEARN:
        return _labels_numpy(X, centers)
    labels = _labels(X, centers)
    return labels, _row_d2(X, centers, labels)


def _labels_inertia(
    X: np.ndarray, centers: np.ndarray, w: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Closest centre of every row and the (weighted) sum of squared distances."""
    if not _USE_SKLEARN:
        labels, d2 = _labels_numpy(X, centers)
        return labels, float(d2.sum() if w is None else w @ d2)
    labels = _labels(X, centers)
    if X.shape[0] == 0:
        return labels, 0.0
    weights = _ones(X.shape[0]) if w is None else w
    inertia = _sk_inertia(X, weights, centers, labels, _threads(X.shape[0]))
    return labels, float(inertia)


def _cluster_sums(
    X: np.ndarray, labels: np.ndarray, k: int, w: np.ndarray | None = None
) -> np.ndarray:
    """Per-cluster (weighted) sums of the rows: a sparse one-hot ``(k, n)`` times ``X``."""
    n = X.shape[0]
    data = _ones(n) if w is None else w
    onehot = sp.csr_matrix((data, labels, np.arange(n + 1)), shape=(n, k))
    return np.asarray(onehot.T @ X)


def _cluster_weights(labels: np.ndarray, k: int, w: np.ndarray | None) -> np.ndarray:
    """Rows (or their weight sum) per cluster."""
    return np.bincount(labels, weights=w, minlength=k).astype(np.float64)


@dataclass
class _Labels:
    """Per-chunk label arrays with their row offsets; merged by concatenation."""

    pieces: list[tuple[int, np.ndarray]]

    def merge(self, other: _Labels) -> _Labels:
        return _Labels(self.pieces + other.pieces)

    def in_row_order(self, n_rows: int) -> np.ndarray:
        """One int32 array of ``n_rows`` labels, in row order."""
        pieces = sorted(self.pieces, key=lambda piece: piece[0])
        labels = np.concatenate([p for _, p in pieces]) if pieces else np.empty(0, np.int32)
        if labels.shape[0] != n_rows:
            raise DataError(
                f"KMeans: {labels.shape[0]} labels for {n_rows} rows; the chunks do not "
                "hold the rows announced"
            )
        return labels.astype(np.int32, copy=False)


# ---------------------------------------------------------------------------
# Per-chunk functions (module level: they must pickle to cluster workers)
# ---------------------------------------------------------------------------


def _chunk_stats_weighted_picks(batch: Batch, seeds: list[int], k: int) -> dict:
    """Statistics of the chunk and, per run, its ``k`` rows of smallest ``E / w``.

    ``E`` is a standard exponential per row (seeded by the run and the
    chunk's row offset): the ``k`` smallest keys over all rows are a draw of
    ``k`` rows without replacement with probabilities proportional to their
    weights (Efraimidis & Spirakis), in the order of the draw; rows of zero
    weight are never drawn. scikit-learn draws its first centres this way
    (``choice(..., p=w / w.sum())``).
    """
    X = batch.X
    w = _weights_of(batch)
    picks = []
    for seed in seeds:
        e = np.random.default_rng([seed, batch.row_offset]).standard_exponential(X.shape[0])
        with np.errstate(divide="ignore"):
            keys = e / w
        picks.append(
            _Smallest.of_chunk(keys, np.asarray(X, dtype=np.float64), k, offset=batch.row_offset)
        )
    return {"stats": _Stats.of(np.asarray(X, dtype=np.float64)), "picks": picks}


def _chunk_stats_picks(batch: Batch, picks: np.ndarray) -> dict:
    """Statistics of the chunk and the rows whose global index is in ``picks``."""
    X = batch.X
    start = np.searchsorted(picks, batch.row_offset)
    stop = np.searchsorted(picks, batch.row_offset + X.shape[0])
    index = picks[start:stop]
    rows = np.asarray(X[index - batch.row_offset], dtype=np.float64)
    return {
        "stats": _Stats.of(np.asarray(X, dtype=np.float64)),
        "picks": _Smallest(index.astype(np.float64), rows, index, len(picks)),
    }


def _chunk_round(
    batch: Batch,
    shift: np.ndarray | None,
    candidates: list[np.ndarray],
    seeds: list[int],
    round_: int,
    size: int,
) -> list[dict]:
    """One k-means|| round on a chunk, for every run.

    For each run: the (weighted) sum of squared distances to the closest
    candidate and the ``size`` rows with the smallest ``u / (w d2)`` (``u``
    uniform, ``w`` the row's weight).
    """
    X = _shifted(batch.X, shift)
    w = _weights_of(batch)
    out = []
    for cands, seed in zip(candidates, seeds, strict=True):
        _, d2 = _labels_d2(X, cands)
        if w is not None:
            d2 = d2 * w
        u = np.random.default_rng([seed, round_, batch.row_offset]).random(X.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = u / d2  # inf (or nan) for rows on a candidate: never kept
        out.append(
            {
                "cost": float(d2.sum()),
                "sample": _Smallest.of_chunk(keys, X, size, offset=batch.row_offset),
            }
        )
    return out


def _chunk_weights(
    batch: Batch, shift: np.ndarray | None, candidates: list[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows (weight) closest to each candidate and their (weighted) sum, for every run."""
    X = _shifted(batch.X, shift)
    w = _weights_of(batch)
    out = []
    for cands in candidates:
        labels = _labels(X, cands)
        out.append(
            (
                _cluster_weights(labels, cands.shape[0], w),
                _cluster_sums(X, labels, cands.shape[0], w),
            )
        )
    return out


def _chunk_lloyd(
    batch: Batch,
    store: ChunkStore | None,
    shift: np.ndarray | None,
    tasks: list[tuple],
    stats: bool,
    keep_labels: bool = False,
) -> dict:
    """One pass of the Lloyd phase on a chunk: a task per unfinished run.

    Tasks are ``("lloyd", centers, run)`` (per-cluster weighted sums and
    weights, inertia; with ``keep_labels`` the labels are left in the chunk's
    store for :func:`_chunk_labels`), ``("inertia", centers, run)`` (inertia,
    and the labels when ``keep_labels``), ``("far", centers, n)`` (the ``n``
    rows farthest from their closest centre, tagged with its index, with
    their weight as a last column when weighted) and ``("labels", centers,
    run)`` (the labels only, from the store when it holds those of
    ``centers``).
    """
    X = _shifted(batch.X, shift)
    w = _weights_of(batch)
    results: list[Any] = []
    for task in tasks:
        kind, centers = task[0], task[1]
        k = centers.shape[0]
        if kind == "lloyd":
            labels, inertia = _labels_inertia(X, centers, w)
            if keep_labels and store is not None:
                _keep_labels(store, task[2], centers, labels)
            results.append(
                {
                    "sums": _cluster_sums(X, labels, k, w),
                    "counts": _cluster_weights(labels, k, w),
                    "inertia": inertia,
                }
            )
        elif kind == "inertia":
            labels, inertia = _labels_inertia(X, centers, w)
            out: dict[str, Any] = {"inertia": inertia}
            if keep_labels:
                out["labels"] = _Labels([(batch.row_offset, labels)])
            results.append(out)
        elif kind == "labels":
            results.append(
                {
                    "labels": _Labels(
                        [(batch.row_offset, _stored_labels(store, task[2], centers, X))]
                    )
                }
            )
        else:
            labels, d2 = _labels_d2(X, centers)
            rows = X if w is None else np.column_stack([X, w])
            results.append({"far": _Smallest.of_chunk(-d2, rows, task[2], tags=labels)})
    return {
        "stats": _Stats.of(np.asarray(batch.X, dtype=np.float64)) if stats else None,
        "tasks": results,
    }


def _keep_labels(store: ChunkStore, run: int, centers: np.ndarray, labels: np.ndarray) -> None:
    """Leave a Lloyd pass's labels (and the centres they belong to) in the store."""
    store.pop(f"kmeans-{run}-centers")
    if store.put(f"kmeans-{run}-labels", labels):
        store.put(f"kmeans-{run}-centers", centers.copy())


def _stored_labels(
    store: ChunkStore | None, run: int, centers: np.ndarray, X: np.ndarray
) -> np.ndarray:
    """The labels of ``centers``: from the store when it kept them, else computed."""
    if store is not None:
        kept = store.get(f"kmeans-{run}-centers")
        if kept is not None and np.array_equal(kept, centers):
            return np.asarray(store.get(f"kmeans-{run}-labels"))
    return _labels(X, centers)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


@dataclass
class _Run:
    """State of one initialisation during the Lloyd phase."""

    centers: np.ndarray
    task: str = "lloyd"
    n_iter: int = 0
    inertia: float = np.inf
    pending: tuple | None = None  # (sums, counts, inertia, empty) awaiting relocation
    index: int = 0
    labels: _Labels | None = None  # collected in the final inertia pass


def _use_shift(stats: _Stats) -> np.ndarray | None:
    """The data mean when it is far from the origin compared with the spread."""
    mean = stats.mean
    return mean if float(mean @ mean) > float(stats.var.sum()) else None


def _kmeans_parallel(
    passes: Passes,
    shift: np.ndarray | None,
    first: list[np.ndarray],
    pads: list[np.ndarray],
    k: int,
    seeds: list[int],
    local_seeds: list[int],
) -> list[np.ndarray]:
    """k-means|| seeding for every run; returns the initial centres (shifted)."""
    n_runs = len(first)
    over = _OVERSAMPLING * k
    size = 3 * over + 50
    candidates = [row[None, :].copy() for row in first]
    for round_ in range(1, _ROUNDS + 1):
        res = passes.map_reduce(
            partial(
                _chunk_round,
                shift=shift,
                candidates=candidates,
                seeds=seeds,
                round_=round_,
                size=size,
            ),
            label=f"kmeans|| round {round_}",
            combine=add,
        )
        for r in range(n_runs):
            cost, sample = res[r]["cost"], res[r]["sample"]
            if cost > 0:
                keep = sample.keys < over / cost
                order = np.argsort(sample.tags[keep], kind="stable")  # chunking-proof
                candidates[r] = np.vstack([candidates[r], sample.rows[keep][order]])
        if all(res[r]["cost"] <= 0 for r in range(n_runs)):
            break  # every row is a candidate of every run
    for r in range(n_runs):
        if candidates[r].shape[0] < k:
            candidates[r] = np.vstack([candidates[r], pads[r]])
    weights = passes.map_reduce(
        partial(_chunk_weights, shift=shift, candidates=candidates),
        label="kmeans|| weights",
        combine=add,
    )
    out = []
    for r in range(n_runs):
        counts, sums = weights[r]
        filled = counts > 0  # each candidate moves to the mean of its cell
        points = np.where(
            filled[:, None], sums / np.where(filled, counts, 1.0)[:, None], candidates[r]
        )
        out.append(_reduce_candidates(points, counts, k, local_seeds[r]))
    return out


def _reduce_candidates(
    candidates: np.ndarray, weights: np.ndarray, k: int, seed: int
) -> np.ndarray:
    """Weighted k-means (k-means++ seeding, Lloyd, best of
    ``_CANDIDATE_N_INIT``) of the candidates, in memory."""
    used = weights > 0
    if used.sum() >= k:
        candidates, weights = candidates[used], weights[used]
    else:  # fewer distinct rows than clusters: keep the zero-weight ones too
        weights = np.where(used, weights, 1e-12 * max(weights.sum(), 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = _SklearnKMeans(
            n_clusters=k, init="k-means++", n_init=_CANDIDATE_N_INIT, random_state=seed
        ).fit(candidates, sample_weight=weights)
    return np.ascontiguousarray(km.cluster_centers_, dtype=np.float64)


def _relocate(run: _Run, far: _Smallest) -> tuple[np.ndarray, np.ndarray]:
    """Move empty clusters to the farthest rows, as scikit-learn does."""
    sums, counts, _, empty = run.pending
    order = np.argsort(far.keys, kind="stable")  # farthest first
    if len(order) == 0 or -far.keys[order[0]] == 0:
        return sums, counts  # all rows sit on their centres: nothing to gain
    p = sums.shape[1]
    for cluster, idx in zip(empty, order, strict=False):
        old = far.tags[idx]
        row = far.rows[idx]
        weight = float(row[p]) if row.shape[0] > p else 1.0  # weighted: last column
        sums[old] -= row[:p] * weight
        counts[old] -= weight
        sums[cluster] = row[:p] * weight
        counts[cluster] = weight
    return sums, counts


def _update(
    run: _Run, sums: np.ndarray, counts: np.ndarray, inertia: float, tol: float, max_iter: int
) -> None:
    """Finish one Lloyd iteration of ``run``: new centres, convergence test."""
    filled = counts > 0
    new = np.where(filled[:, None], sums / np.where(filled, counts, 1.0)[:, None], 0.0)
    if not filled.all():  # scikit-learn puts them on the most populated cluster
        new[~filled] = new[np.argmax(counts)]
    shift_tot = float(((new - run.centers) ** 2).sum())
    run.n_iter += 1
    if shift_tot == 0.0:  # strict convergence: `inertia` is the final centres'
        run.inertia = inertia
        run.task = "done"
        return
    run.centers = new
    run.task = "inertia" if shift_tot <= tol or run.n_iter >= max_iter else "lloyd"


def _lloyd(
    passes: Passes,
    runs: list[_Run],
    shift: np.ndarray | None,
    tol: float | None,
    rel_tol: float,
    max_iter: int,
    keep_labels: bool = False,
) -> _Stats | None:
    """Lloyd iterations and final inertia of every run, side by side.

    With ``keep_labels``, the final inertia pass of a run also collects its
    labels (``run.labels``; kept only for the runs that can still win), and
    every Lloyd pass leaves its labels in the chunk stores for
    :func:`_final_labels`.
    """
    stats = None
    step = 0
    for index, run in enumerate(runs):
        run.index = index
    while any(run.task != "done" for run in runs):
        active = [run for run in runs if run.task != "done"]
        tasks = []
        for run in active:
            if run.task == "far":
                tasks.append(("far", run.centers, len(run.pending[3])))
            else:
                tasks.append((run.task, run.centers, run.index))
        step += 1
        kinds = {run.task for run in active}
        label = "kmeans inertia" if kinds == {"inertia"} else f"kmeans lloyd {step}"
        res = passes.map_reduce(
            partial(
                _chunk_lloyd,
                shift=shift,
                tasks=tasks,
                stats=tol is None,
                keep_labels=keep_labels,
            ),
            label=label,
            combine=add,
            with_store=True,
        )
        if tol is None:
            stats = res["stats"]
            tol = float(stats.var.mean()) * rel_tol
        for run, out in zip(active, res["tasks"], strict=True):
            if run.task == "inertia":
                run.inertia = out["inertia"]
                run.labels = out.get("labels")
                run.task = "done"
            elif run.task == "far":
                inertia = run.pending[2]
                sums, counts = _relocate(run, out["far"])
                run.pending = None
                _update(run, sums, counts, inertia, tol, max_iter)
            else:
                empty = np.flatnonzero(out["counts"] == 0)
                if len(empty):
                    run.pending = (out["sums"], out["counts"], out["inertia"], empty)
                    run.task = "far"
                else:
                    _update(run, out["sums"], out["counts"], out["inertia"], tol, max_iter)
        done = [run.inertia for run in runs if run.task == "done"]
        for run in runs:  # labels of runs that cannot win any more are dropped
            if run.labels is not None and run.inertia > min(done):
                run.labels = None
    return stats


def _final_labels(passes: Passes, run: _Run, shift: np.ndarray | None) -> np.ndarray:
    """The labels of the winning run's final centres, in row order (int32).

    Collected by its final inertia pass, else (a run stopped by strict
    convergence, whose last Lloyd pass already used the final centres) by one
    more pass that reads them from the chunk stores, computing them only
    where a store did not keep them.
    """
    if run.labels is None:
        res = passes.map_reduce(
            partial(
                _chunk_lloyd,
                shift=shift,
                tasks=[("labels", run.centers, run.index)],
                stats=False,
                keep_labels=True,
            ),
            label="kmeans labels",
            combine=add,
            with_store=True,
        )
        run.labels = res["tasks"][0]["labels"]
    return run.labels.in_row_order(passes.n_rows)


def fit_kmeans(passes: Passes, params: dict, *, backend: str = "dask") -> dict:
    """Fit k-means on chunked data with passes; scikit-learn's Lloyd semantics.

    Parameters
    ----------
    passes : Passes
        The data.
    params : dict
        ``KMeans.get_params()``; checked with :func:`check_kmeans_params`.

    Returns
    -------
    dict
        ``cluster_centers_`` (ndarray of shape (n_clusters, n_features)),
        ``inertia_`` (float: sum of squared distances of the rows to the closest
        final centre), ``n_iter_`` (int: Lloyd iterations of the best run) and
        ``labels_`` (int32 ndarray of shape (n_rows,), in row order; left out,
        with a warning, when its 4 bytes per row exceed the memory budget).

    Raises
    ------
    UnsupportedOnBackend
        See :func:`check_kmeans_params`.
    DataError
        Fewer rows than clusters (or, with sample weights, fewer rows of
        non-zero weight).
    InvalidParameterError
        An ``init`` array whose shape is not ``(n_clusters, n_features)``.

    Notes
    -----
    ``init='k-means++'`` seeds with k-means|| (5 rounds, oversampling
    ``2 * n_clusters``) and ``init='random'`` with ``n_clusters`` rows drawn
    uniformly without replacement (the distribution of scikit-learn's draw,
    not its random numbers). ``n_init`` runs share passes. Passes: see the
    module docstring.
    """
    check_kmeans_params(params, backend=backend)
    k = int(params.get("n_clusters", 8))
    max_iter = int(params.get("max_iter", 300))
    rel_tol = float(params.get("tol", 1e-4))
    n_init = params.get("n_init", "auto")
    for name, value, ok in (
        ("n_clusters", k, k >= 1),
        ("max_iter", max_iter, max_iter >= 1),
        ("tol", rel_tol, rel_tol >= 0),
        ("n_init", n_init, n_init == "auto" or int(n_init) >= 1),
    ):
        if not ok:
            raise InvalidParameterError(f"KMeans({name}={value!r}) is out of range")
    init = params.get("init", "k-means++")
    n_rows, n_features = int(passes.n_rows), int(passes.n_features)
    if n_rows < k:
        raise DataError(f"n_samples={n_rows} should be >= n_clusters={k}.")
    n_runs = _n_runs(params)
    rs = check_random_state(params.get("random_state"))
    seeds = [int(s) for s in rs.randint(np.iinfo(np.int32).max, size=(n_runs, 3)).ravel()]
    run_seeds, pick_seeds, local_seeds = seeds[0::3], seeds[1::3], seeds[2::3]

    # scikit-learn's E-step runs BLAS inside its OpenMP threads: one BLAS thread
    # for the whole fit, set from the calling thread.
    blas = (
        _get_threadpool_controller().limit(limits=1, user_api="blas")
        if _USE_SKLEARN
        else nullcontext()
    )
    passes.expect_passes(None)  # statistics, seeding, Lloyd: keep the chunks
    keep_labels = LABEL_BYTES * n_rows <= memory_budget()
    if not keep_labels:
        warnings.warn(
            f"KMeans on backend '{backend}': labels_ ({LABEL_BYTES} bytes per row, "
            f"{LABEL_BYTES * n_rows / 2**20:.0f} MiB for {n_rows} rows) exceeds the memory "
            "budget and is not computed; call predict() on the data (in parts) for the "
            "labels, or raise so.config_context(memory_budget=...).",
            UserWarning,
            stacklevel=2,
        )
    with blas:
        if not isinstance(init, str):
            centers = np.array(init, dtype=np.float64, order="C")
            if centers.shape[0] != k:
                raise InvalidParameterError(
                    f"The shape of the initial centers {centers.shape} does not match "
                    f"the number of clusters {k}."
                )
            if centers.shape[1] != n_features:
                raise InvalidParameterError(
                    f"The shape of the initial centers {centers.shape} does not match "
                    f"the number of features of the data {n_features}."
                )
            if not np.isfinite(centers).all():
                raise InvalidParameterError("The initial centers contain NaN or infinity.")
            reference = centers.mean(axis=0)
            spread = float(((centers - reference) ** 2).sum() / k)
            shift = reference if float(reference @ reference) > spread else None
            runs = [_Run(centers - reference if shift is not None else centers)]
            _lloyd(passes, runs, shift, None, rel_tol, max_iter, keep_labels)
        else:
            if passes.weighted:  # draws proportional to the weights, as scikit-learn's
                first = passes.map_reduce(
                    partial(_chunk_stats_weighted_picks, seeds=pick_seeds, k=k),
                    label="kmeans statistics",
                    combine=add,
                )
                stats = first["stats"]
                picked = [got.rows[np.argsort(got.keys, kind="stable")] for got in first["picks"]]
                if any(p.shape[0] < k for p in picked):
                    raise DataError(
                        f"KMeans: fewer rows of non-zero sample_weight than n_clusters={k}"
                    )
                shift = _use_shift(stats)
            else:
                picks_per_run = [
                    np.random.default_rng(s).choice(n_rows, size=k, replace=False)
                    for s in pick_seeds
                ]
                picks = np.unique(np.concatenate(picks_per_run))
                first = passes.map_reduce(
                    partial(_chunk_stats_picks, picks=picks),
                    label="kmeans statistics",
                    combine=add,
                )
                stats, got = first["stats"], first["picks"]
                if got.tags.shape[0] != picks.shape[0]:
                    raise DataError(
                        f"KMeans: {got.tags.shape[0]} of {picks.shape[0]} sampled rows (indices "
                        f"below {n_rows}) were found; the chunks do not hold the {n_rows} rows "
                        "announced"
                    )
                shift = _use_shift(stats)
                by_index = dict(zip(got.tags.tolist(), got.rows, strict=True))
                picked = [np.array([by_index[i] for i in p]) for p in picks_per_run]
            if shift is not None:
                picked = [p - shift for p in picked]
            if init == "random":
                starts = picked
            else:
                starts = _kmeans_parallel(
                    passes,
                    shift,
                    [p[0] for p in picked],
                    [p[1:] for p in picked],
                    k,
                    run_seeds,
                    local_seeds,
                )
            runs = [_Run(np.ascontiguousarray(c)) for c in starts]
            tol = float(stats.var.mean()) * rel_tol
            _lloyd(passes, runs, shift, tol, rel_tol, max_iter, keep_labels)

    best = min(runs, key=lambda run: run.inertia)  # first of equals, as scikit-learn
    centers = best.centers + shift if shift is not None else best.centers.copy()
    state = {
        "cluster_centers_": centers,
        "inertia_": float(best.inertia),
        "n_iter_": int(best.n_iter),
    }
    if keep_labels:
        state["labels_"] = _final_labels(passes, best, shift)
    return state
