"""so.StandardScaler / so.MinMaxScaler: scikit-learn's API and outputs (the cross-engine
parity is in tests/engines/; the merge of the statistics in tests/test_kernel_merges.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import decomposition, pipeline, preprocessing
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import scaleout as so
from scaleout.exceptions import DataError, InvalidParameterError

RNG = np.random.default_rng(12)
X = np.column_stack([RNG.normal(size=400) * 3 + 10, np.full(400, -2.0), RNG.uniform(size=400)])
FRAME = pd.DataFrame(X, columns=["a", "b", "c"])


@pytest.fixture(autouse=True)
def _quiet():
    with so.config_context(progress=False, dask_scheduler="threads", dask_chunk_rows=64):
        yield


@pytest.mark.parametrize("engine", ["sklearn", "dask"])
@pytest.mark.parametrize(
    "params",
    [{}, {"with_mean": False}, {"with_std": False}, {"with_mean": False, "with_std": False}],
    ids=str,
)
def test_standard_scaler_options_as_sklearn(engine, params):
    weights = RNG.uniform(0, 2, len(X))
    ours = so.StandardScaler(backend=engine, **params).fit(FRAME, sample_weight=weights)
    ref = preprocessing.StandardScaler(**params).fit(FRAME, sample_weight=weights)
    for attr in ("mean_", "var_", "scale_"):
        if getattr(ref, attr) is None:
            assert getattr(ours, attr) is None, attr
        else:
            expected = getattr(ref, attr)  # a constant column: scikit-learn's var_ is 0 or ~1e-47
            assert_allclose(getattr(ours, attr), expected, rtol=1e-12, atol=1e-30, err_msg=attr)
    assert ours.n_samples_seen_ == pytest.approx(ref.n_samples_seen_, rel=1e-12)
    if params.get("with_std", True):
        assert ours.scale_[1] == 1.0  # the constant column
    assert_allclose(ours.transform(FRAME), ref.transform(FRAME), rtol=1e-12, atol=1e-12)
    assert_allclose(ours.inverse_transform(ours.transform(X)), X, rtol=1e-12)
    assert_array_equal(ours.get_feature_names_out(), ["a", "b", "c"])
    assert ours.backend_ == engine


@pytest.mark.parametrize("engine", ["sklearn", "dask"])
def test_minmax_scaler_as_sklearn_with_clip(engine):
    ours = so.MinMaxScaler((-1, 1), clip=True, backend=engine).fit(X)
    ref = preprocessing.MinMaxScaler((-1, 1), clip=True).fit(X)
    for attr in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
        assert_array_equal(getattr(ours, attr), getattr(ref, attr), attr)
    assert ours.n_samples_seen_ == ref.n_samples_seen_ == 400
    beyond = X * 3  # held-out rows outside the training range are clipped
    assert_array_equal(ours.transform(beyond), ref.transform(beyond))
    assert ours.transform(beyond).min() == -1.0 and ours.transform(beyond).max() == 1.0
    assert_array_equal(ours.transform(X)[:, 1], -1.0)  # a constant column: feature_range[0]


def test_to_sklearn_is_the_fitted_sklearn_transformer():
    ours = so.StandardScaler().fit(FRAME)
    local = ours.to_sklearn()
    assert type(local) is preprocessing.StandardScaler
    assert_array_equal(local.feature_names_in_, ["a", "b", "c"])
    assert_array_equal(local.transform(FRAME), ours.transform(FRAME))
    mm = so.MinMaxScaler((2, 5)).fit(X).to_sklearn()
    assert type(mm) is preprocessing.MinMaxScaler and mm.feature_range == (2, 5)
    assert_array_equal(mm.transform(X), preprocessing.MinMaxScaler((2, 5)).fit(X).transform(X))


def test_fit_transform_and_a_parquet_file(parquet_of):
    path = parquet_of(X, None)
    ours = so.StandardScaler(backend="dask").fit(so.read_parquet(path))
    assert_array_equal(ours.feature_names_in_, ["x0", "x1", "x2"])
    ref = preprocessing.StandardScaler().fit(X)
    assert_allclose(ours.transform(X), ref.transform(X), atol=1e-12)
    assert_allclose(so.MinMaxScaler().fit_transform(X), preprocessing.minmax_scale(X))


@pytest.mark.parametrize("engine", ["sklearn", "dask"])
def test_bad_feature_range_is_refused_before_any_data_is_read(engine):
    with pytest.raises(InvalidParameterError, match=r"Minimum of desired feature range must be "
                       r"smaller than maximum. Got \(1, 0\)"):
        so.MinMaxScaler((1, 0), backend=engine).fit("no/such/file.parquet")
    with pytest.raises(InvalidParameterError, match="feature_range"):
        so.MinMaxScaler(("a", 1), backend=engine).fit(X)


def test_nan_is_refused_naming_the_column():
    bad = FRAME.copy()
    bad.loc[3, "c"] = np.nan
    with pytest.raises(DataError, match="'c'"):
        so.StandardScaler(backend="dask").fit(bad)


def test_in_sklearns_own_pipeline():
    y = (X[:, 0] + X[:, 2] > 10.5).astype(int)
    ours = pipeline.make_pipeline(so.StandardScaler(), SkLogisticRegression()).fit(X, y)
    ref = pipeline.make_pipeline(preprocessing.StandardScaler(), SkLogisticRegression()).fit(X, y)
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_allclose(ours[-1].coef_, ref[-1].coef_, rtol=1e-10)


def test_spark_pipeline_names_what_it_fits(spark):
    from scaleout.exceptions import UnsupportedOnBackend

    y = (X[:, 0] > 10).astype(int)
    with pytest.raises(
        UnsupportedOnBackend,
        match=r"Pipeline\(PCA -> StandardScaler -> LogisticRegression\) is not supported by "
        r"backend 'spark'; supported: one estimator, or PCA followed by one of .*optionally "
        r"after a StandardScaler or MinMaxScaler",
    ):
        so.make_pipeline(
            so.PCA(2), so.StandardScaler(), so.LogisticRegression(), backend="spark"
        ).fit(X, y)
    model = so.make_pipeline(
        so.MinMaxScaler(), so.PCA(2), so.LogisticRegression(), backend="spark"
    ).fit(X, y)
    ref = pipeline.make_pipeline(
        preprocessing.MinMaxScaler(), decomposition.PCA(2), SkLogisticRegression()
    ).fit(X, y)
    assert [step.backend_ for _, step in model.steps] == ["spark"] * 3
    assert_array_equal(model[0].data_min_, ref[0].data_min_)
    assert_allclose(np.abs(model[1].components_), np.abs(ref[1].components_), atol=1e-9)
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.99


def test_spark_frame_through_a_scaler_pipeline(spark):
    from scaleout.backends.spark.compat import to_arrow

    y = (X[:, 0] + X[:, 2] > 10.5).astype(int)
    model = so.make_pipeline(so.StandardScaler(), so.LogisticRegression(), backend="spark")
    model.fit(X, y)
    frame = spark.createDataFrame(pd.DataFrame(X, columns=["x0", "x1", "x2"]))
    scaled = model[0].transform(frame)
    assert scaled.columns == ["x0", "x1", "x2", "standardscaler0", "standardscaler1",
                              "standardscaler2"]  # fmt: skip
    table = to_arrow(scaled)
    out = np.column_stack([table.column(f"standardscaler{j}").to_numpy() for j in range(3)])
    assert_array_equal(out, model[0].transform(X))
    predicted = to_arrow(model.predict(frame)).column("prediction").to_numpy()
    assert_array_equal(predicted, model.predict(X))
