"""Real tables (issue 12): SimpleImputer, OneHotEncoder, OrdinalEncoder, ColumnTransformer.

Parity with scikit-learn on two real mixed-type datasets that ship inside
packages (palmerpenguins' penguins: strings and missing values in numeric and
string columns; vega_datasets' cars: strings, missing numeric values), on every
engine that fits them, from a DataFrame, Parquet and CSV; exactness of the
out-of-core statistics under any chunking; the bad-input errors.
"""

from __future__ import annotations

import itertools
import json
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import compose as skc
from sklearn import impute as ski
from sklearn import linear_model as sklm
from sklearn import pipeline as skpl
from sklearn import preprocessing as skp
from sklearn import tree as sktree

import scaleout as so
from scaleout.data.table import open_table
from scaleout.exceptions import DataError, UnsupportedOnBackend
from scaleout.kernels.column_plan import fit_table_step
from scaleout.kernels.passes import InMemoryPasses

ENGINES = ["sklearn", "dask"]
#: Spark fits take seconds each: a subset of the cases runs there (the same kernel).
SPARK = pytest.param("spark", id="spark")


def _engine(request, engine: str) -> str:
    if engine == "spark":
        request.getfixturevalue("spark")  # the run's one local session
    return engine


NUM = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CAT = ["island", "sex"]
CAR_NUM = [
    "Miles_per_Gallon",
    "Cylinders",
    "Displacement",
    "Horsepower",
    "Weight_in_lbs",
    "Acceleration",
]
CAR_CAT = ["Name", "Decade"]


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    from vega_datasets import local_data

    frame = local_data.cars()
    frame["Decade"] = (frame.pop("Year").dt.year // 10 * 10).astype(str) + "s"
    return frame


@pytest.fixture(autouse=True)
def small_chunks():
    """Several chunks even on these small tables: the merges are exercised."""
    with so.config_context(dask_chunk_rows=64, dask_scheduler="threads", progress=False):
        yield


def _dense(a):
    return a.toarray() if hasattr(a, "toarray") else np.asarray(a)


def _same(a, b):
    a, b = _dense(a), _dense(b)
    assert a.shape == b.shape
    if a.dtype == object or b.dtype == object:
        assert pd.DataFrame(a).equals(pd.DataFrame(b))
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------- imputer
@pytest.mark.parametrize(
    ("engine", "add_indicator"),
    [("sklearn", False), ("sklearn", True), ("dask", False), ("dask", True), ("spark", True)],
)
@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_imputer_matches_sklearn(request, penguins, engine, strategy, add_indicator):
    _engine(request, engine)
    columns = NUM if strategy in ("mean", "median") else NUM + CAT
    X = penguins[columns]
    params = {"strategy": strategy, "add_indicator": add_indicator}
    if strategy == "constant":
        params["fill_value"] = "zz"
        X = penguins[CAT]
    ours = so.SimpleImputer(**params, backend=engine).fit(X)
    theirs = ski.SimpleImputer(**params).fit(X)
    assert ours.backend_ == engine
    if ours.statistics_.dtype == object:
        assert list(ours.statistics_) == list(theirs.statistics_)
    else:
        np.testing.assert_allclose(ours.statistics_, theirs.statistics_, rtol=1e-12)
    if add_indicator:
        assert list(ours.indicator_.features_) == list(theirs.indicator_.features_)
    _same(ours.transform(X), theirs.transform(X))
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())


@pytest.mark.parametrize("engine", ENGINES)
def test_median_is_exact_with_even_and_odd_counts(engine):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "even": rng.normal(size=1000),
            "odd": rng.normal(size=1000),
            "ties": rng.integers(0, 3, 1000).astype(float),
        }
    )
    X.loc[::7, "odd"] = np.nan  # 857 values left: odd count
    ours = so.SimpleImputer(strategy="median", backend=engine).fit(X)
    expected = [np.median(X[c].dropna()) for c in X]
    assert list(ours.statistics_) == expected  # bit for bit
    assert ours.fit_stats_["passes"] >= 2  # the totals pass, then the selection


