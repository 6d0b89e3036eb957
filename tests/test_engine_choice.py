"""The backend registry, the precedence rules and so.explain."""

from __future__ import annotations

import numpy as np
import pytest

import scaleout as so
from scaleout.backends.sklearn import SklearnBackend
from scaleout.engines import Backend, register_backend, unregister_backend
from scaleout.engines.base import FitResult
from scaleout.exceptions import BackendUnavailable, InvalidParameterError

ALGORITHMS = [
    "ColumnTransformer",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KMeans",
    "LinearRegression",
    "LogisticRegression",
    "MinMaxScaler",
    "OneHotEncoder",
    "OrdinalEncoder",
    "PCA",
    "SimpleImputer",
    "StandardScaler",
]
X = np.random.default_rng(0).normal(size=(200, 4))
y = (X[:, 0] > 0).astype(int)


class OutOfCore(SklearnBackend):
    """An out-of-core engine that reuses the sklearn implementation."""

    name = "ooc"
    requires = ("numpy",)
    out_of_core = True


class Ghost(Backend):
    """An engine whose package is not installed."""

    name = "ghost"
    requires = ("no_such_package_xyz",)
    extra = "ghost"

    def fit(self, task, dataset, sample_weight=None) -> FitResult:
        raise AssertionError("never called: the package is missing")


@pytest.fixture
def hide_dask():
    """Hide the real dask engine, so the size rule has one candidate at most."""
    from scaleout.backends.dask import DaskBackend

    unregister_backend("dask")
    yield
    register_backend(DaskBackend)


@pytest.fixture
def fake_out_of_core_backend(hide_dask):
    """Register an out-of-core backend and one whose package is missing."""
    register_backend(OutOfCore)
    register_backend(Ghost)
    yield
    unregister_backend("ooc")
    unregister_backend("ghost")


def test_default_is_sklearn_with_reasons():
    decision = so.explain(so.LogisticRegression(), X, y)
    assert decision.backend == "sklearn"
    assert decision.rule == "default"
    text = str(decision)
    assert "explicit" in text and "config" in text and "size" in text and "default" in text


def test_explicit_beats_config_and_config_beats_default(fake_out_of_core_backend):
    with so.config_context(backend="ooc"):
        assert so.explain(so.PCA(2), X).backend == "ooc"
        assert so.explain(so.PCA(2), X).rule == "config"
        decision = so.explain(so.PCA(2, backend="sklearn"), X)
        assert (decision.backend, decision.rule) == ("sklearn", "explicit")
    assert so.get_config()["backend"] == "auto"


def test_size_rule_goes_out_of_core_above_the_budget(fake_out_of_core_backend):
    nbytes = X.size * 8 + y.size * 8
    with so.config_context(memory_budget=nbytes - 1):
        decision = so.explain(so.LogisticRegression(), X, y)
        assert (decision.backend, decision.rule) == ("ooc", "size")
        assert decision.estimated_nbytes == nbytes
        model = so.LogisticRegression().fit(X, y)
        assert model.backend_ == "ooc"
        assert model.fit_stats_["decided_by"] == "size"
    with so.config_context(memory_budget=nbytes):
        assert so.explain(so.LogisticRegression(), X, y).backend == "sklearn"


def test_size_rule_without_out_of_core_backend_falls_through(hide_dask):
    with so.config_context(memory_budget=10):
        decision = so.explain(so.KMeans(2), X)
    assert decision.backend == "sklearn"
    assert "no out-of-core backend is installed" in str(decision)


def test_input_type_rule(fake_out_of_core_backend):
    dataset = so.data.as_dataset(X)
    dataset.native_backend = "ooc"
    decision = so.explain(so.KMeans(2), dataset)
    assert (decision.backend, decision.rule) == ("ooc", "input type")


def test_unknown_backend_lists_valid_names():
    with pytest.raises(
        BackendUnavailable,
        match=r"Invalid backend: 'nope', expected one of \['auto', 'dask', ('memory', )?'sklearn'",
    ):
        so.LinearRegression(backend="nope").fit(X, y)
    with pytest.raises(BackendUnavailable, match="Invalid backend"):
        with so.config_context(backend="nope"):
            so.PCA(2).fit(X)


