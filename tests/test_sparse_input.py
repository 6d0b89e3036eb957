"""SciPy sparse input on the sklearn engine (issue 12, point 4, first half).

The sklearn engine hands the sparse matrix to scikit-learn as it is, so a
scaleout estimator fitted on sparse data is scikit-learn's model on the same
data: the parity tolerance here is rtol=1e-12 (the same computation on the
same object; in practice the results are bitwise equal). The out-of-core
engines refuse sparse input with ``UnsupportedOnBackend`` before any work,
``backend="auto"`` picks the sklearn engine for it, and nothing on the way
densifies it (a 200,000 x 50,000 matrix fits in a few MB).
"""

from __future__ import annotations

import re
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from sklearn import cluster, decomposition, linear_model, tree
from sklearn.compose import make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, OneHotEncoder, StandardScaler
from sklearn.utils import get_tags

import scaleout as so
from scaleout.backends.dask import DaskBackend
from scaleout.backends.spark import SparkBackend
from scaleout.engines import available_backends
from scaleout.exceptions import DataError, UnsupportedOnBackend

RTOL = 1e-12  # same scikit-learn code on the same sparse object
ATOL = 1e-12

# scaleout class, scikit-learn class, parameters, supervised kind ("class", "reg", None)
ESTIMATORS: list[tuple[type, type, dict[str, Any], str | None]] = [
    (so.LinearRegression, linear_model.LinearRegression, {}, "reg"),
    (so.LogisticRegression, linear_model.LogisticRegression, {"max_iter": 500}, "class"),
    (so.DecisionTreeClassifier, tree.DecisionTreeClassifier, {"random_state": 0}, "class"),
    (so.DecisionTreeRegressor, tree.DecisionTreeRegressor,
     {"random_state": 0, "max_depth": 6}, "reg"),
    (so.KMeans, cluster.KMeans, {"n_clusters": 3, "n_init": 2, "random_state": 0}, None),
    (so.PCA, decomposition.PCA, {"n_components": 3, "random_state": 0}, None),
]
IDS = [ours.__name__ for ours, *_ in ESTIMATORS]

#: The sparse containers: both class families, the three kept formats.
CONTAINERS = [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.csc_array, sp.coo_matrix,
              sp.coo_array]
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform",
           "score_samples", "apply")


def _data(n: int = 300, p: int = 40, seed: int = 0) -> tuple[sp.csr_array, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, p), density=0.15, format="csr", rng=rng)
    X.data = rng.normal(size=X.nnz)
    score = X @ rng.normal(size=p)
    targets = {
        "reg": score + 0.1 * rng.normal(size=n),
        "class": np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])),  # 3 classes
        None: None,
    }
    return X, targets


X_CSR, TARGETS = _data()
WEIGHTS = np.random.default_rng(1).uniform(0.2, 2.0, size=X_CSR.shape[0])


def _fit(estimator: Any, X: Any, kind: str | None, sample_weight: Any = None) -> Any:
    if kind is None and isinstance(estimator, (so.PCA, decomposition.PCA)):
        return estimator.fit(X)  # PCA.fit takes no sample_weight
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    return estimator.fit(X, TARGETS[kind], **kwargs)


def _assert_same_model(ours: Any, theirs: Any) -> None:
    """Every fitted attribute of the scaleout model equals scikit-learn's; dense arrays."""
    for name in type(ours)._fitted_attrs:
        if name == "tree_":
            for field in ("children_left", "children_right", "feature", "threshold", "value"):
                np.testing.assert_allclose(getattr(ours.tree_, field),
                                           getattr(theirs.tree_, field), rtol=RTOL, atol=ATOL)
            continue
        if not hasattr(theirs, name):  # e.g. LinearRegression's rank_: dense input only
            assert not hasattr(ours, name), name
            continue
        value = getattr(ours, name)
        assert not sp.issparse(value), name
        np.testing.assert_allclose(value, getattr(theirs, name), rtol=RTOL, atol=ATOL,
                                   err_msg=name)