def test_imputer_refuses_a_missing_value_marker_other_than_nan(penguins):
    with pytest.raises(UnsupportedOnBackend, match=r"missing_values=-1.*supported: np.nan"):
        so.SimpleImputer(missing_values=-1, backend="dask").fit(penguins[NUM])


# --------------------------------------------------------------------- encoders
ENCODERS = [
    (so.OneHotEncoder, skp.OneHotEncoder, {}),
    (so.OneHotEncoder, skp.OneHotEncoder, {"handle_unknown": "ignore", "sparse_output": False}),
    (
        so.OneHotEncoder,
        skp.OneHotEncoder,
        {"min_frequency": 60, "handle_unknown": "infrequent_if_exist"},
    ),
    (so.OneHotEncoder, skp.OneHotEncoder, {"max_categories": 2, "drop": "first"}),
    (so.OneHotEncoder, skp.OneHotEncoder, {"drop": "if_binary"}),
    (so.OrdinalEncoder, skp.OrdinalEncoder, {}),
    (so.OrdinalEncoder, skp.OrdinalEncoder, {"min_frequency": 0.2}),
    (
        so.OrdinalEncoder,
        skp.OrdinalEncoder,
        {"handle_unknown": "use_encoded_value", "unknown_value": -1, "encoded_missing_value": -2},
    ),
]


@pytest.mark.parametrize(
    ("engine", "ours_class", "their_class", "params"),
    [(e, *case) for e in ENGINES for case in ENCODERS]
    + [("spark", *ENCODERS[i]) for i in (2, 3, 7)],
)
def test_encoders_match_sklearn(request, penguins, engine, ours_class, their_class, params):
    _engine(request, engine)
    X = penguins[[*CAT, "year"]]
    ours = ours_class(**params, backend=engine).fit(X)
    theirs = their_class(**params).fit(X)
    assert len(ours.categories_) == 3
    for a, b in zip(ours.categories_, theirs.categories_, strict=True):
        assert pd.Series(a).equals(pd.Series(b)), (a, b)
    if hasattr(theirs, "infrequent_categories_"):
        assert [None if c is None else list(c) for c in ours.infrequent_categories_] == [
            None if c is None else list(c) for c in theirs.infrequent_categories_
        ]
    _same(ours.transform(X), theirs.transform(X))
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())


def test_unseen_category_follows_handle_unknown(penguins):
    X = penguins[CAT]
    unseen = pd.DataFrame({"island": ["Atlantis"], "sex": ["male"]})
    strict = so.OneHotEncoder(backend="dask").fit(X)
    with pytest.raises(ValueError, match="Found unknown categories"):
        strict.transform(unseen)
    lenient = so.OneHotEncoder(handle_unknown="ignore", backend="dask").fit(X)
    row = _dense(lenient.transform(unseen))[0]
    assert row[:3].tolist() == [0, 0, 0] and row[3:].tolist() == [0, 1, 0]


def test_too_many_distinct_values_name_the_column(penguins):
    X = penguins[CAT].assign(tag=[f"id{i}" for i in range(len(penguins))])
    for engine in ENGINES:
        with so.config_context(max_distinct_values=100):
            with pytest.raises(DataError, match=r"column 'tag' has more than 100 distinct"):
                so.OneHotEncoder(backend=engine).fit(X)


# ------------------------------------------------------------- column transformer
def _our_pipeline(numeric, categorical, final, engine):
    return so.make_pipeline(
        so.make_column_transformer(
            (so.make_pipeline(so.SimpleImputer(strategy="median"), so.StandardScaler()), numeric),
            (so.OneHotEncoder(handle_unknown="ignore"), categorical),
        ),
        final,
        backend=engine,
    )


def _their_pipeline(numeric, categorical, final):
    return skpl.make_pipeline(
        skc.make_column_transformer(
            (
                skpl.make_pipeline(ski.SimpleImputer(strategy="median"), skp.StandardScaler()),
                numeric,
            ),
            (skp.OneHotEncoder(handle_unknown="ignore"), categorical),
        ),
        final,
    )


