"""The suite's data: one Parquet dataset per kind and size, and a sample to score models on."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..datasets import make_blobs, make_classification, make_regression
from ..datasets._common import DatasetInfo

__all__ = ["KINDS", "BenchData", "generate", "sample"]

KINDS: tuple[str, ...] = ("regression", "classification", "blobs")
SEEDS = {"regression": 0, "classification": 1, "blobs": 2}


@dataclass
class BenchData:
    """A generated dataset and what the suite needs of it.

    Attributes
    ----------
    kind : str
        "regression", "classification" or "blobs".
    info : DatasetInfo
        The generator's description (path, files, rows, features).
    generate_s : float
        Seconds it took to write (0 when an existing copy was reused).
    nbytes : int
        float64 X + y in memory: what scaleout's size rule compares with the budget.
    disk_bytes : int
        Size of the Parquet files.
    """

    kind: str
    info: DatasetInfo
    generate_s: float
    nbytes: int
    disk_bytes: int

    @property
    def path(self) -> str:
        """The directory of the Parquet files."""
        return self.info.path

    @property
    def rows(self) -> int:
        """Number of rows."""
        return self.info.n_rows

    @property
    def features(self) -> list[str]:
        """The feature column names."""
        return [f"x{j}" for j in range(self.info.n_features)]


def generate(kind: str, rows: int, n_features: int, root: str | os.PathLike[str]) -> BenchData:
    """Write (or reuse) the ``kind`` dataset of ``rows`` rows under ``root``.

    At least four row groups in two files, so every engine can split the
    work over two workers; the rows depend only on the kind, size and seed
    (:data:`SEEDS`). A directory that already holds the dataset (``--data-dir``
    of an earlier run) is reused.

    Parameters
    ----------
    kind : {"regression", "classification", "blobs"}
        Which generator.
    rows : int
        Number of rows.
    n_features : int
        Number of feature columns.
    root : path-like
        Parent directory; the data goes to ``root/<kind>-<rows>x<features>``.

    Returns
    -------
    BenchData
    """
    path = Path(root) / f"{kind}-{rows}x{n_features}"
    chunk_rows = min(250_000, -(-rows // 4))
    n_files = 2 if rows >= 2 else 1
    kw = {"random_state": SEEDS[kind], "chunk_rows": chunk_rows, "n_files": n_files}
    start = time.perf_counter()
    files = sorted(path.glob("part-*.parquet")) if path.is_dir() else []
    if len(files) == n_files and sum(pq.ParquetFile(f).metadata.num_rows for f in files) == rows:
        info = DatasetInfo(str(path), [str(f) for f in files], rows, n_features, "y")
        elapsed = 0.0
    else:
        make = {
            "regression": make_regression,
            "classification": make_classification,
            "blobs": lambda *a, **k: make_blobs(*a, centers=8, **k),
        }[kind]
        info = make(path, rows, n_features, overwrite=True, **kw)
        elapsed = time.perf_counter() - start
    return BenchData(
        kind=kind,
        info=info,
        generate_s=elapsed,
        nbytes=rows * (n_features + 1) * 8,
        disk_bytes=sum(os.path.getsize(f) for f in info.files),
    )


def sample(data: BenchData, n: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` rows (a training sample) as float64 ``X`` and ``y``.

    Every engine's and peer's model is scored on this same sample.
    """
    from .peers import table_to_numpy

    parts, left = [], n
    for file in data.info.files:
        handle = pq.ParquetFile(file)
        for group in range(handle.num_row_groups):
            if left <= 0:
                break
            table = handle.read_row_group(group).slice(0, left)
            parts.append(table_to_numpy(table, data.features, "y"))
            left -= table.num_rows
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return X, y
