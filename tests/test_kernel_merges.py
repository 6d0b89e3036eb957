"""Property tests: the kernels' per-chunk statistics merge exactly and associatively.

For any chunking of the same rows, and any bracketing of the merges, the
combined statistics equal those of the whole data in one chunk (to ~1e-10
relative; counts exactly): LinearRegression / PCA scatter, the logistic
loss and gradient, the tree's histograms (and so the tree), k-means' Lloyd
statistics and moments, the scalers' column moments and ranges.
"""

from __future__ import annotations

import itertools
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.tree import DecisionTreeClassifier

import scaleout as so
from scaleout.data import Batch
from scaleout.kernels import kmeans, logistic, scalers, scatter, tree
from scaleout.kernels.passes import InMemoryPasses, add

N = 240
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 5)) * [1.0, 10.0, 0.1, 1e3, 1.0] + [0.0, 5.0, -3.0, 1e4, 0.0]
Y_REG = X @ [1.0, -2.0, 0.5, 1e-3, 3.0] + RNG.normal(size=N)
Y_CLASS = RNG.integers(0, 3, N)
W = RNG.uniform(0.0, 3.0, N)
W[::17] = 0.0

SETTINGS = settings(max_examples=30, deadline=None)


@pytest.fixture(autouse=True)
def _quiet():
    with so.config_context(progress=False):
        yield


@st.composite
def chunkings(draw):
    """Sorted cut points splitting N rows into 1..12 non-empty chunks."""
    cuts = draw(st.lists(st.integers(1, N - 1), max_size=11, unique=True))
    return [0, *sorted(cuts), N]


def _chunks(bounds, y, weights):
    return [
        Batch(
            X[a:b],
            None if y is None else y[a:b],
            f"rows {a}..{b - 1}",
            a,
            None if weights is None else weights[a:b],
        )
        for a, b in itertools.pairwise(bounds)
    ]


def _merge_in_any_order(parts, combine, order):
    """Merge adjacent results in the bracketing given by ``order`` (indices drawn)."""
    parts = list(parts)
    for pick in order:
        if len(parts) == 1:
            break
        i = pick % (len(parts) - 1)
        parts[i : i + 2] = [combine(parts[i], parts[i + 1])]
    while len(parts) > 1:
        parts[-2:] = [combine(parts[-2], parts[-1])]
    return parts[0]


def _both(fn, combine, bounds, order, y, weights):
    """(merged over the chunking, the whole data as one chunk)."""
    parts = [fn(chunk) for chunk in _chunks(bounds, y, weights)]
    return _merge_in_any_order(parts, combine, order), fn(_chunks([0, N], y, weights)[0])


def _close(a, b, rtol=1e-10):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.abs(b).max(), 1e-300)
    assert np.abs(a - b).max() <= rtol * scale


ORDERS = st.lists(st.integers(0, 100), max_size=12)
WEIGHTED = st.booleans()


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED, st.booleans())
def test_scatter_any_chunking(bounds, order, weighted, with_target):
    fn = partial(scatter.chunk_scatter, with_target=with_target)
    y = Y_REG if with_target else None
    merged, whole = _both(fn, scatter.merge, bounds, order, y, W if weighted else None)
    assert merged.n == whole.n == N
    _close(merged.weight, whole.weight)
    _close(merged.mean, whole.mean)
    _close(merged.M, whole.M)


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED)
def test_uncentred_scatter_any_chunking(bounds, order, weighted):
    fn = partial(scatter.chunk_scatter, with_target=True, center=False)
    merged, whole = _both(
        fn, scatter.merge_uncentered, bounds, order, Y_REG, W if weighted else None
    )
    _close(merged.M, whole.M)
    _close(merged.weight, whole.weight)


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED, st.booleans())
def test_logistic_loss_and_gradient_any_chunking(bounds, order, weighted, binary):
    coef_rng = np.random.default_rng(len(bounds))
    if binary:
        y = (Y_CLASS > 0).astype(int)
        fn = partial(
            logistic._binary_loss_grad,
            coef=coef_rng.normal(size=6) * 1e-2,
            positive=1,
            class_weight=np.array([1.0, 2.0]),
            fit_intercept=True,
        )
    else:
        y = Y_CLASS
        fn = partial(
            logistic._multinomial_loss_grad,
            coef=coef_rng.normal(size=(3, 6)) * 1e-2,
            classes=np.arange(3),
            class_weight=None,
            fit_intercept=True,
        )
    (loss, grad, wsum), (loss1, grad1, wsum1) = _both(
        fn, add, bounds, order, y, W if weighted else None
    )
    _close(loss, loss1)
    _close(grad, grad1)
    _close(wsum, wsum1)


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED)
def test_class_counts_any_chunking(bounds, order, weighted):
    merged, whole = _both(
        logistic._chunk_class_counts,
        logistic._merge_class_counts,
        bounds,
        order,
        Y_CLASS,
        W if weighted else None,
    )
    np.testing.assert_array_equal(merged[0], whole[0])
    _close(merged[1], whole[1])


