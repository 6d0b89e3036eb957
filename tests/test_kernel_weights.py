"""Sample weights in the kernels, against scikit-learn's weighted fits.

Every kernel runs on :class:`InMemoryPasses` with several chunkings; the
tolerances are those of the unweighted kernels (docs: exactness table).
Integer weights must give the model of the repeated rows wherever
scikit-learn's own estimator has that property.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import cluster, linear_model, tree
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.preprocessing import StandardScaler

import scaleout as so
from scaleout.exceptions import UnsupportedOnBackend
from scaleout.kernels.kmeans import fit_kmeans
from scaleout.kernels.linear import fit_linear_regression
from scaleout.kernels.logistic import fit_logistic_regression
from scaleout.kernels.passes import InMemoryPasses
from scaleout.kernels.pca import fit_pca
from scaleout.kernels.tree import fit_decision_tree

CHUNKS = [7, 61, 1000]


@pytest.fixture(autouse=True)
def _quiet():
    with so.config_context(progress=False):
        yield


def _weights(n, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "integer":
        return rng.integers(1, 4, n).astype(float)
    if kind == "with zeros":
        return rng.integers(0, 4, n).astype(float)
    return rng.uniform(0.1, 3.0, n)


def _passes(X, y, chunk, w):
    return InMemoryPasses.from_arrays(X, y, chunk, sample_weight=w)


def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


# --------------------------------------------------------------- LinearRegression
@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("kind", ["integer", "with zeros", "uniform"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_regression_weighted_equals_sklearn(chunk, kind, fit_intercept):
    X, y = load_diabetes(return_X_y=True)
    w = _weights(len(y), kind)
    ref = linear_model.LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    state = fit_linear_regression(_passes(X, y, chunk, w), ref.get_params())
    assert _rel(state["coef_"], ref.coef_) <= 1e-6
    assert state["intercept_"] == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-9)
    assert state["rank_"] == ref.rank_
    np.testing.assert_allclose(state["singular_"], ref.singular_, rtol=1e-6)


def test_linear_regression_integer_weights_are_repeated_rows():
    X, y = load_diabetes(return_X_y=True)
    w = _weights(len(y), "with zeros")
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    params = linear_model.LinearRegression().get_params()
    weighted = fit_linear_regression(_passes(X, y, 61, w), params)
    repeated = fit_linear_regression(_passes(X[rows], y[rows], 61, None), params)
    assert _rel(weighted["coef_"], repeated["coef_"]) <= 1e-9
    assert weighted["intercept_"] == pytest.approx(repeated["intercept_"], rel=1e-9)


# ------------------------------------------------------------- LogisticRegression
def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine], ids=["binary", "3 classes"])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize("chunk", CHUNKS)
def test_logistic_regression_weighted_equals_sklearn(loader, class_weight, chunk):
    X, y = _standardized(loader)
    w = _weights(len(y), "uniform", seed=1)
    ref = linear_model.LogisticRegression(class_weight=class_weight).fit(X, y, sample_weight=w)
    state = fit_logistic_regression(_passes(X, y, chunk, w), ref.get_params())
    assert state["coef_"].shape == ref.coef_.shape
    assert _rel(state["coef_"], ref.coef_) <= 1e-3
    assert _rel(state["intercept_"], ref.intercept_) <= 1e-3
    est = linear_model.LogisticRegression()
    est.classes_, est.coef_, est.intercept_ = state["classes_"], state["coef_"], state["intercept_"]
    assert np.mean(est.predict(X) == ref.predict(X)) >= 0.999


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine], ids=["binary", "3 classes"])
def test_logistic_regression_integer_weights_are_repeated_rows(loader):
    X, y = _standardized(loader)
    w = _weights(len(y), "with zeros", seed=2)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    params = linear_model.LogisticRegression(C=0.5).get_params()
    weighted = fit_logistic_regression(_passes(X, y, 61, w), params)
    repeated = fit_logistic_regression(_passes(X[rows], y[rows], 61, None), params)
    assert _rel(weighted["coef_"], repeated["coef_"]) <= 1e-6


# -------------------------------------------------------------------- trees
def _as_sklearn(cls, state, n_features):
    est = cls()
    for name, value in state.items():
        setattr(est, name, value)
    est.n_features_in_ = n_features
    return est


def _same_tree(ours, theirs):
    """The same tree up to node numbering (breadth- vs depth-first)."""
    a, b = ours.tree_, theirs.tree_
    assert a.node_count == b.node_count
    np.testing.assert_array_equal(np.sort(a.n_node_samples), np.sort(b.n_node_samples))
    np.testing.assert_allclose(
        np.sort(a.weighted_n_node_samples), np.sort(b.weighted_n_node_samples), rtol=1e-12
    )
    np.testing.assert_allclose(np.sort(a.impurity), np.sort(b.impurity), rtol=1e-9, atol=1e-12)


# Ties: where two splits score the same, scikit-learn picks by its random
# feature order and the kernel the lowest feature: the trees then differ on
# rows of weight 0 (both splits separate the weighted rows alike). With
# non-integer weights, the rounding of scikit-learn's ``parent - left`` sums
# also leaves "pure" nodes with impurity above its EPSILON, which it splits.
# So exact structure is asserted for integer weights, quality for the rest.


@pytest.mark.parametrize("kind", ["integer", "with zeros", "uniform"])
@pytest.mark.parametrize("chunk", [13, 61])
def test_weighted_classification_tree_is_sklearns(kind, chunk):
    X, y = load_wine(return_X_y=True)  # at most 178 distinct values: exact bins
    w = _weights(len(y), kind, seed=3)
    ref = tree.DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y, sample_weight=w)
    state = fit_decision_tree(_passes(X, y, chunk, w), ref.get_params(), classifier=True)
    ours = _as_sklearn(tree.DecisionTreeClassifier, state, X.shape[1])
    if kind != "uniform":
        _same_tree(ours, ref)
    weighted = w > 0
    agree = ours.predict(X[weighted]) == ref.predict(X[weighted])
    assert agree.mean() >= 0.99
    assert ours.score(X, y, w) >= ref.score(X, y, w) - 0.01


@pytest.mark.parametrize("kind", ["integer", "with zeros", "uniform"])
@pytest.mark.parametrize("params", [{}, {"min_weight_fraction_leaf": 0.1}, {"min_samples_leaf": 5}])
def test_weighted_regression_tree_is_sklearns(kind, params):
    X, y = load_diabetes(return_X_y=True)  # at most 442 distinct values: 512 bins are exact
    w = _weights(len(y), kind, seed=4)
    ref = tree.DecisionTreeRegressor(max_depth=4, random_state=0, **params)
    ref.fit(X, y, sample_weight=w)
    state = fit_decision_tree(
        _passes(X, y, 61, w), {**ref.get_params(), "max_bins": 512}, classifier=False
    )
    ours = _as_sklearn(tree.DecisionTreeRegressor, state, X.shape[1])
    if kind != "uniform":
        _same_tree(ours, ref)
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9)
    assert ours.score(X, y, w) >= ref.score(X, y, w) - 0.01


@pytest.mark.parametrize("kind", [None, "integer", "uniform"])
def test_min_weight_fraction_leaf_classifier(kind):
    X, y = load_wine(return_X_y=True)
    w = None if kind is None else _weights(len(y), kind, seed=5)
    ref = tree.DecisionTreeClassifier(max_depth=5, min_weight_fraction_leaf=0.1, random_state=0)
    ref.fit(X, y, sample_weight=w)
    state = fit_decision_tree(_passes(X, y, 61, w), ref.get_params(), classifier=True)
    ours = _as_sklearn(tree.DecisionTreeClassifier, state, X.shape[1])
    total = len(y) if w is None else w.sum()
    leaves = ours.tree_.children_left == -1
    assert ours.tree_.weighted_n_node_samples[leaves].min() >= 0.1 * total
    score, reference = ours.score(X, y, w), ref.score(X, y, w)
    assert score >= reference - 0.01


def test_tree_integer_weights_are_repeated_rows():
    X, y = load_wine(return_X_y=True)
    w = _weights(len(y), "with zeros", seed=6)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    params = tree.DecisionTreeClassifier(max_depth=4).get_params()
    weighted = fit_decision_tree(_passes(X, y, 61, w), params, classifier=True)
    repeated = fit_decision_tree(_passes(X[rows], y[rows], 61, None), params, classifier=True)
    a, b = weighted["tree_"], repeated["tree_"]
    np.testing.assert_array_equal(a.feature, b.feature)
    np.testing.assert_array_equal(a.threshold, b.threshold)
    np.testing.assert_allclose(a.weighted_n_node_samples, b.weighted_n_node_samples)
    np.testing.assert_allclose(a.value, b.value)


# ------------------------------------------------------------------- KMeans
def _blobs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(4) * 6
    return rng.normal(size=(n, 4)) + centres[rng.integers(0, 4, n)]


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_weighted_kmeans_inertia_within_one_percent(chunk, init):
    X = _blobs()
    w = _weights(len(X), "with zeros", seed=7)
    ref = cluster.KMeans(4, init=init, random_state=0).fit(X, sample_weight=w)
    state = fit_kmeans(_passes(X, None, chunk, w), ref.get_params())
    assert state["inertia_"] <= 1.01 * ref.inertia_
    d2 = ((X[:, None, :] - state["cluster_centers_"][None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(state["inertia_"], w @ d2.min(axis=1), rtol=1e-9)
    np.testing.assert_array_equal(state["labels_"], d2.argmin(axis=1))


@pytest.mark.parametrize("chunk", CHUNKS)
def test_weighted_lloyd_from_given_centres_is_sklearns(chunk):
    X = _blobs(seed=1)
    w = _weights(len(X), "uniform", seed=8)
    init = X[:4].copy()
    ref = cluster.KMeans(4, init=init, n_init=1, tol=0).fit(X, sample_weight=w)
    state = fit_kmeans(_passes(X, None, chunk, w), ref.get_params())
    np.testing.assert_allclose(state["cluster_centers_"], ref.cluster_centers_, rtol=1e-9)
    assert state["inertia_"] == pytest.approx(ref.inertia_, rel=1e-9)
    assert state["n_iter_"] == ref.n_iter_
    np.testing.assert_array_equal(state["labels_"], ref.labels_)


def test_kmeans_integer_weights_are_repeated_rows():
    X = _blobs(seed=2)
    w = _weights(len(X), "with zeros", seed=9)
    rows = np.repeat(np.arange(len(X)), w.astype(int))
    params = cluster.KMeans(4, init=X[w > 0][:4].copy(), n_init=1).get_params()
    weighted = fit_kmeans(_passes(X, None, 500, w), params)
    repeated = fit_kmeans(_passes(X[rows], None, 500, None), params)
    np.testing.assert_allclose(
        weighted["cluster_centers_"], repeated["cluster_centers_"], rtol=1e-9
    )
    assert weighted["inertia_"] == pytest.approx(repeated["inertia_"], rel=1e-9)


def test_pca_rejects_weights_by_name():
    X = _blobs(100)
    passes = _passes(X, None, 30, np.ones(100))
    with pytest.raises(UnsupportedOnBackend, match=r"PCA.fit\(sample_weight=\.\.\.\).*'dask'"):
        fit_pca(passes, {"n_components": 2})
    assert passes.passes == 0