def _check_fitted_statistics(ours, theirs, rtol):
    ct, sk_ct = ours.steps[0][1], theirs.steps[0][1]
    num, sk_num = ct.named_transformers_["pipeline"], sk_ct.named_transformers_["pipeline"]
    np.testing.assert_allclose(num[0].statistics_, sk_num[0].statistics_, rtol=rtol)
    np.testing.assert_allclose(num[1].mean_, sk_num[1].mean_, rtol=rtol)
    np.testing.assert_allclose(num[1].scale_, sk_num[1].scale_, rtol=rtol)
    enc, sk_enc = (
        ct.named_transformers_["onehotencoder"],
        sk_ct.named_transformers_["onehotencoder"],
    )
    for a, b in zip(enc.categories_, sk_enc.categories_, strict=True):
        assert pd.Series(a).equals(pd.Series(b))
    assert ct.sparse_output_ == sk_ct.sparse_output_


@pytest.mark.parametrize(
    ("engine", "final", "dataset"),
    [(e, f, d) for e in ENGINES for f in ("logistic", "tree") for d in ("penguins", "cars")]
    + [
        ("spark", "logistic", "penguins"),
        ("spark", "logistic", "cars"),
        ("spark", "tree", "penguins"),
    ],
)
def test_column_transformer_pipeline_matches_sklearn(request, engine, final, dataset):
    _engine(request, engine)
    frame = request.getfixturevalue(dataset)
    if dataset == "penguins":
        numeric, categorical, target = NUM, CAT, "species"
    else:
        numeric, categorical, target = CAR_NUM, CAR_CAT, "Origin"
    X, y = frame.drop(columns=target), frame[target]
    make = {
        "logistic": (so.LogisticRegression, sklm.LogisticRegression),
        "tree": (so.DecisionTreeClassifier, sktree.DecisionTreeClassifier),
    }[final]
    extra = {"max_iter": 1000} if final == "logistic" else {"random_state": 0, "max_depth": 5}
    if final == "logistic" and engine == "spark":  # Spark's LogisticRegression is Newton's
        extra = {"solver": "newton-cholesky", "tol": 1e-10}  # method to the optimum
    # trees: max_bins above every column's distinct values, so the dask kernel's
    # candidate splits are scikit-learn's (with the default 256 they are histogram bins)
    ours_extra = {} if final == "logistic" else {**extra, "max_bins": 1024}
    ours = _our_pipeline(numeric, categorical, make[0](**ours_extra), engine).fit(X, y)
    theirs = _their_pipeline(numeric, categorical, make[1](**extra)).fit(X, y)
    assert ours.backend_ == engine
    _check_fitted_statistics(ours, theirs, rtol=1e-9)
    agree = np.mean(ours.predict(X) == theirs.predict(X))
    # The dask tree kernel breaks ties between equally good splits by feature index and
    # threshold position, scikit-learn by its random feature order: on cars (319 one-hot
    # and numeric columns, many ties) 2 of 406 rows differ -- the cross-engine suite's
    # tree tolerance (score gap 0.01), not the preprocessing (checked to 1e-9 above).
    # MLlib's trees (spark) differ the same way (thresholds between bins' values).
    expected = 0.99 if final == "tree" and engine != "sklearn" else 0.999
    assert agree >= expected, agree
    if final == "logistic":
        # Spark: cars' 319 columns x 3 classes exceed the Newton path's Hessian limit
        # (backends/spark/logistic_newton.py), so MLlib's L-BFGS fits it: the cross-engine
        # LogisticRegression tolerance (tests/engines/tolerances.py) applies
        if engine == "spark":
            ours_lr, their_lr = ours.steps[-1][1], theirs.steps[-1][1]
            gap = np.linalg.norm(ours_lr.coef_ - their_lr.coef_) / np.linalg.norm(their_lr.coef_)
            # measured 1.9e-3: MLlib's L-BFGS stops on the objective's change (design.md,
            # issue 11); the predictions agree (checked above)
            assert gap <= 5e-3, gap
        else:
            np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    # to_sklearn: scikit-learn's own objects, identical output
    converted = ours.to_sklearn()
    assert isinstance(converted.steps[0][1], skc.ColumnTransformer)
    np.testing.assert_array_equal(converted.predict(X), ours.predict(X))


