"""SparkPasses: the engine-neutral kernels run on a Spark DataFrame's executors.

Every kernel result is compared with the same kernel on ``InMemoryPasses``
over the same rows; where the in-memory chunks are cut exactly as Spark's
(the partitions' row counts, then ``chunk_rows``), the results that depend on
the row offsets (k-means|| draws, ``sample``, ``labels_``) must be the same too.
"""

from __future__ import annotations

import sys
from collections import Counter
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("pyspark")

from scaleout.data.dataset import Batch
from scaleout.data.table_frame import arrow_to_frame
from scaleout.exceptions import DataError, InvalidParameterError
from scaleout.kernels.kmeans import fit_kmeans
from scaleout.kernels.linear import fit_linear_regression
from scaleout.kernels.passes import InMemoryPasses
from scaleout.kernels.scalers import fit_minmax_scaler, fit_standard_scaler

FEATURES = ["a", "b", "c", "d"]
N_ROWS = 6001
CHUNK_ROWS = 700


@pytest.fixture(scope="module", autouse=True)
def _test_functions_by_value():
    """This module's chunk functions run on the executors, which cannot import it."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(scope="module")
def sdf(spark, tmp_path_factory):
    """A Parquet dataset of three files (2000, 2000 and 2001 rows), read in partitions."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    X = rng.normal(size=(N_ROWS, 4)) * [1.0, 10.0, 0.1, 3.0] + [5.0, -2.0, 1e3, 0.0]
    X[:2000] += 8.0  # two blobs
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["y"] = X @ [1.5, -0.5, 2.0, 0.25] + rng.normal(size=N_ROWS)
    frame["w"] = rng.uniform(0.2, 3.0, size=N_ROWS)
    directory = tmp_path_factory.mktemp("passes")
    for index, (lo, hi) in enumerate([(0, 2000), (2000, 4000), (4000, N_ROWS)]):
        part = pa.Table.from_pandas(frame.iloc[lo:hi], preserve_index=False)
        pq.write_table(part, directory / f"part-{index}.parquet")
    return spark.read.parquet(str(directory))


@pytest.fixture(scope="module")
def table(sdf) -> pd.DataFrame:
    """The rows in the frame's order (partition order, then row order)."""
    from scaleout.backends.spark.compat import to_arrow

    return to_arrow(sdf).to_pandas()


def _passes(sdf, *, target="y", weight=None, **kwargs):
    from scaleout.backends.spark.passes import SparkPasses

    return SparkPasses(sdf, FEATURES, target, weight, chunk_rows=CHUNK_ROWS, **kwargs)


def _same_chunks(table: pd.DataFrame, spark_passes, *, weighted: bool) -> InMemoryPasses:
    """In-memory chunks cut exactly as ``spark_passes`` cuts the frame."""
    X, y = table[FEATURES].to_numpy(), table["y"].to_numpy()
    w = table["w"].to_numpy() if weighted else None
    chunks, start = [], 0
    for rows in spark_passes.partition_rows.values():
        for lo in range(start, start + rows, spark_passes.chunk_rows):
            hi = min(lo + spark_passes.chunk_rows, start + rows)
            chunks.append(Batch(X[lo:hi], y[lo:hi], "mem", lo, None if w is None else w[lo:hi]))
        start += rows
    return InMemoryPasses(chunks)


