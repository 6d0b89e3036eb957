"""Run kernel passes with Dask: on one machine, or on a ``distributed`` cluster.

One machine (no cluster configured): partitions are read from their files
by Dask's threaded scheduler and each pass is a tree-reduction of the
kernel's per-chunk function. Multi-pass algorithms should not pay Parquet
decoding on every pass, so decoded chunks are kept:

* ``memory``: in RAM, when the whole dataset fits the memory budget;
* ``spill``: otherwise in a local binary spill file per chunk (``.npy``),
  read back by memory map on later passes.

A cluster (an active ``distributed.Client`` or ``dask_scheduler=
"tcp://host:port"`` in the config): each worker reads its own partitions
(the client only sends file names and row-group numbers); the loaded chunks
stay in cluster memory as futures across passes (workers spill to disk when
memory is short), and a chunk lost with a worker is re-read elsewhere from
its partition.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import dask
import numpy as np

from ...data import Batch
from ...data.partitions import Partition
from .passes import Passes

T = TypeVar("T")


def _tree_reduce(items: list[Any], combine: Callable[[Any, Any], Any]) -> list[Any]:
    """Pair up items until one is left (works for delayed objects and futures alike)."""
    while len(items) > 1:
        paired = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            paired.append(items[-1])
        items = paired
    return items


class LocalPasses(Passes):
    """Passes on this machine with Dask's threaded scheduler.

    Parameters
    ----------
    partitions : sequence of Partition
        The data.
    n_features : int
    cache : {"memory", "spill", "none"}
        Where decoded chunks are kept between passes.
    spill_dir : str, optional
        Parent directory of the spill files (default: the system temp dir).
    """

    description = "scaleout dask (local)"

    def __init__(
        self,
        partitions: Sequence[Partition],
        n_features: int,
        *,
        cache: str = "memory",
        spill_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.partitions = list(partitions)
        self.n_rows = sum(p.n_rows for p in self.partitions)
        self.n_features = n_features
        self.storage = cache
        self._memory: dict[int, Batch] = {}
        self._spill_root = spill_dir
        self._spill_dir: str | None = None
        self._spilled: dict[int, tuple[str, str | None, str]] = {}

    def _chunk(self, index: int) -> Batch:
        if index in self._memory:
            return self._memory[index]
        if index in self._spilled:
            x_path, y_path, source = self._spilled[index]
            y = None if y_path is None else np.load(y_path, mmap_mode="r")
            offset = self.partitions[index].row_offset
            return Batch(np.load(x_path, mmap_mode="r"), y, source, offset)
        batch = self.partitions[index].load()
        if self.storage == "memory":
            self._memory[index] = batch
        elif self.storage == "spill":
            self._spill(index, batch)
        return batch

    def _spill(self, index: int, batch: Batch) -> None:
        if self._spill_dir is None:
            self._spill_dir = tempfile.mkdtemp(prefix="scaleout-spill-", dir=self._spill_root)
        x_path = os.path.join(self._spill_dir, f"{index}.X.npy")
        np.save(x_path, batch.X)
        y_path = None
        if batch.y is not None and batch.y.dtype != object:
            y_path = os.path.join(self._spill_dir, f"{index}.y.npy")
            np.save(y_path, batch.y)
        elif batch.y is not None:  # object labels: keep them in memory (small)
            self._memory[index] = batch
            return
        self._spilled[index] = (x_path, y_path, batch.source)

    def _apply(self, fn: Callable[[Batch], T], index: int) -> T:
        return fn(self._chunk(index))

    def _map_reduce(self, fn: Callable[[Batch], T], combine: Callable[[T, T], T]) -> T:
        leaves = [dask.delayed(self._apply)(fn, i) for i in range(len(self.partitions))]
        (root,) = _tree_reduce(leaves, dask.delayed(combine))
        return dask.compute(root, scheduler="threads")[0]

    def sample(self, n: int, random_state: int | None) -> Batch:
        from .passes import _concat

        self.sample_passes += 1
        fraction = min(1.0, n / max(self.n_rows, 1))
        seed = 0 if random_state is None else int(random_state)
        parts = [
            dask.delayed(self._apply)(_SampleFn(fraction, seed), i)
            for i in range(len(self.partitions))
        ]
        (root,) = _tree_reduce(parts, dask.delayed(_concat))
        return dask.compute(root, scheduler="threads")[0]

    def close(self) -> None:
        super().close()
        self._memory.clear()
        self._spilled.clear()
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None


class _SampleFn:
    """Picklable Bernoulli row sampler."""

    def __init__(self, fraction: float, seed: int) -> None:
        self.fraction = fraction
        self.seed = seed

    def __call__(self, batch: Batch) -> Batch:
        from .passes import _bernoulli_rows

        return _bernoulli_rows(batch, self.fraction, self.seed)


def _load(partition: Partition) -> Batch:
    return partition.load()


def _apply_remote(fn: Callable[[Batch], T], batch: Batch) -> T:
    return fn(batch)


class ClusterPasses(Passes):
    """Passes on a ``distributed`` cluster; workers read their own partitions.

    Parameters
    ----------
    client : distributed.Client
    partitions : sequence of Partition
    n_features : int
    """

    description = "scaleout dask (cluster)"

    def __init__(self, client: Any, partitions: Sequence[Partition], n_features: int) -> None:
        super().__init__()
        from ...data.partitions import BatchPartition

        self.client = client
        self.partitions = list(partitions)
        self.n_rows = sum(p.n_rows for p in self.partitions)
        self.n_features = n_features
        self.storage = "cluster memory"
        self._token = uuid.uuid4().hex[:12]
        self._chunks = []
        for i, part in enumerate(self.partitions):
            if isinstance(part, BatchPartition):  # in-memory input: ship it once
                future = client.scatter(part.batch, hash=False)
            else:  # a file partition: the worker reads it (and re-reads it if lost)
                future = client.submit(
                    _load, part, key=f"scaleout-load-{self._token}-{i}", retries=2
                )
            self._chunks.append(future)
        self._pass_number = 0

    def _map_reduce(self, fn: Callable[[Batch], T], combine: Callable[[T, T], T]) -> T:
        self._pass_number += 1
        prefix = f"scaleout-pass-{self._token}-{self._pass_number}"
        leaves = [
            self.client.submit(_apply_remote, fn, chunk, key=f"{prefix}-map-{i}", retries=2)
            for i, chunk in enumerate(self._chunks)
        ]
        counter = iter(range(10**9))

        def submit_combine(a: Any, b: Any) -> Any:
            return self.client.submit(
                combine, a, b, key=f"{prefix}-combine-{next(counter)}", retries=2
            )

        (root,) = _tree_reduce(leaves, submit_combine)
        return root.result()

    def sample(self, n: int, random_state: int | None) -> Batch:
        from .passes import _concat

        self.sample_passes += 1
        fraction = min(1.0, n / max(self.n_rows, 1))
        seed = 0 if random_state is None else int(random_state)
        return self._map_reduce(_SampleFn(fraction, seed), _concat)

    def close(self) -> None:
        super().close()
        self.client.cancel(self._chunks)
        self._chunks = []
