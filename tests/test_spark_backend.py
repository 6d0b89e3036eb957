"""The spark engine end to end, on one real local[2] session: parity with
scikit-learn on real data (in memory and from Parquet), the parameter
mapping, unsupported options, bad input, Spark DataFrame input and output,
pipelines, and the portable model."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import cluster, decomposition, linear_model, pipeline, tree
from sklearn.preprocessing import StandardScaler

import scaleout as so
from scaleout.backends.spark.compat import create_frame, to_arrow
from scaleout.backends.spark.data import SparkDataset, from_spark
from scaleout.datasets import make_blobs
from scaleout.exceptions import (
    DataError,
    NonNumericDataError,
    ScaleoutError,
    UnsupportedOnBackend,
)
from tests.conftest import load_named

pytest.importorskip("pyspark")

# Converged references: both engines minimise the same objective to a tight tolerance.
TIGHT = {"tol": 1e-10, "max_iter": 10_000}
SPARK_TIGHT = {"tol": 1e-8, "max_iter": 5_000}


@pytest.fixture(autouse=True)
def _quiet():
    with so.config_context(progress=False):
        yield


def _standardized(name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_named(name)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def data():
    return {name: _standardized(name) for name in ("breast_cancer", "wine", "diabetes", "digits")}


@pytest.fixture(scope="module")
def parquet(data, tmp_path_factory):
    from scaleout.demo import write_parquet

    root = tmp_path_factory.mktemp("spark-parquet")
    return {name: write_parquet(X, y, root / f"{name}.parquet") for name, (X, y) in data.items()}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _source(kind: str, name: str, data, parquet):
    """(X, y) for fit: in-memory arrays or the Parquet path with its target column."""
    if kind == "parquet":
        return parquet[name], "y"
    return data[name]


# ------------------------------------------------------------------ linear models
@pytest.mark.parametrize("kind", ["numpy", "parquet"])
def test_linear_regression_parity(spark, data, parquet, kind):
    X, y = data["diabetes"]
    model = so.LinearRegression(backend="spark").fit(*_source(kind, "diabetes", data, parquet))
    ref = linear_model.LinearRegression().fit(X, y)
    assert _rel(model.coef_, ref.coef_) <= 1e-4
    assert model.intercept_ == pytest.approx(ref.intercept_, rel=1e-6)
    stats = model.fit_stats_
    assert model.backend_ == "spark" and stats["rows"] == len(y)
    assert stats["spark_jobs"] >= 1 and stats["passes"] == stats["spark_jobs"]
    assert stats["spark_master"].startswith("local")


@pytest.mark.parametrize("kind", ["numpy", "parquet"])
def test_logistic_regression_binary_parity(spark, data, parquet, kind):
    X, y = data["breast_cancer"]
    model = so.LogisticRegression(backend="spark", **SPARK_TIGHT)
    model.fit(*_source(kind, "breast_cancer", data, parquet))
    ref = linear_model.LogisticRegression(**TIGHT).fit(X, y)
    assert model.coef_.shape == (1, X.shape[1])
    assert _rel(model.coef_, ref.coef_) <= 1e-3
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.999
    assert_array_equal(model.classes_, ref.classes_)
    assert model.n_iter_.shape == (1,) and model.fit_stats_["iterations"] == model.n_iter_[0]


@pytest.mark.parametrize("kind", ["numpy", "parquet"])
def test_logistic_regression_multinomial_parity(spark, data, parquet, kind):
    X, y = data["wine"]
    model = so.LogisticRegression(backend="spark", **SPARK_TIGHT)
    model.fit(*_source(kind, "wine", data, parquet))
    ref = linear_model.LogisticRegression(**TIGHT).fit(X, y)
    assert model.coef_.shape == (3, X.shape[1])
    assert _rel(model.coef_, ref.coef_) <= 1e-3
    assert_allclose(model.intercept_, ref.intercept_, atol=1e-3)
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.999
    assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
def test_logistic_regression_C_changes_the_model_as_in_sklearn(spark, data, name):
    X, y = data[name]
    fitted = {}
    for C in (0.01, 100.0):
        model = so.LogisticRegression(C=C, backend="spark", **TIGHT).fit(X, y)
        ref = linear_model.LogisticRegression(C=C, **TIGHT).fit(X, y)
        assert _rel(model.coef_, ref.coef_) <= 1e-3, C
        fitted[C] = model.coef_
    # the penalty really is mapped: a weak one gives much larger coefficients
    assert np.linalg.norm(fitted[100.0]) > 10 * np.linalg.norm(fitted[0.01])


@pytest.mark.parametrize("penalty", [{"l1_ratio": 1.0}, {"l1_ratio": 0.5}])
def test_logistic_regression_l1_and_elastic_net_parity(spark, data, penalty):
    """OWL-QN on Spark and saga in scikit-learn reach the same sparse optimum."""
    X, y = data["breast_cancer"]
    settings = {"C": 0.05, "solver": "saga", "max_iter": 5000, "tol": 1e-10, **penalty}
    model = so.LogisticRegression(backend="spark", **settings).fit(X, y)
    ref = linear_model.LogisticRegression(**settings).fit(X, y)
    zeros = np.abs(ref.coef_) < 1e-6
    assert 0 < zeros.sum() < zeros.size  # the L1 part really zeroes some coefficients
    assert_array_equal(np.abs(model.coef_) < 1e-6, zeros)
    assert _rel(model.coef_, ref.coef_) <= 1e-3
    assert_allclose(model.intercept_, ref.intercept_, atol=1e-3)


def test_logistic_regression_no_penalty_and_class_weight(spark, data):
    X, y = data["wine"]
    X = X[:, :4]  # not separable: the unpenalised optimum exists
    model = so.LogisticRegression(C=np.inf, backend="spark", **SPARK_TIGHT).fit(X, y)
    ref = linear_model.LogisticRegression(C=np.inf, **TIGHT).fit(X, y)
    assert _rel(model.coef_, ref.coef_) <= 1e-3
    Xb, yb = data["breast_cancer"]
    model = so.LogisticRegression(class_weight="balanced", backend="spark", **SPARK_TIGHT)
    ref = linear_model.LogisticRegression(class_weight="balanced", **TIGHT).fit(Xb, yb)
    assert _rel(model.fit(Xb, yb).coef_, ref.coef_) <= 1e-3


@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logistic_regression_ends_at_the_optimum_with_weights(spark, data, name, fit_intercept):
    """Newton's method from zero (kernels/logistic_newton.py over Arrow batches): the gradient
    of scikit-learn's objective vanishes, with sample and class weights, with or without an
    intercept."""
    from scipy.special import expit, log_softmax

    X, y = data[name]
    X = (X - X.mean(0)) / X.std(0)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    model = so.LogisticRegression(
        C=0.5, class_weight="balanced", fit_intercept=fit_intercept, backend="spark"
    ).fit(X, y, sample_weight=weights)
    classes, index = np.unique(y, return_inverse=True)
    balanced = weights.sum() / (len(classes) * np.bincount(index, weights=weights))
    s = weights * balanced[np.searchsorted(classes, y)]
    if len(classes) == 2:
        residual = (expit(X @ model.coef_[0] + model.intercept_[0]) - y)[:, None]
    else:
        z = X @ model.coef_.T + model.intercept_
        residual = np.exp(log_softmax(z, axis=1)) - (y[:, None] == classes)
    gradient = (s[:, None] * residual).T @ X + model.coef_ / 0.5
    assert np.abs(gradient).max() <= 1e-7 * len(y)
    if fit_intercept:
        assert np.abs(s @ residual).max() <= 1e-7 * len(y)
    else:
        assert_array_equal(model.intercept_, np.zeros(model.coef_.shape[0]))
    assert 1 <= model.fit_stats_["newton_passes"] <= 12
    ref = linear_model.LogisticRegression(
        C=0.5, class_weight="balanced", fit_intercept=fit_intercept, **TIGHT
    ).fit(X, y, sample_weight=weights)
    assert _rel(model.coef_, ref.coef_) <= 1e-6


def test_newton_pass_runs_on_executors_without_scaleout(tmp_path):
    """The mapInArrow function of a Newton pass ships by value: a Python without scaleout
    unpickles it and sums a batch's terms (numpy, scipy and pyarrow only)."""
    import subprocess
    import sys
    from functools import partial

    from pyspark import cloudpickle

    from scaleout.backends.spark import logistic_newton
    from scaleout.kernels.logistic_newton import chunk_newton_terms, terms_size

    logistic_newton._ship_by_value()
    theta = np.array([[0.3, -0.2, 0.1]])
    function = partial(
        logistic_newton._partition_terms,
        theta=theta,
        n_features=2,
        weighted=True,
        size=terms_size(2, 2),
    )
    (tmp_path / "f.pkl").write_bytes(cloudpickle.dumps(function))
    script = (
        "import sys, pickle\n"
        "sys.modules['scaleout'] = None\n"
        "import numpy as np, pyarrow as pa\n"
        f"f = pickle.loads(open({str(tmp_path / 'f.pkl')!r}, 'rb').read())\n"
        "b = pa.RecordBatch.from_arrays([pa.array([1.0, 2.0, -1.0]), pa.array([0.5, 1.0, 3.0]),"
        " pa.array([0.0, 1.0, 1.0]), pa.array([1.0, 2.0, 0.5])], names=['a', 'b', 'l', 'w'])\n"
        "row = list(f(iter([b])))[0].column(0)[0].as_py()\n"
        "sys.stdout.write(np.frombuffer(row).tobytes().hex())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    shipped = np.frombuffer(bytes.fromhex(done.stdout))
    X = np.array([[1.0, 0.5], [2.0, 1.0], [-1.0, 3.0]])
    expected = chunk_newton_terms(X, np.array([0, 1, 1]), np.array([1.0, 2.0, 0.5]), theta)
    assert_allclose(shipped, expected, rtol=1e-15)


def test_string_labels_are_indexed_and_mapped_back(spark, data):
    X, y = data["wine"]
    labels = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    model = so.LogisticRegression(backend="spark").fit(X, labels)
    ref = linear_model.LogisticRegression().fit(X, labels)
    assert_array_equal(model.classes_, ref.classes_)
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.99


# -------------------------------------------------------------------------- trees
@pytest.mark.parametrize(
    ("name", "depth"), [("digits", 3), ("digits", 8), ("breast_cancer", 4), ("wine", None)]
)
def test_decision_tree_classifier_parity(spark, data, name, depth):
    X, y = data[name]
    model = so.DecisionTreeClassifier(max_depth=depth, backend="spark").fit(X, y)
    ref = tree.DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
    assert abs(model.score(X, y) - ref.score(X, y)) <= 0.01
    assert model.get_depth() <= (depth or 30)
    assert model.n_classes_ == ref.n_classes_ and model.n_outputs_ == 1
    assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize("depth", [3, 6])
def test_decision_tree_regressor_parity(spark, data, parquet, depth):
    X, y = data["diabetes"]
    model = so.DecisionTreeRegressor(max_depth=depth, backend="spark").fit(parquet["diabetes"], "y")
    ref = tree.DecisionTreeRegressor(max_depth=depth, random_state=0).fit(X, y)
    assert abs(model.score(X, y) - ref.score(X, y)) <= 0.01


def test_tree_conversion_matches_spark_model(spark, data):
    """The converted tree predicts what Spark's own model predicts, and the slow
    Py4J walk reads the same nodes as the one-call reader."""
    from pyspark.ml.classification import DecisionTreeClassifier

    from scaleout.backends.spark.tree import _nodes_by_local_save, _walk_preorder, tree_state

    X, y = data["breast_cancer"]
    table = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(label=y * 1.0)
    from pyspark.ml.feature import VectorAssembler

    frame = VectorAssembler(inputCols=list(table.columns[:-1]), outputCol="features").transform(
        create_frame(spark, pa.Table.from_pandas(table, preserve_index=False))
    )
    spark_model = DecisionTreeClassifier(maxDepth=5, maxBins=64).fit(frame)
    fast, slow = _nodes_by_local_save(spark_model), _walk_preorder(spark_model)
    if fast is not None:  # None on Spark 3.5: no local saving mode, the walk is what runs
        assert fast == slow
    state = tree_state(slow, classifier=True, n_features=X.shape[1], classes=np.array([0, 1]))
    local = tree.DecisionTreeClassifier()
    local.__dict__.update(state, n_features_in_=X.shape[1])
    expected = np.array(
        [r["prediction"] for r in spark_model.transform(frame).select("prediction").collect()]
    )
    assert_array_equal(local.predict(X), expected.astype(int))


def test_decision_tree_class_weight(spark, data):
    X, y = data["breast_cancer"]
    model = so.DecisionTreeClassifier(max_depth=3, class_weight="balanced", backend="spark")
    ref = tree.DecisionTreeClassifier(max_depth=3, class_weight="balanced", random_state=0)
    model.fit(X, y)
    ref.fit(X, y)
    assert abs(model.score(X, y) - ref.score(X, y)) <= 0.01
    assert_allclose(model.tree_.weighted_n_node_samples[0], ref.tree_.weighted_n_node_samples[0])


# ------------------------------------------------------------------------- KMeans
@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark-blobs")
    return make_blobs(
        root / "blobs",
        20_000,
        6,
        centers=5,
        cluster_std=2.0,
        random_state=3,
        chunk_rows=5_000,
        n_files=2,
    )


def test_kmeans_inertia_on_parquet_blobs(spark, blobs):
    X, _ = so.read_parquet(blobs.path, target="y").to_numpy()
    features = [f"x{j}" for j in range(6)]
    dataset = so.read_parquet(blobs.path, features=features)
    model = so.KMeans(5, random_state=0, backend="spark").fit(dataset)
    ref = cluster.KMeans(5, random_state=0).fit(X)
    ratio = model.inertia_ / ref.inertia_
    assert ratio <= 1.01, ratio
    # inertia_ is the sum of squared distances to the closest of the returned centres
    assert model.inertia_ == pytest.approx(-model.score(X), rel=1e-6)
    assert model.cluster_centers_.shape == (5, 6) and model.n_iter_ >= 1


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_kmeans_inertia_wine(spark, data, init):
    X, _ = data["wine"]
    model = so.KMeans(3, init=init, n_init=3, random_state=0, backend="spark").fit(X)
    ref = cluster.KMeans(3, init=init, n_init=3, random_state=0).fit(X)
    assert model.inertia_ / ref.inertia_ <= 1.01
    assert model.fit_stats_["n_init"] == 3


def test_kmeans_array_init_and_tol(spark, data):
    X, _ = data["wine"]
    start = X[[0, 60, 130]]
    model = so.KMeans(3, init=start, n_init=1, tol=0.0, backend="spark").fit(X)
    ref = cluster.KMeans(3, init=start, n_init=1, tol=0.0).fit(X)
    assert_allclose(model.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-8)
    assert model.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


@pytest.mark.slow
def test_kmeans_inertia_digits_n_init_10(spark, data):
    X, _ = data["digits"]
    model = so.KMeans(10, n_init=10, random_state=0, backend="spark").fit(X)
    ref = cluster.KMeans(10, n_init=10, random_state=0).fit(X)
    assert model.inertia_ / ref.inertia_ <= 1.01


# ---------------------------------------------------------------------------- PCA
@pytest.mark.parametrize(
    ("kind", "n_components"), [("numpy", 10), ("parquet", 0.8), ("numpy", None)]
)
def test_pca_parity(spark, data, parquet, kind, n_components):
    X, _ = data["digits"]
    source = (parquet["digits"],) if kind == "parquet" else (X,)
    if kind == "parquet":
        source = (so.read_parquet(parquet["digits"], features=[f"x{j}" for j in range(64)]),)
    model = so.PCA(n_components, backend="spark").fit(*source)
    ref = decomposition.PCA(n_components).fit(X)
    assert model.n_components_ == ref.n_components_
    k = min(ref.n_components_, 40)  # the last, near-zero components of digits are noise
    assert_allclose(model.explained_variance_[:k], ref.explained_variance_[:k], rtol=1e-4)
    assert_allclose(
        model.explained_variance_ratio_[:k], ref.explained_variance_ratio_[:k], rtol=1e-4
    )
    assert_allclose(model.components_[:k], ref.components_[:k], atol=1e-6)
    assert_allclose(model.singular_values_[:k], ref.singular_values_[:k], rtol=1e-4)
    assert_allclose(model.mean_, ref.mean_, atol=1e-10)
    assert model.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-4, abs=1e-9)
    assert model.n_samples_ == ref.n_samples_


