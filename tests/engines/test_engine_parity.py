"""Every estimator x every installed engine x several data sets: the model is
scikit-learn's on the same data, within the engine's tolerance
(tests/engines/tolerances.py), from NumPy and from Parquet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import cluster, decomposition, linear_model, pipeline, preprocessing, tree
from sklearn.base import clone

import scaleout as so
from scaleout.exceptions import DataError
from tests.engines.conftest import load
from tests.engines.tolerances import Tolerance, tolerance

# Both sides minimise the same objective to a tight tolerance (the engines' stopping
# rules differ; at their default tol they stop at different distances from the optimum).
LOGISTIC = {"tol": 1e-8, "max_iter": 5000}
# A pipeline is compared by accuracy (0.5%): no need of the optimum's last digits.
PIPELINE_LOGISTIC = {"tol": 1e-6, "max_iter": 1000}


def _rel(ours: Any, ref: Any) -> float:
    ours, ref = np.asarray(ours, dtype=float), np.asarray(ref, dtype=float)
    scale = np.linalg.norm(ref)
    return float(np.linalg.norm(ours - ref) / (scale if scale > 0 else 1.0))


# --------------------------------------------------------------------- checks
def check_linear(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert ours.coef_.shape == ref.coef_.shape
    assert _rel(np.append(ours.coef_, ours.intercept_), np.append(ref.coef_, ref.intercept_)) <= (
        tol.coef_rel
    )


def check_logistic(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape  # (1, p) binary, (k, p) multinomial
    assert ours.intercept_.shape == ref.intercept_.shape
    both = (np.column_stack([m.coef_, m.intercept_]) for m in (ours, ref))
    assert _rel(*both) <= tol.coef_rel
    assert np.mean(ours.predict(X) == ref.predict(X)) >= tol.agree
    assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)


def check_tree(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert abs(ours.score(X, y) - ref.score(X, y)) <= tol.score_gap
    assert ours.get_depth() <= ref.max_depth
    assert ours.n_outputs_ == 1
    if hasattr(ref, "classes_"):
        assert_array_equal(ours.classes_, ref.classes_)
        assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)


def check_kmeans(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert ours.cluster_centers_.shape == ref.cluster_centers_.shape
    assert ours.inertia_ <= tol.inertia_ratio * ref.inertia_
    # inertia_ is the inertia of the centres returned, on these rows
    assert ours.inertia_ == pytest.approx(-ours.score(X, sample_weight=sample_weight), rel=1e-6)
    assert ours.n_iter_ >= 1


def check_pca(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert ours.n_components_ == ref.n_components_
    assert ours.n_samples_ == ref.n_samples_
    for attr in ("explained_variance_", "explained_variance_ratio_", "singular_values_"):
        assert _rel(getattr(ours, attr), getattr(ref, attr)) <= tol.variance_rel, attr
    assert_allclose(ours.components_, ref.components_, rtol=0, atol=tol.components_atol)
    assert_allclose(ours.mean_, ref.mean_, rtol=0, atol=tol.components_atol)
    assert ours.noise_variance_ == pytest.approx(
        ref.noise_variance_, rel=tol.variance_rel, abs=1e-9
    )
    width = np.abs(ref.transform(X)).max()
    assert_allclose(ours.transform(X), ref.transform(X), rtol=0, atol=1e-3 * width)


def check_standard_scaler(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    # the row count, or the sum of the sample weights (added in another order)
    assert ours.n_samples_seen_ == pytest.approx(ref.n_samples_seen_, rel=1e-12)
    for attr in ("mean_", "var_", "scale_"):  # None where scikit-learn's is None
        if getattr(ref, attr) is None:
            assert getattr(ours, attr) is None, attr
        else:
            assert _rel(getattr(ours, attr), getattr(ref, attr)) <= tol.moments_rel, attr
    scale = np.ones(X.shape[1]) if ref.scale_ is None else ref.scale_
    if ref.scale_ is not None:  # the same constant columns
        assert_array_equal(ours.scale_ == 1.0, ref.scale_ == 1.0)
    # each column's output moves with its mean's rounding, relative to its spread
    mean = np.zeros(X.shape[1]) if ref.mean_ is None else ref.mean_
    bound = 10 * tol.moments_rel * (1.0 + np.abs(mean) / scale)
    assert np.all(np.abs(ours.transform(X) - ref.transform(X)) <= bound)
    assert_allclose(ours.inverse_transform(ours.transform(X)), X, rtol=1e-12, atol=1e-12)
    assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())


def check_minmax_scaler(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert ours.n_samples_seen_ == ref.n_samples_seen_
    for attr in ("data_min_", "data_max_", "data_range_"):  # exact on every engine
        assert_array_equal(getattr(ours, attr), getattr(ref, attr), attr)
    assert_array_equal(ours.scale_, ref.scale_)
    assert_array_equal(ours.min_, ref.min_)
    assert_array_equal(ours.transform(X), ref.transform(X))


def check_pipeline(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert [name for name, _ in ours.steps] == [name for name, _ in ref.steps]
    assert all(step.backend_ == ours.backend_ for _, step in ours.steps)
    assert abs(ours.score(X, y) - ref.score(X, y)) <= tol.score_gap


def check_pipeline_kmeans(
    ours: Any, ref: Any, X: np.ndarray, y: Any, tol: Tolerance, sample_weight: Any = None
) -> None:
    assert all(step.backend_ == ours.backend_ for _, step in ours.steps)
    assert ours[-1].inertia_ <= tol.inertia_ratio * ref[-1].inertia_
    assert_array_equal(ours[-1].labels_, ours.predict(X))  # labels of the scaled rows


# ---------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One estimator of the suite: how to build it on an engine, and its reference.

    ``key`` is the algorithm (the row of the tolerance table); ``data`` the data
    sets it is fitted on; ``kinds`` the inputs (NumPy, Parquet).
    """

    key: str
    ours: Callable[[str], Any]
    ref: Callable[[], Any]
    check: Callable[..., None]
    data: tuple[str, ...]
    supervised: bool = True
    kinds: tuple[str, ...] = ("numpy", "parquet")
    name: str = ""

    def __str__(self) -> str:
        return self.name or self.key


