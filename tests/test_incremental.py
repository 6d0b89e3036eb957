"""so.Incremental: one streaming pass through scikit-learn partial_fit."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import IncrementalPCA
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.svm import SVC

import scaleout as so
from scaleout.datasets import make_classification, make_regression
from scaleout.exceptions import InvalidParameterError


@pytest.fixture(scope="module")
def classification(tmp_path_factory):
    return make_classification(
        tmp_path_factory.mktemp("inc") / "c",
        12_000,
        6,
        n_classes=3,
        chunk_rows=3_000,
        n_files=2,
        random_state=0,
    )


def test_classifier_streams_row_groups_and_finds_classes(classification):
    ds = so.read_parquet(classification.path, target="y")
    model = so.Incremental(SGDClassifier(random_state=0)).fit(ds)
    assert_array_equal(model.classes_, [0, 1, 2])
    assert model.fit_stats_["batches"] == 4 and model.fit_stats_["rows"] == 12_000
    assert model.fit_stats_["passes"] == 2  # a target-only scan for the classes, then the data
    # identical to calling partial_fit by hand on the same batches
    ref = SGDClassifier(random_state=0)
    for batch in ds.iter_batches():
        ref.partial_fit(batch.X, batch.y, classes=[0, 1, 2])
    assert_array_equal(model.estimator_.coef_, ref.coef_)
    X, y = ds.to_numpy()
    assert model.score(X, y) > 0.5  # one SGD epoch; chance is 1/3


def test_given_classes_skip_the_scan(classification):
    ds = so.read_parquet(classification.path, target="y")
    model = so.Incremental(SGDClassifier(random_state=0), classes=[0, 1, 2]).fit(ds)
    assert model.fit_stats_["passes"] == 1


def test_regressor_transformer_and_clusterer_from_memory():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5_000, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    reg = so.Incremental(SGDRegressor(random_state=0), batch_rows=500).fit(X, y)
    assert reg.fit_stats_["batches"] == 10
    assert reg.score(X, y) > 0.99
    ipca = so.Incremental(IncrementalPCA(2), batch_rows=1_000).fit(X)
    ref = IncrementalPCA(2)
    for i in range(0, 5_000, 1_000):
        ref.partial_fit(X[i : i + 1_000])
    assert_allclose(ipca.transform(X), ref.transform(X))
    kmeans = so.Incremental(MiniBatchKMeans(3, random_state=0, n_init=3), batch_rows=1_000)
    assert kmeans.fit(X).predict(X).shape == (5_000,)


def test_regression_parquet(tmp_path):
    info = make_regression(tmp_path / "r", 6_000, 5, chunk_rows=2_000, random_state=0)
    model = so.Incremental(SGDRegressor(random_state=0)).fit(so.read_parquet(info.path, target="y"))
    assert model.fit_stats_["batches"] == 3


def test_estimator_without_partial_fit_is_refused():
    with pytest.raises(InvalidParameterError, match="SVC has none"):
        so.Incremental(SVC()).fit(np.zeros((4, 2)), [0, 1, 0, 1])
