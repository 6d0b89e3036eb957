"""Run kernel passes with Dask: on one machine, or on a ``distributed`` cluster.

One machine (no cluster configured): partitions are read from their files
by Dask's threaded scheduler and each pass is a tree-reduction of the
kernel's per-chunk function. Decoded chunks are kept only when a second pass
is coming (see :meth:`~scaleout.kernels.passes.Passes.expect_passes`), so a
one-pass fit streams the files and writes nothing; a multi-pass fit keeps
them so it does not pay Parquet decoding on every pass:

* ``memory``: in RAM, when the whole dataset fits the memory budget;
* ``spill``: otherwise in a local binary spill file per chunk (``.npy``),
  read back by memory map on later passes, removed at :meth:`close`.

A cluster (an active ``distributed.Client`` or ``dask_scheduler=
"tcp://host:port"`` in the config): each worker reads its own partitions
(the client only sends file names and row-group numbers). A one-pass fit
reads and reduces in the same tasks and keeps nothing; a multi-pass fit
keeps the loaded chunks (with their per-chunk stores) in cluster memory as
futures across passes (workers spill to disk when memory is short), and a
chunk lost with a worker is re-read elsewhere from its partition.

Sample weights, when given, stay on the client as one array; each chunk gets
the slice of its rows (``Batch.weights``), shipped with the partition.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import dask
import numpy as np
from dask.sizeof import sizeof

from ..._config import memory_budget
from ..._tempfiles import make_spill_dir
from ...data import Batch
from ...data.partitions import BatchPartition, Partition
from ...kernels.passes import ChunkStore, Passes, SampleFn, chunk_allowance, concat_batches

T = TypeVar("T")

__all__ = ["ClusterPasses", "LocalPasses"]


def _tree_reduce(items: list[Any], combine: Callable[[Any, Any], Any]) -> list[Any]:
    """Pair up items until one is left (works for delayed objects and futures alike)."""
    while len(items) > 1:
        paired = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            paired.append(items[-1])
        items = paired
    return items


def _weight_slices(
    partitions: Sequence[Partition], sample_weight: np.ndarray | None
) -> list[np.ndarray | None]:
    if sample_weight is None:
        return [None] * len(partitions)
    return [sample_weight[p.row_offset : p.row_offset + p.n_rows] for p in partitions]


def _weighted(batch: Batch, weights: np.ndarray | None) -> Batch:
    return batch if weights is None else replace(batch, weights=weights)


class LocalPasses(Passes):
    """Passes on this machine with Dask's threaded scheduler.

    Parameters
    ----------
    partitions : sequence of Partition
        The data.
    n_features : int
    cache : {"auto", "memory", "spill", "none"}, default "auto"
        Where decoded chunks are kept once a second pass is coming: "auto" is
        "memory" when ``estimated_nbytes`` fits the memory budget, else
        "spill"; "none" re-reads the files on every pass.
    estimated_nbytes : int, optional
        The data's decoded size, for "auto" (default: rows x features x 8).
    spill_dir : str, optional
        Parent directory of the spill files (default: the system temp dir).
    sample_weight : ndarray of shape (n_rows,), optional
        Row weights, attached to the chunks.
    """

    description = "scaleout dask (local)"

    def __init__(
        self,
        partitions: Sequence[Partition],
        n_features: int,
        *,
        cache: str = "auto",
        estimated_nbytes: int | None = None,
        spill_dir: str | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.partitions = list(partitions)
        self.n_rows = sum(p.n_rows for p in self.partitions)
        self.n_features = n_features
        self.weighted = sample_weight is not None
        self._weights = _weight_slices(self.partitions, sample_weight)
        self._policy = cache
        self._estimated = (
            self.n_rows * (n_features + 1) * 8 if estimated_nbytes is None else estimated_nbytes
        )
        self._memory: dict[int, Batch] = {}
        self._spill_root = spill_dir
        self._spill_dir: str | None = None
        self._spilled: dict[int, tuple[str, str | None, str]] = {}
        self._stores: list[ChunkStore] | None = None
        self._lock = threading.Lock()

    # ---------------------------------------------------------- decoded chunks
    def _decide_storage(self) -> str:
        """Where chunks go, decided when the first chunk is kept."""
        if self.storage == "none":
            policy = self._policy
            if all(isinstance(p, BatchPartition) for p in self.partitions):
                policy = "memory"  # in-memory input: it is in memory already
            elif policy == "auto":
                policy = "memory" if self._estimated <= memory_budget() else "spill"
            self.storage = policy
        return self.storage

    def spill_directory(self) -> str:
        """This fit's spill directory, made at the first call."""
        with self._lock:
            if self._spill_dir is None:
                # named after this process: a killed fit's directory is removed by the next
                self._spill_dir = make_spill_dir(self._spill_root)
            return self._spill_dir

    def _chunk(self, index: int, keep: bool) -> Batch:
        if index in self._memory:
            batch = self._memory[index]
        elif index in self._spilled:
            x_path, y_path, source = self._spilled[index]
            y = None if y_path is None else np.load(y_path, mmap_mode="r")
            offset = self.partitions[index].row_offset
            batch = Batch(np.load(x_path, mmap_mode="r"), y, source, offset)
        else:
            batch = self.partitions[index].load()
            if keep:
                self._keep(index, batch)
        return _weighted(batch, self._weights[index])

    def _keep(self, index: int, batch: Batch) -> None:
        storage = self._decide_storage()
        if storage == "memory" or isinstance(self.partitions[index], BatchPartition):
            self._memory[index] = batch
        elif storage == "spill":
            self._spill(index, batch)

    def _spill(self, index: int, batch: Batch) -> None:
        if not isinstance(batch.X, np.ndarray):
            return  # a raw table's frame (strings): the next pass reads the source again
        if batch.y is not None and batch.y.dtype == object:
            self._memory[index] = batch  # object labels: keep them in memory (small)
            return
        directory = self.spill_directory()
        x_path = os.path.join(directory, f"{index}.X.npy")
        np.save(x_path, batch.X)
        y_path = None
        if batch.y is not None:
            y_path = os.path.join(directory, f"{index}.y.npy")
            np.save(y_path, batch.y)
        self._spilled[index] = (x_path, y_path, batch.source)

    # ------------------------------------------------------------------ stores
    def _chunk_stores(self) -> list[ChunkStore]:
        with self._lock:
            if self._stores is None:
                budget = memory_budget()
                if self.storage == "memory":  # the decoded chunks take their share first
                    budget = max(budget - self._estimated, 0)
                self._stores = [
                    ChunkStore(
                        chunk_allowance(p.n_rows, self.n_rows, budget),
                        self.spill_directory if self._policy != "memory" else None,
                        f"store{i}.",
                    )
                    for i, p in enumerate(self.partitions)
                ]
            return self._stores

    # ------------------------------------------------------------------ passes
    def _keep_this_pass(self) -> bool:
        """Whether this pass keeps the chunks it decodes; decides where, here.

        Decided on the calling thread: the configuration (the memory budget)
        is thread-local and Dask's worker threads do not see it.
        """
        keep = self.keeps_chunks() and self._policy != "none"
        if keep:
            self._decide_storage()
        return keep

    def _apply(self, fn: Callable[[Batch, ChunkStore | None], T], index: int, keep: bool) -> T:
        store = self._stores[index] if self._stores is not None else None
        return fn(self._chunk(index, keep), store)

    def _map_reduce(
        self, fn: Callable[[Batch, ChunkStore | None], T], combine: Callable[[T, T], T]
    ) -> T:
        keep = self._keep_this_pass()
        self._chunk_stores()
        leaves = [dask.delayed(self._apply)(fn, i, keep) for i in range(len(self.partitions))]
        (root,) = _tree_reduce(leaves, dask.delayed(combine))
        return dask.compute(root, scheduler="threads")[0]

    def sample(self, n: int, random_state: int | None) -> Batch:
        keep = self._keep_this_pass()
        self.sample_passes += 1
        sampler = SampleFn.for_passes(self, n, random_state)
        parts = [
            dask.delayed(self._apply)(sampler, i, keep) for i in range(len(self.partitions))
        ]
        (root,) = _tree_reduce(parts, dask.delayed(concat_batches))
        return dask.compute(root, scheduler="threads")[0]

    def close(self) -> None:
        super().close()
        self._memory.clear()
        self._spilled.clear()
        if self._stores is not None:
            for store in self._stores:
                store.clear()
            self._stores = None
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None