def _write_parts(frame: pd.DataFrame, directory, fmt: str, parts: int = 3) -> str:
    directory.mkdir()
    for k, piece in enumerate(np.array_split(np.arange(len(frame)), parts)):
        chunk = frame.iloc[piece]
        if fmt == "parquet":
            pq.write_table(
                pa.Table.from_pandas(chunk, preserve_index=False),
                directory / f"part-{k}.parquet",
                row_group_size=50,
            )
        else:
            chunk.to_csv(directory / f"part-{k}.csv", index=False)
    return str(directory)


@pytest.mark.parametrize("engine", [*ENGINES, SPARK])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_pipeline_from_files_matches_sklearn_in_memory(request, penguins, tmp_path, engine, fmt):
    _engine(request, engine)
    path = _write_parts(penguins, tmp_path / "data", fmt)
    ours = _our_pipeline(NUM, CAT, so.LogisticRegression(), engine).fit(path, "species")
    assert ours.backend_ == engine
    X, y = penguins.drop(columns="species"), penguins["species"]
    theirs = _their_pipeline(NUM, CAT, sklm.LogisticRegression(max_iter=1000)).fit(X, y)
    _check_fitted_statistics(ours, theirs, rtol=1e-9)
    assert np.mean(ours.predict(X) == theirs.predict(X)) >= 0.999
    # predicting from the raw file: strings and missing values, no engine
    predicted = ours.predict(
        pd.read_parquet(path)
        if fmt == "parquet"
        else pd.concat(pd.read_csv(p) for p in sorted((tmp_path / "data").iterdir()))
    )
    np.testing.assert_array_equal(predicted, theirs.predict(X))


def test_sklearn_pipeline_with_column_transformer_and_scaleout_estimator(penguins):
    X, y = penguins.drop(columns="species"), penguins["species"]
    for threshold in (0.0, 1.0):  # dense, then sparse one-hot output into the estimator
        pipe = skpl.make_pipeline(
            skc.make_column_transformer(
                (skpl.make_pipeline(ski.SimpleImputer(), skp.StandardScaler()), NUM),
                (skp.OneHotEncoder(handle_unknown="ignore"), CAT),
                sparse_threshold=threshold,
            ),
            so.LogisticRegression(backend="sklearn"),
        ).fit(X, y)
        reference = _their_pipeline(NUM, CAT, sklm.LogisticRegression(max_iter=1000))
        reference.steps[0][1].transformers[0][1].steps[0] = ("simpleimputer", ski.SimpleImputer())
        reference.fit(X, y)
        assert pipe.steps[0][1].sparse_output_ == (threshold == 1.0)
        np.testing.assert_allclose(pipe.predict_proba(X), reference.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_sparse_output_decision_and_passes(penguins, engine):
    X = penguins.drop(columns="species")
    for threshold, drop in [(0.3, None), (0.9, None), (0.9, "first"), (0.45, "first")]:
        ct = so.make_column_transformer(
            (so.SimpleImputer(), NUM),
            (so.OneHotEncoder(drop=drop), CAT),
            sparse_threshold=threshold,
            backend=engine,
        ).fit(X)
        sk = skc.make_column_transformer(
            (ski.SimpleImputer(), NUM),
            (skp.OneHotEncoder(drop=drop), CAT),
            sparse_threshold=threshold,
        ).fit(X)
        assert ct.sparse_output_ == sk.sparse_output_, (threshold, drop)
        _same(ct.transform(X), sk.transform(X))
    # an imputer + scaler branch and an encoder branch: the encoder shares the first pass
    two = so.make_column_transformer(
        (so.make_pipeline(so.SimpleImputer(), so.StandardScaler()), NUM),
        (so.OneHotEncoder(), CAT),
        backend=engine,
    ).fit(X)
    assert two.fit_stats_["passes"] == 2


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_files_give_the_row_count_of_the_density_decision(penguins, tmp_path, fmt):
    """Rows counted per file (CSV too): the sparse decision and the saved model need them."""
    path = _write_parts(penguins, tmp_path / "data", fmt)
    table = open_table(path)
    assert table.n_rows == len(penguins)
    parts = table.partitions()
    assert sum(p.n_rows for p in parts) == len(penguins)
    assert [p.row_offset for p in parts] == list(np.cumsum([0] + [p.n_rows for p in parts[:-1]]))
    ct = so.make_column_transformer(
        (so.SimpleImputer(), NUM), (so.OneHotEncoder(), CAT), sparse_threshold=0.9, backend="dask"
    ).fit(path)
    X = penguins.drop(columns="species")
    sk = skc.make_column_transformer(
        (ski.SimpleImputer(), NUM), (skp.OneHotEncoder(), CAT), sparse_threshold=0.9
    ).fit(X)
    assert ct.sparse_output_ == sk.sparse_output_ is True
    assert ct.summary_["n_rows_"] == len(penguins)
    ct.save(tmp_path / "ct.scaleout")
    _same(so.load(tmp_path / "ct.scaleout").transform(X), sk.transform(X))


def test_remainder_and_positions(penguins):
    X = penguins.drop(columns="species")
    ours = so.ColumnTransformer(
        [("enc", so.OrdinalEncoder(), [0, 6])],
        remainder=so.SimpleImputer(strategy="most_frequent"),
        backend="dask",
    ).fit(X)
    theirs = skc.ColumnTransformer(
        [("enc", skp.OrdinalEncoder(), [0, 6])],
        remainder=ski.SimpleImputer(strategy="most_frequent"),
    ).fit(X)
    _same(ours.transform(X), theirs.transform(X))
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())