# ------------------------------------------------------------------------ pipeline
def test_pipeline_pca_logistic_regression(spark, data):
    X, y = data["digits"]
    model = so.make_pipeline(so.PCA(20), so.LogisticRegression(**SPARK_TIGHT), backend="spark")
    model.fit(X, y)
    ref = pipeline.make_pipeline(decomposition.PCA(20), linear_model.LogisticRegression(**TIGHT))
    ref.fit(X, y)
    assert model.backend_ == "spark"
    assert abs(model.score(X, y) - ref.score(X, y)) <= 0.005
    assert_allclose(model[0].transform(X), ref[0].transform(X), atol=1e-6)
    assert _rel(model[-1].coef_, ref[-1].coef_) <= 1e-3
    assert model[-1].backend_ == "spark" and model[-1].n_features_in_ == 20


def test_pipeline_predicts_a_spark_dataframe(spark, data, wine_frame):
    X, y = data["wine"]
    model = so.make_pipeline(so.PCA(4), so.LogisticRegression(), backend="spark").fit(X, y)
    frame = wine_frame.toDF(*[f"x{j}" for j in range(X.shape[1])], "label")
    out = model.predict(frame)
    assert out.columns[-5:] == ["pca0", "pca1", "pca2", "pca3", "prediction"]
    assert_array_equal(to_arrow(out).column("prediction").to_numpy(), model.predict(X))