CASES = (
    Case(
        "LinearRegression",
        lambda e: so.LinearRegression(backend=e),
        linear_model.LinearRegression,
        check_linear,
        ("diabetes", "regression", "collinear", "wide"),
    ),
    Case(
        "LogisticRegression",
        lambda e: so.LogisticRegression(backend=e, **LOGISTIC),
        lambda: linear_model.LogisticRegression(**LOGISTIC),
        check_logistic,
        ("breast_cancer", "binary"),
        name="LogisticRegression-binary",
    ),
    Case(
        "LogisticRegression",
        lambda e: so.LogisticRegression(backend=e, **LOGISTIC),
        lambda: linear_model.LogisticRegression(**LOGISTIC),
        check_logistic,
        ("iris", "wine", "multiclass"),
        name="LogisticRegression-multinomial",
    ),
    Case(
        "DecisionTreeClassifier",
        lambda e: so.DecisionTreeClassifier(max_depth=4, random_state=0, backend=e),
        lambda: tree.DecisionTreeClassifier(max_depth=4, random_state=0),
        check_tree,
        ("breast_cancer", "digits", "binary"),
    ),
    Case(
        "DecisionTreeRegressor",
        lambda e: so.DecisionTreeRegressor(max_depth=4, random_state=0, backend=e),
        lambda: tree.DecisionTreeRegressor(max_depth=4, random_state=0),
        check_tree,
        ("diabetes", "regression"),
    ),
    Case(
        "KMeans",
        lambda e: so.KMeans(3, n_init=3, random_state=0, backend=e),
        lambda: cluster.KMeans(3, n_init=3, random_state=0),
        check_kmeans,
        ("iris", "wine", "blobs"),
        supervised=False,
    ),
    Case(
        "PCA",
        lambda e: so.PCA(4, random_state=0, backend=e),
        lambda: decomposition.PCA(4, random_state=0),
        check_pca,
        ("wine", "digits", "blobs"),
        supervised=False,
    ),
    Case(
        "StandardScaler",
        lambda e: so.StandardScaler(backend=e),
        preprocessing.StandardScaler,
        check_standard_scaler,
        ("raw_wine", "offset", "blobs"),
        supervised=False,
    ),
    Case(
        "MinMaxScaler",
        lambda e: so.MinMaxScaler((-1, 2), backend=e),
        lambda: preprocessing.MinMaxScaler((-1, 2)),
        check_minmax_scaler,
        ("raw_wine", "offset"),
        supervised=False,
    ),
    Case(
        "Pipeline",
        lambda e: so.make_pipeline(
            so.StandardScaler(), so.LogisticRegression(**PIPELINE_LOGISTIC), backend=e
        ),
        lambda: pipeline.make_pipeline(
            preprocessing.StandardScaler(), linear_model.LogisticRegression(**PIPELINE_LOGISTIC)
        ),
        check_pipeline,
        ("raw_wine", "binary"),
        name="Pipeline(StandardScaler,LogisticRegression)",
    ),
    Case(
        "KMeans",
        lambda e: so.make_pipeline(
            so.MinMaxScaler(), so.KMeans(3, n_init=3, random_state=0), backend=e
        ),
        lambda: pipeline.make_pipeline(
            preprocessing.MinMaxScaler(), cluster.KMeans(3, n_init=3, random_state=0)
        ),
        check_pipeline_kmeans,
        ("raw_wine", "blobs"),
        supervised=False,
        name="Pipeline(MinMaxScaler,KMeans)",
    ),
    Case(
        "Pipeline(StandardScaler,PCA,LinearRegression)",
        lambda e: so.make_pipeline(
            so.StandardScaler(), so.PCA(5), so.LinearRegression(), backend=e
        ),
        lambda: pipeline.make_pipeline(
            preprocessing.StandardScaler(), decomposition.PCA(5), linear_model.LinearRegression()
        ),
        check_pipeline,
        ("diabetes", "regression"),
    ),
    Case(
        "Pipeline",
        lambda e: so.make_pipeline(
            so.PCA(10), so.LogisticRegression(**PIPELINE_LOGISTIC), backend=e
        ),
        lambda: pipeline.make_pipeline(
            decomposition.PCA(10), linear_model.LogisticRegression(**PIPELINE_LOGISTIC)
        ),
        check_pipeline,
        ("digits", "multiclass"),
        name="Pipeline(PCA,LogisticRegression)",
    ),
)