# ------------------------------------------------------------------- bad input
def test_column_transformer_refuses_foreign_steps_before_any_pass(penguins):
    ct = so.make_column_transformer((skp.OneHotEncoder(), CAT), backend="dask")
    with pytest.raises(
        UnsupportedOnBackend,
        match=r"sklearn.preprocessing._encoders.OneHotEncoder "
        r"cannot be fitted out of core",
    ):
        ct.fit(penguins)
    with pytest.raises(UnsupportedOnBackend, match=r"single column name 'island'"):
        so.make_column_transformer((so.OneHotEncoder(), "island")).fit(penguins)
    with pytest.raises(DataError, match=r"column 'islands' not found; available columns: "):
        so.make_column_transformer((so.OneHotEncoder(), ["islands"])).fit(penguins)


def test_strings_passed_through_to_an_estimator_name_the_step(penguins):
    X, y = penguins.drop(columns="species"), penguins["species"]
    pipe = so.make_pipeline(
        so.make_column_transformer((so.SimpleImputer(), NUM), remainder="passthrough"),
        so.LogisticRegression(),
        backend="dask",
    )
    with pytest.raises(DataError, match=r"step 0 \(ColumnTransformer\) outputs non-numeric"):
        pipe.fit(X, y)


def test_file_checks_name_the_column_and_file(penguins, tmp_path):
    good = pa.Table.from_pandas(penguins, preserve_index=False)
    (tmp_path / "missing").mkdir()
    pq.write_table(good, tmp_path / "missing" / "a.parquet")
    pq.write_table(good.drop_columns(["sex"]), tmp_path / "missing" / "b.parquet")
    with pytest.raises(DataError, match=r"column 'sex' is missing from file '.*b.parquet'"):
        open_table(str(tmp_path / "missing"))
    (tmp_path / "mixed").mkdir()
    pq.write_table(good, tmp_path / "mixed" / "a.parquet")
    numeric_sex = good.set_column(
        good.schema.get_field_index("sex"), "sex", pa.array(np.arange(len(penguins), dtype=float))
    )
    pq.write_table(numeric_sex, tmp_path / "mixed" / "b.parquet")
    with pytest.raises(
        DataError,
        match=r"column 'sex' is string in file '.*a.parquet' but "
        r"numeric in file '.*b.parquet'",
    ):
        so.OneHotEncoder().fit(str(tmp_path / "mixed"))
    null = good.append_column("empty", pa.nulls(len(penguins), pa.float64()))
    pq.write_table(null, tmp_path / "null.parquet")
    with pytest.raises(DataError, match=r"column 'empty' is null in every row"):
        so.SimpleImputer().fit(str(tmp_path / "null.parquet"))