def test_pipeline_unsupported_steps(spark, data):
    X, y = data["wine"]
    with pytest.raises(UnsupportedOnBackend, match="Pipeline"):
        so.make_pipeline(so.PCA(3), so.DecisionTreeClassifier(), backend="spark").fit(X, y)
    with pytest.raises(UnsupportedOnBackend, match="n_components"):
        so.make_pipeline(so.PCA(0.9), so.LogisticRegression(), backend="spark").fit(X, y)


# ------------------------------------------------------------ unsupported options
@pytest.mark.parametrize(
    ("estimator", "option"),
    [
        (so.PCA(2, whiten=True), "whiten"),
        (so.PCA("mle"), "n_components"),
        (so.DecisionTreeClassifier(splitter="random"), "splitter"),
        (so.DecisionTreeClassifier(max_depth=31), "max_depth"),
        (so.DecisionTreeRegressor(criterion="absolute_error"), "criterion"),
        (so.DecisionTreeRegressor(min_impurity_decrease=0.1), "min_impurity_decrease"),
        (so.DecisionTreeClassifier(min_samples_split=10), "min_samples_split"),
        (so.DecisionTreeClassifier(max_features="sqrt"), "max_features"),
        (so.LogisticRegression(solver="liblinear"), "solver"),
        (so.LogisticRegression(l1_ratio=0.5), "l1_ratio"),
        (so.LogisticRegression(dual=True, solver="liblinear"), "solver"),
        (so.KMeans(init=lambda X, k, random_state: X[:k]), "init"),
    ],
)
def test_unsupported_options_raise_before_fitting(spark, estimator, option):
    estimator.set_params(backend="spark")
    with pytest.raises(UnsupportedOnBackend, match=option) as info:
        estimator.fit(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2)
    assert "'spark'" in str(info.value) and "supported" in str(info.value)


