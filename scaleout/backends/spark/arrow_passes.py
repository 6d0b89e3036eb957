"""A kernel's chunk function over a Spark frame's Arrow batches: one ``mapInArrow`` pass.

The function given to ``mapInArrow`` turns each Arrow batch of a partition
into NumPy arrays (:func:`batch_arrays`), adds up what the kernel's chunk
function returns, and yields one row of packed doubles a partition
(:func:`partition_rows` collects them). :func:`ship_by_value` pickles the
executor functions and the kernel modules they call by value: the
executors then need NumPy, SciPy and pyarrow, not scaleout (no import of the
whole package in each new Python worker; a cluster whose workers lack
scaleout still fits). Used by LogisticRegression's Newton passes
(:mod:`.logistic_newton`) and the scalers' moments (:mod:`.preprocessing`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["batch_arrays", "packed_row", "partition_rows", "ship_by_value"]


def batch_arrays(batch: Any, n_features: int, extra: int = 0) -> list[np.ndarray]:
    """``[X (n_rows, n_features) float64, *the next extra columns]`` of an Arrow batch."""
    X = np.column_stack(
        [batch.column(j).to_numpy(zero_copy_only=False) for j in range(n_features)]
    ).astype(np.float64, copy=False)
    rest = [batch.column(n_features + j).to_numpy(zero_copy_only=False) for j in range(extra)]
    return [X, *rest]


def packed_row(values: np.ndarray, name: str) -> Any:
    """A one-row Arrow batch holding ``values``' float64 bytes in binary column ``name``."""
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.float64).tobytes()
    return pa.RecordBatch.from_arrays([pa.array([data], pa.binary())], names=[name])


def ship_by_value(*modules: ModuleType) -> None:
    """Pickle this module's and ``modules``' functions by value in Spark's closures."""
    from pyspark import cloudpickle

    for module in (sys.modules[__name__], *modules):
        cloudpickle.register_pickle_by_value(module)


def partition_rows(
    frame: Any, function: Callable[[Iterator[Any]], Iterator[Any]], name: str
) -> list[np.ndarray]:
    """Run ``frame.mapInArrow(function)`` (one binary column ``name``) and unpack its rows."""
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(name, T.BinaryType())])
    rows = frame.mapInArrow(function, schema).collect()
    return [np.frombuffer(row[0], dtype=np.float64) for row in rows]