def _same_result(ours: Any, theirs: Any, X: Any, what: str) -> bool:
    """``ours(X)`` equals ``theirs(X)``, or raises scikit-learn's own refusal of sparse X."""
    try:
        expected = theirs(X)
    except TypeError as exc:
        assert "Sparse data was passed" in str(exc)
        with pytest.raises(TypeError, match=re.escape(str(exc))):
            ours(X)
        return False
    np.testing.assert_allclose(ours(X), expected, rtol=RTOL, atol=ATOL, err_msg=what)
    return True


def _assert_same_outputs(ours: Any, theirs: Any, X: Any, kind: str | None) -> int:
    """Every prediction method both have gives the same result; returns how many ran.

    Where scikit-learn refuses sparse X (PCA's score_samples), the scaleout
    model raises the same error.
    """
    ran = 0
    for method in METHODS:
        if hasattr(theirs, method) and hasattr(ours, method):
            ran += _same_result(getattr(ours, method), getattr(theirs, method), X, method)
    if isinstance(ours, so.PCA) and sp.issparse(X):
        return ran  # scikit-learn's PCA.score refuses sparse X (checked above)
    if kind is not None:
        np.testing.assert_allclose(
            ours.score(X, TARGETS[kind], sample_weight=WEIGHTS),
            theirs.score(X, TARGETS[kind], sample_weight=WEIGHTS), rtol=RTOL,
        )
        ran += 1
    elif isinstance(ours, so.KMeans):
        np.testing.assert_allclose(ours.score(X, sample_weight=WEIGHTS),
                                   theirs.score(X, sample_weight=WEIGHTS), rtol=RTOL)
        ran += 1
    else:
        np.testing.assert_allclose(ours.score(X), theirs.score(X), rtol=RTOL)
        ran += 1
    return ran


# ---------------------------------------------------------------- parity
@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_sparse_fit_equals_scikit_learn(ours, theirs, params, kind, container):
    X = container(X_CSR)
    model = _fit(ours(**params), X, kind)
    reference = _fit(theirs(**params), X, kind)
    assert model.backend_ == "sklearn" and model.fit_stats_["decided_by"] == "input type"
    assert model.n_features_in_ == 40 and not hasattr(model, "feature_names_in_")
    _assert_same_model(model, reference)
    assert _assert_same_outputs(model, reference, X, kind) >= (1 if ours is so.PCA else 2)


@pytest.mark.parametrize(("ours", "theirs", "params", "kind"),
                         [e for e in ESTIMATORS if e[0] is not so.PCA],
                         ids=[i for i in IDS if i != "PCA"])
def test_sparse_fit_with_sample_weight_equals_scikit_learn(ours, theirs, params, kind):
    X = sp.csr_array(X_CSR)
    model = _fit(ours(**params), X, kind, sample_weight=WEIGHTS)
    reference = _fit(theirs(**params), X, kind, sample_weight=WEIGHTS)
    _assert_same_model(model, reference)
    _assert_same_outputs(model, reference, X, kind)
    # the weights matter: unweighted is another model
    unweighted = _fit(theirs(**params), X, kind)
    if "tree_" in ours._fitted_attrs:
        assert model.tree_.weighted_n_node_samples[0] == pytest.approx(WEIGHTS.sum(), rel=1e-12)
        assert unweighted.tree_.weighted_n_node_samples[0] == 300
    else:
        name = "cluster_centers_" if ours is so.KMeans else "coef_"
        assert not np.allclose(getattr(model, name), getattr(unweighted, name), rtol=1e-6)


@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_dense_fit_predicts_sparse_and_sparse_fit_predicts_dense(ours, theirs, params, kind):
    dense = X_CSR.toarray()  # 300 x 40: small
    on_dense, ref_dense = _fit(ours(**params), dense, kind), _fit(theirs(**params), dense, kind)
    on_sparse, ref_sparse = _fit(ours(**params), X_CSR, kind), _fit(theirs(**params), X_CSR, kind)
    _assert_same_outputs(on_dense, ref_dense, sp.csr_matrix(X_CSR), kind)
    _assert_same_outputs(on_sparse, ref_sparse, dense, kind)