def test_partitions_are_counted_in_row_order(sdf, table):
    passes = _passes(sdf)
    try:
        assert passes.n_rows == N_ROWS
        assert len(passes.partition_rows) >= 2  # the files are read by two tasks or more
        assert sum(passes.partition_rows.values()) == N_ROWS
        assert passes.n_features == 4 and passes.feature_names == FEATURES
        assert not passes.weighted
        seen = passes.map_reduce(_chunk_facts, label="facts", combine=_concat, with_store=True)
    finally:
        passes.close()
    seen.sort()
    # contiguous chunks of CHUNK_ROWS rows (the last of each partition smaller), exact offsets
    expected, start = [], 0
    for partition, rows in passes.partition_rows.items():
        sizes = [CHUNK_ROWS] * (rows // CHUNK_ROWS) + [rows % CHUNK_ROWS] * bool(rows % CHUNK_ROWS)
        for size in sizes:
            expected.append((start, size, f"Spark partition {partition}"))
            start += size
    assert [s[:3] for s in seen] == expected
    assert start == N_ROWS and len(expected) >= 9
    assert {s[3] for s in seen} == {"float64 (rows, 4), y float64, weights None, store None"}
    # each chunk's first and last rows are the frame's rows at those offsets
    X = table[FEATURES].to_numpy()
    for offset, rows, _, _, first, last in seen:
        np.testing.assert_array_equal(first, X[offset])
        np.testing.assert_array_equal(last, X[offset + rows - 1])
    assert passes.passes == 1


def _chunk_facts(batch: Batch, store) -> list:
    kind = (
        f"{batch.X.dtype} (rows, {batch.X.shape[1]}), y {batch.y.dtype}, "
        f"weights {None if batch.weights is None else batch.weights.dtype}, store {store}"
    )
    return [(batch.row_offset, batch.n_rows, batch.source, kind, batch.X[0], batch.X[-1])]


def _concat(a: list, b: list) -> list:
    return a + b


@pytest.mark.parametrize("weighted", [False, True])
def test_scalers_match_in_memory(sdf, table, weighted):
    weight = "w" if weighted else None
    memory = InMemoryPasses.from_arrays(
        table[FEATURES].to_numpy(),
        chunk_rows=1000,
        sample_weight=table["w"].to_numpy() if weighted else None,
    )
    passes = _passes(sdf, target=None, weight=weight)
    try:
        standard = fit_standard_scaler(passes, {"with_mean": True, "with_std": True})
        minmax = fit_minmax_scaler(passes, {"feature_range": (-1, 2)})
        assert passes.weighted is weighted
    finally:
        passes.close()
    expected = fit_standard_scaler(memory, {"with_mean": True, "with_std": True})
    for key in ("mean_", "var_", "scale_"):
        assert _rel(standard[key], expected[key]) < 1e-10, key
    assert standard["n_samples_seen_"] == pytest.approx(expected["n_samples_seen_"], rel=1e-12)
    assert type(standard["n_samples_seen_"]) is type(expected["n_samples_seen_"])
    expected = fit_minmax_scaler(memory, {"feature_range": (-1, 2)})
    for key in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
        np.testing.assert_array_equal(minmax[key], expected[key])
    assert minmax["n_samples_seen_"] == N_ROWS
    # and scikit-learn's own numbers
    from sklearn.preprocessing import StandardScaler

    sk = StandardScaler().fit(
        table[FEATURES].to_numpy(), sample_weight=table["w"].to_numpy() if weighted else None
    )
    assert _rel(standard["mean_"], sk.mean_) < 1e-10
    assert _rel(standard["var_"], sk.var_) < 1e-10


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_scatter_matches_in_memory(sdf, table, weighted, fit_intercept):
    params = {"fit_intercept": fit_intercept, "positive": False}
    memory = InMemoryPasses.from_arrays(
        table[FEATURES].to_numpy(),
        table["y"].to_numpy(),
        chunk_rows=999,
        sample_weight=table["w"].to_numpy() if weighted else None,
    )
    passes = _passes(sdf, weight="w" if weighted else None)
    try:
        got = fit_linear_regression(passes, params)
        assert passes.storage == "none" and passes.passes == 1
    finally:
        passes.close()
    expected = fit_linear_regression(memory, params)
    for key in ("coef_", "singular_"):
        assert _rel(got[key], expected[key]) < 1e-10, key
    assert got["intercept_"] == pytest.approx(expected["intercept_"], rel=1e-10, abs=1e-12)
    assert got["rank_"] == expected["rank_"] == 4


@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_array_init_matches_in_memory_and_caches(spark, sdf, table, weighted):
    init = table[FEATURES].to_numpy()[[0, 2500, 4000]]
    params = {"n_clusters": 3, "init": init, "n_init": 1, "max_iter": 4, "tol": 0.0}
    memory = InMemoryPasses.from_arrays(
        table[FEATURES].to_numpy(),
        chunk_rows=1234,
        sample_weight=table["w"].to_numpy() if weighted else None,
    )
    rdds = len(spark.sparkContext._jsc.getPersistentRDDs())
    passes = _passes(sdf, target=None, weight="w" if weighted else None)
    try:
        got = fit_kmeans(passes, params)
        assert passes.storage == "cluster memory"
        assert passes.frame.storageLevel.useMemory and passes.frame.storageLevel.useDisk
        assert len(spark.sparkContext._jsc.getPersistentRDDs()) == rdds + 1
    finally:
        passes.close()
    assert not passes.frame.storageLevel.useMemory and not passes.frame.storageLevel.useDisk
    assert len(spark.sparkContext._jsc.getPersistentRDDs()) == rdds
    assert passes.storage == "none"
    expected = fit_kmeans(memory, params)
    assert passes.passes == got["n_iter_"] + 1 or passes.passes == got["n_iter_"] + 2
    assert got["n_iter_"] == expected["n_iter_"]
    assert _rel(got["cluster_centers_"], expected["cluster_centers_"]) < 1e-10
    assert got["inertia_"] == pytest.approx(expected["inertia_"], rel=1e-10)
    np.testing.assert_array_equal(got["labels_"], expected["labels_"])  # in row order


def test_kmeans_plus_plus_draws_as_in_memory_with_the_same_chunks(sdf, table):
    """k-means|| seeds each chunk's draws by its row offset: exact offsets, same draws."""
    params = {"n_clusters": 4, "n_init": 1, "max_iter": 5, "random_state": 3}
    passes = _passes(sdf, target=None)
    try:
        got = fit_kmeans(passes, params)
        memory = _same_chunks(table, passes, weighted=False)
    finally:
        passes.close()
    expected = fit_kmeans(memory, params)
    assert _rel(got["cluster_centers_"], expected["cluster_centers_"]) < 1e-10
    assert got["inertia_"] == pytest.approx(expected["inertia_"], rel=1e-10)
    np.testing.assert_array_equal(got["labels_"], expected["labels_"])


def test_sample_draws_as_in_memory_with_the_same_chunks(sdf, table):
    passes = _passes(sdf, weight="w")
    try:
        got = passes.sample(1500, random_state=11)
        memory = _same_chunks(table, passes, weighted=True)
        assert passes.sample_passes == 1 and passes.passes == 0
    finally:
        passes.close()
    expected = memory.sample(1500, random_state=11)
    assert 1300 < got.n_rows < 1700
    np.testing.assert_array_equal(got.X, expected.X)
    np.testing.assert_array_equal(got.y, expected.y)
    np.testing.assert_array_equal(got.weights, expected.weights)


def test_an_executor_error_keeps_its_type_and_message(spark, sdf):
    rdds = len(spark.sparkContext._jsc.getPersistentRDDs())
    passes = _passes(sdf)
    try:
        passes.expect_passes(None)
        with pytest.raises(DataError, match=r"^no good: Spark partition 1") as caught:
            passes.map_reduce(_fail_in_partition_1, label="fails")
        assert str(caught.value) == "no good: Spark partition 1"
        assert type(caught.value) is DataError
        assert any("Spark partition 1" in note for note in caught.value.__notes__)
        assert any("_fail_in_partition_1" in note for note in caught.value.__notes__)
        assert passes.storage == "cluster memory"
    finally:
        passes.close()
    assert len(spark.sparkContext._jsc.getPersistentRDDs()) == rdds


def _fail_in_partition_1(batch: Batch) -> int:
    if batch.source == "Spark partition 1":
        raise DataError(f"no good: {batch.source}")
    return batch.n_rows


def test_a_kernel_error_on_an_executor_surfaces_as_itself(spark):
    """The linear kernel on a string target: numpy's ValueError, raised on the executor."""
    frame = spark.createDataFrame(
        pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 1.0], "y": ["u", "v", "u"]})
    )
    from scaleout.backends.spark.passes import SparkPasses

    passes = SparkPasses(frame, ["a", "b"], "y")
    try:
        with pytest.raises(ValueError, match="could not convert string to float: 'u'"):
            fit_linear_regression(passes, {"fit_intercept": True, "positive": False})
    finally:
        passes.close()


