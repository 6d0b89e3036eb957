"""Data into Spark: any scaleout Dataset → a checked DataFrame with a vector column.

Where the rows come from:

* a :class:`~scaleout.data.ParquetDataset` → ``spark.read.parquet(*files)``:
  Spark's executors read the files, nothing passes through the driver;
* a :class:`~scaleout.data.CsvDataset` → ``spark.read.csv`` (header, the
  dataset's delimiter; values cast to numbers with ``try_cast``);
* a :class:`~scaleout.backends.spark.data.SparkDataset` → its DataFrame (a vector
  column is expanded with ``vector_to_array``);
* anything else (NumPy, pandas, ``.npy``, Dask) → loaded on the driver and
  sent as an Arrow table (``compat.create_frame``: ``createDataFrame(pyarrow.Table)``,
  no pandas, on PySpark 4; through pandas on 3.5).

Then :func:`prepare` runs one aggregation job (grouped by label for a
classifier) that counts rows, NaN / infinite / missing values per column,
the classes with their row counts and weight sums, and, when asked, the
column means and variances; a bad column is reported by name before any
fitting. Finally ``VectorAssembler`` builds the feature vector. A lone fit
(``check_in_fit``) moves the per-row check into MLlib's first scan: a
regressor then runs no job of its own, a classifier one over its labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ...data import CsvDataset, Dataset, ParquetDataset
from ...data.validate import MAX_ABS_VALUE, float32_range_message, too_large_message
from ...exceptions import DataError, UnsupportedOnBackend
from .compat import assemble_vectors, create_frame, select_exprs
from .data import SparkDataset

__all__ = [
    "FEATURES",
    "LABEL",
    "WEIGHT",
    "Prepared",
    "diagnose_bad_rows",
    "prepare",
    "raw_column",
    "release",
]

FEATURES = "__so_features"
LABEL = "__so_label"
TARGET = "__so_target"
WEIGHT = "__so_weight"
VECTOR = "__so_vector"

#: The message of the row check that runs inside a fit (``prepare(check_in_fit=True)``).
BAD_ROW_MARKER = "scaleout: a row with a null, NaN or infinite value"

#: Widest data whose column moments are SQL aggregates (beyond: one vector aggregate).
#: ``sum`` and ``var_samp`` keep 4 buffer fields per column; Spark compiles an
#: aggregation into the scan only up to ``spark.sql.codegen.maxFields`` (100)
#: fields, and the interpreted one is slower than one ``Summarizer``.
SQL_MOMENTS_MAX_FEATURES = 24

#: Most distinct labels a classifier target may have.
MAX_CLASSES = 10_000

#: URL schemes Spark reads itself; other fsspec URLs go through the driver.
SPARK_SCHEMES = (
    "file",
    "hdfs",
    "s3a",
    "s3",
    "s3n",
    "gs",
    "abfs",
    "abfss",
    "wasb",
    "wasbs",
    "viewfs",
    "dbfs",
)

_NAN_HINT = (
    "scaleout estimators do not accept missing values encoded as NaN: impute them first "
    "(e.g. pyspark.ml.feature.Imputer) or drop those rows (DataFrame.dropna)."
)


def raw_column(j: int) -> str:
    """Name of the j-th feature as a float64 column in the prepared frame."""
    return f"__so_x{j}"


@dataclass
class Prepared:
    """A checked Spark DataFrame and what one aggregation learnt about it.

    Attributes
    ----------
    frame : pyspark.sql.DataFrame
        Columns ``raw_column(j)`` (float64), :data:`FEATURES` (vector),
        :data:`LABEL` (float64: the class index for a classifier, the value
        for a regressor) and :data:`WEIGHT` when there are weights.
    n_rows, n_features : int
    feature_names : list of str
    source : str
        Description of the data, for messages.
    classes : numpy.ndarray or None
        Sorted distinct labels (a classifier's ``classes_``).
    class_rows, class_weight_sums : numpy.ndarray or None
        Rows and summed row weights per class (None when the classes came
        from Parquet statistics: no weights then need them).
    weight_sum : float
        Rows, or the sum of the row weights.
    means, variances : numpy.ndarray or None
        Column means and variances (``ddof=1``) when asked for.
    """

    frame: Any
    n_rows: int
    n_features: int
    feature_names: list[str]
    source: str
    classes: np.ndarray | None = None
    class_rows: np.ndarray | None = None
    class_weight_sums: np.ndarray | None = None
    weight_sum: float = 0.0
    has_weights: bool = False
    means: np.ndarray | None = None
    variances: np.ndarray | None = None
    label_kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def raw_columns(self) -> list[str]:
        """The float64 feature columns, in order."""
        return [raw_column(j) for j in range(self.n_features)]


# ------------------------------------------------------------------ sources
def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def spark_paths(files: list[str]) -> list[str] | None:
    """The files as paths Spark can read, or None when one needs fsspec."""
    out = []
    for path in files:
        scheme = path.split("://", 1)[0].lower() if "://" in path else None
        if scheme is not None and scheme not in SPARK_SCHEMES:
            return None
        out.append("s3a://" + path[5:] if scheme == "s3" else path)
    return out


#: Arrow types of Parquet columns and the Spark SQL types Spark reads them as.
_PARQUET_READ_TYPES = {
    pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT",
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.int16(): "SMALLINT",
    pa.int8(): "TINYINT",
    pa.bool_(): "BOOLEAN",
    pa.string(): "STRING",
    pa.large_string(): "STRING",
}


def _read_schema(schema: pa.Schema) -> str | None:
    """The columns as a Spark read schema (DDL), or None when a type has no sure match.

    pyarrow read the schema already; handing it to Spark saves the footer
    read of its own inference (~50 ms a fit). Other types (unsigned,
    dictionary, decimal, dates) are left to Spark's inference.
    """
    parts = []
    for column in schema:
        spark_type = _PARQUET_READ_TYPES.get(column.type)
        if spark_type is None:
            return None
        parts.append(f"{_quoted(column.name)} {spark_type}")
    return ", ".join(parts)


def _spark_type(t: pa.DataType) -> str:
    """Spark SQL type name for an Arrow target type (labels keep their type)."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "bigint" if t.bit_width == 64 else "int"
    if pa.types.is_floating(t):
        return "float" if t.bit_width == 32 else "double"
    return "string"


def _source_columns(
    spark: Any, dataset: Dataset, sample_weight: Any
) -> tuple[Any, list[str], str | None, bool]:
    """(DataFrame, feature SQL expressions, target SQL expression or None, from the driver).

    Expressions are SQL text so a whole select is one Py4J call, not a few
    per column. The flag is true when the rows were sent from the driver.
    """
    if sample_weight is not None and not _in_memory(dataset):
        raise UnsupportedOnBackend(
            f"fit(sample_weight=...) with {dataset.source} is not supported by backend "
            "'spark': the rows of files or Spark DataFrames cannot be matched to an array; "
            "supported: sample_weight with in-memory data (NumPy / pandas)"
        )
    target = dataset.target
    label = None if target is None else _quoted(target)
    casts = [f"CAST({_quoted(n)} AS DOUBLE)" for n in dataset.feature_names]
    if isinstance(dataset, SparkDataset):
        sdf = dataset.frame
        if dataset.vector_column is not None:
            from pyspark.ml.functions import vector_to_array
            from pyspark.sql import functions as F

            array = vector_to_array(F.col(_quoted(dataset.vector_column))).alias(VECTOR)
            sdf = sdf.select("*", array)
            casts = [f"try_element_at({VECTOR}, {j + 1})" for j in range(dataset.n_features)]
        return sdf, casts, label, False
    if isinstance(dataset, ParquetDataset):
        paths = spark_paths(dataset.files)
        if paths is not None:
            reader = spark.read
            known = _read_schema(dataset.schema)
            if known is not None:  # Spark then reads no footer to infer it
                reader = reader.schema(known)
            return reader.parquet(*paths), casts, label, False
    if isinstance(dataset, CsvDataset) and _plain_csv(dataset):
        paths = spark_paths(dataset.files)
        if paths is not None:
            sdf = _read_csv_by_name(spark, dataset, paths)
            casts = [f"try_cast({_quoted(n)} AS DOUBLE)" for n in dataset.feature_names]
            if target is not None:
                spark_type = _spark_type(dataset.schema.field(target).type)
                label = f"try_cast({_quoted(target)} AS {spark_type})"
            return sdf, casts, label, False
    return (*_from_driver(spark, dataset, sample_weight), True)


def _read_csv_by_name(spark: Any, dataset: CsvDataset, paths: list[str]) -> Any:
    """The CSV files as one DataFrame of the columns read, matched by name.

    Spark's CSV reader takes the column names of the first file and reads the
    others by position: files are grouped by header (checked first, see
    :meth:`CsvDataset.file_headers`), each group read by Spark, its columns
    selected by name, and the groups put together with ``unionByName``.
    """
    headers = dataset.file_headers()
    groups: dict[tuple[str, ...], list[str]] = {}
    for path, header in zip(paths, headers, strict=True):
        groups.setdefault(header, []).append(path)
    columns = [_quoted(c) for c in [*dataset.feature_names, dataset.target] if c is not None]
    frames = [
        spark.read.csv(group, header=True, sep=dataset._parse.delimiter, inferSchema=False)
        for group in groups.values()
    ]
    if len(frames) == 1:
        return frames[0]
    sdf = frames[0].select(*columns)
    for frame in frames[1:]:
        sdf = sdf.unionByName(frame.select(*columns))
    return sdf


def _in_memory(dataset: Dataset) -> bool:
    return not isinstance(dataset, (SparkDataset, ParquetDataset, CsvDataset))


def _plain_csv(dataset: CsvDataset) -> bool:
    """Whether Spark's CSV reader sees the same table as pyarrow's (default options)."""
    import pyarrow.csv as pacsv

    read = dataset._read
    default = pacsv.ReadOptions()
    return (
        read.skip_rows == default.skip_rows
        and not read.column_names
        and not read.autogenerate_column_names
        and read.skip_rows_after_names == default.skip_rows_after_names
        and read.encoding == default.encoding
    )


def _from_driver(
    spark: Any, dataset: Dataset, sample_weight: Any
) -> tuple[Any, list[str], str | None]:
    X, y = dataset.to_numpy()
    columns = {raw_column(j): pa.array(np.ascontiguousarray(X[:, j])) for j in range(X.shape[1])}
    if y is not None:
        columns[TARGET] = pa.array(y.tolist() if y.dtype == object else y)
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim == 0:
            weights = np.full(X.shape[0], float(weights))
        if weights.shape != (X.shape[0],):
            raise DataError(
                f"sample_weight.shape == {weights.shape}, expected ({X.shape[0]},): one weight "
                "per row"
            )
        columns[WEIGHT] = pa.array(np.ascontiguousarray(weights))
    sdf = create_frame(spark, pa.table(columns))
    features = [raw_column(j) for j in range(X.shape[1])]
    return sdf, features, None if y is None else TARGET


# ------------------------------------------------------------------ profile
def _not_finite(expr: str) -> str:
    """SQL: true for a null, NaN or infinite value."""
    return f"(({expr}) IS NULL OR isnan({expr}) OR abs({expr}) = double('inf'))"


def _not_small(expr: str, max_abs: float = MAX_ABS_VALUE) -> str:
    """SQL: true for a null or NaN value, or one above ``max_abs**2`` (or infinite)."""
    return f"(NOT coalesce(({expr}) <= {_double(max_abs * max_abs)}, false))"


def _bad_row(raw: list[str], max_abs: float = MAX_ABS_VALUE, block: int = 64) -> str:
    """SQL: true when any feature of the row is null, NaN, infinite or beyond
    :data:`~scaleout.data.validate.MAX_ABS_VALUE`.

    A sum of squares is null / NaN / infinite when one of its terms is, and
    larger than ``MAX_ABS_VALUE**2`` when one value is beyond the limit, so one
    sum per block of columns replaces a test per column (many large values
    within the limit only send the check to :func:`_raise_for_bad_features`,
    which then finds nothing). ``max_abs`` is lower for fits in float32 (trees).
    """
    sums = [
        "(" + " + ".join(f"{c} * {c}" for c in raw[i : i + block]) + ")"
        for i in range(0, len(raw), block)
    ]
    return "(" + " OR ".join(_not_small(s, max_abs) for s in sums) + ")"


def _bad_target(expr: str) -> str:
    """SQL: true for a null, NaN, infinite or too large target value."""
    return _not_small(f"{expr} * {expr}")


def _target_type(dataset: Dataset) -> pa.DataType | None:
    try:
        return dataset.schema.field(dataset.target).type
    except (KeyError, TypeError, ValueError):
        return None


def _double(value: float) -> str:
    """SQL literal for a float64, exactly."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def prepare(
    spark: Any,
    dataset: Dataset,
    *,
    label: str | None = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    moments: bool = False,
    centre: bool = False,
    check_in_fit: bool = False,
    cache: bool = False,
    max_abs: float = MAX_ABS_VALUE,
) -> Prepared:
    """Bring ``dataset`` into Spark, check it in one aggregation job, assemble vectors.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    dataset : Dataset
    label : {"class", "value"} or None
        A classifier's target (indexed to 0..K-1 over the sorted classes), a
        regressor's target (float64), or no target.
    sample_weight : array-like, optional
        Row weights (in-memory data only).
    class_weight : dict, "balanced" or None
        Turned into per-row weights, as scikit-learn does.
    moments : bool, default False
        Also compute the column means and variances (``ddof=1``).
    centre : bool, default False
        Assemble the feature vector from mean-centred columns (needs
        ``moments``).
    check_in_fit : bool, default False
        Check the rows inside the fit's own first scan instead of the
        aggregation job (see :func:`diagnose_bad_rows`); the same errors are
        raised. Only for rows Spark reads itself (files, Spark DataFrames):
        over rows sent from the driver, Spark folds the select into its local
        table once, which a guard would prevent. For a regressor's target (or
        none) without weights or moments, on data whose row count is known
        without reading it (Parquet metadata), there is then no job at all;
        for a classifier without moments the job reads the label (and weight)
        column only, for the classes and their counts, and none runs when the
        Parquet statistics of an integer or boolean target show exactly one
        or two neighbouring values and no class weights need the counts.
    cache : bool, default False
        Keep the selected float64 columns in Spark's cache (memory, spilling
        to disk), filled by the aggregation job: for fits whose MLlib
        estimator scans its input more than once without caching it (the
        PCA step of a pipeline: MLlib's PCA, then the final estimator).
        Release it with :func:`release`.
    max_abs : float, default MAX_ABS_VALUE
        Largest feature magnitude accepted: float32's largest value for fits
        whose models compare float32 values (trees, as scikit-learn's).

    Returns
    -------
    Prepared

    Raises
    ------
    DataError
        Naming the column with NaN / infinite / missing values, a target with
        missing values, a continuous target for a classifier, too many
        classes, or no rows.
    """
    names = list(dataset.feature_names)
    sdf, feature_exprs, label_expr, from_driver = _source_columns(spark, dataset, sample_weight)
    if from_driver:
        # Spark folds a checked select over driver data into the local table once; a guard
        # (raise_error) is not folded and would be evaluated per row in every scan, ~2.5x
        # slower (100,000 x 8 LogisticRegression: 10 s against 4 s).
        check_in_fit = False
    if label is not None and label_expr is None:
        raise DataError("this estimator needs a target, and the data has none")
    raw = [raw_column(j) for j in range(len(names))]
    selected = [f"{e} AS {c}" for e, c in zip(feature_exprs, raw, strict=True)]
    if label is not None:
        expr = label_expr if label == "class" else f"CAST({label_expr} AS DOUBLE)"
        selected.append(f"{expr} AS {TARGET}")
    has_weights = sample_weight is not None
    if has_weights:
        selected.append(WEIGHT)
    base = select_exprs(sdf, selected)
    checks = _Checks(label, class_weight, has_weights, moments, centre, max_abs)
    if cache:
        from pyspark import StorageLevel

        base = base.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            prepared = _check_and_assemble(base, dataset, raw, checks, check_in_fit=False)
        except BaseException:
            base.unpersist()
            raise
        prepared.extra["cached"] = base
        return prepared
    return _check_and_assemble(base, dataset, raw, checks, check_in_fit=check_in_fit)


@dataclass(frozen=True)
class _Checks:
    """What :func:`prepare` was asked to learn and build (see its parameters)."""

    label: str | None
    class_weight: Any
    has_weights: bool
    moments: bool
    centre: bool
    max_abs: float = MAX_ABS_VALUE


def _check_and_assemble(
    base: Any, dataset: Dataset, raw: list[str], checks: _Checks, *, check_in_fit: bool
) -> Prepared:
    """The aggregation job (or its deferral into the fit), then the vector column."""
    from pyspark.sql import functions as F

    label, has_weights, moments = checks.label, checks.has_weights, checks.moments

    names = list(dataset.feature_names)
    if check_in_fit and label in ("value", None) and not moments and not has_weights:
        unscanned = _prepare_unscanned(base, dataset, raw, label, checks.max_abs)
        if unscanned is not None:
            return unscanned
    # a classifier's rows are checked inside the fit: the job reads the labels only
    labels_only = check_in_fit and label == "class" and not moments

    assembled = None if labels_only else _assemble(base, raw, None)
    scanned = base if labels_only else assembled  # the vector only for a Summarizer
    aggregates = ["count(1) AS n"]
    if not labels_only:
        aggregates.append(
            f"sum(CASE WHEN {_bad_row(raw, checks.max_abs)} THEN 1 ELSE 0 END) AS bad"
        )
    if has_weights:
        aggregates.append(f"sum({WEIGHT}) AS w")
    if label == "value":
        aggregates.append(f"sum(CASE WHEN {_bad_target(TARGET)} THEN 1 ELSE 0 END) AS by")
    if moments:
        aggregates += _moment_columns(raw)
    source = dataset.source
    known = None
    if labels_only and checks.class_weight is None and not has_weights:
        known = _classes_from_statistics(dataset)
    if known is not None:  # no job: the class counts are only needed for class weights
        facts = {"n": dataset.n_rows, "bad": 0, "groups": [(k, {}) for k in known]}
    elif label == "class":
        columns = [F.expr(a) if isinstance(a, str) else a for a in aggregates]
        grouped = scanned.groupBy(TARGET).agg(*columns).limit(MAX_CLASSES + 2).collect()
        facts = _combine_groups(grouped, has_weights, moments)
    elif all(isinstance(a, str) for a in aggregates):  # one select of SQL aggregates
        facts = _facts_of(select_exprs(scanned, aggregates).collect()[0], has_weights, moments)
    else:
        columns = [F.expr(a) if isinstance(a, str) else a for a in aggregates]
        facts = _facts_of(scanned.agg(*columns).collect()[0], has_weights, moments)
    n_rows = facts["n"]
    if n_rows == 0:
        raise DataError(f"{source} has no rows: found array with 0 sample(s)")
    if facts["bad"]:
        _raise_for_bad_features(base, names, source, checks.max_abs)
    if isinstance(dataset, SparkDataset):
        dataset.set_row_count(n_rows)

    prepared = Prepared(
        frame=None,
        n_rows=n_rows,
        n_features=len(names),
        feature_names=names,
        source=source,
        weight_sum=float(facts.get("w", n_rows)) if has_weights else float(n_rows),
        has_weights=has_weights,
        label_kind=label,
    )
    if moments:
        prepared.means = facts["means"]
        prepared.variances = facts["variances"]
    if label == "value" and facts["bad_y"]:
        _raise_for_bad_target(base, dataset.target, facts["bad_y"], source)
    if label == "class":
        _set_classes(prepared, facts, dataset.target, source, _target_type(dataset))
        prepared.extra["classes_from"] = "Parquet statistics" if known else "a Spark job"
    if labels_only:
        frame = _assemble(_guard_rows(base, raw, TARGET, max_abs=checks.max_abs), raw, None)
        prepared.extra["unchecked"] = base
        prepared.extra["max_abs"] = checks.max_abs
        prepared.extra["target"] = None
    else:
        frame = _assemble(base, raw, prepared.means) if checks.centre else assembled
    weight_expr = F.col(WEIGHT) if has_weights else None
    if label == "class":
        frame, weight_expr = _index_labels(frame, prepared, checks.class_weight, weight_expr)
    elif label == "value":
        frame = frame.withColumnRenamed(TARGET, LABEL)
    if weight_expr is not None:
        frame = frame.withColumn(WEIGHT, weight_expr)
    prepared.frame = frame
    return prepared


def release(prepared: Prepared) -> None:
    """Drop the cache a ``prepare(cache=True)`` kept (no-op otherwise)."""
    cached = prepared.extra.pop("cached", None)
    if cached is not None:
        cached.unpersist()


def _prepare_unscanned(
    base: Any, dataset: Dataset, raw: list[str], label: str | None, max_abs: float
) -> Prepared | None:
    """A frame whose rows raise when bad, for a fit that reads every row (no job of its own).

    A regressor reads each row's target, an unsupervised fit each row's first
    feature: a ``raise_error`` in that column's expression stops the fit's
    first scan at the first row with a null, NaN or infinite value;
    :func:`diagnose_bad_rows` then names the column. None when the row count
    is not known without a scan.
    """
    n_rows = dataset.n_rows
    if n_rows is None:
        return None
    if n_rows == 0:
        raise DataError(f"{dataset.source} has no rows: found array with 0 sample(s)")
    if label == "value":
        guarded = _guard_rows(
            base, raw, TARGET, also=_bad_target(TARGET), name=LABEL, max_abs=max_abs
        )
    else:
        guarded = _guard_rows(base, raw, raw[0], max_abs=max_abs)
    prepared = Prepared(
        frame=_assemble(guarded, raw, None),
        n_rows=int(n_rows),
        n_features=len(raw),
        feature_names=list(dataset.feature_names),
        source=dataset.source,
        weight_sum=float(n_rows),
        label_kind=label,
    )
    prepared.extra["unchecked"] = base
    prepared.extra["max_abs"] = max_abs
    prepared.extra["target"] = dataset.target if label == "value" else None
    return prepared


def _guard_rows(
    base: Any,
    raw: list[str],
    guard: str,
    also: str | None = None,
    name: str | None = None,
    max_abs: float = MAX_ABS_VALUE,
) -> Any:
    """``base`` whose column ``guard`` raises on a row with a bad feature (or ``also``).

    The fit reads ``guard`` (renamed ``name``) in every row it scans, so its
    first full scan stops at the first bad row with :data:`BAD_ROW_MARKER`.
    """
    bad = _bad_row(raw, max_abs)
    if also is not None:
        bad = f"({bad} OR {also})"
    kept = [c for c in base.columns if c != guard]
    return select_exprs(
        base,
        [
            *kept,
            f"CASE WHEN {bad} THEN raise_error('{BAD_ROW_MARKER}') ELSE {guard} END AS "
            f"{name or guard}",
        ],
    )


def diagnose_bad_rows(prepared: Prepared, error: BaseException) -> None:
    """Raise the data check's error when a fit stopped on a row check.

    For a frame from ``prepare(check_in_fit=True)`` whose fit failed with
    ``error``: when the failure is the row check's, one more job counts the
    bad values per column and raises the same :class:`DataError` as the
    aggregation job would have. Otherwise returns, and the caller re-raises.
    """
    base = prepared.extra.get("unchecked")
    if base is None or BAD_ROW_MARKER not in str(error):
        return
    _raise_for_bad_features(
        base,
        prepared.feature_names,
        prepared.source,
        prepared.extra.get("max_abs", MAX_ABS_VALUE),
    )
    if prepared.extra.get("target") is None:
        bad_y = 0
    else:
        count = f"sum(CASE WHEN {_bad_target(TARGET)} THEN 1 ELSE 0 END)"
        bad_y = base.selectExpr(count).first()[0]
    if not bad_y:  # every value is within the limit: a row's sum of squares is large
        raise DataError(
            f"Input X has values too large for float64 arithmetic (a row's sum of squares "
            f"overflows) in {prepared.source}: scale the features first."
        )
    _raise_for_bad_target(base, prepared.extra["target"], int(bad_y), prepared.source)


def _raise_for_bad_target(base: Any, target: Any, n_bad: int, source: str) -> None:
    """A regression target with null / NaN / infinite or too large values."""
    row = base.selectExpr(
        f"sum(CASE WHEN {_not_finite(TARGET)} THEN 1 ELSE 0 END) AS nonfinite",
        f"max(CASE WHEN {_not_finite(TARGET)} THEN NULL ELSE abs({TARGET}) END) AS top",
    ).first()
    if not row["nonfinite"] and row["top"] is not None and row["top"] > MAX_ABS_VALUE:
        raise DataError(
            too_large_message(f"y (target column {target!r})", row["top"], None, f" in {source}")
        )
    raise DataError(
        f"Input y contains NaN, infinity or missing values: target column "
        f"{target!r} has {n_bad} such value(s) in {source}. {_NAN_HINT}"
    )


def _facts_of(row: Any, has_weights: bool, moments: bool) -> dict[str, Any]:
    values = row.asDict()
    facts: dict[str, Any] = {
        "n": int(values["n"]),
        "bad": int(values.get("bad") or 0),
        "bad_y": int(values.get("by") or 0),
    }
    if has_weights:
        facts["w"] = float(values["w"] or 0.0)
    if moments and "summary" in values:
        summary = values["summary"]
        facts["means"] = np.asarray(summary["mean"].toArray(), dtype=np.float64)
        facts["variances"] = np.asarray(summary["variance"].toArray(), dtype=np.float64)
    elif moments:
        n_features = sum(1 for key in values if key.startswith("var"))
        n = max(facts["n"], 1)
        sums = np.array([values[f"sum{j}"] for j in range(n_features)], dtype=np.float64)
        facts["means"] = sums / n
        facts["variances"] = np.array(
            [values[f"var{j}"] for j in range(n_features)], dtype=np.float64
        )
    return facts


def _moment_columns(raw: list[str]) -> list[Any]:
    """Aggregates for the column means and variances (``ddof=1``).

    Up to :data:`SQL_MOMENTS_MAX_FEATURES` columns they are SQL aggregates
    (the mean from ``sum``, whose buffer is one field where ``avg`` keeps two),
    compiled into the scan that checks the data: on 20 columns the check job
    then takes about 1.5x a bare count instead of 3.5x with avg/var_samp
    (interpreted: too many fields) or a vector aggregate. Wider data gets one
    ``Summarizer`` over the feature vector.

    Returns
    -------
    list
        SQL text (``str``) for the SQL aggregates, else one ``Column``.
    """
    if len(raw) <= SQL_MOMENTS_MAX_FEATURES:
        return [
            f"{agg}({c}) AS {name}{j}"
            for j, c in enumerate(raw)
            for agg, name in (("sum", "sum"), ("var_samp", "var"))
        ]
    from pyspark.ml.stat import Summarizer
    from pyspark.sql import functions as F

    summary = Summarizer.metrics("mean", "variance").summary(F.col(FEATURES))
    return [summary.alias("summary")]


def _combine_groups(rows: list[Any], has_weights: bool, moments: bool) -> dict[str, Any]:
    """Totals over the per-label groups; the mean and variance combined exactly."""
    groups = [(row[TARGET], _facts_of(row, has_weights, moments)) for row in rows]
    n = sum(g["n"] for _, g in groups)
    facts: dict[str, Any] = {"n": n, "bad": sum(g["bad"] for _, g in groups), "groups": groups}
    if has_weights:
        facts["w"] = sum(g["w"] for _, g in groups)
    if moments and n:
        counts = np.array([g["n"] for _, g in groups], dtype=np.float64)
        means = np.stack([g["means"] for _, g in groups])
        variances = np.nan_to_num(np.stack([g["variances"] for _, g in groups]))
        mean = counts @ means / n
        within = (counts - 1) @ variances
        between = counts @ (means - mean) ** 2
        facts["means"] = mean
        facts["variances"] = (within + between) / max(n - 1, 1)
    return facts


def _raise_for_bad_features(
    base: Any, names: list[str], source: str, max_abs: float = MAX_ABS_VALUE
) -> None:
    """Name the first column with null / NaN / infinite values, else the first with
    finite values beyond ``max_abs`` (one more job); return when there is none
    (many large values, each within the limit)."""
    raw = [raw_column(j) for j in range(len(names))]
    counts = []
    for j, c in enumerate(raw):
        counts += [
            f"sum(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END) AS null{j}",
            f"sum(CASE WHEN isnan({c}) THEN 1 ELSE 0 END) AS nan{j}",
            f"sum(CASE WHEN abs({c}) = double('inf') THEN 1 ELSE 0 END) AS inf{j}",
            f"max(CASE WHEN {_not_finite(c)} THEN NULL ELSE abs({c}) END) AS top{j}",
        ]
    row = select_exprs(base, counts).collect()[0].asDict()
    found = [
        (j, int(row[f"nan{j}"] or 0), int(row[f"inf{j}"] or 0), int(row[f"null{j}"] or 0))
        for j in range(len(names))
    ]
    found = [f for f in found if any(f[1:])]
    if not found:
        for j in range(len(names)):
            top = row[f"top{j}"]
            if top is None or top <= max_abs:
                continue
            if top <= MAX_ABS_VALUE:  # the lower limit of a fit in float32
                raise DataError(
                    float32_range_message(
                        names[j], j, float(top), f" in {source}", "a tree on engine 'spark'"
                    )
                )
            raise DataError(
                too_large_message(
                    f"X column {names[j]!r} (feature {j})", float(top), None, f" in {source}"
                )
            )
        return
    j, n_nan, n_inf, n_null = found[0]
    parts = [
        f"{k} {label}"
        for k, label in ((n_nan, "NaN"), (n_inf, "infinite"), (n_null, "missing (null)"))
        if k
    ]
    kind = "NaN" if n_nan else ("infinity" if n_inf else "missing values")
    others = [names[f[0]] for f in found[1:6]]
    more = f" (also in column(s) {', '.join(map(repr, others))})" if others else ""
    hint = (
        _NAN_HINT
        if n_nan or n_null
        else "Remove or clip the infinite values (or values too large for float64) first."
    )
    raise DataError(
        f"Input X contains {kind}: column {names[j]!r} (feature {j}) has "
        f"{', '.join(parts)} value(s) in {source}{more}. {hint}"
    )


def _classes_from_statistics(dataset: Dataset) -> list[Any] | None:
    """The classes of a Parquet target whose statistics leave no doubt, else None.

    An integer or boolean target whose footer statistics give min ``a`` and
    max ``a`` or ``a + 1`` (no nulls) has exactly those classes: every label
    lies between them and both occur. The common 0/1 target then needs no
    job at all.
    """
    if not isinstance(dataset, ParquetDataset) or not dataset.n_rows:
        return None
    bounds = dataset.target_bounds
    if bounds is None:
        return None
    low, high = bounds
    if int(high) - int(low) not in (0, 1):
        return None
    return sorted({low, high})


def _numpy_labels(values: list[Any], arrow_type: pa.DataType | None = None) -> np.ndarray:
    """The labels as NumPy, with the target column's dtype (as scikit-learn's classes_)."""
    if arrow_type is not None and (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
    ):
        return np.array(values, dtype=arrow_type.to_pandas_dtype())
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([str(v) for v in values], dtype=object)


def _set_classes(
    prepared: Prepared,
    facts: dict[str, Any],
    target: Any,
    source: str,
    arrow_type: pa.DataType | None = None,
) -> None:
    groups = facts["groups"]
    missing = [
        g["n"] for key, g in groups if key is None or (isinstance(key, float) and key != key)
    ]
    if missing:
        raise DataError(
            f"Input y contains NaN or missing values: target column {target!r} has "
            f"{sum(missing)} missing label(s) in {source}. {_NAN_HINT}"
        )
    if len(groups) > MAX_CLASSES:
        raise DataError(
            f"target column {target!r} has more than {MAX_CLASSES} distinct values in "
            f"{source}: is it a regression target? Use a regressor."
        )
    keys = [key for key, _ in groups]
    labels = _numpy_labels(keys, arrow_type)
    order = np.argsort(labels, kind="stable")
    prepared.classes = labels[order]
    prepared.extra["class_keys"] = [keys[i] for i in order]
    if any("n" not in group for _, group in groups):  # classes from statistics: no counts
        return
    prepared.class_rows = np.array([groups[i][1]["n"] for i in order], dtype=np.int64)
    if prepared.has_weights:
        prepared.class_weight_sums = np.array([groups[i][1]["w"] for i in order], dtype=float)
    else:
        prepared.class_weight_sums = prepared.class_rows.astype(np.float64)


def _class_weights(class_weight: Any, prepared: Prepared) -> np.ndarray | None:
    """One weight per class, as scikit-learn's ``compute_class_weight``."""
    if class_weight is None:
        return None
    classes = prepared.classes
    if class_weight == "balanced":
        sums = prepared.class_weight_sums
        return sums.sum() / (len(classes) * sums)
    weights = np.ones(len(classes))
    for i, c in enumerate(classes.tolist()):
        if c in class_weight:
            weights[i] = float(class_weight[c])
    unknown = [k for k in class_weight if k not in set(classes.tolist())]
    if unknown:
        raise DataError(
            f"The classes, {unknown}, are not in class. (class_weight names labels absent "
            f"from the target; classes: {classes.tolist()})"
        )
    return weights


def _index_labels(
    frame: Any, prepared: Prepared, class_weight: Any, weight_expr: Any
) -> tuple[Any, Any]:
    """Labels → 0..K-1 (float64, with nominal metadata); class weights → row weights."""
    from itertools import chain

    from pyspark.sql import functions as F

    keys = prepared.extra["class_keys"]
    k = len(keys)
    metadata = {"ml_attr": {"type": "nominal", "num_vals": k, "name": LABEL}}
    target = F.col(TARGET)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in keys) and keys == list(range(k)):
        index = target.cast("double")
    else:
        mapping = F.create_map(
            *chain.from_iterable((F.lit(v), F.lit(float(i))) for i, v in enumerate(keys))
        )
        index = mapping[target]
    frame = frame.withColumn(LABEL, index.alias(LABEL, metadata=metadata)).drop(TARGET)
    weights = _class_weights(class_weight, prepared)
    if weights is not None:
        per_class = F.create_map(
            *chain.from_iterable((F.lit(float(i)), F.lit(float(w))) for i, w in enumerate(weights))
        )
        by_class = per_class[F.col(LABEL)]
        weight_expr = by_class if weight_expr is None else weight_expr * by_class
        prepared.weight_sum = float(weights @ prepared.class_weight_sums)
        prepared.has_weights = True
    return frame, weight_expr


def _assemble(frame: Any, raw: list[str], means: np.ndarray | None) -> Any:
    inputs = raw
    if means is not None:
        inputs = [f"{c}_c" for c in raw]
        centred = [f"{c} - {_double(m)} AS {o}" for c, m, o in zip(raw, means, inputs, strict=True)]
        frame = select_exprs(frame, ["*", *centred])
    return assemble_vectors(frame, inputs, FEATURES)
