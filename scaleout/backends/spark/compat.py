"""Arrow transfers that work on PySpark 3.5 (Amazon EMR 7.x) and 4.x, and a
``selectExpr`` of a few Py4J round trips (:func:`select_exprs`).

Spark 4.0 added ``DataFrame.toArrow()`` and ``SparkSession.createDataFrame``
from a ``pyarrow.Table``. On 3.5 the same transfers go through what those
4.0 methods are built on: ``DataFrame._collect_as_arrow`` (also behind
``toPandas``) and ``createDataFrame`` from a pandas frame with the Spark
schema of the Arrow table (Arrow-based when
``spark.sql.execution.arrow.pyspark.enabled``, as in scaleout's sessions).
Which path runs is decided by what the installed PySpark has, not by its
version string.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .session import quiet_pandas

__all__ = [
    "arrow_tables_supported",
    "assemble_vectors",
    "create_frame",
    "select_exprs",
    "to_arrow",
]

#: Separates the expressions :func:`select_exprs` sends as one string.
_SEPARATOR = "\u0001"


def arrow_tables_supported() -> bool:
    """Whether this PySpark reads and writes ``pyarrow.Table`` itself (4.0+).

    ``DataFrame.toArrow`` and ``createDataFrame(pyarrow.Table)`` came together
    in Spark 4.0, so the first stands for both.
    """
    from pyspark.sql import DataFrame

    return hasattr(DataFrame, "toArrow")


def to_arrow(frame: Any) -> pa.Table:
    """Collect a Spark DataFrame to the driver as a ``pyarrow.Table``.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        Columns of types Arrow can hold (numbers, strings, arrays of them).

    Returns
    -------
    pyarrow.Table
        ``frame.toArrow()`` where it exists; on PySpark 3.5 the Arrow batches
        ``toPandas`` would convert, in order, with the Arrow form of the
        frame's schema.
    """
    with quiet_pandas():
        method = getattr(frame, "toArrow", None)
        if method is not None:
            return method()
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = to_arrow_schema(frame.schema)
        batches = frame._collect_as_arrow(split_batches=True)
    if not batches:
        return schema.empty_table()
    return pa.Table.from_batches(batches).cast(schema)


def create_frame(spark: Any, table: pa.Table) -> Any:
    """A Spark DataFrame holding ``table``, with its column types.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    table : pyarrow.Table
        Columns of numbers, booleans or strings.

    Returns
    -------
    pyspark.sql.DataFrame
        ``spark.createDataFrame(table)`` on PySpark 4; on 3.5,
        ``createDataFrame(table.to_pandas(), schema)`` with the Spark schema
        of the table (the pandas frame is a zero-copy view for float64
        columns without nulls).
    """
    with quiet_pandas():
        if arrow_tables_supported():
            return spark.createDataFrame(table)
        from pyspark.sql.pandas.types import from_arrow_schema

        return spark.createDataFrame(table.to_pandas(), schema=from_arrow_schema(table.schema))


def select_exprs(frame: Any, exprs: list[str]) -> Any:
    """``frame.selectExpr(*exprs)`` in four Py4J round trips, whatever ``len(exprs)``.

    PySpark hands a list to the JVM element by element (one Py4J round trip
    each, ~0.1-1 ms); a fit's data preparation selects, checks and aggregates
    every column several times. The expressions go as one string instead,
    split in the JVM into the ``String[]`` of ``Dataset.selectExpr``.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    exprs : list of str
        SQL expressions, as for ``selectExpr``.

    Returns
    -------
    pyspark.sql.DataFrame
        The same frame ``frame.selectExpr(*exprs)`` gives (that call is
        made for a frame without a JVM peer, e.g. Spark Connect's, or
        expressions holding the separator character).
    """
    jdf = getattr(frame, "_jdf", None)
    if jdf is None or any(_SEPARATOR in e for e in exprs) or len(exprs) < 4:
        return frame.selectExpr(*exprs)
    spark = frame.sparkSession
    return type(frame)(jdf.selectExpr(_java_strings(spark, exprs)), spark)


def assemble_vectors(
    frame: Any, inputs: list[str], output: str, handle_invalid: str = "keep"
) -> Any:
    """``VectorAssembler(inputCols=inputs, outputCol=output, handleInvalid=handle_invalid)``'s
    ``transform(frame)``, built in the JVM in a few Py4J round trips.

    PySpark's wrapper sends every parameter (and each input column name) in
    round trips of its own, ~40 for 20 columns; this is the same Scala
    transformer with the column names sent as one string. A frame without a
    JVM peer goes through PySpark's wrapper.
    """
    jdf = getattr(frame, "_jdf", None)
    if jdf is None or any(_SEPARATOR in c for c in inputs):
        from pyspark.ml.feature import VectorAssembler

        assembler = VectorAssembler(
            inputCols=inputs, outputCol=output, handleInvalid=handle_invalid
        )
        return assembler.transform(frame)
    spark = frame.sparkSession
    assembler = (
        _jvm_objects(spark)["VectorAssembler"]()
        .setInputCols(_java_strings(spark, inputs))
        .setOutputCol(output)
        .setHandleInvalid(handle_invalid)
    )
    return type(frame)(assembler.transform(jdf), spark)


_cached: tuple[Any, dict[str, Any]] | None = None


def _jvm_objects(spark: Any) -> dict[str, Any]:
    """JVM classes and objects used per fit, looked up once per JVM (each package
    name in ``jvm.org.apache...`` is a round trip)."""
    global _cached
    jvm = spark.sparkContext._jvm
    if _cached is None or _cached[0] is not jvm:
        _cached = (
            jvm,
            {
                "separator": jvm.java.util.regex.Pattern.compile(_SEPARATOR),
                "VectorAssembler": jvm.org.apache.spark.ml.feature.VectorAssembler,
            },
        )
    return _cached[1]


def _java_strings(spark: Any, strings: list[str]) -> Any:
    """A Java ``String[]`` of ``strings`` (none holding :data:`_SEPARATOR`), in one round trip."""
    return _jvm_objects(spark)["separator"].split(_SEPARATOR.join(strings), -1)