PARAMS = [
    pytest.param(case, data, kind, id=f"{case}-{data}-{kind}")
    for case in CASES
    for data in case.data
    for kind in case.kinds
]


@pytest.mark.parametrize(("case", "data", "kind"), PARAMS)
def test_same_model_as_sklearn(case: Case, data: str, kind: str, engine: str, source) -> None:
    X, y = load(data)
    target = y if case.supervised else None
    ours = case.ours(engine).fit(*source(kind, X, target))
    ref = case.ref().fit(X, target) if case.supervised else case.ref().fit(X)
    assert ours.backend_ == engine
    fitted = ours.steps[-1][1] if hasattr(ours, "steps") else ours
    assert fitted.fit_stats_["rows"] == X.shape[0]
    if not hasattr(ours, "steps"):
        assert ours.n_features_in_ == X.shape[1]
        if kind == "parquet":
            assert list(ours.feature_names_in_) == [f"x{j}" for j in range(X.shape[1])]
    case.check(ours, ref, X, y, tolerance(case.key, engine))


# ------------------------------------------------------------ KMeans.labels_
LABELS = Case(
    "KMeans.labels_",
    lambda e: so.KMeans(3, n_init=1, random_state=0, backend=e),
    lambda: cluster.KMeans(3, n_init=1, random_state=0),
    check_kmeans,
    ("iris",),
    supervised=False,
)


