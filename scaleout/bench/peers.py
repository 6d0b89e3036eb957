"""The peers and the limit scaleout is measured against, on the same files.

* :func:`scan_pass` -- a raw pyarrow scan: every row group read and decoded to
  float64 NumPy once, then dropped (the one-pass physical limit, in bounded
  memory); :func:`scan_to_numpy` reads the whole dataset into one array;
* :func:`sklearn_raw` -- that array given to scikit-learn's own estimator;
* :func:`dask_ml` -- dask-ml's estimator on ``dask.dataframe.read_parquet``
  (read, persisted, fitted) where dask-ml has one;
* :func:`pyspark_ml` -- what a pyspark.ml user writes: ``spark.read.parquet``,
  ``VectorAssembler``, the MLlib estimator with the same settings, the
  fitted arrays pulled out as NumPy.

The benchmark scripts of issues 2-4 (``benchmarks/bench_*.py``) use these too.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .quality import Fitted, from_model

__all__ = [
    "PeerUnavailable",
    "dask_ml",
    "dask_ml_arrays",
    "pyspark_fitted",
    "pyspark_ml",
    "scan_pass",
    "scan_to_numpy",
    "sklearn_estimator",
    "sklearn_raw",
    "table_to_numpy",
]


class PeerUnavailable(Exception):
    """The peer has no such estimator (e.g. dask-ml has no decision trees)."""


def table_to_numpy(
    table: pa.Table, columns: list[str], target: str | None = "y"
) -> tuple[np.ndarray, np.ndarray | None]:
    """An Arrow table's feature columns as a column-major float64 array, and the target.

    Column-major is filled column by column without a pandas round trip (twice
    as fast as row-major here).
    """
    X = np.empty((table.num_rows, len(columns)), order="F")
    for j, name in enumerate(columns):
        X[:, j] = table.column(name).to_numpy()
    y = table.column(target).to_numpy() if target is not None else None
    return X, y


def scan_to_numpy(
    files: list[str], columns: list[str], target: str | None = "y"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read whole Parquet files into NumPy: ``read_table`` + :func:`table_to_numpy`."""
    wanted = [*columns, target] if target is not None else list(columns)
    table = pq.read_table(files[0] if len(files) == 1 else files, columns=wanted)
    return table_to_numpy(table, columns, target)


def scan_pass(files: list[str], columns: list[str], target: str | None = "y") -> int:
    """One pass over the files, row group by row group, decoded to NumPy and dropped.

    Returns
    -------
    int
        Rows read.
    """
    rows = 0
    wanted = [*columns, target] if target is not None else list(columns)
    for file in files:
        handle = pq.ParquetFile(file)
        for group in range(handle.num_row_groups):
            X, _ = table_to_numpy(handle.read_row_group(group, columns=wanted), columns, target)
            rows += X.shape[0]
    return rows


def sklearn_estimator(name: str, params: dict[str, Any]) -> Any:
    """scikit-learn's estimator ``name`` built with ``params``."""
    from sklearn import cluster, decomposition, linear_model, tree

    for module in (linear_model, tree, cluster, decomposition):
        if hasattr(module, name):
            return getattr(module, name)(**params)
    raise PeerUnavailable(f"scikit-learn has no estimator {name!r}")


def sklearn_raw(
    name: str, params: dict[str, Any], task: str, files: list[str], columns: list[str]
) -> Fitted:
    """Load the Parquet files with pyarrow and fit scikit-learn's own estimator."""
    supervised = task in ("regression", "classification")
    X, y = scan_to_numpy(files, columns, "y" if supervised else None)
    model = sklearn_estimator(name, params)
    model.fit(X, y) if supervised else model.fit(X)
    return from_model(model, task)


def dask_ml_arrays(path: str, columns: list[str], target: str | None = "y") -> tuple[Any, Any]:
    """``dd.read_parquet(path)`` as a Dask array of the features, and the target (or None)."""
    import dask.dataframe as dd

    frame = dd.read_parquet(path)
    if target is None:
        return frame[list(columns)].to_dask_array(lengths=True), None
    array = frame[[*columns, target]].to_dask_array(lengths=True)
    return array[:, :-1], array[:, -1]