def test_sample_weight_unsupported_for_kmeans_and_files(spark, parquet):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(UnsupportedOnBackend, match="sample_weight"):
        so.KMeans(2, backend="spark").fit(X, sample_weight=np.ones(30))
    with pytest.raises(UnsupportedOnBackend, match="sample_weight"):
        so.LinearRegression(backend="spark").fit(
            parquet["diabetes"], "y", sample_weight=np.ones(442)
        )


def test_sample_weight_in_memory(spark, data):
    X, y = data["diabetes"]
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    model = so.LinearRegression(backend="spark").fit(X, y, sample_weight=w)
    ref = linear_model.LinearRegression().fit(X, y, sample_weight=w)
    assert _rel(model.coef_, ref.coef_) <= 1e-4


# --------------------------------------------------------------------- bad input
def _frame(spark, **columns):
    return create_frame(spark, pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False))


def test_nan_in_a_feature_column_is_named(spark, data, tmp_path):
    from scaleout.demo import write_parquet

    X, y = data["wine"]
    X = X.copy()
    X[7, 4] = np.nan
    path = write_parquet(X, y, tmp_path / "nan.parquet")
    with pytest.raises(DataError, match=r"NaN: column 'x4' \(feature 4\)") as info:
        so.LogisticRegression(backend="spark").fit(path, "y")
    assert "Py4J" not in str(info.value) and "at org.apache" not in str(info.value)
    sdf = _frame(spark, a=[1.0, 2.0, None, 4.0], b=[1.0, 2.0, 3.0, 4.0], y=[0, 1, 0, 1])
    with pytest.raises(DataError, match=r"column 'a'.*missing"):
        so.LogisticRegression().fit(sdf, "y")
    sdf = _frame(spark, a=[1.0, 2.0, 3.0, 4.0], y=[0.0, np.nan, 1.0, 2.0])
    with pytest.raises(DataError, match="target column 'y'"):
        so.LinearRegression().fit(sdf, "y")