def test_uninstalled_backend_names_the_extra(fake_out_of_core_backend):
    assert "ghost" in so.known_backends()
    assert "ghost" not in so.available_backends()
    with pytest.raises(BackendUnavailable, match=r"pip install 'scaleout\[ghost\]'"):
        so.PCA(2, backend="ghost").fit(X)


def test_config_validation():
    with pytest.raises(InvalidParameterError, match="Unknown scaleout config option 'colour'"):
        so.set_config(colour="red")
    with pytest.raises(InvalidParameterError, match="memory_budget"):
        so.set_config(memory_budget=-1)


def test_registry_names_every_estimator_once():
    from scaleout.registry import algorithm_name, estimator_class, estimator_classes

    classes = estimator_classes(algorithms_only=True)
    assert sorted(classes) == ALGORITHMS
    assert "Pipeline" in estimator_classes() and "Pipeline" not in classes
    assert [algorithm_name(classes[n]) for n in ("KMeans", "PCA", "LogisticRegression")] == [
        "kmeans",
        "pca",
        "logistic_regression",
    ]
    assert estimator_class("logistic-regression") is so.LogisticRegression
    assert estimator_class("DecisionTreeRegressor") is so.DecisionTreeRegressor
    with pytest.raises(so.exceptions.ScaleoutError, match=r"unknown algorithm 'forest'.*'pca'"):
        estimator_class("forest")


def test_support_matrix_in_explain_and_help(fake_out_of_core_backend):
    from scaleout.cli import build_parser
    from scaleout.engines import support_matrix

    matrix = support_matrix()
    assert sorted(matrix) == ALGORITHMS
    # every installed engine, the registered plug-in included; the missing one is not listed
    assert all({"sklearn", "ooc"} <= set(engines) for engines in matrix.values())
    assert all("ghost" not in engines for engines in matrix.values())
    text = str(so.explain(so.PCA(2), X))
    assert "engines that fit it:" in text and "ooc" in text.splitlines()[-1]
    help_text = build_parser().format_help()
    assert "algorithms by engine" in help_text
    header = help_text.split("algorithms by engine (installed engines):\n")[1].splitlines()[0]
    assert header.split() == ["algorithm", *so.available_backends()]


def test_unsupported_estimator_names_what_the_engine_fits():
    class Partial(SklearnBackend):
        """An engine that fits PCA only."""

        name = "pcaonly"

        def supports(self, estimator):
            return estimator is so.PCA

        def check_supported(self, task):
            Backend.check_supported(self, task)

    register_backend(Partial)
    try:
        with pytest.raises(
            so.exceptions.UnsupportedOnBackend,
            match=r"KMeans is not supported by backend 'pcaonly'; supported: \['PCA'\]",
        ):
            so.KMeans(2, backend="pcaonly").fit(X)
        assert so.PCA(2, backend="pcaonly").fit(X).backend_ == "pcaonly"
    finally:
        unregister_backend("pcaonly")


def test_connect_hands_the_address_to_the_engine_of_its_scheme():
    with so.config_context():
        # the dask engine takes tcp:// and reaches the scheduler at once: nothing listens on 1
        with pytest.raises(
            so.exceptions.ClusterError, match=r"cannot reach the dask scheduler at tcp://127.0.0.1:1"
        ):
            so.connect("tcp://127.0.0.1:1")
        assert so.get_config()["dask_scheduler"] is None
        with pytest.raises(
            so.exceptions.ClusterError, match=r"cannot reach the Spark master at spark://127.0.0.1:1"
        ):
            so.connect("spark://127.0.0.1:1")
        assert so.connect(None) is None
        assert so.get_config()["dask_scheduler"] is None
    with pytest.raises(so.exceptions.ScaleoutError, match=r"cannot tell the engine of 'ftp://x'"):
        so.connect("ftp://x")