@pytest.mark.parametrize("case", [LABELS], ids=str)
@pytest.mark.parametrize("kind", ["numpy", "parquet"])
def test_kmeans_labels_are_sklearns_attribute(case: Case, kind: str, engine: str, source) -> None:
    """labels_: NumPy int32, one per row in row order, the closest centre's index."""
    X, _ = load("iris")
    model = case.ours(engine).fit(*source(kind, X, None))
    labels = model.labels_
    assert isinstance(labels, np.ndarray)
    assert labels.dtype == np.int32 and labels.shape == (X.shape[0],)
    assert_array_equal(labels, model.predict(X))
    assert_array_equal(model.fit_predict(*source(kind, X, None)), labels)


@dataclass(frozen=True)
class Key:
    """A case known only by its key in the GAPS table."""

    key: str

    def __str__(self) -> str:
        return self.key


@pytest.mark.parametrize("case", [Key("KMeans.labels_ beyond the memory budget")], ids=str)
def test_kmeans_labels_are_kept_or_explained(case: Key, engine: str) -> None:
    """Never silently missing: labels_ is there, or fit_stats_ and the error say why."""
    X, _ = load("iris")
    with so.config_context(memory_budget=1_000):  # iris is 4.7 KiB
        model = so.KMeans(3, n_init=1, random_state=0, backend=engine).fit(X)
    if hasattr(model, "labels_"):
        assert_array_equal(model.labels_, model.predict(X))
        return
    assert "memory budget" in model.fit_stats_["labels_"]
    with pytest.raises(AttributeError, match=r"has no labels_: not kept: the data \(4.7 KiB\)"):
        _ = model.labels_


@pytest.mark.parametrize(
    ("fit_dtype", "predict_dtype"), [(np.float32, np.float64), (np.float64, np.float32)]
)
def test_kmeans_predicts_either_float_dtype(fit_dtype: Any, predict_dtype: Any, engine: str):
    X, _ = load("iris")
    model = so.KMeans(3, n_init=1, random_state=0, backend=engine).fit(X.astype(fit_dtype))
    same, other = X.astype(fit_dtype), X.astype(predict_dtype)
    assert_array_equal(model.predict(other), model.predict(same))
    distances = model.transform(other)
    assert distances.dtype == predict_dtype  # computed in the input's dtype, as scikit-learn
    assert_allclose(distances, model.transform(same), rtol=1e-5)
    assert model.score(other) == pytest.approx(model.score(same), rel=1e-5)


def test_kmeans_on_one_sample(engine: str) -> None:
    X, _ = load("iris")
    model = so.KMeans(1, n_init=1, random_state=0, backend=engine).fit(X[:1])
    assert_allclose(model.cluster_centers_, X[:1])
    assert model.inertia_ == 0.0
    with pytest.raises(ValueError, match=r"n_samples=1 should be >= n_clusters=2"):
        so.KMeans(2, n_init=1, backend=engine).fit(X[:1])


@pytest.mark.parametrize("estimator", [so.LinearRegression(), so.DecisionTreeClassifier()], ids=str)
def test_all_zero_sample_weight_is_refused_before_fitting(estimator: Any, engine: str) -> None:
    X, y = load("breast_cancer")
    model = clone(estimator).set_params(backend=engine)
    with pytest.raises(DataError, match="Sample weights must contain at least one non-zero"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize("case", [Key("Pipeline(PCA,KMeans).labels_")], ids=str)
def test_pipeline_kmeans_labels_are_the_projected_rows_labels(case: Key, engine: str) -> None:
    X, _ = load("iris")
    model = so.make_pipeline(so.PCA(2), so.KMeans(3, n_init=1, random_state=0), backend=engine)
    model.fit(X)
    ref = pipeline.make_pipeline(decomposition.PCA(2), cluster.KMeans(3, n_init=1, random_state=0))
    ref.fit(X)
    labels = model[-1].labels_
    assert labels.dtype == np.int32
    assert_array_equal(labels, model.predict(X))
    assert model[-1].inertia_ <= tolerance("KMeans", engine).inertia_ratio * ref[-1].inertia_