def test_lone_fits_check_rows_inside_the_fit(spark, data, tmp_path):
    """Regressors (known row count): no check job; classifiers: a job over the labels
    only. The rows are checked inside MLlib's first scan, with the same errors."""
    from scaleout.demo import write_parquet

    X, y = data["diabetes"]
    path = write_parquet(X, y, tmp_path / "good.parquet")
    model = so.LinearRegression(backend="spark").fit(path, "y")
    assert model.fit_stats_["data_check"] == "in the fit"
    reference = so.LinearRegression(backend="sklearn").fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-6)
    Xw, yw = data["wine"]
    wine = write_parquet(Xw, yw, tmp_path / "wine.parquet")
    classifier = so.LogisticRegression(backend="spark", **SPARK_TIGHT).fit(wine, "y")
    assert classifier.fit_stats_["data_check"] == "in the fit"  # its classes: a label job
    reference = linear_model.LogisticRegression(**TIGHT).fit(Xw, yw)
    assert _rel(classifier.coef_, reference.coef_) <= 1e-3
    np.testing.assert_array_equal(classifier.classes_, reference.classes_)
    pipeline = so.make_pipeline(so.PCA(2), so.LogisticRegression(), backend="spark").fit(wine, "y")
    assert pipeline[-1].fit_stats_["data_check"] == "own job"  # one job gives the moments

    bad_w = Xw.copy()
    bad_w[7, 4] = -np.inf
    wine_inf = write_parquet(bad_w, yw, tmp_path / "wine_inf.parquet")
    for estimator in (so.LogisticRegression, so.DecisionTreeClassifier):
        with pytest.raises(DataError, match=r"infinity: column 'x4' \(feature 4\) has 1 infinite"):
            estimator(backend="spark").fit(wine_inf, "y")
    frame = _frame(spark, a=[1.0, 2.0, 3.0, np.nan], b=[1.0, 2.0, 3.0, 4.0], y=["u", "v", "u", "v"])
    with pytest.raises(DataError, match=r"column 'a' \(feature 0\) has 1 missing \(null\)"):
        so.DecisionTreeClassifier(backend="spark").fit(frame, "y")

    bad = X.copy()
    bad[300, 2] = np.inf
    bad[301, 2] = np.inf
    path = write_parquet(bad, y, tmp_path / "inf.parquet")
    for estimator in (so.LinearRegression, so.DecisionTreeRegressor):
        with pytest.raises(DataError, match=r"infinity: column 'x2' \(feature 2\) has 2 infinite"):
            estimator(backend="spark").fit(path, "y")
    bad_y = y.astype(float).copy()
    bad_y[5] = np.nan
    path = write_parquet(X, bad_y, tmp_path / "nan_y.parquet")
    with pytest.raises(DataError, match="target column 'y' has 1 such value"):
        so.LinearRegression(backend="spark").fit(path, "y")


