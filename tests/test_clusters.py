"""Real local clusters on 127.0.0.1 started by ``scaleout cluster up`` (no mocks)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil
import pytest

import scaleout as so
from scaleout.clusters.procs import free_port
from scaleout.connect import connect
from scaleout.datasets import make_blobs, make_classification, make_regression

REPO = Path(__file__).resolve().parents[1]


def cli(state_dir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCALEOUT_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "scaleout.cli", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=timeout)


def recorded_pids(state_dir: Path, engine: str) -> list[psutil.Process]:
    path = state_dir / f"{engine}.json"
    if not path.exists():
        return []
    procs = []
    for entry in json.loads(path.read_text())["processes"]:
        try:
            proc = psutil.Process(entry["pid"])
            procs.append(proc)
            procs.extend(proc.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return procs


def start_cluster(state_dir: Path, engine: str, *extra: str) -> tuple[dict, list]:
    port, ui = free_port(), free_port()
    proc = cli(state_dir, "cluster", "up", "--engine", engine, "--workers", "2",
               "--port", str(port), "--ui-port", str(ui), "--json", *extra)
    started = recorded_pids(state_dir, engine)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), started


def stop_cluster(state_dir: Path, engine: str, procs: list[psutil.Process]) -> None:
    """Finalizer: `cluster down`, then make sure (by pid) nothing is left."""
    procs = procs + recorded_pids(state_dir, engine)
    cli(state_dir, "cluster", "down", "--engine", engine)
    _, alive = psutil.wait_procs(procs, timeout=15)
    for proc in alive:  # only if `cluster down` failed: never leak a process
        proc.kill()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("dask-state")
    holder: dict = {"procs": []}
    try:
        state, holder["procs"] = start_cluster(state_dir, "dask", "--memory", "2GiB")
        yield state_dir, state
    finally:
        stop_cluster(state_dir, "dask", holder["procs"])
        connect(None)


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster-data")
    make_classification(d / "clf.parquet", 20_000, 8, n_classes=3, chunk_rows=5000,
                        random_state=0)
    make_classification(d / "bin.parquet", 20_000, 8, chunk_rows=5000, random_state=3)
    make_regression(d / "reg.parquet", 20_000, 8, chunk_rows=5000, noise=0.5, random_state=1)
    make_blobs(d / "blobs.parquet", 20_000, 8, centers=4, chunk_rows=5000, random_state=2)
    return d


def test_dask_cluster_fits(dask_cluster, parquet):
    _, state = dask_cluster
    assert connect(state["address"]) == "dask"
    assert so.get_config()["dask_scheduler"] == state["address"]
    reg = so.read_parquet(parquet / "reg.parquet", target="y")
    clf = so.read_parquet(parquet / "clf.parquet", target="y")
    blobs = so.read_parquet(parquet / "blobs.parquet", features=[f"x{i}" for i in range(8)])
    Xr, yr = reg.to_numpy()
    Xc, yc = clf.to_numpy()

    lr = so.LinearRegression(backend="dask").fit(reg)
    from sklearn.linear_model import LinearRegression as SkLR

    np.testing.assert_allclose(lr.coef_, SkLR().fit(Xr, yr).coef_, rtol=1e-6, atol=1e-9)
    logit = so.LogisticRegression(backend="dask").fit(clf)
    sk_logit = so.LogisticRegression(backend="sklearn").fit(clf)
    assert np.mean(logit.predict(Xc) == sk_logit.predict(Xc)) >= 0.999
    pca = so.PCA(n_components=3, backend="dask").fit(clf)
    assert pca.components_.shape == (3, 8)
    km = so.KMeans(n_clusters=4, random_state=0, backend="dask").fit(blobs)
    assert km.cluster_centers_.shape == (4, 8)
    tree = so.DecisionTreeClassifier(max_depth=4, backend="dask").fit(clf)
    sk_tree = so.DecisionTreeClassifier(max_depth=4, backend="sklearn").fit(clf)
    assert np.mean(tree.predict(Xc) == yc) >= np.mean(sk_tree.predict(Xc) == yc) - 0.01
    for model in (lr, logit, pca, km, tree):
        assert model.fit_stats_["scheduler"] == "distributed"
        assert model.fit_stats_["backend"] == "dask"
    connect(None)
    assert so.get_config()["dask_scheduler"] is None


def test_dask_cluster_status_and_errors(dask_cluster):
    state_dir, state = dask_cluster
    proc = cli(state_dir, "cluster", "status")
    assert proc.returncode == 0 and state["address"] in proc.stdout
    assert proc.stdout.count(" alive ") == 3
    again = cli(state_dir, "cluster", "up", "--engine", "dask", "--port", str(free_port()))
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0
    assert "already up" in again.stderr


def test_port_in_use(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        proc = cli(tmp_path, "cluster", "up", "--engine", "dask", "--port", str(port))
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 (dask scheduler) is already in use" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "dask.json").exists()


def test_dask_down_leaves_nothing(tmp_path):
    holder: list = []
    try:
        _, holder[:] = start_cluster(tmp_path, "dask")
        procs = recorded_pids(tmp_path, "dask")
        assert len(procs) >= 3
        down = cli(tmp_path, "cluster", "down")
        assert down.returncode == 0 and "stopped dask cluster" in down.stdout
        _, alive = psutil.wait_procs(procs, timeout=10)
        assert alive == []
        assert not (tmp_path / "dask.json").exists()
        assert "no cluster is up" in cli(tmp_path, "cluster", "status").stdout
    finally:
        stop_cluster(tmp_path, "dask", holder)


def test_worker_dying_on_start(tmp_path):
    proc = cli(tmp_path, "cluster", "up", "--engine", "dask", "--workers", "1", "--port", "0",
               "--ui-port", "0", "--memory", "not-a-size", "--timeout", "60")
    assert proc.returncode == 2
    assert "worker-0" in proc.stderr and "died on start" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


# --------------------------------------------------------------------------- Spark standalone


def _spark_backend_reason() -> str | None:
    try:
        import pyspark  # noqa: F401

        from scaleout.backends.spark import session  # noqa: F401
    except Exception as exc:  # the backend is being written elsewhere
        return f"scaleout.backends.spark not importable yet: {exc}"
    return None


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    pytest.importorskip("pyspark")
    state_dir = tmp_path_factory.mktemp("spark-state")
    holder: dict = {"procs": []}
    try:
        state, holder["procs"] = start_cluster(state_dir, "spark", "--cores", "1",
                                               "--memory", "1g")
        yield state_dir, state
    finally:
        stop_cluster(state_dir, "spark", holder["procs"])


@pytest.mark.slow
def test_spark_cluster_up_status(spark_cluster):
    from scaleout.clusters.spark import master_json

    state_dir, state = spark_cluster
    info = master_json(state["ui_port"])
    assert [w["state"] for w in info["workers"]] == ["ALIVE", "ALIVE"]
    assert all(w["cores"] == 1 and w["memory"] == 1024 for w in info["workers"])
    status = json.loads(cli(state_dir, "cluster", "status", "--json").stdout)
    assert status[0]["address"] == state["address"]
    assert all(p["alive"] for p in status[0]["processes"])
    again = cli(state_dir, "cluster", "up", "--engine", "spark", "--port", str(free_port()))
    assert again.returncode == 2 and "already up" in again.stderr


@pytest.mark.slow
def test_spark_submit_logistic_regression(spark_cluster, parquet, tmp_path):
    reason = _spark_backend_reason()
    if reason:
        pytest.skip(reason)
    _, state = spark_cluster
    out = tmp_path / "lr.scaleout"
    proc = cli(tmp_path, "submit", "--master", state["address"], "--algorithm",
               "logistic_regression", "--input", str(parquet / "bin.parquet"), "--target", "y",
               "--output", str(out), "--metrics", str(tmp_path / "m.json"), timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "spark-submit --master " + state["address"] in proc.stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["backend"] == "spark"
    assert metrics["fit_stats"]["spark_master"] == state["address"]
    data = so.read_parquet(parquet / "bin.parquet", target="y")
    X, _ = data.to_numpy()
    model = so.load(out)
    reference = so.LogisticRegression(backend="sklearn").fit(data)
    assert np.mean(model.predict(X) == reference.predict(X)) >= 0.999


@pytest.mark.slow
def test_spark_cluster_fit_via_connect(spark_cluster, parquet):
    reason = _spark_backend_reason()
    if reason:
        pytest.skip(reason)
    _, state = spark_cluster
    try:
        assert connect(state["address"]) == "spark"
        data = so.read_parquet(parquet / "reg.parquet", target="y")
        lr = so.LinearRegression(backend="spark").fit(data)
        assert lr.fit_stats_["spark_master"] == state["address"]
        reference = so.LinearRegression(backend="sklearn").fit(data)
        np.testing.assert_allclose(lr.coef_, reference.coef_, rtol=1e-4, atol=1e-6)
    finally:
        connect(None)


@pytest.mark.slow
def test_spark_down_leaves_nothing(spark_cluster):
    state_dir, _ = spark_cluster
    procs = recorded_pids(state_dir, "spark")
    assert len(procs) >= 3
    down = cli(state_dir, "cluster", "down", "--engine", "spark")
    assert down.returncode == 0
    _, alive = psutil.wait_procs(procs, timeout=20)
    assert alive == []
    assert not (state_dir / "spark.json").exists()
