"""The kernels' passes over a Spark DataFrame: one ``mapInArrow`` job a pass.

:class:`SparkPasses` is the Spark executor of the engine-neutral kernels
(:mod:`scaleout.kernels`): every algorithm written against
:class:`~scaleout.kernels.passes.Passes` runs on a Spark DataFrame's
partitions, on the executors, with nothing Spark-specific in the kernel.

A pass
------
One ``mapInArrow`` job over the selected columns. On its executor, each
partition's Arrow record batches are gathered into chunks of
``dask_chunk_rows`` rows (read from the driver's config when the passes are
made; the last chunk of a partition is smaller), each chunk becomes a
:class:`~scaleout.data.Batch`, the kernel's function runs on it, the
partition's results are combined with the pass's ``combine`` (in row order)
and the partition yields one row: its result pickled (cloudpickle). The
driver unpickles the rows and combines them pairwise in partition order (a
tree of ``combine`` calls, as the dask executor's). The driver holds one
result per non-empty partition at a time; results of a few MB (histograms,
scatter matrices) over a few hundred partitions fit any driver.

The batches
-----------
* ``X``: with ``raw=False`` a float64 array ``(rows, features)`` (the feature
  columns are cast to DOUBLE in SQL; a null becomes NaN: the rows are not
  checked here, the caller checks them as for every fit); with ``raw=True``
  the :class:`pandas.DataFrame` of the raw feature columns made by
  :func:`scaleout.data.table_frame.arrow_to_frame` (strings as ``object``
  with ``np.nan`` for a missing value, numbers as float64 with NaN, or
  int64 / bool when the chunk has no missing value) -- for the table
  transformers.
* ``y``: the target column as NumPy (``to_numpy`` of its Arrow column:
  strings are an ``object`` array), or None.
* ``weights``: the weight column as float64, or None.
* ``source``: ``"Spark partition K"``; ``row_offset``: the index of the
  chunk's first row in the frame (partition order, then row order).

Row offsets are exact: the partitions' row counts come from one job (a
``mapInArrow`` over a literal column: no column of a Parquet file is read),
made when the passes are built (it also gives ``n_rows``) or,
when ``n_rows`` is given, before the first pass. They hold as long as the
frame's partitioning is deterministic (files, in-memory data, a cached
frame); each pass checks every partition's row count against them and raises
a :class:`~scaleout.exceptions.DataError` when they differ (e.g. a
``sample()`` or an unordered shuffle in the frame's plan: persist or
checkpoint it first). So results that depend on the row offsets (k-means'
``labels_`` in row order, the seeds of sampling and of k-means|| draws) are
those of the frame's row order, and depend on its partitioning and on
``chunk_rows`` only through the per-chunk seeds.

Caching
-------
Nothing is kept for a one-pass fit. When a second pass is coming
(:meth:`~scaleout.kernels.passes.Passes.expect_passes` with ``n > 1`` or
None, or a second pass asked for), the selected columns are persisted
(``MEMORY_AND_DISK``, as MLlib caches its inputs; ``storage`` is
``"cluster memory"``) before the pass, which fills the cache; :meth:`close`
unpersists them (the kernels' executors are closed in ``finally``, failure
or not).

The per-chunk store
-------------------
Spark keeps no Python object on an executor from one job to the next, so
``map_reduce(fn, with_store=True)`` calls ``fn(batch, None)``: the kernels
then recompute what a store would have kept (a cache never changes a
result; every kernel in :mod:`scaleout.kernels` handles ``store is None``).

Errors
------
An exception raised on an executor by the kernel's function (or by the
conversion of a chunk) is pickled into the partition's row and raised again
on the driver: the same type and message (a
:class:`~scaleout.exceptions.DataError` stays one), with a note naming the
partition and holding the executor's traceback. Other Spark failures become
:class:`~scaleout.exceptions.ScaleoutError` (:func:`.errors.spark_errors`).

Functions run on the executors: they are pickled with PySpark's cloudpickle,
module-level functions by reference, so the executors' Python needs
scaleout importable (a local master uses the driver's interpreter).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

import numpy as np

from ..._config import get_config
from ...data.dataset import Batch
from ...exceptions import DataError, InvalidParameterError, ScaleoutError
from ...kernels.passes import ChunkStore, Passes, SampleFn
from .compat import select_exprs
from .errors import spark_errors
from .session import quiet_pandas
from .stats import _quoted

T = TypeVar("T")

__all__ = ["SparkPasses"]

#: Column aliases of the target and the weights in the selected frame.
TARGET_COLUMN = "__so_pass_target"
WEIGHT_COLUMN = "__so_pass_weight"

#: The ``mapInArrow`` output: one row a partition.
_OUTPUT = ("partition", "rows", "failed", "payload")

_NOT_DETERMINISTIC = (
    "the DataFrame's rows are not deterministic (e.g. a random filter, or a range "
    "partitioning, in its plan); persist() it (and count() it once) or checkpoint() it "
    "before fitting"
)

_NUMERIC = (
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
    "FloatType",
    "DoubleType",
    "DecimalType",
    "BooleanType",
)
_RAW = (*_NUMERIC, "StringType", "VarcharType", "CharType", "NullType")


# ------------------------------------------------------------------ executors
def _chunks(
    batches: Iterator[Any], chunk_rows: int
) -> Iterator[tuple[Any, int]]:  # pragma: no cover - runs on executors
    """``(pyarrow.Table, rows)`` of ``chunk_rows`` rows (the last one smaller) from batches."""
    import pyarrow as pa

    pending: list[Any] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        while rows >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows), chunk_rows
            rest = table.slice(chunk_rows)
            pending = rest.to_batches() if rest.num_rows else []
            rows -= chunk_rows
    if rows:
        yield pa.Table.from_batches(pending), rows


def _column(table: Any, index: int) -> np.ndarray:  # pragma: no cover - runs on executors
    return table.column(index).to_numpy()


def _batch(
    table: Any,
    features: list[str],
    has_target: bool,
    weighted: bool,
    raw: bool,
    source: str,
    row_offset: int,
) -> Batch:  # pragma: no cover - runs on executors
    """The :class:`Batch` of one chunk (see the module docstring)."""
    p = len(features)
    if raw:
        from ...data.table_frame import arrow_to_frame

        X: Any = arrow_to_frame(table.select(list(range(p))), features)
    elif p:
        X = np.column_stack([_column(table, j) for j in range(p)]).astype(np.float64, copy=False)
    else:
        X = np.empty((table.num_rows, 0))
    y = _column(table, p) if has_target else None
    w = None
    if weighted:
        w = np.asarray(_column(table, p + int(has_target)), dtype=np.float64)
    return Batch(X, y, source, row_offset, w)


def _error_payload(exc: BaseException, where: str) -> bytes:  # pragma: no cover - executors
    """``exc`` (pickled on its own), its text, where it was raised and its traceback."""
    from pyspark import cloudpickle

    trace = "".join(traceback.format_exception(exc))
    try:
        pickled = cloudpickle.dumps(exc)
    except Exception:
        pickled = b""
    return cloudpickle.dumps((pickled, f"{type(exc).__name__}: {exc}", where, trace))


def _partition_pass(
    batches: Iterator[Any],
    fn: Callable[[Batch, ChunkStore | None], Any],
    combine: Callable[[Any, Any], Any],
    layout: tuple[list[str], bool, bool, bool],
    chunk_rows: int,
    offsets: dict[int, int],
) -> Iterator[Any]:  # pragma: no cover - runs on executors
    """``mapInArrow`` function: one row holding the partition's combined result (pickled)."""
    import pyarrow as pa
    from pyspark import TaskContext, cloudpickle

    partition = TaskContext.get().partitionId()
    source = f"Spark partition {partition}"
    start = offsets.get(partition, 0)
    rows, result, failed = 0, None, False
    try:
        for table, n in _chunks(batches, chunk_rows):
            value = fn(_batch(table, *layout, source, start + rows), None)
            result = value if rows == 0 else combine(result, value)
            rows += n
        payload = cloudpickle.dumps(result) if rows else b""
    except Exception as exc:
        failed, payload = True, _error_payload(exc, source)
        for _ in batches:  # read to the end: a worker that did is reused by the next task
            pass
    yield pa.RecordBatch.from_arrays(
        [
            pa.array([partition], pa.int32()),
            pa.array([rows], pa.int64()),
            pa.array([failed], pa.bool_()),
            pa.array([payload], pa.binary()),
        ],
        names=list(_OUTPUT),
    )


