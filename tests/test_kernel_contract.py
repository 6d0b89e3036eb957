"""The kernel contract: engine named by the caller, the pass plan, the per-chunk store."""

from __future__ import annotations

import operator
import os

import numpy as np
import pytest

import scaleout as so
from scaleout.exceptions import UnsupportedOnBackend
from scaleout.kernels import kmeans, linear, logistic, pca, tree
from scaleout.kernels.passes import ChunkStore, InMemoryPasses


@pytest.mark.parametrize(
    ("check", "params", "expected"),
    [
        (
            logistic.check_logistic_params,
            {"penalty": "l1"},
            "LogisticRegression(penalty='l1') is not supported by backend 'engine4'; supported",
        ),
        (linear.check_linear_params, {"positive": "yes"}, "by backend 'engine4'; supported"),
        (
            kmeans.check_kmeans_params,
            {"algorithm": "elkan"},
            "KMeans(algorithm='elkan') is not supported by backend 'engine4'; supported: 'lloyd'",
        ),
        (
            pca.check_pca_params,
            {"n_components": "mle"},
            "PCA(n_components='mle') is not supported by backend 'engine4'",
        ),
        (
            lambda params, backend: tree.check_tree_params(
                params, classifier=True, backend=backend
            ),
            {"splitter": "random"},
            "DecisionTreeClassifier(splitter='random') is not supported by backend 'engine4'",
        ),
    ],
)
def test_checks_name_the_engine_they_are_given(check, params, expected):
    with pytest.raises(UnsupportedOnBackend) as info:
        check(params, backend="engine4")
    assert expected in str(info.value)


def test_the_plan_decides_when_chunks_are_kept():
    passes = InMemoryPasses.from_arrays(np.zeros((10, 2)), chunk_rows=5)
    assert not passes.keeps_chunks()  # no plan: one pass, nothing kept
    passes.expect_passes(1)
    assert not passes.keeps_chunks()
    passes.expect_passes(2)
    assert passes.keeps_chunks()
    passes.expect_passes(None)
    assert passes.keeps_chunks()
    fresh = InMemoryPasses.from_arrays(np.zeros((10, 2)), chunk_rows=5)
    fresh.map_reduce(len, label="first")
    assert fresh.keeps_chunks()  # a second pass is being asked for


def test_stores_get_their_share_of_the_budget_and_are_released():
    passes = InMemoryPasses.from_arrays(np.zeros((100, 2)), chunk_rows=25)
    with so.config_context(memory_budget=4000, progress=False):
        kept = passes.map_reduce(
            lambda batch, store: [store.put("a", np.zeros(100))],  # 800 bytes each
            label="store",
            combine=operator.add,  # list concatenation
            with_store=True,
        )
    assert kept == [True, True, True, True]
    assert [s.allowance for s in passes.stores] == [1000] * 4
    assert [s.nbytes for s in passes.stores] == [800] * 4
    passes.close()
    assert passes.stores is None


def test_chunk_store_spills_beyond_its_allowance(tmp_path):
    made = []

    def directory():
        made.append(tmp_path)
        return str(tmp_path)

    store = ChunkStore(100, directory, "c0.")
    small, large = np.arange(10, dtype=np.int64), np.arange(50.0)
    assert store.put("small", small) and store.nbytes == 80
    assert made == []  # no directory until something spills
    assert store.put("large", large)
    assert os.listdir(tmp_path) == ["c0.large.npy"] and store.spilled_bytes == 400
    np.testing.assert_array_equal(store.get("large"), large)
    assert store.get_or_compute("other", lambda: (1, 2)) == (1, 2)  # charged 0 bytes
    assert len(store) == 3
    store.put("small", np.zeros(2))  # replacing frees the old value's bytes
    assert store.nbytes == 16
    store.clear()
    assert os.listdir(tmp_path) == [] and len(store) == 0 and store.nbytes == 0


def test_chunk_store_without_spill_dir_does_not_keep_what_does_not_fit():
    store = ChunkStore(10)
    assert not store.put("x", np.zeros(10))
    assert store.get("x") is None and store.get("x", "missing") == "missing"
