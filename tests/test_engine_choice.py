"""The backend registry, the precedence rules and so.explain."""

from __future__ import annotations

import numpy as np
import pytest

import scaleout as so
from scaleout.backends.sklearn import SklearnBackend
from scaleout.engines import Backend, register_backend, unregister_backend
from scaleout.engines.base import FitResult
from scaleout.exceptions import BackendUnavailable, InvalidParameterError

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
        match=r"Invalid backend: 'nope', expected one of \['auto', 'dask', 'sklearn'",
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
