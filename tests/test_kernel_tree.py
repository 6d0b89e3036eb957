"""The dask engine's out-of-core decision-tree kernel against scikit-learn.

The kernel grows a histogram tree one level per pass. Where every feature
has at most ``max_bins`` distinct values its candidate thresholds are
scikit-learn's, so the tree is scikit-learn's up to ties; elsewhere it must be
as accurate. Its thresholds must route rows exactly as the binned training
data was routed, through scikit-learn's own ``predict``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_friedman1,
)
from sklearn.metrics import r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import scaleout as so
from scaleout.exceptions import InvalidParameterError, UnsupportedOnBackend
from scaleout.kernels import tree as kernel
from scaleout.kernels.passes import InMemoryPasses
from scaleout.kernels.tree import check_tree_params, fit_decision_tree

CHUNK = 97  # uneven chunks on every dataset below


class PicklingPasses(InMemoryPasses):
    """Ships every function through pickle, as a cluster would."""

    def _map_reduce(self, fn, combine):
        return super()._map_reduce(pickle.loads(pickle.dumps(fn)), combine)


def _fit(X, y, classifier=True, chunk=CHUNK, **params):
    sk = (DecisionTreeClassifier if classifier else DecisionTreeRegressor)(random_state=0)
    sk.set_params(**{k: v for k, v in params.items() if k != "max_bins"})
    all_params = {**sk.get_params(), **params}
    passes = PicklingPasses.from_arrays(X, y, chunk_rows=chunk)
    state = fit_decision_tree(passes, all_params, classifier=classifier)
    return state, passes, sk.fit(X, y)


def _as_sklearn(state, n_features, classifier=True):
    est = DecisionTreeClassifier() if classifier else DecisionTreeRegressor()
    for name, value in state.items():
        setattr(est, name, value)
    est.n_features_in_ = n_features
    return est


def _leaf_counts_match(est, X, y=None):
    """scikit-learn's routing of X reproduces the kernel's leaf statistics."""
    tree = est.tree_
    leaves = est.apply(X)
    counts = np.bincount(leaves, minlength=tree.node_count)
    is_leaf = tree.children_left == -1
    np.testing.assert_array_equal(counts[is_leaf], tree.n_node_samples[is_leaf])
    if y is not None:  # class counts per leaf
        codes = np.searchsorted(est.classes_, y)
        for c in range(len(est.classes_)):
            per_leaf = np.bincount(leaves[codes == c], minlength=tree.node_count)
            expected = tree.value[:, 0, c] * tree.n_node_samples
            np.testing.assert_allclose(per_leaf[is_leaf], expected[is_leaf], atol=1e-6)


# ------------------------------------------------------------ classifiers
@pytest.mark.parametrize(
    "loader", [load_breast_cancer, load_wine, load_digits], ids=["breast_cancer", "wine", "digits"]
)
@pytest.mark.parametrize("depth", [3, 6])
def test_classifier_matches_sklearn(loader, depth):
    X, y = loader(return_X_y=True)
    state, passes, sk = _fit(X, y, max_depth=depth)
    est = _as_sklearn(state, X.shape[1])
    np.testing.assert_array_equal(state["classes_"], sk.classes_)
    assert state["n_classes_"] == len(sk.classes_)
    assert state["n_outputs_"] == 1 and state["max_features_"] == X.shape[1]
    ours, theirs = est.predict(X), sk.predict(X)
    assert np.mean(ours == theirs) >= 0.99
    assert abs(est.score(X, y) - sk.score(X, y)) <= 0.01
    assert state["tree_"].max_depth == sk.tree_.max_depth <= depth
    assert passes.passes == state["tree_"].max_depth  # one pass per level, classes included
    _leaf_counts_match(est, X, y)


def _assert_sklearn_up_to_ties(ours, theirs, X, rtol=1e-9):
    """Walk both trees over the same rows: every split is scikit-learn's or ties with it.

    At each pair of nodes holding the same rows, the node statistics agree
    and the split's weighted child impurity equals scikit-learn's; a split on
    the same feature with the same partition has scikit-learn's threshold.
    Returns the fraction of splits that are scikit-learn's own.
    """
    same = total = 0
    stack = [(0, 0, np.arange(len(X)))]
    while stack:
        a, b, rows = stack.pop()
        assert ours.n_node_samples[a] == theirs.n_node_samples[b] == len(rows)
        np.testing.assert_allclose(ours.impurity[a], theirs.impurity[b], rtol=rtol, atol=1e-12)
        np.testing.assert_allclose(ours.value[a], theirs.value[b], rtol=rtol, atol=1e-12)
        assert (ours.children_left[a] == -1) == (theirs.children_left[b] == -1)
        if ours.children_left[a] == -1:
            continue
        total += 1

        def children(tree, node):
            left, right = tree.children_left[node], tree.children_right[node]
            n = tree.n_node_samples
            return n[left] * tree.impurity[left] + n[right] * tree.impurity[right]

        np.testing.assert_allclose(children(ours, a), children(theirs, b), rtol=rtol, atol=1e-9)
        go_a = X[rows, ours.feature[a]].astype(np.float32) <= ours.threshold[a]
        go_b = X[rows, theirs.feature[b]].astype(np.float32) <= theirs.threshold[b]
        if ours.feature[a] == theirs.feature[b] and np.array_equal(go_a, go_b):
            assert ours.threshold[a] == theirs.threshold[b]
            same += 1
            stack += [
                (ours.children_left[a], theirs.children_left[b], rows[go_a]),
                (ours.children_right[a], theirs.children_right[b], rows[~go_a]),
            ]
    return same / max(total, 1)


def test_digits_tree_is_sklearns_up_to_ties():
    """<= 17 distinct values per feature: scikit-learn's candidates and thresholds."""
    X, y = load_digits(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=8)
    assert _assert_sklearn_up_to_ties(state["tree_"], sk.tree_, X) > 0.5
    np.testing.assert_allclose(state["tree_"].value.sum(axis=2), 1.0)  # fractions, as sklearn


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine], ids=["breast_cancer", "wine"])
def test_every_value_a_bin_gives_sklearns_tree(loader):
    """With more bins than distinct values the tree is scikit-learn's exact tree (up to ties)."""
    X, y = loader(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=5, max_bins=1024)
    assert _assert_sklearn_up_to_ties(state["tree_"], sk.tree_, X) > 0.5
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99