@pytest.mark.skipif("dask" not in available_backends(), reason="dask is not installed")
@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_a_model_fitted_out_of_core_predicts_sparse_rows(ours, theirs, params, kind):
    dense = X_CSR.toarray()
    with so.config_context(dask_scheduler="threads", progress=False):
        model = _fit(ours(backend="dask", **params), dense, kind)
    assert model.backend_ == "dask"
    reference = model.to_sklearn()  # the same fitted state, in scikit-learn
    compared = 0
    for method in METHODS:
        if hasattr(model, method):
            # sparse rows: as scikit-learn predicts them with that state, and as dense rows
            if _same_result(getattr(model, method), getattr(reference, method), X_CSR, method):
                np.testing.assert_allclose(getattr(model, method)(X_CSR),
                                           getattr(model, method)(dense), rtol=1e-10,
                                           atol=1e-10, err_msg=method)
                compared += 1
    assert compared >= 1


def test_other_formats_become_csr_and_other_dtypes_float64():
    ints = sp.random_array((50, 6), density=0.4, format="csr", rng=np.random.default_rng(2),
                           dtype=np.int64, data_sampler=lambda size: np.arange(1, size + 1))
    assert ints.dtype.kind == "i"
    y = np.arange(50) % 2
    reference = linear_model.LogisticRegression().fit(ints, y)
    for fmt in ("dok", "lil", "dia", "bsr"):
        model = so.LogisticRegression().fit(ints.asformat(fmt), y)
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10)
        np.testing.assert_array_equal(model.predict(ints.asformat(fmt)), reference.predict(ints))
    wide = sp.csr_matrix(X_CSR)
    wide.indices, wide.indptr = wide.indices.astype(np.int64), wide.indptr.astype(np.int64)
    model = so.LinearRegression().fit(wide, TARGETS["reg"])
    reference = linear_model.LinearRegression().fit(wide, TARGETS["reg"])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------- nothing densified
def _spy_on_fit(monkeypatch: pytest.MonkeyPatch, cls: type) -> list[Any]:
    seen: list[Any] = []
    original = cls.fit

    def fit(self, X, *args, **kwargs):
        seen.append(X)
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(cls, "fit", fit)
    return seen


@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_the_engine_hands_scikit_learn_the_sparse_object_itself(
    monkeypatch, ours, theirs, params, kind
):
    seen = _spy_on_fit(monkeypatch, theirs)
    X = sp.csc_matrix(X_CSR)
    _fit(ours(**params), X, kind)
    assert len(seen) == 1 and seen[0] is X  # not a copy, not a dense array
    lil = X.tolil()
    _fit(ours(**params), lil, kind)
    assert sp.issparse(seen[1]) and seen[1].format == "csr"  # one conversion, still sparse


def test_a_sparse_matrix_of_80_gb_dense_fits_in_megabytes():
    rng = np.random.default_rng(0)
    n, p, nnz = 200_000, 50_000, 1_000_000  # 0.01% density; dense: 80 GB of float64
    X = sp.csr_matrix(
        (rng.normal(size=nnz), (rng.integers(0, n, nnz), rng.integers(0, p, nnz))), shape=(n, p)
    )
    y = X @ rng.normal(size=p) + 0.01 * rng.normal(size=n)
    decision = so.explain(so.LinearRegression(), X, y)
    assert decision.backend == "sklearn" and decision.rule == "input type"
    assert decision.estimated_nbytes < 20e6  # values + indices + y, not n * p * 8
    tracemalloc.start()
    try:
        model = so.LinearRegression().fit(X, y)
        predicted = model.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the matrix holds 12.8 MB (measured peak: 14.5 MB); a dense copy would be 80,000 MB
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"
    reference = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(predicted, reference.predict(X), rtol=1e-9, atol=1e-9)