# ------------------------------------------------------------- any chunking
@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 199), max_size=6, unique=True),
    strategy=st.sampled_from(["mean", "median", "most_frequent"]),
)
def test_any_chunking_gives_the_same_summary(cuts, strategy):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "a": np.round(rng.normal(size=200), 1),
            "b": rng.integers(0, 5, 200).astype(float),
        }
    )
    frame.loc[rng.random(200) < 0.2, "a"] = np.nan
    whole = open_table(frame)
    bounds = [0, *sorted(cuts), 200]
    batches = list(whole.iter_batches())
    pieces = [
        type(batches[0])(frame.iloc[lo:hi], None, "rows", lo)
        for lo, hi in itertools.pairwise(bounds)
        if hi > lo
    ]
    params = {"strategy": strategy}

    def fit(chunks):
        passes = InMemoryPasses(chunks)
        passes.feature_names = ["a", "b"]
        return fit_table_step(passes, params, step="SimpleImputer")["summary_"]

    one, many = fit(batches), fit(pieces)
    assert one["missing"] == many["missing"]
    if strategy == "mean":
        np.testing.assert_allclose(one["values"], many["values"], rtol=1e-13)
    else:
        assert one["values"] == many["values"]
    expected = {
        "mean": frame.mean(),
        "median": frame.median(),
        "most_frequent": frame.mode().iloc[0],
    }[strategy]
    np.testing.assert_allclose(many["values"], expected.to_numpy(), rtol=1e-13)


# ------------------------------------------------------------------- save / load
@pytest.mark.parametrize("engine", [*ENGINES, SPARK])
def test_saved_pipeline_predicts_raw_rows_identically(request, penguins, tmp_path, engine):
    _engine(request, engine)
    X, y = penguins.drop(columns="species"), penguins["species"]
    pipe = so.make_pipeline(
        so.make_column_transformer(
            (so.make_pipeline(so.SimpleImputer(strategy="median"), so.MinMaxScaler()), NUM),
            (so.OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=40), CAT),
            remainder=so.OrdinalEncoder(dtype=np.float32),
        ),
        so.LogisticRegression(),
        backend=engine,
    ).fit(X, y)
    path = pipe.save(tmp_path / "model.scaleout")
    with zipfile.ZipFile(path) as archive:  # no pickle anywhere: JSON and .npy members
        assert all(n == "model.json" or n.endswith(".npy") for n in archive.namelist())
    loaded = so.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    ct = loaded.steps[0][1]
    assert ct.sparse_output_ == pipe.steps[0][1].sparse_output_
    assert [list(c) for c in ct.named_transformers_["onehotencoder"].categories_] == [
        list(c) for c in pipe.steps[0][1].named_transformers_["onehotencoder"].categories_
    ]
    for step in (
        so.SimpleImputer(strategy="most_frequent", add_indicator=True),
        so.OrdinalEncoder(encoded_missing_value=-1),
    ):
        fitted = step.set_params(backend=engine).fit(penguins[CAT])
        fitted.save(tmp_path / "step.scaleout")
        _same(
            so.load(tmp_path / "step.scaleout").transform(penguins[CAT]),
            fitted.transform(penguins[CAT]),
        )


