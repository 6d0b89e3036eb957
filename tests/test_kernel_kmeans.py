"""The dask engine's out-of-core KMeans kernel against scikit-learn.

The kernel seeds with k-means|| instead of k-means++, so it does not reach
scikit-learn's centres draw for draw; it must reach the same quality (inertia
at most 1% above scikit-learn's on the same data and random_state), the same
centres when the optimum is clear, and exactly scikit-learn's Lloyd step,
empty-cluster relocation and stopping rule from a given init.
"""

from __future__ import annotations

import pickle
from functools import partial

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_wine, make_blobs
from sklearn.metrics import adjusted_rand_score, pairwise_distances
from sklearn.preprocessing import StandardScaler

import scaleout as so
from scaleout.exceptions import DataError, InvalidParameterError, UnsupportedOnBackend
from scaleout.kernels import kmeans as cluster
from scaleout.kernels.kmeans import _ROUNDS, check_kmeans_params, fit_kmeans
from scaleout.kernels.passes import InMemoryPasses, add

#: statistics pass + k-means|| rounds + weights pass.
INIT_PASSES = 1 + _ROUNDS + 1


def _blobs():
    return make_blobs(n_samples=20_000, n_features=10, centers=8, random_state=0)[0]


def _overlapping_blobs():
    return make_blobs(n_samples=20_000, n_features=10, centers=8, cluster_std=3.0, random_state=0)[
        0
    ]


def _digits():
    return load_digits(return_X_y=True)[0].astype(np.float64)


def _wine():
    return StandardScaler().fit_transform(load_wine(return_X_y=True)[0])


# name: (loader, n_clusters, chunk_rows); every chunking leaves an uneven last chunk.
DATASETS = {
    "blobs": (_blobs, 8, 3000),
    "overlapping_blobs": (_overlapping_blobs, 8, 3000),
    "digits": (_digits, 10, 400),
    "wine": (_wine, 3, 50),
}


def _fit_both(X, chunk_rows, **params):
    """(kernel state, sklearn estimator, passes) fitted on the same data."""
    sk = KMeans(**params).fit(X)
    passes = InMemoryPasses.from_arrays(X, chunk_rows=chunk_rows)
    state = fit_kmeans(passes, sk.get_params())
    return state, sk, passes


def _fit(X, chunk_rows, **params):
    """(kernel state, passes) for scikit-learn's KMeans(**params) parameters."""
    passes = InMemoryPasses.from_arrays(X, chunk_rows=chunk_rows)
    return fit_kmeans(passes, KMeans(**params).get_params()), passes