def test_bad_columns_are_named_before_any_job(spark, sdf):
    from scaleout.backends.spark.passes import SparkPasses

    with pytest.raises(DataError, match=r"feature column 'zz' is not in the Spark DataFrame"):
        SparkPasses(sdf, ["a", "zz"])
    with pytest.raises(DataError, match=r"weight column 'ww' is not in the Spark DataFrame"):
        SparkPasses(sdf, ["a"], "y", "ww")
    with pytest.raises(InvalidParameterError, match="the target column 'a' is also a feature"):
        SparkPasses(sdf, ["a", "b"], "a")
    frame = spark.createDataFrame(pd.DataFrame({"a": [1.0], "s": ["x"]}))
    with pytest.raises(
        DataError,
        match=r"feature column 's' is of Spark type string; SparkPasses\(raw=False\) reads "
        r"numbers or booleans \(raw=True reads strings and missing values\)",
    ):
        SparkPasses(frame, ["a", "s"])
    passes = SparkPasses(frame, ["a", "s"], raw=True)
    assert passes.n_rows == 1 and passes.n_features == 2
    passes.close()
    with pytest.raises(DataError, match=r"SparkPasses\(n_rows=10\), but the Spark DataFrame has 1"):
        SparkPasses(frame, ["a"], n_rows=10).map_reduce(_rows, label="rows")
    with pytest.raises(DataError, match="the Spark DataFrame has no rows"):
        SparkPasses(frame.limit(0), ["a"])


