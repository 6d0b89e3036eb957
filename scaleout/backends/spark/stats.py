"""Column moments of a Spark DataFrame in one MLlib pass (``RowMatrix`` Gramian)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...exceptions import DataError

__all__ = ["gramian_moments", "old_vectors"]


def old_vectors(spark: Any, frame: Any, column: str) -> Any:
    """The JVM ``RDD[mllib.linalg.Vector]`` of ``frame``'s vector ``column`` (no Python rows)."""
    jvm = spark.sparkContext._jvm
    utils = getattr(getattr(jvm.org.apache.spark.ml.util, "DatasetUtils$"), "MODULE$")
    return utils.columnToOldVector(frame._jdf, column)


def gramian_moments(spark: Any, frame: Any, columns: list[str]) -> tuple[np.ndarray, ...]:
    """Means, covariance (``ddof=1``) and row count of ``columns``, in one pass.

    MLlib's ``RowMatrix.computeGramianMatrix`` of the rows ``[x - s, 1]``
    holds ``sum((x - s)(x - s)^T)``, ``sum(x - s)`` and the row count. The
    shift ``s`` is the first row (one more, one-row job), which keeps the
    sums of squares from cancelling when the means are large.

    Returns
    -------
    means : ndarray of shape (p,)
    covariance : ndarray of shape (p, p)
    n_rows : int

    Raises
    ------
    DataError
        For fewer than two rows.
    """
    from pyspark.ml.feature import VectorAssembler

    first = frame.select(*columns).first()
    if first is None:
        raise DataError("found array with 0 sample(s): PCA needs at least 2 rows")
    shift = np.array([float(v) for v in first], dtype=np.float64)
    shifted = [
        f"{c} - CAST('{float(s)!r}' AS DOUBLE) AS __so_g{j}"
        for j, (c, s) in enumerate(zip(columns, shift, strict=True))
    ]
    inputs = [f"__so_g{j}" for j in range(len(columns))]
    rows = frame.selectExpr(*shifted, "CAST(1.0 AS DOUBLE) AS __so_one")
    vectors = VectorAssembler(inputCols=[*inputs, "__so_one"], outputCol="__so_gv").transform(rows)
    jvm = spark.sparkContext._jvm
    rdd = old_vectors(spark, vectors, "__so_gv")
    gram = jvm.org.apache.spark.mllib.linalg.distributed.RowMatrix(rdd).computeGramianMatrix()
    size = int(gram.numRows())
    values = json.loads(str(jvm.org.apache.spark.ml.linalg.DenseVector(gram.toArray()).toString()))
    full = np.asarray(values, dtype=np.float64).reshape(size, size, order="F")
    p = len(columns)
    n_rows = int(np.rint(full[p, p]))
    if n_rows < 2:
        raise DataError(f"found {n_rows} sample(s): PCA needs at least 2 rows")
    sums = full[:p, p]
    mean_shifted = sums / n_rows
    covariance = (full[:p, :p] - n_rows * np.outer(mean_shifted, mean_shifted)) / (n_rows - 1)
    covariance = (covariance + covariance.T) / 2
    return shift + mean_shifted, covariance, n_rows