def test_tampered_summary_is_refused(penguins, tmp_path):
    fitted = so.OneHotEncoder().fit(penguins[CAT])
    path = fitted.save(tmp_path / "enc.scaleout")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    doc = json.loads(members["model.json"])
    summary = dict(doc["model"]["attributes"]["summary_"]["__dict__"])
    summary["values"][0].append(7)  # a number among the strings of 'island'
    summary["counts"][0].append(1)
    doc["model"]["attributes"]["summary_"]["__dict__"] = [[k, v] for k, v in summary.items()]
    members["model.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(tmp_path / "bad.scaleout", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(so.exceptions.ModelFileError, match=r"column 0 mixes strings and numbers"):
        so.load(tmp_path / "bad.scaleout")


# --------------------------------------------------------------- CLI and jobs
PENGUIN_SPEC = """
backend: dask
steps:
  - ColumnTransformer:
      transformers:
        - name: num
          columns: [bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g]
          steps: [{SimpleImputer: {strategy: median}}, {StandardScaler: {}}]
        - name: cat
          columns: [island, sex]
          steps: [{OneHotEncoder: {handle_unknown: ignore}}]
  - LogisticRegression: {}
"""


def test_cli_and_job_fit_a_column_transformer_spec_on_raw_files(penguins, tmp_path, capsys):
    from scaleout.cli import main
    from scaleout.jobs.run import run_job
    from scaleout.jobs.spec import JobSpec

    data = _write_parts(penguins, tmp_path / "data", "parquet")
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(PENGUIN_SPEC)
    model_path = tmp_path / "cli.scaleout"
    argv = ["fit", "--pipeline", str(spec), "--data", data, "--target", "species"]
    assert main([*argv, "-o", str(model_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["algorithm"], printed["backend"], printed["rows"]) == ("Pipeline", "dask", 344)
    X, y = penguins.drop(columns="species"), penguins["species"]
    theirs = _their_pipeline(NUM, CAT, sklm.LogisticRegression(max_iter=1000)).fit(X, y)
    cli_model = so.load(model_path)
    assert np.mean(cli_model.predict(X) == theirs.predict(X)) >= 0.999
    # predict from the raw files on the command line (string columns, missing values)
    out = tmp_path / "predictions.parquet"
    assert main(["predict", str(model_path), "--data", data, "-o", str(out)]) == 0
    predicted = pd.read_parquet(out)["prediction"].to_numpy()
    np.testing.assert_array_equal(predicted, theirs.predict(X))
    # the same document as a training job: model, metrics and training accuracy
    job = JobSpec(
        input=data,
        target="species",
        output=str(tmp_path / "job.scaleout"),
        metrics=str(tmp_path / "metrics.json"),
        pipeline=str(spec),
        algorithm=None,
    )
    metrics = run_job(job)
    assert metrics["score_name"] == "accuracy"
    assert metrics["training_score"] == pytest.approx(np.mean(theirs.predict(X) == y), abs=2e-3)
    job_model = so.load(tmp_path / "job.scaleout")
    np.testing.assert_allclose(job_model.predict_proba(X), cli_model.predict_proba(X), atol=1e-12)


def test_one_hot_of_many_levels_stays_sparse_into_logistic_regression():
    rng = np.random.default_rng(0)
    n = 6000
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "city": rng.choice([f"c{i}" for i in range(900)], n)}
    )
    y = (frame["x"] + rng.normal(size=n) > 0).astype(int)
    with so.config_context(dask_chunk_rows=1000):
        ours = so.make_pipeline(
            so.make_column_transformer(
                (so.StandardScaler(), ["x"]), (so.OneHotEncoder(), ["city"])
            ),
            so.LogisticRegression(),
            backend="dask",
        ).fit(frame, y)
    theirs = skpl.make_pipeline(
        skc.make_column_transformer((skp.StandardScaler(), ["x"]), (skp.OneHotEncoder(), ["city"])),
        sklm.LogisticRegression(max_iter=1000),
    ).fit(frame, y)
    assert ours.steps[0][1].sparse_output_ and theirs.steps[0][1].sparse_output_
    np.testing.assert_allclose(ours.predict_proba(frame), theirs.predict_proba(frame), atol=1e-6)
    # the chunks reached the kernel sparse: a CSR chunk per transform, never a dense one
    from scaleout.backends.dask import SPARSE_CONSUMERS, _transform_batch
    from scaleout.data.dataset import Batch

    assert "LogisticRegression" in SPARSE_CONSUMERS
    chunk = _transform_batch(
        ours.steps[0][1], 0, "LogisticRegression", Batch(frame.iloc[:1000], None, "rows", 0)
    )
    width = 1 + frame["city"].nunique()
    assert chunk.X.format == "csr" and chunk.X.shape == (1000, width)
