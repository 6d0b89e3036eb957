"""Spark DataFrames as a :class:`Dataset` that stays in Spark.

A :class:`SparkDataset` checks its columns from the DataFrame's schema (no
Spark job) and prefers the ``spark`` engine (``native_backend``), which fits
on the DataFrame where it lives. Other engines can still read it: rows come
to the driver through Arrow (:meth:`SparkDataset.to_numpy`) or partition by
partition (:meth:`SparkDataset.iter_batches`).

The features are either numeric columns (named as in the DataFrame) or one
column of Spark ML vectors (``VectorUDT``, e.g. a ``VectorAssembler``
output), whose entries are named ``x0 .. x{p-1}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ...data._arrow import select_names, table_to_numpy
from ...data.dataset import Batch, Dataset, check_batch_rows
from ...exceptions import DataError, NonNumericDataError

__all__ = ["SparkDataset", "from_spark", "is_spark_frame"]

#: Rows per batch of :meth:`SparkDataset.iter_batches` when none is given.
DEFAULT_BATCH_ROWS = 65_536


def is_spark_frame(obj: Any) -> bool:
    """Whether ``obj`` is a PySpark DataFrame (without importing pyspark)."""
    module = type(obj).__module__
    return module.startswith("pyspark.sql") and type(obj).__name__ == "DataFrame"


def _listing(names: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "")


def _quoted(name: str) -> str:
    """A column reference that survives dots and spaces in the name."""
    return "`" + name.replace("`", "``") + "`"


def _arrow_type(data_type: Any) -> pa.DataType | None:
    """Arrow type of a Spark numeric / boolean / string type; None for others."""
    from pyspark.sql import types as T

    table = {
        T.BooleanType: pa.bool_(),
        T.ByteType: pa.int8(),
        T.ShortType: pa.int16(),
        T.IntegerType: pa.int32(),
        T.LongType: pa.int64(),
        T.FloatType: pa.float32(),
        T.DoubleType: pa.float64(),
        T.StringType: pa.string(),
    }
    for spark_type, arrow in table.items():
        if isinstance(data_type, spark_type):
            return arrow
    if isinstance(data_type, T.DecimalType):
        return pa.decimal128(data_type.precision, data_type.scale)
    return None


def is_numeric_spark_type(data_type: Any) -> bool:
    """Whether a Spark column type can be a feature (boolean or numeric)."""
    from pyspark.sql import types as T

    return isinstance(data_type, (T.NumericType, T.BooleanType))


def is_vector_type(data_type: Any) -> bool:
    """Whether a Spark column type is Spark ML's vector type."""
    from pyspark.ml.linalg import VectorUDT

    return isinstance(data_type, VectorUDT)