# ------------------------------------------------------------------ cluster
@dataclass
class _Resident:
    """A chunk kept on a worker across passes, with its store."""

    batch: Batch
    store: ChunkStore


@sizeof.register(_Resident)
def _sizeof_resident(resident: _Resident) -> int:
    """Bytes a kept chunk holds, for the workers' memory management (spill to disk)."""
    batch = resident.batch
    arrays = (batch.X, batch.y, batch.weights)
    return sum(int(a.nbytes) for a in arrays if a is not None) + resident.store.nbytes


def _load(partition: Partition, weights: np.ndarray | None, allowance: int) -> _Resident:
    return _Resident(_weighted(partition.load(), weights), ChunkStore(allowance))


def _apply_remote(fn: Callable[[Batch, ChunkStore | None], T], resident: _Resident) -> T:
    return fn(resident.batch, resident.store)


def _load_apply(
    fn: Callable[[Batch, ChunkStore | None], T], partition: Partition, weights: np.ndarray | None
) -> T:
    return fn(_weighted(partition.load(), weights), ChunkStore(0))


class ClusterPasses(Passes):
    """Passes on a ``distributed`` cluster; workers read their own partitions.

    Parameters
    ----------
    client : distributed.Client
    partitions : sequence of Partition
    n_features : int
    sample_weight : ndarray of shape (n_rows,), optional
        Row weights; each worker receives the slice of its chunk.

    Notes
    -----
    A one-pass fit runs "read, then apply" tasks and keeps nothing
    (``storage`` "none"); once a second pass is coming, the chunks are loaded
    into futures kept on the workers ("cluster memory") with a per-chunk
    store each (its share of the client's memory budget), all released by
    :meth:`close`. In-memory input is scattered to the workers at once.
    """

    description = "scaleout dask (cluster)"

    def __init__(
        self,
        client: Any,
        partitions: Sequence[Partition],
        n_features: int,
        *,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.partitions = list(partitions)
        self.n_rows = sum(p.n_rows for p in self.partitions)
        self.n_features = n_features
        self.weighted = sample_weight is not None
        self._weights = _weight_slices(self.partitions, sample_weight)
        self._token = uuid.uuid4().hex[:12]
        self._chunks: list[Any] | None = None
        self._pass_number = 0
        if any(isinstance(p, BatchPartition) for p in self.partitions):
            self._load_chunks()  # in-memory input: ship it once

    def _load_chunks(self) -> list[Any]:
        if self._chunks is None:
            budget = memory_budget()
            chunks = []
            for i, (part, weights) in enumerate(zip(self.partitions, self._weights, strict=True)):
                allowance = chunk_allowance(part.n_rows, self.n_rows, budget)
                if isinstance(part, BatchPartition):
                    resident = _Resident(_weighted(part.batch, weights), ChunkStore(allowance))
                    chunks.append(self.client.scatter(resident, hash=False))
                else:  # a file partition: the worker reads it (and re-reads it if lost)
                    chunks.append(
                        self.client.submit(
                            _load,
                            part,
                            weights,
                            allowance,
                            key=f"scaleout-load-{self._token}-{i}",
                            retries=2,
                        )
                    )
            self._chunks = chunks
            self.storage = "cluster memory"
        return self._chunks

    def _map_reduce(
        self, fn: Callable[[Batch, ChunkStore | None], T], combine: Callable[[T, T], T]
    ) -> T:
        self._pass_number += 1
        prefix = f"scaleout-pass-{self._token}-{self._pass_number}"
        if self._chunks is not None or self.keeps_chunks():
            leaves = [
                self.client.submit(_apply_remote, fn, chunk, key=f"{prefix}-map-{i}", retries=2)
                for i, chunk in enumerate(self._load_chunks())
            ]
        else:  # one pass: read and apply in the same task, keep nothing
            leaves = [
                self.client.submit(
                    _load_apply, fn, part, weights, key=f"{prefix}-map-{i}", retries=2
                )
                for i, (part, weights) in enumerate(
                    zip(self.partitions, self._weights, strict=True)
                )
            ]
        counter = iter(range(10**9))

        def submit_combine(a: Any, b: Any) -> Any:
            return self.client.submit(
                combine, a, b, key=f"{prefix}-combine-{next(counter)}", retries=2
            )

        (root,) = _tree_reduce(leaves, submit_combine)
        return root.result()

    def sample(self, n: int, random_state: int | None) -> Batch:
        result = self._map_reduce(SampleFn.for_passes(self, n, random_state), concat_batches)
        self.sample_passes += 1
        return result

    def close(self) -> None:
        super().close()
        if self._chunks is not None:
            self.client.cancel(self._chunks)
            self._chunks = None
