"""The table transformers on Spark: the raw table as a Spark frame, the kernel on its executors.

``SimpleImputer``, ``OneHotEncoder``, ``OrdinalEncoder`` and ``ColumnTransformer``
are fitted on Spark by the same kernel as on every engine
(:mod:`scaleout.kernels.column_plan`), its passes run by
:class:`~.passes.SparkPasses` in raw mode: each Arrow batch becomes the pandas
frame :func:`scaleout.data.table_frame.arrow_to_frame` makes, so the summaries,
and the fitted transformers, equal the dask engine's and scikit-learn's.

Why not ``pyspark.ml.feature`` (StringIndexer, OneHotEncoder, Imputer)? They
cannot give scikit-learn's model: Spark's ``Imputer`` median is approximate
(``relativeError``), StringIndexer has no infrequent categories
(``min_frequency`` / ``max_categories``), no ``drop='if_binary'``, and orders
labels by frequency or as strings (scikit-learn sorts numbers as numbers and
puts NaN last). The kernel honours every option, exactly, in the same number of
passes. A pipeline that starts with a table transformer is then fitted as two
parts: the transformer by the kernel, then the rest of the pipeline (MLlib)
on the transformed rows, computed by one ``mapInArrow`` of scikit-learn's
fitted ``transform`` (:func:`transformed_frame`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ...data.table import TableDataset

__all__ = ["TARGET", "table_frame", "transformed_frame"]

#: The target column of an in-memory table brought into Spark.
TARGET = "__scaleout_target__"


def _spark_paths(dataset: TableDataset) -> list[str]:
    files = dataset._files
    paths = [files.display(p) for p in files.paths]
    return [("s3a://" + p[5:]) if p.startswith("s3://") else p for p in paths]


def table_frame(spark: Any, dataset: TableDataset) -> tuple[Any, str | None]:
    """The raw table as a Spark frame of its feature columns (and target): ``(frame, target)``.

    Files are read by Spark itself (Parquet; CSV with a header, types
    inferred, an empty field null); an in-memory table is sent from the driver,
    a missing string as a null.
    """
    features = list(dataset.feature_names)
    if dataset._files is not None:
        paths = _spark_paths(dataset)
        if dataset._fmt == "csv":
            frame = spark.read.option("header", True).option("inferSchema", True).csv(paths)
        else:
            frame = spark.read.parquet(*paths)
        target = dataset.target
        columns = features + ([] if target is None else [target])
        return frame.select(*[frame[f"`{c}`"] for c in columns]), target
    X, y = dataset.to_numpy()
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X, columns=features)
    data = {}
    for name in X.columns:
        column = X[name]
        if column.dtype == object:
            column = column.astype(object).where(column.notna(), None)
        data[str(name)] = column
    target = None
    if y is not None:
        target = TARGET
        data[TARGET] = pd.Series(np.asarray(y))
    frame = pd.DataFrame(data)
    return spark.createDataFrame(frame), target


def _transform_batches(
    model: Any, features: list[str], target: str | None, width: int, batches: Iterator[Any]
) -> Iterator[Any]:
    import pyarrow as pa
    import scipy.sparse as sp

    from ...data.table_frame import arrow_to_frame

    names = [f"f{j}" for j in range(width)]
    for batch in batches:
        table = pa.Table.from_batches([batch])
        Z = model.transform(arrow_to_frame(table, features))
        Z = np.asarray(Z.toarray() if sp.issparse(Z) else Z, dtype=np.float64)
        arrays = [pa.array(Z[:, j]) for j in range(width)]
        if target is not None:
            arrays.append(table.column(target).combine_chunks())
        yield pa.RecordBatch.from_arrays(arrays, names=names + ([target] if target else []))


def transformed_frame(
    frame: Any, model: Any, features: list[str], target: str | None, width: int
) -> tuple[Any, list[str]]:
    """``frame`` through the fitted table transformer: ``width`` float64 columns (+ target).

    Returns the new frame and its feature column names (``f0``, ``f1``, ...).
    """
    from functools import partial

    from pyspark.sql import types as T

    fields = [T.StructField(f"f{j}", T.DoubleType()) for j in range(width)]
    if target is not None:
        fields.append(frame.schema[target])
    schema = T.StructType(fields)
    function = partial(_transform_batches, model, list(features), target, width)
    return frame.mapInArrow(function, schema), [f"f{j}" for j in range(width)]
