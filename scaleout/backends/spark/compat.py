"""Arrow transfers that work on PySpark 3.5 (Amazon EMR 7.x) and 4.x.

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

__all__ = ["arrow_tables_supported", "create_frame", "to_arrow"]


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