def _level(weighted, classes):
    bins = tree._make_bins(X, 16)  # 16 bins: most features are binned
    return tree._Level(
        token="t",
        bins=bins,
        classifier=True,
        classes=classes,
        depth=0,
        feature=np.array([-2]),
        split_bin=np.array([-1]),
        left=np.array([-1], dtype=np.int32),
        right=np.array([-1], dtype=np.int32),
        slots=np.array([0]),
        n_slots=1,
        all_rows=True,
        weighted=weighted,
    )


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED)
def test_tree_histograms_any_chunking(bounds, order, weighted):
    level = _level(weighted, np.arange(3))
    fn = partial(tree._level_pass, store=None, level=level)
    merged, whole = _both(fn, add, bounds, order, Y_CLASS, W if weighted else None)
    if weighted:
        _close(merged, whole)
    else:
        np.testing.assert_array_equal(merged, whole)  # integer counts: exact
    first = _level(weighted, None)  # the first pass: labels found per chunk
    fn = partial(tree._level_pass, store=None, level=first)
    merged, whole = _both(fn, tree._merge_labelled, bounds, order, Y_CLASS, W if weighted else None)
    np.testing.assert_array_equal(merged[0], whole[0])
    _close(merged[1], whole[1])
    np.testing.assert_array_equal(merged[3], whole[3])


@settings(max_examples=10, deadline=None)
@given(chunkings(), WEIGHTED)
def test_the_same_tree_for_any_chunking(bounds, weighted):
    params = DecisionTreeClassifier(max_depth=4).get_params()
    weights = W if weighted else None

    def fit(b):
        passes = InMemoryPasses(_chunks(b, Y_CLASS, weights))
        return fit_tree(passes, params)["tree_"]

    ours, whole = fit(bounds), fit([0, N])
    for name in ("feature", "threshold", "n_node_samples", "children_left"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(whole, name))
    _close(ours.value, whole.value)


def fit_tree(passes, params):
    return tree.fit_decision_tree(passes, params, classifier=True)


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED)
def test_kmeans_lloyd_statistics_any_chunking(bounds, order, weighted):
    centers = np.ascontiguousarray(X[:4])
    fn = partial(
        kmeans._chunk_lloyd,
        store=None,
        shift=None,
        tasks=[("lloyd", centers, 0)],
        stats=True,
    )
    merged, whole = _both(fn, add, bounds, order, None, W if weighted else None)
    (a,), (b,) = merged["tasks"], whole["tasks"]
    _close(a["sums"], b["sums"])
    _close(a["counts"], b["counts"])
    _close(a["inertia"], b["inertia"])
    assert merged["stats"].n == whole["stats"].n == N
    _close(merged["stats"].mean, whole["stats"].mean)
    _close(merged["stats"].m2, whole["stats"].m2)


# A column of mean 1e6 and spread 1e-3 (chunk means round at 1e-10), one constant column.
X_SCALE = np.column_stack([X, RNG.normal(size=N) * 1e-3 + 1e6, np.full(N, 7.0)])


@SETTINGS
@given(chunkings(), ORDERS, WEIGHTED)
def test_scaler_moments_any_chunking(bounds, order, weighted):
    weights = W if weighted else None
    parts = [
        scalers.column_moments(X_SCALE[a:b], None if weights is None else weights[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    merged = _merge_in_any_order(parts, scalers.merge_moments, order)
    whole = scalers.column_moments(X_SCALE, weights)
    assert merged.n == whole.n == N
    _close(merged.weight, whole.weight)
    spread = np.abs(whole.mean) + np.sqrt(whole.m2 / whole.weight)  # each column's scale
    assert np.all(np.abs(merged.mean - whole.mean) <= 1e-13 * spread)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-9, atol=1e-20)
    np.testing.assert_array_equal(merged.min, X_SCALE.min(axis=0))  # exact
    np.testing.assert_array_equal(merged.max, X_SCALE.max(axis=0))
    # the variances are scikit-learn's (its corrected two-pass algorithm on the whole data)
    from sklearn.preprocessing import StandardScaler

    with np.errstate(invalid="ignore"):  # scikit-learn's sqrt of a tiny negative variance
        ref = StandardScaler().fit(X_SCALE, sample_weight=weights)
    np.testing.assert_allclose(merged.m2 / merged.weight, ref.var_, rtol=1e-9, atol=1e-20)
    state = scalers.standard_scaler_state(merged, {}, weighted=weighted)
    np.testing.assert_allclose(state["scale_"], ref.scale_, rtol=1e-9)
    assert state["scale_"][-1] == ref.scale_[-1] == 1.0  # the constant column


def test_scaler_moments_of_no_rows_and_zero_weights_are_the_identity():
    empty = scalers.Moments.empty(X_SCALE.shape[1])
    whole = scalers.column_moments(X_SCALE, W)
    zero = scalers.column_moments(X_SCALE[:5], np.zeros(5))
    for merged in (
        scalers.merge_moments(empty, whole),
        scalers.merge_moments(whole, empty),
        scalers.merge_moments(zero, whole),
    ):
        np.testing.assert_array_equal(merged.mean, whole.mean)
        np.testing.assert_array_equal(merged.m2, whole.m2)
        assert merged.weight == whole.weight
    assert scalers.merge_moments(zero, whole).n == N + 5
    packed = scalers.Moments.unpack(whole.pack())
    for got, want in zip(packed, whole, strict=True):
        np.testing.assert_array_equal(got, want)