def _matched_distance(a, b):
    """Largest distance between centres after the best one-to-one matching."""
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)  # exact far from 0
    rows, cols = linear_sum_assignment(d)
    return d[rows, cols].max()


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_inertia_within_one_percent_of_sklearn(name, random_state):
    loader, k, chunk_rows = DATASETS[name]
    X = loader()
    state, sk, passes = _fit_both(X, chunk_rows, n_clusters=k, random_state=random_state)
    ratio = state["inertia_"] / sk.inertia_
    print(
        f"{name} random_state={random_state}: inertia ratio {ratio:.5f} "
        f"(n_iter {state['n_iter_']} vs {sk.n_iter_}, {passes.passes} passes)"
    )
    assert ratio <= 1.01
    assert state["cluster_centers_"].shape == (k, X.shape[1])
    assert 1 <= state["n_iter_"] <= 300
    # inertia_ is the cost of the returned centres (sklearn's definition)
    closest = pairwise_distances(X, state["cluster_centers_"], squared=True).min(axis=1)
    np.testing.assert_allclose(state["inertia_"], closest.sum(), rtol=1e-9)
    # labels_: the closest final centre of every row, in row order, int32
    labels = state["labels_"]
    assert labels.dtype == np.int32 and labels.shape == (X.shape[0],)
    d2 = pairwise_distances(X, state["cluster_centers_"], squared=True)
    chosen = d2[np.arange(len(X)), labels]
    np.testing.assert_allclose(chosen, d2.min(axis=1), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_centres_match_sklearn_on_separated_blobs(offset):
    # offset: data far from the origin, fitted on centred chunks
    X = _blobs() + offset
    state, sk, _ = _fit_both(X, 3000, n_clusters=8, random_state=0)
    assert _matched_distance(state["cluster_centers_"], sk.cluster_centers_) < 1e-6
    assert state["inertia_"] == pytest.approx(sk.inertia_, rel=1e-9)


def test_reproducible_for_a_fixed_random_state():
    X = _overlapping_blobs()
    params = KMeans(n_clusters=8, random_state=7).get_params()
    first = fit_kmeans(InMemoryPasses.from_arrays(X, chunk_rows=3000), params)
    second = fit_kmeans(InMemoryPasses.from_arrays(X, chunk_rows=3000), params)
    np.testing.assert_array_equal(first["cluster_centers_"], second["cluster_centers_"])
    assert first["inertia_"] == second["inertia_"]
    assert first["n_iter_"] == second["n_iter_"]


@pytest.mark.parametrize("name", ["overlapping_blobs", "digits"])
def test_init_array_gives_sklearns_lloyd_step(name):
    loader, k, chunk_rows = DATASETS[name]
    X = loader()
    rng = np.random.default_rng(0)
    # rows plus jitter: integer digits at integer centres would tie exactly, and
    # ties are broken by rounding, which differs with the summation order
    init = X[rng.choice(len(X), k, replace=False)] + rng.normal(scale=1e-3, size=(k, X.shape[1]))
    for max_iter in (1, 3):
        state, sk, passes = _fit_both(
            X, chunk_rows, n_clusters=k, init=init, n_init=1, max_iter=max_iter
        )
        np.testing.assert_allclose(
            state["cluster_centers_"], sk.cluster_centers_, rtol=1e-10, atol=1e-10
        )
        assert state["inertia_"] == pytest.approx(sk.inertia_, rel=1e-10)
        assert state["n_iter_"] == sk.n_iter_ == max_iter
        # Lloyd passes (the first also computes the variance) + final inertia
        assert passes.passes == max_iter + 1


def test_init_array_to_convergence_matches_sklearn():
    X = _digits()
    init = X[:10]
    state, sk, passes = _fit_both(X, 400, n_clusters=10, init=init, n_init=1)
    np.testing.assert_allclose(state["cluster_centers_"], sk.cluster_centers_, atol=1e-8)
    assert state["n_iter_"] == sk.n_iter_
    assert state["inertia_"] == pytest.approx(sk.inertia_, rel=1e-10)
    assert passes.passes in (sk.n_iter_, sk.n_iter_ + 1)


def test_empty_cluster_relocated_like_sklearn():
    X = make_blobs(n_samples=3000, n_features=2, centers=2, random_state=1)[0]
    init = np.array([X[0], X[1], [1e3, 1e3]])  # the third centre attracts no row
    for max_iter in (1, 300):
        state, sk, passes = _fit_both(X, 700, n_clusters=3, init=init, n_init=1, max_iter=max_iter)
        np.testing.assert_allclose(state["cluster_centers_"], sk.cluster_centers_, atol=1e-10)
        assert state["n_iter_"] == sk.n_iter_
        assert state["inertia_"] == pytest.approx(sk.inertia_, rel=1e-10)
        if max_iter == 1:
            # Lloyd pass, relocation pass (farthest rows), final inertia pass
            assert passes.passes == 3


def test_n_iter_bounded_by_max_iter_and_passes_counted():
    X = _overlapping_blobs()
    state, passes = _fit(X, 3000, n_clusters=8, random_state=2, max_iter=2, tol=0)
    assert state["n_iter_"] <= 2
    # not converged after 2 iterations: init, 2 Lloyd passes, final inertia pass
    assert state["n_iter_"] == 2
    assert passes.passes == INIT_PASSES + 2 + 1


def test_passes_strict_convergence_skips_the_final_pass():
    X = _blobs()
    state, sk, passes = _fit_both(X, 3000, n_clusters=8, random_state=0, tol=0)
    # tol=0 stops only when the labels stop changing; the last Lloyd pass then
    # measured the inertia of the final centres already, and left their labels
    # in the chunk stores: one more pass only collects them.
    assert passes.passes == INIT_PASSES + state["n_iter_"] + 1
    assert state["inertia_"] == pytest.approx(sk.inertia_, rel=1e-9)
    # the same partition as scikit-learn's (cluster numbers may differ)
    assert adjusted_rand_score(state["labels_"], sk.labels_) == 1.0
    d2 = pairwise_distances(X, state["cluster_centers_"], squared=True)
    np.testing.assert_array_equal(state["labels_"], d2.argmin(axis=1))


def test_passes_tolerance_convergence_adds_the_final_pass():
    X = _blobs()
    state, passes = _fit(X, 3000, n_clusters=8, random_state=0, tol=10.0)
    assert state["n_iter_"] == 1
    assert passes.passes == INIT_PASSES + 1 + 1


def test_random_init_and_n_init():
    X = _overlapping_blobs()
    one = _fit(X, 3000, n_clusters=8, init="random", n_init=1, random_state=3, tol=0)
    four = _fit(X, 3000, n_clusters=8, init="random", n_init=4, random_state=3, tol=0)
    # the first of the four runs is the single run; the best is kept
    assert four[0]["inertia_"] <= one[0]["inertia_"]
    # runs share passes: statistics pass + the longest run's Lloyd passes
    assert four[1].passes <= 1 + 300
    # tol=0: stops when the labels stop changing, with no final inertia pass
    # (one pass collects the labels kept in the chunk stores)
    assert one[1].passes == 1 + one[0]["n_iter_"] + 1
    # the result is a Lloyd fixed point: scikit-learn does not move it
    again = KMeans(n_clusters=8, init=four[0]["cluster_centers_"], n_init=1, tol=0).fit(X)
    np.testing.assert_allclose(again.cluster_centers_, four[0]["cluster_centers_"], atol=1e-9)
    assert again.n_iter_ <= 2  # its first iteration never counts as label-stable
    # 'auto' means 10 runs for init='random', as scikit-learn
    ten = _fit(X, 3000, n_clusters=8, init="random", random_state=3, tol=0)
    assert ten[0]["inertia_"] <= four[0]["inertia_"]


def test_kmeans_plus_plus_n_init_keeps_the_best_run():
    X = _digits()
    one = _fit(X, 400, n_clusters=10, n_init=1, random_state=5)
    three = _fit(X, 400, n_clusters=10, n_init=3, random_state=5)
    assert three[0]["inertia_"] <= one[0]["inertia_"]
    # the three k-means|| seedings run in the same passes
    assert three[1].passes <= INIT_PASSES + 300 + 1


def test_numpy_e_step_gives_the_same_result(monkeypatch):
    X = _overlapping_blobs()
    params = KMeans(n_clusters=8, random_state=1).get_params()
    compiled = fit_kmeans(InMemoryPasses.from_arrays(X, chunk_rows=3000), params)
    monkeypatch.setattr(cluster, "_USE_SKLEARN", False)
    plain = fit_kmeans(InMemoryPasses.from_arrays(X, chunk_rows=3000), params)
    np.testing.assert_allclose(plain["cluster_centers_"], compiled["cluster_centers_"], atol=1e-9)
    assert plain["inertia_"] == pytest.approx(compiled["inertia_"], rel=1e-9)
    assert plain["n_iter_"] == compiled["n_iter_"]


def test_chunk_functions_pickle():
    centers = np.zeros((3, 4))
    fn = partial(cluster._chunk_lloyd, shift=None, tasks=[("lloyd", centers)], stats=True)
    restored = pickle.loads(pickle.dumps(fn))
    X = np.arange(40.0).reshape(10, 4)
    out = restored(InMemoryPasses.from_arrays(X, chunk_rows=10).chunks[0], None)
    assert out["tasks"][0]["counts"].sum() == 10
    assert out["stats"].n == 10


def test_kmeans_parallel_round_keeps_the_rows_of_the_sampling_rule():
    # each row is kept with probability min(1, l * d2 / cost): the combined
    # smallest u / d2 are exactly the rows with u < l * d2 / cost
    X = _wine()
    passes = InMemoryPasses.from_arrays(X, chunk_rows=50)
    candidates, over = X[:2].copy(), 6
    fn = partial(
        cluster._chunk_round,
        shift=None,
        candidates=[candidates],
        seeds=[11],
        round_=1,
        size=3 * over + 50,
    )
    (result,) = passes.map_reduce(fn, label="round", combine=add)
    sample, cost = result["sample"], result["cost"]
    kept = set(sample.tags[sample.keys < over / cost].tolist())
    expected, total = set(), 0.0
    for chunk in passes.chunks:
        d2 = ((chunk.X[:, None, :] - candidates[None]) ** 2).sum(axis=2).min(axis=1)
        u = np.random.default_rng([11, 1, chunk.row_offset]).random(chunk.n_rows)
        expected |= set((np.flatnonzero(u < over * d2 / cost) + chunk.row_offset).tolist())
        total += d2.sum()
    assert cost == pytest.approx(total, rel=1e-10)
    assert kept == expected
    assert 0 < len(kept) <= 3 * over


def _chunk_stats(batch):
    return cluster._Stats.of(batch.X)


def test_statistics_merge_matches_numpy():
    X = _wine() * 10.0 + 1e6  # Chan's merge keeps the variance far from the origin
    passes = InMemoryPasses.from_arrays(X, chunk_rows=37)
    stats = passes.map_reduce(_chunk_stats, label="stats", combine=add)
    np.testing.assert_allclose(stats.mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(stats.var, X.var(axis=0), rtol=1e-9)


@pytest.mark.parametrize(
    ("option", "value", "supported"),
    [
        ("algorithm", "elkan", "'lloyd'"),
        ("init", "foo", "'k-means++'"),
        ("init", len, "'random'"),
        ("init", np.zeros(3), "an array of shape (n_clusters, n_features)"),
    ],
)
def test_unsupported_options_raise(option, value, supported):
    params = KMeans().get_params()
    params[option] = value
    with pytest.raises(UnsupportedOnBackend) as info:
        check_kmeans_params(params)
    message = str(info.value)
    assert f"KMeans({option}=" in message
    assert "backend 'dask'" in message
    assert supported in message
    with pytest.raises(UnsupportedOnBackend):
        fit_kmeans(InMemoryPasses.from_arrays(np.zeros((10, 3))), params)


def test_supported_options_pass_the_check():
    for params in (
        KMeans().get_params(),
        KMeans(init="random", n_init=3, verbose=1, copy_x=False).get_params(),
        KMeans(n_clusters=2, init=np.zeros((2, 3))).get_params(),
    ):
        check_kmeans_params(params)


def test_bad_input_raises():
    X = np.arange(20.0).reshape(5, 4)
    with pytest.raises(DataError, match="n_samples=5 should be >= n_clusters=8"):
        fit_kmeans(InMemoryPasses.from_arrays(X), KMeans(n_clusters=8).get_params())
    with pytest.raises(InvalidParameterError, match="number of clusters 3"):
        fit_kmeans(
            InMemoryPasses.from_arrays(X), KMeans(n_clusters=3, init=np.zeros((2, 4))).get_params()
        )
    with pytest.raises(InvalidParameterError, match="number of features of the data 4"):
        fit_kmeans(
            InMemoryPasses.from_arrays(X), KMeans(n_clusters=2, init=np.zeros((2, 3))).get_params()
        )
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        fit_kmeans(
            InMemoryPasses.from_arrays(X), KMeans(n_clusters=2, init=X[:2], n_init=3).get_params()
        )


def test_labels_beyond_the_memory_budget_are_left_out_with_a_warning():
    X = _wine()
    params = KMeans(n_clusters=3, random_state=0).get_params()
    with (
        so.config_context(memory_budget=4 * len(X) - 1),
        pytest.warns(UserWarning, match=r"labels_ \(4 bytes per row.*not computed.*predict\(\)"),
    ):
        state = fit_kmeans(InMemoryPasses.from_arrays(X, chunk_rows=50), params)
    assert "labels_" not in state
    with so.config_context(memory_budget=4 * len(X)):
        state = fit_kmeans(InMemoryPasses.from_arrays(X, chunk_rows=50), params)
    assert state["labels_"].shape == (len(X),)
