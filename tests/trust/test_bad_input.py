"""The bad-input table (issue 15): every case, on every engine, gets a scaleout error.

One row per bad input: how to build it, the scaleout exception type expected
and a fragment of its message (the column, path, parameter or shape named).
Each row runs on every installed engine it applies to (``engines``), with the
engine chosen by the estimator's ``backend`` parameter, so the engine's own
path (its data reading, its target check) is exercised, not only the shared
checks. A raw ``KeyError`` / ``TypeError`` / ``IndexError`` fails the case.

``python -m tests.trust.test_bad_input`` prints the number of cases per engine
(the README's "bad inputs tried per engine"); :func:`test_table_size` pins it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse

import scaleout as so
from scaleout.engines import available_backends
from scaleout.exceptions import (
    BackendUnavailable,
    DataError,
    DataFileNotFoundError,
    InvalidParameterError,
    ModelFormatError,
    NonNumericDataError,
    NotFittedError,
    ScaleoutError,
    StorageError,
    UnsupportedOnBackend,
)

#: scaleout's own engines; a plug-in engine (tests/plugins) runs the shared checks only.
BUILT_IN = ("sklearn", "dask", "spark")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
Y = (X[:, 0] > 0).astype(np.int64)
R = X @ np.array([1.0, -2.0, 0.5])
COLUMNS = ["a", "b", "c"]


@dataclass
class Ctx:
    """What a case builds its bad input with."""

    engine: str
    tmp: Path
    request: pytest.FixtureRequest

    @property
    def spark(self) -> Any:
        return self.request.getfixturevalue("spark")

    def parquet(self, table: pa.Table, name: str = "d.parquet") -> str:
        path = self.tmp / name
        pq.write_table(table, path)
        return str(path)

    def csv(self, text: str, name: str = "d.csv") -> str:
        path = self.tmp / name
        path.write_text(text)
        return str(path)


def frame(X: np.ndarray = X, columns: list[str] = COLUMNS) -> pd.DataFrame:
    return pd.DataFrame(np.array(X, dtype=np.float64), columns=columns)


def table(**columns: Any) -> pa.Table:
    return pa.table(columns)


def good_table() -> pa.Table:
    return table(a=X[:, 0], b=X[:, 1], c=X[:, 2], y=Y)


def csv_text(header: str, rows: np.ndarray, labels: np.ndarray) -> str:
    lines = [header] + [",".join(map(str, [*r, t])) for r, t in zip(rows, labels, strict=True)]
    return "\n".join(lines) + "\n"


def with_value(value: float, row: int = 17, col: int = 1) -> np.ndarray:
    bad = X.copy()
    bad[row, col] = value
    return bad


@dataclass(frozen=True)
class Case:
    """One bad input: ``run(ctx)`` must raise ``error`` with ``match`` in its message."""

    name: str
    run: Callable[[Ctx], Any]
    error: type[ScaleoutError]
    match: str
    #: engines it applies to; None: every installed engine
    engines: tuple[str, ...] | None = field(default=None)


def logreg(ctx: Ctx, **params: Any) -> so.LogisticRegression:
    return so.LogisticRegression(backend=ctx.engine, **params)


def tree(ctx: Ctx, **params: Any) -> so.DecisionTreeClassifier:
    return so.DecisionTreeClassifier(backend=ctx.engine, **params)


def linreg(ctx: Ctx) -> so.LinearRegression:
    return so.LinearRegression(backend=ctx.engine)


def fitted(ctx: Ctx) -> so.LogisticRegression:
    return logreg(ctx).fit(frame(), Y)


def spark_frame(ctx: Ctx, pdf: pd.DataFrame) -> Any:
    return ctx.spark.createDataFrame(pdf)


def spark_dup(ctx: Ctx) -> Any:
    sdf = ctx.spark.createDataFrame(pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": Y}))
    return sdf.toDF("a", "a", "y")


def mixed_labels() -> np.ndarray:
    labels = np.array([1, "a"] * 30, dtype=object)
    return labels


def drift_files(ctx: Ctx, second: pa.Table, fmt: str = "parquet") -> str:
    directory = ctx.tmp / "parts"
    directory.mkdir(exist_ok=True)
    pq.write_table(table(a=X[:30, 0], b=X[:30, 1], y=Y[:30]), directory / "part-0.parquet")
    pq.write_table(second, directory / "part-1.parquet")
    return str(directory)


def csv_drift(ctx: Ctx) -> str:
    directory = ctx.tmp / "csvparts"
    directory.mkdir(exist_ok=True)
    (directory / "part-0.csv").write_text(csv_text("a,b,y", X[:30, :2], Y[:30]))
    (directory / "part-1.csv").write_text(csv_text("a,y", X[30:, :1], Y[30:]))
    return str(directory)


#: The table. Keep each message fragment specific: it names the thing that is wrong.
CASES: list[Case] = [
    # ---- non-finite and missing values, the column and row named
    Case("nan_feature", lambda c: logreg(c).fit(frame(with_value(np.nan)), Y), DataError,
         r"column 'b'.*row 17"),
    Case("inf_feature", lambda c: logreg(c).fit(frame(with_value(np.inf)), Y), DataError,
         r"infinity.*column 'b'.*row 17"),
    Case("neg_inf_feature", lambda c: linreg(c).fit(frame(with_value(-np.inf)), R), DataError,
         r"column 'b'.*row 17"),
    Case("nan_numpy_feature", lambda c: tree(c).fit(with_value(np.nan, 3, 2), Y), DataError,
         r"NaN.*row 3"),
    Case("nan_parquet_feature",
         lambda c: logreg(c).fit(so.read_parquet(c.parquet(table(
             a=X[:, 0], b=with_value(np.nan, 9)[:, 1], y=Y)), target="y")),
         DataError, r"NaN.*column 'b'"),
    Case("null_parquet_feature",
         lambda c: logreg(c).fit(so.read_parquet(c.parquet(table(
             a=X[:, 0], b=pa.array([None if i == 11 else v for i, v in enumerate(X[:, 1])]),
             y=Y)), target="y")),
         DataError, r"missing.*column 'b'|column 'b'.*(None|null|NaN)"),
    Case("nan_csv_feature",
         lambda c: logreg(c).fit(so.read_csv(c.csv(csv_text(
             "a,b,y", with_value(np.nan, 5, 0)[:, :2], Y)), target="y")),
         DataError, r"NaN.*column 'a'"),
    Case("nan_target", lambda c: linreg(c).fit(X, np.where(np.arange(60) == 5, np.nan, R)),
         DataError, r"Input y contains NaN.*row 5"),
    Case("inf_target", lambda c: linreg(c).fit(X, np.where(np.arange(60) == 8, np.inf, R)),
         DataError, r"Input y contains infinity.*row 8"),
    Case("missing_label", lambda c: logreg(c).fit(
        X, np.array(["u", None] + ["v", "u"] * 29, dtype=object)),
         DataError, r"missing values.*row 1"),
    Case("null_parquet_target",
         lambda c: logreg(c).fit(so.read_parquet(c.parquet(table(
             a=X[:, 0], y=pa.array([None if i == 4 else int(v) for i, v in enumerate(Y)]))),
             target="y")),
         DataError, r"(NaN|missing).*target (column )?'y'"),
    Case("nan_sample_weight",
         lambda c: linreg(c).fit(X, R, sample_weight=np.where(np.arange(60) == 7, np.nan, 1.0)),
         DataError, r"sample_weight contains NaN or infinity: row 7"),
    # ---- shapes
    Case("empty_rows", lambda c: so.KMeans(2, backend=c.engine).fit(np.empty((0, 3))),
         DataError, r"0 sample\(s\)"),
    Case("empty_columns", lambda c: linreg(c).fit(np.empty((60, 0)), R), DataError,
         r"0 feature\(s\)"),
    Case("one_dimensional_X", lambda c: linreg(c).fit(X[:, 0], R), DataError,
         r"Expected 2D array, got 1D array"),
    Case("three_dimensional_X", lambda c: linreg(c).fit(X.reshape(60, 3, 1), R), DataError,
         r"3"),
    Case("length_mismatch", lambda c: linreg(c).fit(X, R[:50]), DataError,
         r"inconsistent numbers of samples: \[60, 50\]"),
    Case("multi_output_target", lambda c: linreg(c).fit(X, np.c_[R, R]), DataError,
         r"multi-output targets \(shape \(60, 2\)\)"),
    Case("sample_weight_2d", lambda c: linreg(c).fit(X, R, sample_weight=np.ones((60, 2))),
         DataError, r"sample_weight must be 1-D, got shape \(60, 2\)"),
    Case("sample_weight_length", lambda c: linreg(c).fit(X, R, sample_weight=np.ones(59)),
         DataError, r"sample_weight.shape == \(59,\), expected \(60,\)"),
    # a CSV's row count is unknown before reading: the engine's own count check answers
    Case("sample_weight_length_csv",
         lambda c: linreg(c).fit(so.read_csv(c.csv(csv_text("a,b,c,y", X, R)), target="y"),
                                 sample_weight=np.ones(59)),
         DataError, r"^sample_weight.shape == \(59,\), expected \(60,\): one weight per row$",
         # Spark refuses weights with files at all (UnsupportedOnBackend, tests/test_spark_backend)
         engines=("sklearn", "dask", "memory")),
    Case("sample_weight_all_zero", lambda c: linreg(c).fit(X, R, sample_weight=np.zeros(60)),
         DataError, r"at least one non-zero"),
    Case("predict_fewer_features", lambda c: fitted(c).predict(X[:, :2]), DataError,
         r"X has 2 features, but LogisticRegression is expecting 3"),
    Case("predict_reordered_columns",
         lambda c: fitted(c).predict(frame(columns=["c", "b", "a"])), DataError,
         r"same order"),
    Case("predict_other_columns",
         lambda c: fitted(c).predict(frame(columns=["a", "b", "z"])), DataError,
         r"unseen at fit time:\n- z"),
    # ---- types
    Case("string_column", lambda c: logreg(c).fit(
        frame().assign(city="x"), Y), NonNumericDataError, r"column 'city'"),
    Case("string_parquet_column", lambda c: so.read_parquet(c.parquet(table(
        a=X[:, 0], city=["x"] * 60, y=Y)), target="y"), NonNumericDataError, r"'city'"),
    Case("complex_target", lambda c: linreg(c).fit(X, R + 1j), DataError, r"Complex data"),
    # sparse X: the sklearn engine fits it (tests/test_sparse_input.py); the others refuse it
    Case("sparse_X_dense_engine", lambda c: linreg(c).fit(scipy.sparse.csr_matrix(X), R),
         UnsupportedOnBackend, r"LinearRegression\.fit on sparse input \(in-memory scipy\.sparse "
         r"csr_matrix of shape \(60, 3\), 180 stored values\) is not supported by backend "
         r"'(dask|spark|memory)'.*or sparse input on backend 'sklearn'",
         engines=("dask", "spark", "memory")),
    Case("sparse_pca_solver", lambda c: so.PCA(2, svd_solver="full", backend=c.engine).fit(
        scipy.sparse.csr_matrix(X)), UnsupportedOnBackend,
         r"PCA\(svd_solver='full'\) does not take sparse input on backend 'sklearn'.*"
         r"supported svd_solver: 'auto', 'arpack', 'covariance_eigh'", engines=("sklearn",)),
    Case("sparse_nan_feature", lambda c: logreg(c).fit(
        scipy.sparse.csr_array(with_value(np.nan)), Y), DataError,
         r"Input X contains NaN: column 'x1' \(feature 1\), row 17"),
    Case("sparse_target", lambda c: linreg(c).fit(X, scipy.sparse.csr_matrix(R[:, None])),
         DataError, r"sparse input is not supported for y"),
    Case("predict_sparse_inf", lambda c: fitted(c).predict(
        scipy.sparse.coo_matrix(with_value(np.inf, 1, 2)[:4])), DataError,
         r"Input X contains infinity: column 'c' \(feature 2\), row 1"),
    Case("continuous_target", lambda c: logreg(c).fit(X, R), DataError,
         r"Unknown label type: continuous"),
    Case("single_class", lambda c: tree(c).fit(X, np.ones(60, dtype=int)), DataError,
         r"at least 2 classes.*got 1 class: \[1\]"),
    Case("mixed_int_str_labels", lambda c: logreg(c).fit(X, mixed_labels()), DataError,
         r"target 'y' mixes label types: int .*str"),
    Case("mixed_labels_tree", lambda c: tree(c).fit(frame(), pd.Series(
        mixed_labels(), name="label")), DataError, r"target 'label' mixes label types"),
    # ---- columns and files
    Case("duplicate_dataframe_columns", lambda c: logreg(c).fit(
        frame(columns=["a", "b", "a"]), Y), DataError, r"duplicate column name.*'a' \(2 times\)"),
    Case("duplicate_target_column", lambda c: logreg(c).fit(
        frame(columns=["a", "y", "y"]), "y"), DataError, r"duplicate column name.*'y'"),
    Case("duplicate_parquet_columns", lambda c: logreg(c).fit(so.read_parquet(c.parquet(
        pa.Table.from_arrays([pa.array(X[:, 0]), pa.array(X[:, 1]), pa.array(Y)],
                             names=["a", "a", "y"])), target="y")),
         DataError, r"duplicate column name in file .*d\.parquet.*'a'"),
    Case("duplicate_csv_columns", lambda c: logreg(c).fit(so.read_csv(c.csv(csv_text(
        "a,a,y", X[:, :2], Y)), target="y")), DataError,
         r"duplicate column name in file .*d\.csv.*'a'"),
    Case("duplicate_spark_columns", lambda c: logreg(c).fit(so.from_spark(
        spark_dup(c), target="y")), DataError, r"duplicate column name.*'a'",
         engines=("spark",)),
    Case("missing_target_column", lambda c: so.read_parquet(
        c.parquet(good_table()), target="label"), DataError, r"target column 'label' not found"),
    Case("missing_feature_column", lambda c: so.read_parquet(
        c.parquet(good_table()), target="y", features=["a", "zz"]), DataError,
         r"feature column 'zz' not found"),
    Case("target_among_features", lambda c: so.read_parquet(
        c.parquet(good_table()), target="y", features=["a", "y"]), DataError,
         r"target column 'y' is also listed in features"),
    Case("no_such_file", lambda c: logreg(c).fit(str(c.tmp / "nothing.parquet"), "y"),
         DataFileNotFoundError, r"nothing\.parquet"),
    Case("unknown_format", lambda c: logreg(c).fit(c.csv("a,y\n1,0\n", "d.txt"), "y"),
         DataError, r"d\.txt"),
    Case("schema_drift_type", lambda c: logreg(c).fit(so.read_parquet(drift_files(
        c, table(a=X[30:, 0], b=[str(v) for v in X[30:, 1]], y=Y[30:])), target="y")),
         DataError, r"different schema.*column 'b'"),
    Case("schema_drift_missing_column", lambda c: logreg(c).fit(so.read_parquet(drift_files(
        c, table(a=X[30:, 0], y=Y[30:])), target="y")),
         DataError, r"different schema.*no column 'b'"),
    Case("duplicate_column_in_second_file", lambda c: logreg(c).fit(so.read_parquet(
        drift_files(c, pa.Table.from_arrays(
            [pa.array(X[30:, 0]), pa.array(X[30:, 1]), pa.array(X[30:, 2]), pa.array(Y[30:])],
            names=["a", "b", "b", "y"])), target="y")),
         DataError, r"duplicate column name in file .*part-1\.parquet.*'b' \(2 times\)"),
    Case("supervised_without_target", lambda c: logreg(c).fit(so.read_parquet(
        c.parquet(good_table()))), DataError, r"requires y"),
    Case("y_with_dataset", lambda c: logreg(c).fit(so.read_parquet(
        c.parquet(good_table()), target="y"), Y), DataError, r"y must not be given"),
    Case("column_name_for_numpy", lambda c: logreg(c).fit(X, "y"), DataError,
         r"y is a string \('y'\)"),
    # ---- parameters
    Case("negative_max_depth", lambda c: tree(c, max_depth=-3).fit(X, Y),
         InvalidParameterError, r"'max_depth' parameter of DecisionTreeClassifier"),
    Case("unknown_solver", lambda c: logreg(c, solver="magic").fit(X, Y),
         InvalidParameterError, r"'solver' parameter of LogisticRegression"),
    Case("max_bins_one", lambda c: tree(c, max_bins=1).fit(X, Y), InvalidParameterError,
         r"'max_bins' parameter"),
    Case("kmeans_zero_clusters", lambda c: so.KMeans(0, backend=c.engine).fit(X),
         InvalidParameterError, r"'n_clusters' parameter"),
    Case("negative_sample_weight",
         lambda c: linreg(c).fit(X, R, sample_weight=-np.ones(60)), DataError,
         r"sample_weight must be non-negative; row 0 is -1.0"),
    Case("unknown_class_weight_label",
         lambda c: logreg(c, class_weight={5: 1.0}).fit(X, Y), DataError,
         r"classes, \[(5|0, 1)\], are not in class"),
    Case("more_clusters_than_rows", lambda c: so.KMeans(100, backend=c.engine).fit(X),
         DataError, r"n_samples=60 should be >= n_clusters=100"),
    Case("min_samples_split_one",
         lambda c: so.DecisionTreeRegressor(min_samples_split=1, backend=c.engine).fit(X, R),
         InvalidParameterError, r"'min_samples_split' parameter"),
    Case("set_unknown_parameter", lambda c: logreg(c).set_params(colour=1),
         InvalidParameterError, r"Invalid parameter 'colour'"),
    Case("unknown_backend", lambda c: so.LinearRegression(backend="nope").fit(X, R),
         BackendUnavailable, r"'nope'"),
    # ---- more data
    Case("object_array_with_text", lambda c: linreg(c).fit(
        np.array([[1, "a", 2.0]] * 60, dtype=object), R), NonNumericDataError,
         r"column 'x1' \(feature 1\), row 0: value 'a'"),
    Case("duplicate_int_column_labels", lambda c: linreg(c).fit(
        pd.DataFrame(X, columns=[0, 1, 0]), R), DataError, r"duplicate column name.*0 \(2 times\)"),
    Case("mixed_bool_str_labels", lambda c: logreg(c).fit(
        X, np.array([True, "x"] * 30, dtype=object)), DataError,
         r"mixes label types: bool .*str"),
    Case("empty_parquet_file", lambda c: logreg(c).fit(so.read_parquet(c.parquet(table(
        a=pa.array([], pa.float64()), y=pa.array([], pa.int64()))), target="y")),
         DataError, r"0 sample\(s\)"),
    Case("corrupt_parquet_file", lambda c: so.read_parquet(
        c.csv("PAR1garbage", "bad.parquet"), target="y"), DataError,
         r"cannot read file .*bad\.parquet"),
    Case("header_only_csv", lambda c: logreg(c).fit(so.read_csv(
        c.csv("a,y\n"), target="y")), DataError, r"0 sample\(s\)"),
    Case("ragged_csv", lambda c: logreg(c).fit(so.read_csv(
        c.csv("a,y\n1,0\n2,1,5\n3,0\n"), target="y")), DataError,
         r"d\.csv.*Expected 2 columns, got 3"),
    Case("predict_nan", lambda c: fitted(c).predict(np.full((2, 3), np.nan)), DataError,
         r"Input X contains NaN"),
    Case("predict_unfitted", lambda c: logreg(c).predict(X), NotFittedError,
         r"not fitted yet"),
    # ---- outputs and model files
    Case("save_into_missing_directory", lambda c: fitted(c).save(
        str(c.tmp / "no" / "such" / "m.scaleout")), StorageError,
         r"m\.scaleout.*directory .*such' does not exist"),
    Case("save_onto_a_directory", lambda c: fitted(c).save(str(c.tmp)), StorageError,
         r"it is a directory"),
    Case("load_missing_model", lambda c: so.load(str(c.tmp / "nope.scaleout")),
         ModelFormatError, r"no model file at .*nope\.scaleout"),
    Case("load_not_a_model", lambda c: so.load(c.csv("not a model", "m.scaleout")),
         ModelFormatError, r"m\.scaleout"),
]

CASES.append(Case(
    "csv_schema_drift", lambda c: logreg(c).fit(so.read_csv(csv_drift(c), target="y")),
    DataError, r"part-1\.csv.*'b'",
))


def cases_for(engine: str) -> list[Case]:
    """The cases that run on ``engine``."""
    return [case for case in CASES if case.engines is None or engine in case.engines]


def _engine_setup(name: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if name == "spark":
        request.getfixturevalue("spark")
    if name == "dask":  # this machine's threads, small chunks: several partitions
        return {"dask_scheduler": "threads", "dask_chunk_rows": 16}
    return {}


PAIRS = [(e, case) for e in available_backends() for case in cases_for(e)]


@pytest.fixture
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ctx]:
    engine = request.node.callspec.params["engine"]
    with so.config_context(progress=False, **_engine_setup(engine, request)):
        yield Ctx(engine, tmp_path, request)


@pytest.mark.parametrize(("engine", "case"), PAIRS, ids=[f"{e}-{c.name}" for e, c in PAIRS])
def test_bad_input(engine: str, case: Case, ctx: Ctx) -> None:
    with pytest.raises(ScaleoutError) as caught:
        case.run(ctx)
    assert isinstance(caught.value, case.error), (
        f"{case.name} on {engine}: {type(caught.value).__name__}: {caught.value}"
    )
    assert re.search(case.match, str(caught.value), re.DOTALL), (
        f"{case.name} on {engine}: {caught.value}"
    )


#: The README's count: bad inputs tried on each built-in engine (a plug-in runs the
#: shared ones, all but the engine-specific rows).
MIN_CASES_PER_ENGINE = 75


def test_table_size() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    for engine in available_backends():
        expected = MIN_CASES_PER_ENGINE - (engine not in BUILT_IN)
        assert len(cases_for(engine)) >= expected, engine


if __name__ == "__main__":
    for name in available_backends():
        print(f"{name}: {len(cases_for(name))} bad inputs")