def _rows(batch: Batch) -> int:
    return batch.n_rows


# ---------------------------------------------------------------- table mode
@pytest.fixture(scope="module")
def raw_table() -> pa.Table:
    rng = np.random.default_rng(5)
    n = 53
    carriers = np.array(["AA", "UA", "DL", "ÄÖ"], dtype=object)[rng.integers(0, 4, n)]
    carriers[rng.random(n) < 0.2] = None
    ints = rng.integers(-3, 4, n)
    int_nulls = rng.random(n) < 0.3
    int_nulls[:8] = False  # the first chunk (rows 0..6) has no missing int
    floats = rng.normal(size=n)
    float_nulls = rng.random(n) < 0.25
    return pa.table(
        {
            "carrier": pa.array(carriers, pa.string()),
            "n": pa.array(ints, pa.int64(), mask=int_nulls),
            "x": pa.array(floats, pa.float64(), mask=float_nulls),
            "flag": pa.array(rng.random(n) < 0.5, pa.bool_()),
            "label": pa.array(np.array(["no", "yes"])[rng.integers(0, 2, n)], pa.string()),
        }
    )


RAW = ["carrier", "n", "x", "flag"]


def test_raw_chunks_are_the_frames_arrow_to_frame_gives(spark, raw_table):
    from scaleout.backends.spark.compat import create_frame
    from scaleout.backends.spark.passes import SparkPasses

    frame = create_frame(spark, raw_table).coalesce(1)
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "5")  # chunks span batches
    try:
        passes = SparkPasses(frame, RAW, "label", raw=True, chunk_rows=7)
        try:
            chunks = passes.map_reduce(_raw_chunk, label="raw chunks", combine=_concat)
            counts = passes.map_reduce(_value_counts, label="value counts", combine=_add_counts)
        finally:
            passes.close()
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    assert [c[0] for c in chunks] == list(range(0, 53, 7))
    for offset, X, y in chunks:
        part = raw_table.slice(offset, 7)
        expected = arrow_to_frame(part, RAW)
        pd.testing.assert_frame_equal(X, expected, check_exact=True)
        assert list(X.dtypes.astype(str)) == list(expected.dtypes.astype(str))
        np.testing.assert_array_equal(y, part.column("label").to_numpy(zero_copy_only=False))
    kinds = {str(X["n"].dtype) for _, X, _ in chunks}
    assert kinds == {"int64", "float64"}  # int64 in the chunk without a missing value
    assert chunks[0][1]["carrier"].dtype == object
    whole = arrow_to_frame(raw_table, RAW)
    for name in RAW:
        expected = whole[name].value_counts(dropna=False)
        expected = {
            ("nan" if pd.isna(k) else str(float(k)) if name == "n" else str(k)): v
            for k, v in expected.items()
        }
        assert counts[name] == expected, name