# ------------------------------------- scikit-learn's Pipeline + ColumnTransformer
def _table(n: int = 400, seed: int = 3) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    carriers = np.array([f"c{i:02d}" for i in range(30)])
    df = pd.DataFrame({
        "carrier": rng.choice(carriers, n),
        "origin": rng.choice(["BOS", "JFK", "SFO", "ORD"], n),
        "x": rng.normal(size=n),
    })
    effect = dict(zip(carriers, rng.normal(size=30), strict=True))
    score = df["carrier"].map(effect).to_numpy() + df["x"].to_numpy()
    return df, {"reg": score + 0.1 * rng.normal(size=n),
                "class": np.digitize(score, np.quantile(score, [0.4, 0.7])), None: None}


def _column_transformer() -> Any:
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["carrier", "origin"]),
        (StandardScaler(), ["x"]),
        sparse_threshold=1.0,
    )


@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_sklearn_pipeline_with_column_transformer_and_a_scaleout_estimator(
    ours, theirs, params, kind
):
    df, targets = _table()
    encoded = _column_transformer().fit_transform(df)
    assert sp.issparse(encoded) and encoded.shape == (400, 30 + 4 + 1)
    pipe = make_pipeline(_column_transformer(), ours(**params))
    reference = make_pipeline(_column_transformer(), theirs(**params))
    y = targets[kind]
    pipe.fit(df, y)
    reference.fit(df, y)
    final = pipe[-1]
    assert final.backend_ == "sklearn" and final.n_features_in_ == 35
    _assert_same_model(final, reference[-1])
    new = _table(50, seed=4)[0]  # other rows, an unseen carrier level or two
    compared = 0
    for method in METHODS:
        if hasattr(reference, method) and hasattr(pipe, method):
            compared += _same_result(getattr(pipe, method), getattr(reference, method), new, method)
    assert compared >= 1
    if kind is not None:
        assert pipe.score(df, y) == pytest.approx(reference.score(df, y), rel=RTOL)


def test_scaleout_pipeline_on_sparse_input_runs_on_the_sklearn_engine():
    pipe = so.make_pipeline(MaxAbsScaler(), so.LogisticRegression(max_iter=500))
    reference = make_pipeline(MaxAbsScaler(), linear_model.LogisticRegression(max_iter=500))
    y = TARGETS["class"]
    pipe.fit(X_CSR, y)
    reference.fit(X_CSR, y)
    assert pipe.backend_ == "sklearn" and pipe.fit_stats_["decided_by"] == "input type"
    np.testing.assert_allclose(pipe.predict_proba(X_CSR), reference.predict_proba(X_CSR),
                               rtol=RTOL, atol=ATOL)


def test_incremental_streams_sparse_batches():
    y = TARGETS["class"]
    model = so.Incremental(SGDClassifier(random_state=0), batch_rows=70).fit(
        sp.coo_matrix(X_CSR), y
    )
    reference = SGDClassifier(random_state=0)
    for start in range(0, 300, 70):
        reference.partial_fit(X_CSR[start:start + 70], y[start:start + 70], classes=[0, 1, 2])
    assert model.fit_stats_["batches"] == 5
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------- the engines
def test_auto_picks_the_sklearn_engine_and_explain_says_why():
    decision = so.explain(so.KMeans(3), sp.coo_array(X_CSR))
    assert decision.backend == "sklearn" and decision.rule == "input type"
    assert "input type: SciPy sparse features in memory; 'sklearn' fits them sparse" in str(
        decision
    )
    assert "scipy.sparse coo_array of shape (300, 40)" in decision.data
    # a config choice still comes first, and is then refused with the reason
    with so.config_context(backend="dask"):
        assert so.explain(so.KMeans(3), X_CSR).rule == "config"
        with pytest.raises(UnsupportedOnBackend, match="backend 'dask'"):
            so.KMeans(3).fit(X_CSR)


#: The installed engines that refuse sparse input (getting one needs its packages).
OUT_OF_CORE = [name for name in ("dask", "spark") if name in available_backends()]


def _refuse_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the engine started fitting sparse input")

    for cls in (DaskBackend, SparkBackend):
        monkeypatch.setattr(cls, "fit", fail)
        monkeypatch.setattr(cls, "fit_pipeline", fail)


