"""Column moments and scatter of a Spark DataFrame in one MLlib pass (``RowMatrix`` Gramian)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...exceptions import DataError
from ...kernels.scatter import Scatter
from .compat import assemble_vectors, select_exprs

__all__ = ["gramian", "gramian_moments", "gramian_scatter", "old_vectors"]


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def old_vectors(spark: Any, frame: Any, column: str) -> Any:
    """The JVM ``RDD[mllib.linalg.Vector]`` of ``frame``'s vector ``column`` (no Python rows)."""
    jvm = spark.sparkContext._jvm
    utils = getattr(getattr(jvm.org.apache.spark.ml.util, "DatasetUtils$"), "MODULE$")
    return utils.columnToOldVector(frame._jdf, column)


def gramian(spark: Any, frame: Any, columns: list[str]) -> np.ndarray:
    """``Σ v vᵀ`` over the rows ``v`` of ``frame``'s float64 ``columns``, in one MLlib pass.

    MLlib's ``RowMatrix.computeGramianMatrix`` adds the rows' outer products
    on the executors (a tree aggregate of the packed upper triangle); the
    ``len(columns)``-square result comes back to the driver.
    """
    vectors = assemble_vectors(
        select_exprs(frame, [_quoted(c) for c in columns]), columns, "__so_gv", "error"
    )
    jvm = spark.sparkContext._jvm
    rdd = old_vectors(spark, vectors, "__so_gv")
    # the column count given: RowMatrix would otherwise run a job for its first row
    matrix = jvm.org.apache.spark.mllib.linalg.distributed.RowMatrix(rdd, 0, len(columns))
    gram = matrix.computeGramianMatrix()
    size = int(gram.numRows())
    values = json.loads(str(jvm.org.apache.spark.ml.linalg.DenseVector(gram.toArray()).toString()))
    return np.asarray(values, dtype=np.float64).reshape(size, size, order="F")


def gramian_scatter(
    spark: Any, frame: Any, columns: list[str], weight: str | None = None, *, center: bool = True
) -> Scatter:
    """The (weighted) scatter of ``columns`` in one MLlib pass, as the kernels' :class:`Scatter`.

    MLlib's ``RowMatrix.computeGramianMatrix`` of the rows
    ``[√w (z - s), √w, 1]`` holds ``Σ w (z - s)(z - s)ᵀ``, ``Σ w (z - s)``,
    ``Σ w`` and the row count; without a ``weight`` column the rows are
    ``[z - s, 1]`` (a Gramian one column smaller: ``Σ w`` is the count). The
    shift ``s`` is the first row (one more, one-row job), which keeps the
    sums of squares from cancelling when the means are large. Rows of zero
    weight add nothing, exactly as removing them.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    frame : pyspark.sql.DataFrame
    columns : list of str
        Float64 columns ``z``.
    weight : str, optional
        A column of non-negative row weights.
    center : bool, default=True
        Centre on the (weighted) means, as :func:`~scaleout.kernels.scatter.chunk_scatter`;
        else ``M = Σ w z zᵀ`` and ``mean`` is zero.

    Returns
    -------
    Scatter
        ``n`` rows, ``mean``, ``M`` and ``weight = Σ w``.
    """
    first = select_exprs(frame, [_quoted(c) for c in columns]).first()
    if first is None:
        p = len(columns)
        return Scatter(0, np.zeros(p), np.zeros((p, p)), 0.0)
    shift = np.array([float(v) for v in first], dtype=np.float64)
    # Without weights the column of ones is the root of the weights: one column less in
    # the Gramian, whose per-row update costs (columns + 1) * columns / 2 multiply-adds.
    scale = f"SQRT({weight}) * " if weight else ""
    exprs = [
        f"{scale}({c} - CAST('{float(s)!r}' AS DOUBLE)) AS __so_g{j}"
        for j, (c, s) in enumerate(zip(columns, shift, strict=True))
    ]
    inputs = [f"__so_g{j}" for j in range(len(columns))]
    if weight:
        exprs.append(f"SQRT({weight}) AS __so_root")
        inputs.append("__so_root")
    rows = select_exprs(frame, [*exprs, "CAST(1.0 AS DOUBLE) AS __so_one"])
    full = gramian(spark, rows, [*inputs, "__so_one"])
    size = full.shape[0]
    p = len(columns)
    shifted_scatter, shifted_sums = full[:p, :p], full[:p, p]
    weight_sum, n_rows = float(full[p, p]), int(np.rint(full[size - 1, size - 1]))
    if weight_sum <= 0:
        return Scatter(n_rows, np.zeros(p), np.zeros((p, p)), 0.0)
    mean_shifted = shifted_sums / weight_sum
    if center:
        M = shifted_scatter - weight_sum * np.outer(mean_shifted, mean_shifted)
        mean = shift + mean_shifted
    else:  # Σ w z zᵀ with z = (z - s) + s
        cross = np.outer(shifted_sums, shift)
        M = shifted_scatter + cross + cross.T + weight_sum * np.outer(shift, shift)
        mean = np.zeros(p)
    return Scatter(n_rows, mean, (M + M.T) / 2, weight_sum)


def gramian_moments(spark: Any, frame: Any, columns: list[str]) -> tuple[np.ndarray, ...]:
    """Means, covariance (``ddof=1``) and row count of ``columns``, in one pass
    (:func:`gramian_scatter`).

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
    scatter = gramian_scatter(spark, frame, columns)
    if scatter.n == 0:
        raise DataError("found array with 0 sample(s): PCA needs at least 2 rows")
    if scatter.n < 2:
        raise DataError(f"found {scatter.n} sample(s): PCA needs at least 2 rows")
    return scatter.mean, scatter.M / (scatter.n - 1), scatter.n