def _raw_chunk(batch: Batch) -> list:
    return [(batch.row_offset, batch.X, batch.y)]


def _value_counts(batch: Batch) -> dict:
    out = {}
    for name in batch.X.columns:
        column = batch.X[name]
        keys = ["nan" if pd.isna(v) else str(float(v)) if name == "n" else str(v) for v in column]
        out[name] = Counter(keys)
    return out


def _add_counts(a: dict, b: dict) -> dict:
    return {name: a[name] + b[name] for name in a}


def test_raw_sample_is_a_frame(spark, raw_table):
    from scaleout.backends.spark.compat import create_frame
    from scaleout.backends.spark.passes import SparkPasses

    frame = create_frame(spark, raw_table)
    passes = SparkPasses(frame, RAW, raw=True, chunk_rows=10)
    try:
        got = passes.sample(53, random_state=0)  # fraction 1: every row, in order
    finally:
        passes.close()
    pd.testing.assert_frame_equal(got.X, arrow_to_frame(raw_table, RAW), check_dtype=False)
    assert got.y is None and got.weights is None


def test_store_is_none_and_fn_may_be_a_partial(sdf):
    passes = _passes(sdf, target=None)
    try:
        got = passes.map_reduce(partial(_scaled_sum, factor=2.0), label="sum", with_store=True)
    finally:
        passes.close()
    assert got == pytest.approx(2.0 * N_ROWS)


def _scaled_sum(batch: Batch, store, factor: float) -> float:
    assert store is None
    return factor * batch.n_rows


def _below_threshold_in(path: str):
    """A filter keeping the rows whose ``a`` is below the number in file ``path`` (read
    per row: the rows change when the file does, as a random filter's between jobs)."""

    def below(a: float) -> bool:
        with open(path) as file:
            return a < float(file.read())

    return below


def test_rows_that_change_between_jobs_are_an_error(spark, sdf, tmp_path):
    from pyspark.sql import functions as F

    from scaleout.backends.spark.passes import SparkPasses

    threshold = tmp_path / "threshold"
    threshold.write_text("5.0")
    keep = F.udf(_below_threshold_in(str(threshold)), "boolean").asNondeterministic()
    shaky = sdf.filter(keep(F.col("a")))
    passes = SparkPasses(shaky, FEATURES)
    try:
        threshold.write_text("6.0")  # every partition now holds more rows
        with pytest.raises(
            DataError,
            match=r"Spark partition \d held \d+ rows in this pass and "
            r"\d+ when the partitions were counted: the DataFrame's rows are not "
            r"deterministic .* persist\(\) it",
        ):
            fit_standard_scaler(passes, {})
    finally:
        passes.close()
    passes = SparkPasses(shaky, FEATURES)
    try:
        threshold.write_text("5.0")
        with pytest.raises(
            DataError,
            match=r"the Spark DataFrame had \d+ rows when counted and "
            r"\d+ when cached for the next passes",
        ):
            fit_kmeans(passes, {"n_clusters": 2, "random_state": 0})
        assert passes.passes == 0
    finally:
        passes.close()