class SparkDataset(Dataset):
    """A PySpark DataFrame (feature columns + optional target column), read lazily.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The data.
    target : str, optional
        Target column name; None for unsupervised data.
    features : sequence of str, optional
        Feature columns, in order. None means every column except the
        target, or, when the DataFrame has exactly one vector column
        (``VectorUDT``) besides the target, that column alone.

    Raises
    ------
    DataError
        For a target that is not a column name, a missing column (named), a
        target of unsupported type, or a vector column mixed with other
        feature columns.
    NonNumericDataError
        For a feature column that is not numeric (named, with its type).

    Notes
    -----
    Construction reads only the schema, except for a vector column without
    size metadata: then one row is read to learn the vector size.
    """

    native_backend = "spark"

    def __init__(
        self, sdf: Any, target: str | None = None, features: Sequence[str] | None = None
    ) -> None:
        if not is_spark_frame(sdf):
            raise DataError(f"expected a pyspark DataFrame, got {type(sdf).__name__}")
        if target is not None and not isinstance(target, str):
            raise DataError(
                "for a Spark DataFrame, y must be the name of the target column (a str), got "
                f"{type(target).__name__}; add the target as a column of the DataFrame"
            )
        self.frame = sdf
        self.target = target
        schema = sdf.schema
        names = list(schema.fieldNames())
        where = "the Spark DataFrame"
        types = {f.name: f.dataType for f in schema.fields}
        selected = select_names(names, target, features, where=where)
        if features is None:
            vectors = [n for n in selected if is_vector_type(types[n])]
            if len(vectors) == 1:  # Spark ML's convention: one vector column is the features
                selected = vectors
        vectors = [n for n in selected if is_vector_type(types[n])]
        self.vector_column: str | None = None
        if vectors:
            if len(selected) != 1:
                raise DataError(
                    f"the vector column {vectors[0]!r} must be the only feature column; got "
                    f"features {_listing(selected)}"
                )
            self.vector_column = vectors[0]
            size = self._vector_size(sdf, vectors[0], schema[vectors[0]].metadata)
            self.feature_names = [f"x{j}" for j in range(size)]
            self.has_feature_names = False
        else:
            for name in selected:
                if not is_numeric_spark_type(types[name]):
                    raise NonNumericDataError(
                        f"feature column {name!r} has non-numeric type "
                        f"{types[name].simpleString()} in {where}; scaleout estimators need "
                        "numeric features (boolean, integer, float): encode it first (e.g. "
                        "pyspark.ml.feature.StringIndexer + OneHotEncoder), or leave it out "
                        "with features=[...]"
                    )
            self.feature_names = selected
            self.has_feature_names = True
        if target is not None and _arrow_type(types[target]) is None:
            raise DataError(
                f"target column {target!r} has unsupported type "
                f"{types[target].simpleString()} in {where}; a target must be numeric, "
                "boolean or class labels (string)"
            )
        self._types = types
        self._n_rows: int | None = None

    @staticmethod
    def _vector_size(sdf: Any, column: str, metadata: dict[str, Any]) -> int:
        attrs = (metadata or {}).get("ml_attr", {})
        if "num_attrs" in attrs:
            return int(attrs["num_attrs"])
        from pyspark.ml.functions import vector_to_array
        from pyspark.sql import functions as F

        row = (
            sdf.where(F.col(_quoted(column)).isNotNull())
            .select(F.size(vector_to_array(F.col(_quoted(column)))).alias("p"))
            .first()
        )
        if row is None:
            raise DataError(
                f"the Spark DataFrame has no rows with a vector in column {column!r}: found "
                "array with 0 sample(s)"
            )
        return int(row["p"])

    # ------------------------------------------------------------------ facts
    @property
    def n_rows(self) -> int:
        """Number of rows (``DataFrame.count()``, run once and cached)."""
        if self._n_rows is None:
            self._n_rows = int(self.frame.count())
        return self._n_rows

    def set_row_count(self, n_rows: int) -> None:
        """Record a row count learnt by a Spark job that read every row."""
        self._n_rows = int(n_rows)

    @property
    def schema(self) -> pa.Schema:
        """Feature columns (float64 for a vector column's entries), then the target."""
        if self.vector_column is not None:
            fields = [pa.field(n, pa.float64()) for n in self.feature_names]
        else:
            fields = [
                pa.field(n, _arrow_type(self._types[n]) or pa.float64()) for n in self.feature_names
            ]
        if self.target is not None:
            fields.append(pa.field(self.target, _arrow_type(self._types[self.target])))
        return pa.schema(fields)

    @property
    def estimated_nbytes(self) -> int:
        """``n_rows * (n_features + target) * 8`` once the rows were counted; before
        that, Spark's own size estimate of the DataFrame's plan (no job)."""
        width = self.n_features + (self.target is not None)
        if self._n_rows is not None:
            return self._n_rows * width * 8
        try:
            size = self.frame._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()
            return int(str(size))
        except Exception:
            return self.n_rows * width * 8

    @property
    def source(self) -> str:
        """``"Spark DataFrame (vector column 'features', 30 features)"`` and similar."""
        if self.vector_column is not None:
            return (
                f"Spark DataFrame (vector column {self.vector_column!r}, "
                f"{self.n_features} features)"
            )
        return f"Spark DataFrame ({self.n_features} feature columns)"

    def _repr_location(self) -> str:
        return "Spark DataFrame"

    # --------------------------------------------------------------- reading
    def _arrow_frame(self) -> Any:
        """The DataFrame reduced to float64 feature columns ``x0..`` (vector input)
        or the named feature columns, then the target, ready for ``compat.to_arrow``."""
        from pyspark.sql import functions as F

        columns = []
        if self.vector_column is not None:
            from pyspark.ml.functions import vector_to_array

            columns.append(vector_to_array(F.col(_quoted(self.vector_column))).alias("__v"))
        else:
            columns += [F.col(_quoted(n)).alias(n) for n in self.feature_names]
        if self.target is not None:
            columns.append(F.col(_quoted(self.target)).alias(self.target))
        return self.frame.select(*columns)

    def _table_to_numpy(self, table: pa.Table, row_offset: int) -> tuple[np.ndarray, Any]:
        source = "Spark DataFrame"
        if self.vector_column is not None:
            table = _expand_vectors(table, self.n_features, self.vector_column, row_offset)
        return table_to_numpy(
            table, self.feature_names, self.target, source=source, row_offset=row_offset
        )

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Collect every row to the driver through Arrow, validated.

        Returns
        -------
        X : numpy.ndarray
            ``(n_rows, n_features)`` float64, Fortran order.
        y : numpy.ndarray or None

        Raises
        ------
        DataError
            For NaN / infinite / missing values (naming the column and row).
        """
        from .compat import to_arrow

        table = to_arrow(self._arrow_frame())
        self._n_rows = table.num_rows
        if table.num_rows == 0:
            raise DataError("the Spark DataFrame has no rows: found array with 0 sample(s)")
        return self._table_to_numpy(table, 0)

    def iter_batches(self, batch_rows: int | None = None) -> Iterator[Batch]:
        """Stream the rows to the driver one partition at a time (``toLocalIterator``).

        Parameters
        ----------
        batch_rows : int, optional
            Rows per batch; default :data:`DEFAULT_BATCH_ROWS`.

        Yields
        ------
        Batch
            Validated rows with their global ``row_offset``.
        """
        batch_rows = check_batch_rows(batch_rows) or DEFAULT_BATCH_ROWS
        frame = self._arrow_frame()
        arrow_schema = _collect_schema(frame)
        rows: list[Any] = []
        offset = 0
        for row in frame.toLocalIterator(prefetchPartitions=True):
            rows.append(tuple(row))
            if len(rows) == batch_rows:
                yield self._rows_batch(rows, arrow_schema, offset)
                offset += len(rows)
                rows = []
        if rows:
            yield self._rows_batch(rows, arrow_schema, offset)

    def _rows_batch(self, rows: list[tuple], schema: pa.Schema, offset: int) -> Batch:
        columns = list(zip(*rows, strict=True))
        table = pa.table(
            [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)],
            schema=schema,
        )
        X, y = self._table_to_numpy(table, offset)
        return Batch(X, y, "Spark DataFrame", offset)

    def __repr__(self) -> str:
        rows = "? rows" if self._n_rows is None else f"{self._n_rows:,} rows"
        target = "no target" if self.target is None else f"target {self.target!r}"
        return f"<SparkDataset {self.source}: {rows}, {target}>"


def _collect_schema(frame: Any) -> pa.Schema:
    """Arrow schema of the rows ``toLocalIterator`` yields for ``frame``."""
    fields = []
    for field in frame.schema.fields:
        arrow = _arrow_type(field.dataType)
        fields.append(pa.field(field.name, arrow if arrow is not None else pa.list_(pa.float64())))
    return pa.schema(fields)


def _expand_vectors(table: pa.Table, n_features: int, column: str, row_offset: int) -> pa.Table:
    """Replace the list column ``__v`` by float64 columns ``x0 .. x{p-1}``."""
    vectors = table.column("__v").combine_chunks()
    if vectors.null_count:
        row = int(np.flatnonzero(vectors.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(
            f"Input X contains a missing vector: column {column!r}, row {row + row_offset} "
            "of the Spark DataFrame"
        )
    lengths = vectors.value_lengths().to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != n_features)
    if bad.size:
        raise DataError(
            f"vector column {column!r} holds vectors of size {int(lengths[bad[0]])} (row "
            f"{int(bad[0]) + row_offset}) and {n_features}: every vector must have the "
            "same size"
        )
    values = vectors.flatten().to_numpy(zero_copy_only=False)
    matrix = values.reshape(len(lengths), n_features)
    arrays = [pa.array(matrix[:, j]) for j in range(n_features)]
    names = [f"x{j}" for j in range(n_features)]
    rest = [c for c in table.column_names if c != "__v"]
    return pa.table(arrays + [table.column(c) for c in rest], names=names + rest)


def from_spark(
    sdf: Any, target: str | None = None, features: Sequence[str] | None = None
) -> SparkDataset:
    """Wrap a PySpark DataFrame as a scaleout dataset.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The data: numeric feature columns, or one vector column (e.g. the
        output of ``VectorAssembler``), and optionally the target column.
    target : str, optional
        Target column name; None for unsupervised data.
    features : sequence of str, optional
        Feature columns; None means every column except the target (or the
        single vector column, when there is one).

    Returns
    -------
    SparkDataset
        Fitting on it picks the ``spark`` engine unless another is asked for.

    Examples
    --------
    >>> ds = so.from_spark(sdf, target="label")  # doctest: +SKIP
    >>> so.LogisticRegression().fit(ds).backend_  # doctest: +SKIP
    'spark'
    """
    return SparkDataset(sdf, target=target, features=features)