@pytest.mark.parametrize("engine", OUT_OF_CORE)
@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_out_of_core_engines_refuse_sparse_input_before_any_work(
    monkeypatch, engine, ours, theirs, params, kind
):
    _refuse_work(monkeypatch)
    with pytest.raises(UnsupportedOnBackend) as caught:
        _fit(ours(backend=engine, **params), sp.csr_array(X_CSR), kind)
    assert str(caught.value) == (
        f"{ours.__name__}.fit on sparse input (in-memory scipy.sparse csr_array of shape "
        f"(300, 40), {X_CSR.nnz:,} stored values) is not supported by backend {engine!r}: its "
        "engine reads dense rows, and densifying could exhaust memory. Supported: dense input "
        f"(NumPy, pandas, Parquet, CSV, .npy) on backend {engine!r}, or sparse input on "
        "backend 'sklearn' (backend='auto' picks it for sparse input)."
    )


@pytest.mark.parametrize("engine", OUT_OF_CORE)
def test_out_of_core_pipelines_refuse_sparse_input_before_any_work(monkeypatch, engine):
    _refuse_work(monkeypatch)
    pipe = so.make_pipeline(so.PCA(3), so.LogisticRegression(), backend=engine)
    with pytest.raises(UnsupportedOnBackend, match=rf"PCA\.fit on sparse input .* {engine!r}"):
        pipe.fit(X_CSR, TARGETS["class"])


def test_a_pca_solver_scikit_learn_runs_dense_only_is_named():
    for solver in ("full", "randomized"):
        with pytest.raises(UnsupportedOnBackend) as caught:
            so.PCA(3, svd_solver=solver).fit(X_CSR)
        assert str(caught.value) == (
            f"PCA(svd_solver={solver!r}) does not take sparse input on backend 'sklearn' "
            "(scikit-learn's PCA refuses it); with sparse input, supported svd_solver: "
            "'auto', 'arpack', 'covariance_eigh'"
        )
    with pytest.raises(TypeError, match="PCA only support sparse inputs"):  # scikit-learn's
        decomposition.PCA(3, svd_solver="full").fit(X_CSR)
    # a dense-fitted PCA of any solver transforms sparse rows, as scikit-learn's does
    dense = X_CSR.toarray()
    model = so.PCA(3, svd_solver="full").fit(dense)
    reference = decomposition.PCA(3, svd_solver="full").fit(dense)
    np.testing.assert_allclose(model.transform(X_CSR), reference.transform(X_CSR), rtol=1e-10,
                               atol=1e-12)
    projected = sp.csr_matrix(reference.transform(dense))
    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is"):
        reference.inverse_transform(projected)
    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is"):
        model.inverse_transform(projected)  # scikit-learn's answer, not a NumPy one


@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_sparse_tag_is_honest_per_engine(ours, theirs, params, kind):
    assert get_tags(ours(**params)).input_tags.sparse is True
    assert get_tags(ours(backend="sklearn", **params)).input_tags.sparse is True
    assert get_tags(theirs(**params)).input_tags.sparse is True
    for engine in ("dask", "spark"):
        assert get_tags(ours(backend=engine, **params)).input_tags.sparse is False
    with so.config_context(backend="spark"):
        assert get_tags(ours(**params)).input_tags.sparse is False
    assert get_tags(ours(backend="nope", **params)).input_tags.sparse is False


def test_pipeline_sparse_tag_follows_its_engine():
    steps = (MaxAbsScaler(), so.LogisticRegression())
    assert get_tags(so.make_pipeline(*steps)).input_tags.sparse is True
    assert get_tags(so.make_pipeline(*steps, backend="dask")).input_tags.sparse is False
    assert get_tags(so.make_pipeline(so.PCA(svd_solver="full"), so.LogisticRegression())
                    ).input_tags.sparse is False


def test_pca_sparse_tag_follows_the_solver_as_scikit_learns():
    for solver in ("auto", "arpack", "covariance_eigh", "full", "randomized"):
        expected = get_tags(decomposition.PCA(svd_solver=solver)).input_tags.sparse
        assert get_tags(so.PCA(svd_solver=solver)).input_tags.sparse is expected
        assert expected is (solver in ("auto", "arpack", "covariance_eigh"))