def test_pca_is_one_gramian_pass_checked_inside_it(spark, data, tmp_path):
    """PCA: one full MLlib Gramian pass, exact even far from the origin."""
    from scaleout.demo import write_parquet

    X, y = data["wine"]
    X = X + 1e6  # means far larger than the spread: the shift keeps the covariance exact
    path = write_parquet(X, y, tmp_path / "far.parquet")
    model = so.PCA(3, backend="spark").fit(so.read_parquet(path, target="y"))
    # svd_solver="full" centres before the SVD; scikit-learn's "auto" picks covariance_eigh
    # here, whose X'X - n mean mean' loses ~1e-3 to cancellation at this offset.
    ref = decomposition.PCA(3, svd_solver="full").fit(X)
    assert model.fit_stats_["data_check"] == "in the fit"
    assert model.fit_stats_["spark_jobs"] <= 4  # one full pass; the others read a row
    assert_allclose(model.explained_variance_, ref.explained_variance_, rtol=1e-6)
    assert_allclose(model.components_, ref.components_, atol=1e-6)
    assert_allclose(model.mean_, ref.mean_, rtol=1e-12)
    bad = X.copy()
    bad[40, 6] = np.nan
    path = write_parquet(bad, y, tmp_path / "nan.parquet")
    with pytest.raises(DataError, match=r"NaN: column 'x6' \(feature 6\) has 1 NaN"):
        so.PCA(3, backend="spark").fit(so.read_parquet(path, target="y"))


def test_string_column_and_missing_target_are_named(spark):
    sdf = _frame(spark, a=[1.0, 2.0, 3.0, 4.0], colour=["r", "g", "b", "r"], y=[0, 1, 0, 1])
    with pytest.raises(NonNumericDataError, match="'colour'"):
        so.LogisticRegression().fit(sdf, "y")
    with pytest.raises(DataError, match="target column 'label' not found"):
        so.LogisticRegression().fit(sdf.drop("colour"), "label")
    # the same column-name checks as for files (data/_arrow.py: select_names)
    with pytest.raises(DataError, match=r"feature column 'b' not found in the Spark DataFrame"):
        so.from_spark(sdf, target="y", features=["a", "b"])
    with pytest.raises(DataError, match=r"more than once: 'a'"):
        so.from_spark(sdf, target="y", features=["a", "a"])
    with pytest.raises(DataError, match="'y' is also listed in features"):
        so.from_spark(sdf, target="y", features=["a", "y"])
    with pytest.raises(DataError, match="continuous"):
        so.LogisticRegression(backend="spark").fit(np.arange(8.0)[:, None], np.linspace(0, 1, 8))


def test_spark_failures_become_scaleout_errors(spark, tmp_path):
    from scaleout.demo import write_parquet

    directory = tmp_path / "gone"
    directory.mkdir()
    X = np.random.default_rng(0).normal(size=(50, 3))
    write_parquet(X, (X[:, 0] > 0).astype(int), directory / "part.parquet")
    dataset = so.read_parquet(directory, target="y")
    shutil.rmtree(directory)
    with pytest.raises(ScaleoutError, match="PATH_NOT_FOUND") as info:
        so.LogisticRegression(backend="spark").fit(dataset)
    assert "\n" not in str(info.value) and "Py4J" not in str(info.value)


# ------------------------------------------------------------ Spark DataFrame I/O
def test_arrow_transfers_keep_types(spark):
    """compat's round trip: native Arrow on PySpark 4, through pandas / Arrow batches on 3.5."""
    table = pa.table(
        {
            "i": pa.array([1, 2, 3], pa.int32()),
            "f": pa.array([0.5, 1.5, 2.5], pa.float32()),
            "b": [True, False, True],
            "s": ["a", "b", "c"],
        }
    )
    frame = create_frame(spark, table)
    assert [f.dataType.simpleString() for f in frame.schema.fields] == [
        "int",
        "float",
        "boolean",
        "string",
    ]
    back = to_arrow(frame)
    assert back.to_pydict() == table.to_pydict()
    assert back.schema.types[:3] == table.schema.types[:3]
    empty = to_arrow(frame.limit(0))
    assert empty.num_rows == 0 and empty.column_names == ["i", "f", "b", "s"]
    assert empty.schema.types[:3] == table.schema.types[:3]


@pytest.fixture(scope="module")
def wine_frame(spark, data):
    X, y = data["wine"]
    table = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]).assign(label=y)
    return create_frame(spark, pa.Table.from_pandas(table, preserve_index=False))


def test_spark_dataframe_input_picks_spark(spark, data, wine_frame):
    X, y = data["wine"]
    model = so.LogisticRegression().fit(wine_frame, "label")
    assert model.backend_ == "spark" and model.fit_stats_["decided_by"] == "input type"
    assert list(model.feature_names_in_) == [f"f{j}" for j in range(X.shape[1])]
    ref = so.LogisticRegression(backend="sklearn").fit(X, y)
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.99
    dataset = from_spark(wine_frame, target="label")
    assert isinstance(dataset, SparkDataset) and dataset.native_backend == "spark"
    assert so.LogisticRegression().fit(dataset).backend_ == "spark"