@pytest.mark.parametrize("criterion", ["entropy", "log_loss"])
def test_entropy(criterion):
    X, y = load_wine(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=4, criterion=criterion)
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99
    np.testing.assert_allclose(state["tree_"].impurity[0], sk.tree_.impurity[0])


def test_string_labels():
    X, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    state, _, sk = _fit(X, names, max_depth=4)
    est = _as_sklearn(state, X.shape[1])
    np.testing.assert_array_equal(state["classes_"], sk.classes_)
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99
    _leaf_counts_match(est, X, names)


def test_class_absent_from_first_chunks():
    X, y = load_wine(return_X_y=True)
    order = np.argsort(y, kind="stable")  # chunks see one or two classes each
    state, _, sk = _fit(X[order], y[order], max_depth=4, chunk=40)
    np.testing.assert_array_equal(state["classes_"], [0, 1, 2])
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99


@pytest.mark.parametrize("class_weight", [{0: 1.0, 1: 3.0}, "balanced"])
def test_class_weight(class_weight):
    X, y = load_breast_cancer(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=4, class_weight=class_weight)
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99
    np.testing.assert_allclose(
        state["tree_"].weighted_n_node_samples[0], sk.tree_.weighted_n_node_samples[0]
    )
    np.testing.assert_allclose(state["tree_"].value[0], sk.tree_.value[0])


# ------------------------------------------------------------- regressors
def test_regressor_diabetes():
    X, y = load_diabetes(return_X_y=True)
    for depth in (3, 6):
        state, passes, sk = _fit(X, y, classifier=False, max_depth=depth)
        est = _as_sklearn(state, X.shape[1], classifier=False)
        assert abs(est.score(X, y) - sk.score(X, y)) <= 0.01
        assert passes.passes == depth == state["tree_"].max_depth
        _leaf_counts_match(est, X)
        leaves = est.apply(X)
        means = np.bincount(leaves, weights=y) / np.maximum(np.bincount(leaves), 1)
        is_leaf = state["tree_"].children_left == -1
        np.testing.assert_allclose(
            state["tree_"].value[is_leaf, 0, 0], means[np.flatnonzero(is_leaf)]
        )


def test_regressor_synthetic_binned():
    """5000 distinct values per feature, 256 bins: as good as the exact tree."""
    X, y = make_friedman1(n_samples=5000, n_features=8, noise=0.5, random_state=0)
    X_test, y_test = make_friedman1(n_samples=5000, n_features=8, noise=0.5, random_state=1)
    state, _, sk = _fit(X, y, classifier=False, max_depth=7, chunk=777)
    est = _as_sklearn(state, X.shape[1], classifier=False)
    assert abs(r2_score(y, est.predict(X)) - r2_score(y, sk.predict(X))) <= 0.01
    assert abs(r2_score(y_test, est.predict(X_test)) - r2_score(y_test, sk.predict(X_test))) <= 0.01
    _leaf_counts_match(est, X)