def _dask_ml_estimator(name: str, params: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask-ml's import-time deprecation warnings
        import dask_ml.cluster
        import dask_ml.decomposition
        import dask_ml.linear_model
    if name == "LinearRegression":
        # dask-glm's newton solver takes no penalty: ordinary least squares.
        return dask_ml.linear_model.LinearRegression(solver="newton")
    if name == "LogisticRegression":
        return dask_ml.linear_model.LogisticRegression(
            solver="lbfgs", C=params["C"], max_iter=params["max_iter"], tol=params["tol"]
        )
    if name == "KMeans":
        keep = ("n_clusters", "max_iter", "tol", "random_state")
        return dask_ml.cluster.KMeans(init="k-means||", **{k: params[k] for k in keep})
    if name == "PCA":
        return dask_ml.decomposition.PCA(**params)
    raise PeerUnavailable(f"dask-ml has no {name}")


def dask_ml(name: str, params: dict[str, Any], task: str, path: str, columns: list[str]) -> Fitted:
    """dask-ml's estimator: read the Parquet with Dask, persist it, fit.

    Runs on the current Dask scheduler (the default ``distributed.Client`` when
    one is active, else local threads).

    Raises
    ------
    PeerUnavailable
        dask-ml has no such estimator (the trees).
    """
    import dask

    estimator = _dask_ml_estimator(name, params)
    supervised = task in ("regression", "classification")
    X, y = dask_ml_arrays(path, columns, "y" if supervised else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if supervised:
            X, y = dask.persist(X, y)
            estimator.fit(X, y)
        else:
            X = X.persist()
            estimator.fit(X)
    return from_model(estimator, task)


def pyspark_ml(spark: Any, path: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """What a pyspark.ml user writes for the same model, ending with NumPy arrays.

    Parameters
    ----------
    spark : SparkSession
    path : str
        The Parquet directory (features ``x*`` and the target ``y``).
    name : str
        scikit-learn's class name.
    params : dict
        scikit-learn's parameters, mapped by hand as a user would: ``regParam =
        1 / (C n)`` with ``standardization=False``; ``maxBins=256``.

    Returns
    -------
    dict
        ``model`` (the MLlib model) and its arrays: ``coef``/``intercept``,
        ``nodes``, ``centers``/``cost``, or ``pc``/``ratio``.
    """
    from pyspark.ml import classification, clustering, feature, regression
    from pyspark.sql import functions as F

    frame = spark.read.parquet(path)
    names = [c for c in frame.columns if c != "y"]
    data = feature.VectorAssembler(inputCols=names, outputCol="features").transform(
        frame.withColumn("label", F.col("y").cast("double"))
    )
    if name == "LinearRegression":
        model = regression.LinearRegression(
            solver="normal", regParam=0.0, standardization=False
        ).fit(data)
        return {"model": model, "coef": model.coefficients.toArray(), "intercept": model.intercept}
    if name == "LogisticRegression":
        n = data.count()  # scikit-learn's objective: regParam = 1 / (C * n)
        model = classification.LogisticRegression(
            regParam=1.0 / (params.get("C", 1.0) * n),
            standardization=False,
            maxIter=params.get("max_iter", 100),
            tol=params.get("tol", 1e-4),
            family="binomial",
        ).fit(data)
        return {"model": model, "coef": model.coefficients.toArray(), "intercept": model.intercept}
    if name in ("DecisionTreeClassifier", "DecisionTreeRegressor"):
        module = classification if name == "DecisionTreeClassifier" else regression
        model = getattr(module, name)(maxDepth=params["max_depth"], maxBins=256).fit(data)
        return {"model": model, "nodes": model.numNodes}
    if name == "KMeans":
        model = clustering.KMeans(
            k=params["n_clusters"],
            seed=params.get("random_state", 0) or 0,
            maxIter=params.get("max_iter", 300),
            tol=params.get("tol", 1e-4),
        ).fit(data)
        return {
            "model": model,
            "centers": np.array([c for c in model.clusterCenters()]),
            "cost": model.summary.trainingCost,
        }
    if name == "PCA":
        model = feature.PCA(k=params["n_components"], inputCol="features").fit(data)
        return {
            "model": model,
            "pc": model.pc.toArray(),
            "ratio": model.explainedVariance.toArray(),
        }
    raise PeerUnavailable(f"no hand-written pyspark.ml for {name!r}")


def pyspark_fitted(spark: Any, out: dict[str, Any], task: str, columns: list[str]) -> Fitted:
    """A :class:`Fitted` of a :func:`pyspark_ml` result; predictions by the MLlib model.

    ``predict`` sends the NumPy rows to Spark and runs the model's own
    ``transform``, so the hand-written model is scored as Spark would score it.
    """
    if task == "clustering":
        return Fitted(centers=out["centers"])
    if task == "decomposition":
        return Fitted(components=out["pc"].T)

    def predict(X: np.ndarray) -> np.ndarray:
        from pyspark.ml.feature import VectorAssembler

        from ..backends.spark.compat import create_frame, to_arrow
        from ..backends.spark.session import quiet_pandas

        table = pa.Table.from_arrays([pa.array(X[:, j]) for j in range(X.shape[1])], columns)
        with quiet_pandas():  # PySpark 3.5 goes through pandas (compat)
            frame = create_frame(spark, table)
            frame = VectorAssembler(inputCols=columns, outputCol="features").transform(frame)
            result = to_arrow(out["model"].transform(frame).select("prediction"))
        return result.column(0).to_numpy()

    return Fitted(predict=predict)