def test_vector_column_input(spark, data, wine_frame):
    from pyspark.ml.feature import VectorAssembler

    X, _ = data["wine"]
    names = [f"f{j}" for j in range(X.shape[1])]
    vectors = VectorAssembler(inputCols=names, outputCol="features").transform(wine_frame)
    dataset = from_spark(vectors.select("features", "label"), target="label")
    assert dataset.feature_names == [f"x{j}" for j in range(X.shape[1])]
    assert not dataset.has_feature_names
    model = so.LogisticRegression(backend="spark").fit(dataset)
    by_columns = so.LogisticRegression(backend="spark").fit(wine_frame, "label")
    assert_allclose(model.coef_, by_columns.coef_, rtol=1e-9, atol=1e-12)
    out = model.predict(vectors.select("features"))
    predicted = to_arrow(out.select("prediction")).column("prediction")  # no vector column
    assert_array_equal(predicted.to_numpy(), model.predict(X))


def test_predict_on_spark_dataframe_stays_in_spark(spark, data, wine_frame):
    X, y = data["wine"]
    model = so.LogisticRegression(backend="spark").fit(X, y)  # fitted without names
    frame = wine_frame.toDF(*[f"x{j}" for j in range(X.shape[1])], "label")
    out = model.predict(frame)
    assert type(out).__module__.startswith("pyspark")
    assert out.columns == [*frame.columns, "prediction"]
    table = to_arrow(out)
    assert_array_equal(table.column("prediction").to_numpy(), model.predict(X))
    proba = np.array(to_arrow(model.predict_proba(frame)).column("probability").to_pylist())
    assert_allclose(proba, model.predict_proba(X), rtol=1e-12)
    pca = so.PCA(3, backend="spark").fit(X)
    projected = to_arrow(pca.transform(frame).select("pca0", "pca1", "pca2"))
    assert_allclose(
        np.column_stack([c.to_numpy() for c in projected.columns]), pca.transform(X), atol=1e-12
    )
    kmeans = so.KMeans(3, random_state=0, backend="spark").fit(X)
    labels = to_arrow(kmeans.predict(frame)).column("prediction").to_numpy()
    assert_array_equal(labels, kmeans.predict(X))


def test_spark_dataset_reads_to_numpy_for_other_engines(spark, data, wine_frame):
    X, y = data["wine"]
    dataset = from_spark(wine_frame, target="label")
    X2, y2 = dataset.to_numpy()
    assert_allclose(X2, X)
    assert_array_equal(y2, y)
    assert dataset.n_rows == len(y) and dataset.schema.names[-1] == "label"
    batches = list(dataset.iter_batches(100))
    assert [b.n_rows for b in batches] == [100, 78] and batches[1].row_offset == 100
    model = so.LinearRegression(backend="sklearn").fit(dataset)
    assert model.backend_ == "sklearn"


def test_csv_files_are_read_by_spark(spark, data, tmp_path):
    X, y = data["wine"]
    path = tmp_path / "wine.csv"
    pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])]).assign(kind=y).to_csv(
        path, index=False
    )
    model = so.LogisticRegression(backend="spark").fit(so.read_csv(str(path), target="kind"))
    ref = so.LogisticRegression(backend="spark").fit(X, y)
    assert_allclose(model.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    assert model.classes_.dtype == ref.classes_.dtype


def test_first_useful_line():
    from scaleout.backends.spark.errors import first_useful_line

    java = (
        "An error occurred while calling o81.fit.\n"
        ": org.apache.spark.SparkException: [FAILED_READ_FILE] Could not read footer\n"
        "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.x(Q.scala:1)\n"
    )
    assert first_useful_line(java) == "[FAILED_READ_FILE] Could not read footer"
    python = (
        "An exception was thrown from the Python worker:\nTraceback (most recent call last):\n"
        '  File "x.py", line 1, in f\nscaleout.exceptions.DataError: Input X contains NaN\n'
    )
    assert first_useful_line(python) == "scaleout.exceptions.DataError: Input X contains NaN"


# -------------------------------------------------------------------- portability
def test_saved_model_loads_and_predicts_without_spark(spark, data, tmp_path):
    X, y = data["digits"]
    for estimator in (so.DecisionTreeClassifier(max_depth=6), so.LogisticRegression(), so.PCA(5)):
        estimator.set_params(backend="spark")
        model = estimator.fit(X, y) if not isinstance(estimator, so.PCA) else estimator.fit(X)
        path = model.save(str(tmp_path / f"{type(model).__name__}.scaleout"))
        loaded = so.load(path)
        method = "transform" if isinstance(model, so.PCA) else "predict"
        assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
        sk = loaded.to_sklearn()
        assert type(sk).__module__.startswith("sklearn")
        assert_array_equal(getattr(sk, method)(X), getattr(model, method)(X))


def test_session_is_reused(spark):
    from scaleout.backends.spark.session import get_session

    assert get_session() is spark


def test_progress_lines(spark, data, capsys, monkeypatch):
    from scaleout.backends.spark import progress

    monkeypatch.setattr(progress, "POLL_SECONDS", 0.05)
    # enough rows that the first scans outlast a few polls on a warm JVM
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 8))
    y = (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)
    with so.config_context(progress=True):
        so.LogisticRegression(backend="spark", max_iter=5).fit(X, y)
    assert "[scaleout spark] LogisticRegression: job" in capsys.readouterr().err


