"""The cross-engine suite: one test body, every installed engine (as ibis's backend tests).

* ``engine``: parametrised at collection time over
  :func:`scaleout.backends.available_backends` -- an engine registered later is
  picked up without edits. Each value runs inside that engine's set-up
  (:data:`ENGINE_SETUP`): the one shared Spark session (``spark`` of
  tests/conftest.py), Dask's local threads with small chunks so that every fit
  merges several partial results. An engine without a row runs as it is.
* A test parametrised with a ``case`` whose ``key`` is in
  :data:`~tests.engines.tolerances.GAPS` for the engine becomes a strict xfail
  that must raise ``UnsupportedOnBackend``. An engine that is not in
  :data:`~tests.engines.tolerances.TABLED_ENGINES` (a plug-in) declares its
  own gaps: an ``UnsupportedOnBackend`` it raises becomes an xfail at run time
  (:func:`pytest_runtest_makereport`).
* :func:`load` gives the datasets: the ones shipped with scikit-learn
  (standardised) and synthetic ones from ``sklearn.datasets.make_*``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
import pytest
from sklearn import datasets as skdatasets
from sklearn.preprocessing import StandardScaler

import scaleout as so
from scaleout.engines import available_backends
from scaleout.exceptions import UnsupportedOnBackend
from tests.conftest import load_named
from tests.engines.tolerances import GAPS, TABLED_ENGINES


def _spark(request: pytest.FixtureRequest) -> dict[str, Any]:
    request.getfixturevalue("spark")  # the run's one local[2] session
    return {}


def _dask(request: pytest.FixtureRequest) -> dict[str, Any]:
    # This machine's threads (never a Client left active by another module), and
    # chunks small enough that the suite's data sets come in several partitions.
    return {"dask_scheduler": "threads", "dask_chunk_rows": 1000}


#: engine name -> function(request) returning the config options to fit under.
ENGINE_SETUP: dict[str, Callable[[pytest.FixtureRequest], dict[str, Any]]] = {
    "spark": _spark,
    "dask": _dask,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", available_backends(), indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The engine's name, with its session / config set up for the test."""
    name = request.param
    setup = ENGINE_SETUP.get(name)
    options = setup(request) if setup is not None else {}
    with so.config_context(progress=False, **options):
        yield name


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark (case, engine) pairs of the GAPS table as strict xfails."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        key, engine = getattr(params.get("case"), "key", None), params.get("engine")
        if key is None or engine is None:
            continue
        if (key, engine) in GAPS:
            item.add_marker(
                pytest.mark.xfail(
                    raises=UnsupportedOnBackend,
                    strict=True,
                    reason=f"gap on {engine}: {GAPS[key, engine]}",
                )
            )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On an engine outside TABLED_ENGINES, its own UnsupportedOnBackend is an xfail."""
    outcome = yield
    report = outcome.get_result()
    engine = getattr(getattr(item, "callspec", None), "params", {}).get("engine")
    if (
        call.when == "call"
        and engine is not None
        and engine not in TABLED_ENGINES
        and call.excinfo is not None
        and call.excinfo.errisinstance(UnsupportedOnBackend)
    ):
        report.outcome = "skipped"
        report.wasxfail = f"declared by {engine}: {call.excinfo.value}"


# ------------------------------------------------------------------- data sets
SHIPPED = ("iris", "wine", "breast_cancer", "diabetes", "digits")


@cache
def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a named data set; read-only arrays, shared by the tests.

    Shipped with scikit-learn: ``iris``, ``wine``, ``breast_cancer``,
    ``diabetes``, ``digits`` (features standardised, so that every solver
    converges to the same optimum). Synthetic: ``regression``, ``binary``,
    ``multiclass``, ``blobs`` (5,000 rows each); ``collinear`` (2,000 x 12 of
    rank 8: a repeated column, a sum of two, a constant) and ``wide`` (40 x 60),
    where least squares has many solutions and scikit-learn's is the one of
    minimum norm. For the scalers: ``raw_wine`` (wine not standardised) and
    ``offset`` (3,000 x 5: a column of mean 1e6 and spread 1e-3, a constant one).
    """
    if name in SHIPPED:
        X, y = load_named(name)
        X = StandardScaler().fit_transform(X)
    elif name == "regression":
        X, y = skdatasets.make_regression(5000, 10, n_informative=6, noise=5.0, random_state=0)
    elif name == "collinear":  # a column repeated, a sum of two, a constant: rank 8 of 12
        X, y = skdatasets.make_regression(2000, 9, n_informative=6, noise=5.0, random_state=4)
        X = np.column_stack([X, X[:, 0], X[:, 1] + X[:, 2], np.full(len(X), 3.0)])
    elif name == "wide":  # more columns than rows: the minimum-norm solution
        X, y = skdatasets.make_regression(40, 60, n_informative=20, noise=1.0, random_state=5)
    elif name == "binary":
        X, y = skdatasets.make_classification(
            5000, 10, n_informative=5, flip_y=0.05, random_state=1
        )
    elif name == "multiclass":
        X, y = skdatasets.make_classification(
            5000, 10, n_informative=6, n_classes=3, n_clusters_per_class=1, random_state=2
        )
    elif name == "raw_wine":  # as shipped: columns of scales 0.1 to 1,000
        X, y = load_named("wine")
    elif name == "offset":  # mean 1e6 and spread 1e-3, a constant column, a wide one
        rng = np.random.default_rng(6)
        Z = rng.normal(size=(3000, 4))
        X = np.column_stack([Z[:, 0] * 1e-3 + 1e6, np.full(3000, 7.0), Z[:, 1] * 1e4, Z[:, 2:]])
        y = (Z[:, 3] > 0).astype(int)
    elif name == "blobs":
        X, y = skdatasets.make_blobs(5000, 6, centers=4, cluster_std=1.5, random_state=3)
    else:
        raise KeyError(name)
    X, y = np.ascontiguousarray(X, dtype=np.float64), np.asarray(y)
    X.flags.writeable = y.flags.writeable = False
    return X, y


@pytest.fixture
def source(parquet_of):
    """``source(kind, X, y)``: the arguments of ``fit`` for NumPy or Parquet input."""

    def make(kind: str, X: np.ndarray, y: np.ndarray | None) -> tuple[Any, ...]:
        if kind == "numpy":
            return (X,) if y is None else (X, y)
        if kind == "parquet":
            path = parquet_of(X, y)
            return (so.read_parquet(path, target=None if y is None else "y"),)
        raise KeyError(kind)

    return make
