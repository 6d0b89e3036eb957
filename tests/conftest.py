"""Shared fixtures: real datasets and Parquet copies of them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn import datasets as skdatasets

from scaleout.demo import write_parquet

REPO = Path(__file__).resolve().parents[1]

# A fourth engine, installed the way a plug-in package is: its distribution metadata
# (tests/plugins/*.dist-info) declares it in the ``scaleout.backends`` entry-point group.
# Every test that asks the registry for the installed engines gets it too.
sys.path.insert(0, str(REPO / "tests" / "plugins"))


def mnist_dir() -> str | None:
    """The real MNIST test split: $SCALEOUT_MNIST_DIR, else ../shared/data/mnist if present."""
    env = os.environ.get("SCALEOUT_MNIST_DIR")
    if env:
        return env
    shared = REPO.parent / "shared" / "data" / "mnist"
    return str(shared) if shared.is_dir() else None


def load_named(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one of the parity datasets by name."""
    if name == "mnist":
        from scaleout.datasets import load_mnist

        directory = mnist_dir()
        if directory is None:
            pytest.skip("no MNIST directory (set SCALEOUT_MNIST_DIR)")
        return load_mnist(directory)
    loader = {
        "breast_cancer": skdatasets.load_breast_cancer,
        "wine": skdatasets.load_wine,
        "diabetes": skdatasets.load_diabetes,
        "digits": skdatasets.load_digits,
        "iris": skdatasets.load_iris,
    }[name]
    return loader(return_X_y=True)


@pytest.fixture
def parquet_of(tmp_path):
    """Write (X, y) to a Parquet file and return its path."""

    def write(X: np.ndarray, y: np.ndarray | None, name: str = "data.parquet") -> str:
        return write_parquet(X, y, tmp_path / name)

    return write


@pytest.fixture(scope="session")
def _spark_sessions():
    """Every local session the ``spark`` fixture handed out; stopped at the end of the run."""
    sessions: list = []
    yield sessions
    for session in sessions:
        session.stop()  # a no-op for a session already stopped


@pytest.fixture(scope="module")
def spark(_spark_sessions):
    """A local[2] Spark session, one per run while it lives (pyspark tests only).

    Module-scoped so that a module running after another one stopped the session
    (``so.connect`` to a cluster stops the local session: one SparkContext per
    process, see tests/test_clusters.py) gets a live one, whatever the module order.
    """
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from scaleout import config_context, set_config
    from scaleout.backends.spark.session import get_session, is_local

    active = SparkSession.getActiveSession()
    if active is not None and not is_local(active.sparkContext.master):
        active.stop()  # a cluster's session left active
        active = None
    master = "local[2]" if active is None else active.sparkContext.master
    with config_context(spark_master=master):
        session = get_session()
    # An explicit spark_master left by an earlier module (so.connect) names this session now:
    # fits check a set spark_master against the running session's.
    set_config(spark_master=session.sparkContext.master)
    if not _spark_sessions or _spark_sessions[-1] is not session:
        _spark_sessions.append(session)
    return session