def test_bench_spark_local_on_the_shared_session(spark, tmp_path):
    """``scaleout bench``'s spark-local engine on the test run's session (kept open).

    Here rather than in test_bench.py: the session fixture must be created after
    test_clusters.py, whose ``connect(None)`` stops a ``local[2]`` session.
    """
    from scaleout.bench.runner import SuiteSettings, run_suite

    report = run_suite(
        SuiteSettings(
            sizes=(2000,),
            engines=("spark-local",),
            algorithms=("LinearRegression",),
            memory_budget=1 << 30,
        ),
        progress=None,
    )
    rows = {r["impl"]: r for r in report["results"]}
    for impl in ("scaleout", "pyspark.ml"):
        assert rows[impl]["status"] == "ok", rows[impl]
        assert rows[impl]["quality"] > 0.99
        assert rows[impl]["peak_rss"]["jvm"] > 0  # the driver JVM is a child of this process
    assert rows["scaleout"]["ratios"]["vs_peer"] > 0
    assert not spark.sparkContext._jsc.sc().isStopped()  # the shared session is not stopped


def test_parquet_is_read_with_pyarrows_schema(spark, tmp_path):
    """Spark gets the schema pyarrow read (no footer inference), names quoted; other types
    are left to Spark's own inference, and both give the same model."""
    import pyarrow.parquet as pq

    from scaleout.backends.spark.convert import _read_schema

    schema = pa.schema([("a b", pa.float64()), ("c`d", pa.int32()), ("y", pa.string())])
    assert _read_schema(schema) == "`a b` DOUBLE, `c``d` INT, `y` STRING"
    assert _read_schema(pa.schema([("u", pa.uint32())])) is None
    assert _read_schema(pa.schema([("s", pa.dictionary(pa.int32(), pa.string()))])) is None

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    table = pa.table(
        {
            "a b": x,
            "c`d": pa.array(rng.integers(0, 5, 200), pa.int32()),
            "u": pa.array(rng.integers(0, 5, 200), pa.uint16()),
            "y": np.where(x > 0, "pos", "neg"),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    models = [
        so.LogisticRegression(backend="spark", **SPARK_TIGHT).fit(
            so.read_parquet(tmp_path, target="y", **kw)
        )
        for kw in ({"features": ["a b", "c`d"]}, {})  # known schema; uint16 -> inferred
    ]
    assert_array_equal(models[0].classes_, ["neg", "pos"])
    ref = so.LogisticRegression(backend="sklearn", **TIGHT).fit(
        so.read_parquet(tmp_path, target="y", features=["a b", "c`d"])
    )
    assert _rel(models[0].coef_, ref.coef_) <= 1e-3
    assert models[1].coef_.shape == (1, 3)


@pytest.mark.parametrize(
    ("labels", "from_statistics"),
    [((0, 1), True), ((5, 6), True), ((False, True), True), ((0, 2), False), ((1, 2, 3), False)],
)
def test_classes_from_parquet_statistics(spark, data, tmp_path, labels, from_statistics):
    """An integer/boolean target whose footer min and max are neighbours needs no class job;
    the model is the one the label job gives (same data without statistics)."""
    import pyarrow.parquet as pq

    X, _ = data["breast_cancer"]
    X = X[:, :5]
    y = np.array([labels[i % len(labels)] for i in range(len(X))])
    table = pa.table({**{f"x{j}": X[:, j] for j in range(5)}, "y": y})
    pq.write_table(table, tmp_path / "stats.parquet", row_group_size=100)
    (tmp_path / "bare").mkdir()
    pq.write_table(table, tmp_path / "bare" / "t.parquet", write_statistics=False)

    fitted = so.LogisticRegression(backend="spark").fit(tmp_path / "stats.parquet", "y")
    expected = "Parquet statistics" if from_statistics else "a Spark job"
    assert fitted.fit_stats_["classes_from"] == expected
    assert fitted.fit_stats_["data_check"] == "in the fit"
    bare = so.LogisticRegression(backend="spark").fit(tmp_path / "bare", "y")
    assert bare.fit_stats_["classes_from"] == "a Spark job"
    assert_array_equal(fitted.classes_, np.unique(y))
    assert fitted.classes_.dtype == bare.classes_.dtype
    assert_allclose(fitted.coef_, bare.coef_, rtol=1e-9, atol=1e-12)
    assert_array_equal(fitted.predict(X), bare.predict(X))
    if from_statistics:  # class weights need the counts: the job runs
        balanced = so.LogisticRegression(backend="spark", class_weight="balanced")
        assert balanced.fit(tmp_path / "stats.parquet", "y").fit_stats_["classes_from"] == (
            "a Spark job"
        )


def test_a_bad_row_is_found_with_classes_from_statistics(spark, tmp_path):
    import pyarrow.parquet as pq

    x = np.linspace(-1, 1, 50)
    x[17] = np.nan
    pq.write_table(pa.table({"a": x, "y": (np.arange(50) % 2)}), tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"NaN: column 'a' \(feature 0\) has 1 NaN"):
        so.DecisionTreeClassifier(backend="spark").fit(tmp_path / "t.parquet", "y")