# ---------------------------------------------------------------- bad input
def test_bad_sparse_values_are_named():
    bad = X_CSR.tolil()
    bad[7, 5] = np.inf
    with pytest.raises(DataError, match=r"infinity: column 'x5' \(feature 5\), row 7"):
        so.LinearRegression().fit(bad, TARGETS["reg"])
    big = sp.csc_matrix(X_CSR, copy=True)
    big.data[big.indptr[3]] = 1e150
    row = int(big.indices[big.indptr[3]])
    with pytest.raises(DataError, match=rf"X column 'x3' \(feature 3\).*1e\+150, row {row}\b"):
        so.LinearRegression().fit(big, TARGETS["reg"])
    named = so.DecisionTreeRegressor().fit(pd.DataFrame(X_CSR[:, :3].toarray(),
                                                         columns=["a", "b", "c"]),
                                           TARGETS["reg"])
    beyond = sp.coo_array(([1e39], ([0], [2])), shape=(1, 3))
    with pytest.raises(DataError, match=r"column 'c' \(feature 2\).*float32's range"):
        named.predict(beyond)
    with pytest.raises(DataError, match=r"float32's range"):
        so.DecisionTreeRegressor().fit(sp.csr_matrix(beyond.toarray().repeat(3, 0)), [1, 2, 3])
    with pytest.raises(DataError, match=r"Found array with 0 feature\(s\)"):
        so.KMeans(2).fit(sp.csr_matrix((5, 0)))
    with pytest.raises(DataError, match=r"Expected a 2D sparse matrix, got a 1D coo_array"):
        so.KMeans(2).fit(sp.coo_array(np.ones(4)))
    with pytest.raises(DataError, match=r"X has 39 features, but LinearRegression is expecting 40"):
        so.LinearRegression().fit(X_CSR, TARGETS["reg"]).predict(X_CSR[:, 1:])
    with pytest.raises(DataError, match=r"Complex data not supported"):
        so.LinearRegression().fit(sp.csr_matrix(X_CSR * 1j), TARGETS["reg"])


# ------------------------------------------------------------- persistence
@pytest.mark.parametrize(("ours", "theirs", "params", "kind"), ESTIMATORS, ids=IDS)
def test_models_fitted_on_sparse_save_load_and_convert(tmp_path, ours, theirs, params, kind):
    model = _fit(ours(**params), X_CSR, kind)
    loaded = so.load(model.save(str(tmp_path / "m.scaleout")))
    converted = model.to_sklearn()
    assert type(converted) is theirs
    for method in METHODS:
        if hasattr(model, method):
            try:
                expected = getattr(model, method)(X_CSR)
            except TypeError:  # scikit-learn's refusal (PCA.score_samples): the same after
                with pytest.raises(TypeError, match="Sparse data was passed"):
                    getattr(loaded, method)(X_CSR)
                continue
            # the arrays read back may differ in memory layout: BLAS sums in another order
            np.testing.assert_allclose(getattr(loaded, method)(X_CSR), expected, rtol=1e-13,
                                       atol=1e-15, err_msg=method)
            if hasattr(converted, method):
                with sklearn.config_context(assume_finite=True):
                    np.testing.assert_array_equal(getattr(converted, method)(X_CSR), expected)


def test_linear_regression_on_sparse_has_no_rank_as_scikit_learn():
    model = so.LinearRegression().fit(X_CSR, TARGETS["reg"])
    assert not hasattr(model, "rank_") and not hasattr(model, "singular_")
    dense = so.LinearRegression().fit(X_CSR.toarray(), TARGETS["reg"])
    assert dense.rank_ == 40
    np.testing.assert_allclose(model.coef_, dense.coef_, atol=1e-6)  # lsqr vs lstsq


def test_convergence_warnings_pass_through():
    with pytest.warns(ConvergenceWarning):
        so.LogisticRegression(max_iter=1).fit(X_CSR, TARGETS["class"])