# ------------------------------------------------------- rules and shape
@pytest.mark.parametrize("min_samples_leaf", [7, 0.03])
def test_min_samples_leaf(min_samples_leaf):
    X, y = load_breast_cancer(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=8, min_samples_leaf=min_samples_leaf, max_bins=1024)
    tree = state["tree_"]
    floor = (
        min_samples_leaf
        if isinstance(min_samples_leaf, int)
        else np.ceil(min_samples_leaf * len(X))
    )
    assert tree.n_node_samples[tree.children_left == -1].min() >= floor
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99
    _assert_sklearn_up_to_ties(tree, sk.tree_, X)


def test_min_samples_split_and_impurity_decrease():
    X, y = load_digits(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=10, min_samples_split=40, min_impurity_decrease=0.002)
    tree = state["tree_"]
    internal = tree.children_left != -1
    assert tree.n_node_samples[internal].min() >= 40
    assert tree.node_count == sk.tree_.node_count
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X) == sk.predict(X)) >= 0.99


def test_max_depth_none_grows_until_pure():
    X, y = load_wine(return_X_y=True)
    state, passes, sk = _fit(X, y, max_depth=None)
    est = _as_sklearn(state, X.shape[1])
    assert est.score(X, y) == 1.0
    assert state["tree_"].max_depth == sk.tree_.max_depth
    assert passes.passes == state["tree_"].max_depth


def test_max_depth_respected_and_passes():
    X, y = load_digits(return_X_y=True)
    for depth in (1, 2, 5):
        state, passes, _ = _fit(X, y, max_depth=depth)
        assert state["tree_"].max_depth == depth
        assert passes.passes == depth


def test_single_class_is_one_leaf():
    X = np.arange(20.0).reshape(10, 2)
    state, passes, _ = _fit(X, np.full(10, "a"), max_depth=3, chunk=3)
    assert state["tree_"].node_count == 1 and passes.passes == 1
    np.testing.assert_array_equal(state["classes_"], ["a"])


# ------------------------------------------------- thresholds and routing
def test_binning_matches_float32_comparison():
    """code <= k exactly when float32(x) <= threshold k, as scikit-learn predicts."""
    rng = np.random.default_rng(0)
    sample = np.column_stack(
        [
            rng.normal(size=3000),
            rng.lognormal(sigma=4, size=3000),  # too uneven for the lookup table
            rng.integers(0, 5, size=3000).astype(float),
            rng.normal(scale=1e30, size=3000),
            np.zeros(3000),
        ]
    )
    bins = kernel._make_bins(sample, 64)
    assert 1 in bins.search_features and 0 in bins.lut_features
    probe = [rng.normal(size=(4000, 5)) * [1, 100, 3, 1e30, 1]]
    for f in range(4):  # values at, beside and within float32 rounding of every threshold
        t = bins.thresholds[f]
        near = np.concatenate(
            [
                t,
                np.nextafter(t, np.inf),
                np.nextafter(t, -np.inf),
                t * (1 + 1e-12),
                t * (1 - 1e-12),
                np.float32(t).astype(float),
            ]
        )
        block = np.zeros((len(near), 5))
        block[:, f] = near
        probe.append(block)
    X = np.concatenate([*probe, sample])
    codes = kernel._bin(X, bins)
    x32 = X.astype(np.float32).astype(np.float64)
    for f in range(5):
        t = bins.thresholds[f]
        expected = (x32[:, f][:, None] > t[None, :]).sum(axis=1)
        np.testing.assert_array_equal(codes[:, f], expected)
        assert np.all(np.diff(t) > 0)
    small = X[np.abs(X).max(axis=1) < 1e30].astype(np.float32)  # float32 chunks
    expected = np.column_stack(
        [np.searchsorted(b, small[:, f].astype(np.float64)) for f, b in enumerate(bins.bounds)]
    )
    np.testing.assert_array_equal(kernel._bin(small, bins), expected)
    assert len(bins.thresholds[4]) == 0 and len(bins.thresholds[2]) == 4
    np.testing.assert_array_equal(bins.thresholds[2], [0.5, 1.5, 2.5, 3.5])


def test_thresholds_route_unseen_values_like_training(monkeypatch):
    """Few sampled rows: many values are unseen or sit exactly on a threshold."""
    monkeypatch.setattr(kernel, "SAMPLE_ROWS", 60)
    rng = np.random.default_rng(1)
    X = rng.integers(0, 12, size=(3000, 6)).astype(float)
    X[::3] += 0.5  # half-integers: the midpoints of the sampled integers
    X[1::7] += 1e-12  # beside them, equal in float32
    y = ((X[:, 0] + X[:, 1] > 11) ^ (X[:, 2] > 6)).astype(int)
    y[::13] = 1 - y[::13]
    passes = InMemoryPasses.from_arrays(X, y, chunk_rows=311)
    params = {**DecisionTreeClassifier(max_depth=7).get_params(), "max_bins": 8}
    state = fit_decision_tree(passes, params, classifier=True)
    est = _as_sklearn(state, X.shape[1])
    _leaf_counts_match(est, X, y)
    assert est.score(X, y) > 0.8