def _partition_count(batches: Iterator[Any]) -> Iterator[Any]:  # pragma: no cover - executors
    """``mapInArrow`` function: the partition's index and row count."""
    import pyarrow as pa
    from pyspark import TaskContext

    rows = sum(batch.num_rows for batch in batches)
    yield pa.RecordBatch.from_arrays(
        [pa.array([TaskContext.get().partitionId()], pa.int32()), pa.array([rows], pa.int64())],
        names=["partition", "rows"],
    )


# ---------------------------------------------------------------------- driver
def _tree_combine(items: list[Any], combine: Callable[[Any, Any], Any]) -> Any:
    """Combine neighbours pairwise until one is left (the order of ``items`` kept)."""
    while len(items) > 1:
        paired = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            paired.append(items[-1])
        items = paired
    return items[0]


def _raise_executor_error(payload: bytes) -> None:
    """Raise the exception a partition sent, with a note of where it was raised.

    An exception that does not pickle, or whose class does not load here,
    becomes a :class:`~scaleout.exceptions.ScaleoutError` holding its text.
    """
    import pickle

    pickled, text, where, trace = pickle.loads(payload)
    try:
        exc = pickle.loads(pickled)
    except Exception:
        exc = ScaleoutError(f"{text} (raised on a Spark executor, in {where})")
    exc.add_note(f"raised on a Spark executor, in {where}; executor traceback:\n{trace}")
    raise exc


