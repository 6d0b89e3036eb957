"""A fourth engine, packaged as a plug-in would be: the shared kernels on chunks in memory.

It is registered the way any engine is, through the ``scaleout.backends``
entry-point group of its (test-only) distribution metadata beside this file
(``scaleout_memory_engine-0.1.dist-info``); tests/conftest.py puts this folder
on ``sys.path``, which is all an installed package would do. It touches no
scaleout internals: the public engine contract, the kernel each estimator
declares, the kernels' in-memory executor and the data layer's weight check.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from scaleout.data import check_weight_count
from scaleout.engines import Backend, FitResult, FitTask
from scaleout.kernels import kernel_of
from scaleout.kernels.passes import InMemoryPasses

#: Rows per chunk: small, so that every fit merges several chunks.
CHUNK_ROWS = 97


class MemoryBackend(Backend):
    """Fits every estimator that declares a kernel, on in-memory chunks of the data."""

    name = "memory"
    requires = ("numpy",)

    def supports(self, estimator: type) -> bool:
        return kernel_of(estimator) is not None

    def check_supported(self, task: FitTask) -> None:
        super().check_supported(task)
        kernel_of(task.estimator).check_params(task.params, backend=self.name)

    def fit(self, task: FitTask, dataset: Any, sample_weight: Any = None) -> FitResult:
        start = time.perf_counter()
        X, y = dataset.to_numpy()
        weights = None
        if sample_weight is not None:
            # the row count of a file (CSV) is known only now: one weight per row
            check_weight_count(sample_weight, X.shape[0])
            weights = np.broadcast_to(
                np.asarray(sample_weight, dtype=np.float64), (X.shape[0],)
            ).copy()
        passes = InMemoryPasses.from_arrays(X, y, chunk_rows=CHUNK_ROWS, sample_weight=weights)
        try:
            state = kernel_of(task.estimator).run(
                passes,
                task.params,
                backend=self.name,
                check_target=task.check_target if task.classifier else None,
            )
        finally:
            passes.close()
        stats = {
            "rows": int(X.shape[0]),
            "passes": passes.passes + passes.sample_passes,
            "seconds": time.perf_counter() - start,
        }
        return FitResult(state, stats)