def test_same_tree_without_store_subtraction_or_large_histograms(monkeypatch):
    X, y = load_digits(return_X_y=True)
    reference, _, _ = _fit(X, y, max_depth=6)
    monkeypatch.setattr(kernel, "KEEP_CELLS", 0)  # count both children
    monkeypatch.setattr(kernel, "HIST_CELLS", 64 * 10 * 17 * 3)  # 3 nodes per pass
    with so.config_context(memory_budget=1):  # the chunk stores keep nothing:
        state, passes, _ = _fit(X, y, max_depth=6)  # bin and route from the root every pass
    assert passes.passes > 6
    assert all(len(store) == 0 for store in passes.stores)
    for name in ("children_left", "feature", "threshold", "n_node_samples", "value"):
        np.testing.assert_array_equal(
            getattr(state["tree_"], name), getattr(reference["tree_"], name)
        )
    assert not hasattr(kernel, "_memo") and not hasattr(kernel, "CACHE_BYTES")


def test_the_chunk_stores_hold_the_codes_until_close():
    X, y = load_wine(return_X_y=True)
    _, passes, _ = _fit(X, y, max_depth=3)
    assert all(len(store) == 4 for store in passes.stores)  # codes, labels, node, depth
    codes = [v for k, v in passes.stores[0]._values.items() if k.endswith("codes")]
    assert codes[0].shape == (CHUNK, X.shape[1]) and codes[0].dtype == np.uint8
    passes.close()
    assert passes.stores is None


def test_float32_chunks():
    X, y = load_breast_cancer(return_X_y=True)
    X32 = X.astype(np.float32)
    state, _, sk = _fit(X32, y, max_depth=5)
    est = _as_sklearn(state, X.shape[1])
    assert np.mean(est.predict(X32) == sk.predict(X32)) >= 0.99
    _leaf_counts_match(est, X32, y)


# ------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    ("classifier", "option", "value", "supported"),
    [
        (True, "splitter", "random", "'best'"),
        (True, "criterion", "hellinger", "'gini'"),
        (False, "criterion", "friedman_mse", "'squared_error'"),
        (False, "criterion", "absolute_error", "'squared_error'"),
        (True, "max_features", "sqrt", "None"),
        (True, "max_leaf_nodes", 10, "None"),
        (False, "ccp_alpha", 0.01, "0.0"),
        (False, "monotonic_cst", [1, 0], "None"),
    ],
)
def test_unsupported_options(classifier, option, value, supported):
    cls = DecisionTreeClassifier if classifier else DecisionTreeRegressor
    params = {**cls().get_params(), option: value}
    with pytest.raises(UnsupportedOnBackend) as info:
        check_tree_params(params, classifier=classifier)
    message = str(info.value)
    assert f"{option}={value!r}" in message and "backend 'dask'" in message
    assert f"supported: {supported}" in message or supported in message.split("supported:")[1]
    passes = InMemoryPasses.from_arrays(np.zeros((4, 2)), np.arange(4) % 2, chunk_rows=2)
    with pytest.raises(UnsupportedOnBackend):
        fit_decision_tree(passes, params, classifier=classifier)
    assert passes.passes == 0


def test_supported_options_pass():
    params = {
        **DecisionTreeClassifier(
            criterion="log_loss",
            max_depth=None,
            class_weight="balanced",
            random_state=3,
            min_samples_leaf=0.1,
        ).get_params(),
        "max_bins": 32,
    }
    check_tree_params(params, classifier=True)
    check_tree_params(DecisionTreeRegressor().get_params(), classifier=False)


@pytest.mark.parametrize("max_bins", [1, 70000, 2.5, "many"])
def test_bad_max_bins(max_bins):
    params = {**DecisionTreeClassifier().get_params(), "max_bins": max_bins}
    with pytest.raises(InvalidParameterError, match="max_bins"):
        check_tree_params(params, classifier=True)


def test_max_bins_limits_thresholds():
    X, y = load_breast_cancer(return_X_y=True)
    state, _, sk = _fit(X, y, max_depth=4, max_bins=16)
    est = _as_sklearn(state, X.shape[1])
    tree = state["tree_"]
    for f in np.unique(tree.feature[tree.feature >= 0]):
        assert len(np.unique(tree.threshold[tree.feature == f])) <= 15
    assert est.score(X, y) >= sk.score(X, y) - 0.02
    _leaf_counts_match(est, X, y)