def _type_name(field: Any) -> str:
    return type(field.dataType).__name__


class SparkPasses(Passes):
    """Runs the kernels' passes over a Spark DataFrame, on its executors.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        The data.
    features : sequence of str
        The feature columns, in order: numeric or boolean (cast to float64)
        unless ``raw``; with ``raw`` also string and all-null columns.
    target : str, optional
        The target column (``Batch.y``).
    weight : str, optional
        A numeric column of row weights (``Batch.weights``, float64).
    raw : bool, default False
        Hand the kernels each chunk's feature columns as the pandas frame of
        :func:`~scaleout.data.table_frame.arrow_to_frame` instead of a float
        array (table mode: the imputers and encoders).
    n_rows : int, optional
        The frame's row count when known: the partitions are then counted
        before the first pass instead of now.
    chunk_rows : int, optional
        Rows per chunk (default: ``so.get_config()["dask_chunk_rows"]``).

    Attributes
    ----------
    frame : pyspark.sql.DataFrame
        The selected columns (features under their names, then the target and
        the weights under internal names); persisted while several passes run.
    partition_rows : dict of int to int or None
        Rows per non-empty partition (None until counted).

    Raises
    ------
    DataError
        A column the frame lacks, a column of a type the mode does not read
        (naming it, its type and what is read), or no rows.
    InvalidParameterError
        No feature column, a feature named twice, or the target or weight
        column among the features.

    Notes
    -----
    See the module docstring for the chunks, the row offsets, the cache and
    the errors. ``sample`` draws each row with probability ``n / n_rows``
    from a generator seeded by ``random_state`` and the chunk's row offset
    (the rule of :class:`~scaleout.kernels.passes.SampleFn`): reproducible for
    a given frame, partitioning and ``chunk_rows``, but a different chunking
    draws different rows.
    """

    description = "scaleout spark"

    def __init__(
        self,
        frame: Any,
        features: Sequence[str],
        target: str | None = None,
        weight: str | None = None,
        *,
        raw: bool = False,
        n_rows: int | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        super().__init__()
        features = [str(c) for c in features]
        self._check_columns(frame, features, target, weight, raw)
        self.feature_names = features
        self.n_features = len(features)
        self.has_target = target is not None
        self.weighted = weight is not None
        self.raw = bool(raw)
        rows = get_config()["dask_chunk_rows"] if chunk_rows is None else chunk_rows
        if int(rows) < 1:
            raise InvalidParameterError(f"SparkPasses(chunk_rows={chunk_rows!r}) must be >= 1")
        self.chunk_rows = int(rows)
        exprs = [
            _quoted(c) if raw else f"CAST({_quoted(c)} AS DOUBLE) AS {_quoted(c)}" for c in features
        ]
        if target is not None:
            exprs.append(f"{_quoted(target)} AS {TARGET_COLUMN}")
        if weight is not None:
            exprs.append(f"CAST({_quoted(weight)} AS DOUBLE) AS {WEIGHT_COLUMN}")
        self.frame = select_exprs(frame, exprs)
        self.partition_rows: dict[int, int] | None = None
        self._offsets: dict[int, int] = {}
        self._persisted = False
        if n_rows is None:
            self._count_partitions()
        else:
            self.n_rows = int(n_rows)
        if self.n_rows == 0:
            raise DataError("the Spark DataFrame has no rows: found array with 0 sample(s)")

    # ------------------------------------------------------------- checks
    @staticmethod
    def _check_columns(
        frame: Any, features: list[str], target: str | None, weight: str | None, raw: bool
    ) -> None:
        if not features:
            raise InvalidParameterError("SparkPasses needs at least one feature column")
        seen: set[str] = set()
        for name in features:
            if name in seen:
                raise InvalidParameterError(f"feature column {name!r} is named twice")
            seen.add(name)
        for role, name in (("target", target), ("weight", weight)):
            if name is not None and name in seen:
                raise InvalidParameterError(f"the {role} column {name!r} is also a feature column")
        fields = {field.name: field for field in frame.schema.fields}
        for role, names in (
            ("feature", features),
            ("target", [] if target is None else [target]),
            ("weight", [] if weight is None else [weight]),
        ):
            for name in names:
                if name not in fields:
                    raise DataError(
                        f"{role} column {name!r} is not in the Spark DataFrame; its columns: "
                        f"{', '.join(fields)}"
                    )
                kind = _type_name(fields[name])
                if role == "feature" and kind not in (_RAW if raw else _NUMERIC):
                    read = "numbers or booleans"
                    if raw:
                        read = "numbers, booleans, strings or all-null columns"
                    hint = "" if raw else " (raw=True reads strings and missing values)"
                    raise DataError(
                        f"feature column {name!r} is of Spark type "
                        f"{fields[name].dataType.simpleString()}; SparkPasses(raw={raw}) "
                        f"reads {read}{hint}"
                    )
                if role == "weight" and kind not in _NUMERIC:
                    raise DataError(
                        f"weight column {name!r} is of Spark type "
                        f"{fields[name].dataType.simpleString()}; weights must be numbers"
                    )

    # ------------------------------------------------------------- counts
    def _count_partitions(self) -> None:
        """Rows per partition in one job: ``n_rows`` and the row offsets.

        A ``mapInArrow`` over a one-byte literal column of the frame (no
        column of a Parquet file is read; the partitions are those of the
        passes' ``mapInArrow``, which ``spark_partition_id()`` in an
        aggregation is not for in-memory data: Spark folds it into the local
        rows on the driver).
        """
        from pyspark.sql import functions as F
        from pyspark.sql import types as S

        schema = S.StructType(
            [S.StructField("partition", S.IntegerType()), S.StructField("rows", S.LongType())]
        )
        with spark_errors("counting the rows of the Spark DataFrame"), quiet_pandas():
            ones = self.frame.select(F.lit(True).alias("one"))
            counted = ones.mapInArrow(_partition_count, schema).collect()
        counts = {int(row[0]): int(row[1]) for row in counted if row[1]}
        self._set_counts(counts)
        self.n_rows = sum(counts.values())

    def _set_counts(self, counts: dict[int, int]) -> None:
        self.partition_rows = dict(sorted(counts.items()))
        offset = 0
        self._offsets = {}
        for partition, rows in self.partition_rows.items():
            self._offsets[partition] = offset
            offset += rows

    # ---------------------------------------------------------------- cache
    def _prepare_pass(self) -> None:
        """Persist the columns when a second pass is coming; count the partitions once more
        then (on the cache, which the count fills) or when they were not counted yet."""
        recount = self.partition_rows is None
        if self.keeps_chunks() and not self._persisted:
            from pyspark import StorageLevel

            self.frame.persist(StorageLevel.MEMORY_AND_DISK)
            self._persisted = True
            self.storage = "cluster memory"
            recount = True
        if not recount:
            return
        known, given = self.n_rows, self.partition_rows is None
        self._count_partitions()
        if self.n_rows == known:
            return
        if given:
            raise DataError(
                f"SparkPasses(n_rows={known}), but the Spark DataFrame has {self.n_rows} rows"
            )
        raise DataError(
            f"the Spark DataFrame had {known} rows when counted and {self.n_rows} when "
            f"cached for the next passes: {_NOT_DETERMINISTIC}"
        )

    def close(self) -> None:
        """Unpersist the cached columns (if any) and close the progress bar."""
        super().close()
        if self._persisted:
            self._persisted = False
            self.storage = "none"
            try:
                self.frame.unpersist()
            except Exception:  # a stopped session has nothing cached any more
                pass

    # --------------------------------------------------------------- passes
    def _run(self, fn: Callable[[Batch, ChunkStore | None], T], combine: Callable[[T, T], T]) -> T:
        """One ``mapInArrow`` job: ``fn`` on every chunk, combined per partition, then here."""
        import pickle

        from pyspark.sql import types as S

        self._prepare_pass()
        layout = (self.feature_names, self.has_target, self.weighted, self.raw)
        function = partial(
            _partition_pass,
            fn=fn,
            combine=combine,
            layout=layout,
            chunk_rows=self.chunk_rows,
            offsets=self._offsets,
        )
        schema = S.StructType(
            [
                S.StructField("partition", S.IntegerType()),
                S.StructField("rows", S.LongType()),
                S.StructField("failed", S.BooleanType()),
                S.StructField("payload", S.BinaryType()),
            ]
        )
        with spark_errors("running a pass over the Spark DataFrame"), quiet_pandas():
            rows = sorted(self.frame.mapInArrow(function, schema).collect(), key=lambda r: r[0])
        for row in rows:
            if row[2]:
                _raise_executor_error(bytes(row[3]))
        self._check_rows({int(row[0]): int(row[1]) for row in rows})
        results = [pickle.loads(bytes(row[3])) for row in rows if row[1]]
        return _tree_combine(results, combine)

    def _check_rows(self, seen: dict[int, int]) -> None:
        expected = self.partition_rows or {}
        for partition in sorted(set(seen) | set(expected)):
            got, want = seen.get(partition, 0), expected.get(partition, 0)
            if got != want:
                raise DataError(
                    f"Spark partition {partition} held {got} rows in this pass and {want} "
                    f"when the partitions were counted: {_NOT_DETERMINISTIC}"
                )

    def _map_reduce(
        self, fn: Callable[[Batch, ChunkStore | None], T], combine: Callable[[T, T], T]
    ) -> T:
        return self._run(fn, combine)

    def sample(self, n: int, random_state: int | None) -> Batch:
        """About ``n`` rows, each kept with probability ``n / n_rows`` (one job).

        The rule of :class:`~scaleout.kernels.passes.SampleFn` (a generator
        seeded by ``random_state`` and the chunk's row offset); with
        ``raw=True`` the sample's ``X`` is a pandas frame too. The rows come
        in the frame's order.
        """
        sampler = SampleFn.for_passes(self, n, random_state)
        fn = partial(_sample_chunk, sampler.fraction, sampler.seed)
        batch = self._run(fn, _concat_samples)
        self.sample_passes += 1
        return batch


def _sample_chunk(
    fraction: float, seed: int, batch: Batch, store: ChunkStore | None = None
) -> Batch:  # pragma: no cover - runs on executors
    """The rows of ``batch`` kept with probability ``fraction`` (as ``bernoulli_rows``)."""
    rng = np.random.default_rng([seed, batch.row_offset])
    keep = rng.random(batch.n_rows) < fraction
    X = batch.X
    X = X.iloc[keep].reset_index(drop=True) if hasattr(X, "iloc") else X[keep]
    y = None if batch.y is None else batch.y[keep]
    w = None if batch.weights is None else batch.weights[keep]
    return Batch(X, y, batch.source, batch.row_offset, w)


def _concat_samples(a: Batch, b: Batch) -> Batch:
    """Rows of ``a`` then ``b`` (arrays, or pandas frames in table mode)."""
    if hasattr(a.X, "iloc"):
        import pandas as pd

        X: Any = pd.concat([a.X, b.X], ignore_index=True)
    else:
        X = np.concatenate([a.X, b.X])
    y = None if a.y is None else np.concatenate([a.y, b.y])
    w = None if a.weights is None else np.concatenate([a.weights, b.weights])
    return Batch(X, y, "sample", 0, w)
