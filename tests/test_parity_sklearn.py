"""Parity: every estimator on the sklearn backend gives scikit-learn's model.

From NumPy the fitted attributes and outputs are bit-identical to
scikit-learn's. From Parquet (loaded column-major) they are bit-identical to
scikit-learn fitted on the same column-major array, and agree to 1e-9
relative (class labels exactly) with scikit-learn on the row-major original.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import cluster, decomposition, linear_model, tree
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

import scaleout as so
from tests.conftest import load_named

CLASSIFICATION = ["breast_cancer", "wine", "digits", "mnist"]
REGRESSION = ["diabetes", "breast_cancer", "wine", "digits", "mnist"]  # labels as numbers
UNSUPERVISED = ["breast_cancer", "wine", "diabetes", "digits", "mnist"]


def _scaled(name: str, task: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_named(name)
    return StandardScaler().fit_transform(X), y.astype(float) if task == "regression" else y


def _pairs(task: str) -> list[tuple[str, object, object, list[str]]]:
    """(id, scaleout estimator, scikit-learn estimator, attributes to compare)."""
    if task == "classification":
        return [
            (
                "logreg",
                so.LogisticRegression(max_iter=200),
                linear_model.LogisticRegression(max_iter=200),
                ["coef_", "intercept_", "classes_"],
            ),
            (
                "tree",
                so.DecisionTreeClassifier(max_depth=8, random_state=0),
                tree.DecisionTreeClassifier(max_depth=8, random_state=0),
                ["classes_"],
            ),
        ]
    if task == "regression":
        return [
            (
                "linreg",
                so.LinearRegression(),
                linear_model.LinearRegression(),
                ["coef_", "intercept_"],
            ),
            (
                "tree",
                so.DecisionTreeRegressor(max_depth=6, random_state=0),
                tree.DecisionTreeRegressor(max_depth=6, random_state=0),
                [],
            ),
        ]
    return [
        (
            "kmeans",
            so.KMeans(5, n_init=1, random_state=0),
            cluster.KMeans(5, n_init=1, random_state=0),
            ["cluster_centers_", "inertia_"],
        ),
        (
            "pca",
            so.PCA(5, random_state=0),
            decomposition.PCA(5, random_state=0),
            ["components_", "explained_variance_", "explained_variance_ratio_", "mean_"],
        ),
    ]


def _methods(model: object) -> list[str]:
    names = ["predict", "predict_proba", "decision_function", "transform"]
    return [m for m in names if hasattr(model, m)]


def _assert_same_outputs(ours: object, ref: object, X: np.ndarray, exact: bool) -> None:
    for method in _methods(ref):
        got, want = getattr(ours, method)(X), getattr(ref, method)(X)
        if exact or (method == "predict" and not np.issubdtype(want.dtype, np.floating)):
            assert_array_equal(got, want, err_msg=method)
        else:
            assert_allclose(got, want, rtol=1e-7, atol=1e-9, err_msg=method)


CASES = (
    [(d, "classification", i) for d in CLASSIFICATION for i in range(2)]
    + [(d, "regression", i) for d in REGRESSION for i in range(2)]
    + [(d, "unsupervised", i) for d in UNSUPERVISED for i in range(2)]
)


@pytest.mark.parametrize(
    ("dataset", "task", "index"), CASES, ids=[f"{d}-{t}-{i}" for d, t, i in CASES]
)
def test_numpy_input_is_bit_identical(dataset: str, task: str, index: int) -> None:
    X, y = _scaled(dataset, task)
    _, ours, ref, attrs = _pairs(task)[index]
    target = None if task == "unsupervised" else y
    ours.fit(X, target)
    ref.fit(X, target)
    assert ours.backend_ == "sklearn"
    assert ours.fit_stats_["rows"] == X.shape[0]
    assert ours.n_features_in_ == X.shape[1]
    for attr in attrs:
        assert_array_equal(getattr(ours, attr), getattr(ref, attr), err_msg=attr)
    if hasattr(ref, "tree_"):
        assert_array_equal(ours.tree_.threshold, ref.tree_.threshold)
        assert_array_equal(ours.tree_.value, ref.tree_.value)
    _assert_same_outputs(ours, ref, X, exact=True)
    _assert_same_outputs(ours.to_sklearn(), ref, X, exact=True)


@pytest.mark.parametrize(
    ("dataset", "task", "index"), CASES, ids=[f"{d}-{t}-{i}" for d, t, i in CASES]
)
def test_parquet_input_gives_same_model(dataset: str, task: str, index: int, parquet_of) -> None:
    """From Parquet: bit-identical to scikit-learn on the same (column-major) array, and
    within 1e-9 of scikit-learn on the row-major original."""
    X, y = _scaled(dataset, task)
    _, ours, ref, attrs = _pairs(task)[index]
    ref_c = clone(ref)
    supervised = task != "unsupervised"
    path = parquet_of(X, y if supervised else None)
    ours.fit(so.read_parquet(path, target="y" if supervised else None))
    X_f = np.asfortranarray(X)  # the loader fills column-major arrays (faster from Arrow)
    ref.fit(X_f, y) if supervised else ref.fit(X_f)
    ref_c.fit(X, y) if supervised else ref_c.fit(X)
    assert list(ours.feature_names_in_) == [f"x{j}" for j in range(X.shape[1])]
    assert ours.fit_stats_["rows"] == X.shape[0]
    for attr in attrs:
        assert_array_equal(getattr(ours, attr), getattr(ref, attr), err_msg=attr)
        assert_allclose(getattr(ours, attr), getattr(ref_c, attr), rtol=1e-9, atol=1e-12)
    _assert_same_outputs(ours, ref, X, exact=True)
    _assert_same_outputs(ours, ref_c, X, exact=False)


def test_multinomial_logistic_regression_on_wine_has_three_rows() -> None:
    X, y = _scaled("wine", "classification")
    model = so.LogisticRegression().fit(X, y)
    assert model.coef_.shape == (3, 13)
    assert_array_equal(model.classes_, [0, 1, 2])
    proba = model.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_pipeline_pca_logreg_matches_sklearn_pipeline() -> None:
    from sklearn.pipeline import make_pipeline as sk_make_pipeline

    X, y = load_named("digits")
    ours = so.make_pipeline(so.PCA(30, random_state=0), so.LogisticRegression(max_iter=500))
    ref = sk_make_pipeline(
        decomposition.PCA(30, random_state=0), linear_model.LogisticRegression(max_iter=500)
    )
    ours.fit(X, y)
    ref.fit(X, y)
    assert [name for name, _ in ours.steps] == ["pca", "logisticregression"]
    assert ours.backend_ == "sklearn"
    assert all(step.backend_ == "sklearn" for _, step in ours.steps)
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_array_equal(ours.to_sklearn().predict(X), ref.predict(X))
    assert ours.score(X, y) == ref.score(X, y)


def test_sklearn_pipeline_holding_scaleout_estimators() -> None:
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    X, y = load_named("iris")
    pipe = Pipeline([("pca", so.PCA(2)), ("clf", so.LogisticRegression())])
    ref = Pipeline([("pca", decomposition.PCA(2)), ("clf", linear_model.LogisticRegression())])
    assert_array_equal(cross_val_score(pipe, X, y, cv=3), cross_val_score(ref, X, y, cv=3))