class _Unloadable(Exception):
    """An exception that pickles but does not unpickle (its __init__ needs two arguments)."""

    def __init__(self, what: str, where: int) -> None:
        super().__init__(f"{what} at {where}")


def _fail_unloadable(batch: Batch) -> int:
    raise _Unloadable("cannot go on", batch.row_offset)


def test_an_exception_that_does_not_unpickle_keeps_its_text(sdf):
    from scaleout.exceptions import ScaleoutError

    passes = _passes(sdf, target=None)
    try:
        with pytest.raises(
            ScaleoutError,
            match=r"^_Unloadable: cannot go on at 0 \(raised on a Spark executor, in Spark "
            r"partition 0\)",
        ):
            passes.map_reduce(_fail_unloadable, label="fails")
    finally:
        passes.close()


# ------------------------------------------- the spark engine's kernel fallback
@pytest.fixture
def without_mllib(monkeypatch):
    """Drop the spark engine's MLlib mappings of some estimators: their kernel then runs."""
    import scaleout as so
    from scaleout import registry

    for cls in (so.DecisionTreeClassifier, so.StandardScaler, so.KMeans):
        monkeypatch.delitem(registry._IMPLEMENTATIONS[cls], "spark")


def test_an_estimator_without_mllib_mapping_runs_its_kernel(spark, without_mllib):
    import scaleout as so
    from scaleout.backends.spark import SparkBackend
    from scaleout.backends.spark.kernel_fit import PATH
    from scaleout.exceptions import UnsupportedOnBackend

    assert SparkBackend().supports(so.DecisionTreeClassifier)
    X, y = load_wine_strings()
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    with so.config_context(progress=False):
        got = so.DecisionTreeClassifier(max_depth=3, backend="spark").fit(X, y, sample_weight=w)
        ref = so.DecisionTreeClassifier(max_depth=3, backend="dask").fit(X, y, sample_weight=w)
    assert got.fit_stats_["path"] == PATH
    assert got.fit_stats_["kernel_passes"] == ref.fit_stats_["passes"] == 4  # one per level + 1
    assert got.fit_stats_["storage"] == "cluster memory"  # several passes: cached
    assert got.fit_stats_["rows"] == 178
    np.testing.assert_array_equal(got.classes_, ["class_0", "class_1", "class_2"])
    np.testing.assert_array_equal(got.classes_, ref.classes_)
    np.testing.assert_array_equal(got.tree_.feature, ref.tree_.feature)
    np.testing.assert_array_equal(got.tree_.threshold, ref.tree_.threshold)
    np.testing.assert_allclose(got.tree_.value, ref.tree_.value, rtol=1e-12)
    np.testing.assert_array_equal(got.predict(X), ref.predict(X))
    with so.config_context(progress=False):
        scaler = so.StandardScaler(backend="spark").fit(X, sample_weight=w)
    from sklearn.preprocessing import StandardScaler

    sk = StandardScaler().fit(X, sample_weight=w)
    assert _rel(scaler.mean_, sk.mean_) < 1e-10 and _rel(scaler.var_, sk.var_) < 1e-10
    assert scaler.fit_stats_["path"] == PATH
    with pytest.raises(
        UnsupportedOnBackend,
        match=r"KMeans\(algorithm='elkan'\) is not supported by backend 'spark'",
    ):
        so.KMeans(2, algorithm="elkan", backend="spark").fit(X)


def load_wine_strings() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    return X, np.array([f"class_{k}" for k in y], dtype=object)
