"""Real local clusters on 127.0.0.1 started by ``scaleout cluster up`` (no mocks)."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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
    return subprocess.run(
        [sys.executable, "-m", "scaleout.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


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
    proc = cli(
        state_dir,
        "cluster",
        "up",
        "--engine",
        engine,
        "--workers",
        "2",
        "--port",
        str(port),
        "--ui-port",
        str(ui),
        "--json",
        *extra,
    )
    started = recorded_pids(state_dir, engine)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), started


@contextmanager
def state_dir_of_this_process(state_dir: Path) -> Iterator[None]:
    """``$SCALEOUT_STATE_DIR`` of this process (where so.connect looks for credentials)."""
    before = os.environ.get("SCALEOUT_STATE_DIR")
    os.environ["SCALEOUT_STATE_DIR"] = str(state_dir)
    try:
        yield
    finally:
        if before is None:
            del os.environ["SCALEOUT_STATE_DIR"]
        else:
            os.environ["SCALEOUT_STATE_DIR"] = before


def cluster_processes(state: dict) -> list[psutil.Process]:
    """The recorded processes of a running cluster and all their children."""
    procs = [psutil.Process(entry["pid"]) for entry in state["processes"]]
    return living(procs + [child for proc in procs for child in proc.children(recursive=True)])


def living(procs: list[psutil.Process]) -> list[psutil.Process]:
    """``procs`` without the zombies (an executor of an application that ended)."""
    alive = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def listeners(procs: list[psutil.Process]) -> list[tuple[int, str, int]]:
    """(pid, ip, port) of every listening TCP socket of ``procs``."""
    found = []
    for proc in procs:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                found.append((proc.pid, conn.laddr.ip, conn.laddr.port))
    return found


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


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
        with state_dir_of_this_process(state_dir):  # so.connect finds the credentials there
            yield state_dir, state
    finally:
        stop_cluster(state_dir, "dask", holder["procs"])
        connect(None)


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster-data")
    make_classification(d / "clf.parquet", 20_000, 8, n_classes=3, chunk_rows=5000, random_state=0)
    make_classification(d / "bin.parquet", 20_000, 8, chunk_rows=5000, random_state=3)
    make_regression(d / "reg.parquet", 20_000, 8, chunk_rows=5000, noise=0.5, random_state=1)
    make_blobs(d / "blobs.parquet", 20_000, 8, centers=4, chunk_rows=5000, random_state=2)
    return d


# ------------------------------------------------- every estimator on a CLI-started cluster
# Converged references, as in tests/test_spark_backend.py: both engines minimise the same
# objective to a tight tolerance.
TIGHT = {"tol": 1e-10, "max_iter": 10_000}
SPARK_TIGHT = {"tol": 1e-8, "max_iter": 5_000}
ESTIMATORS = [
    "LinearRegression",
    "LogisticRegression",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KMeans",
    "PCA",
    "Pipeline",
]


@pytest.fixture(scope="module")
def cluster_data(parquet):
    """name -> (dataset, X, y) of the Parquet files the clusters read."""
    features = [f"x{i}" for i in range(8)]
    out = {}
    for name in ("reg", "clf", "blobs"):
        X, y = so.read_parquet(parquet / f"{name}.parquet", target="y").to_numpy()
        dataset = (
            so.read_parquet(parquet / f"{name}.parquet", features=features)
            if name == "blobs"
            else so.read_parquet(parquet / f"{name}.parquet", target="y")
        )
        out[name] = (dataset, X, y)
    return out


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def make_pair(name: str, engine: str) -> tuple[object, object, str]:
    """(estimator on ``engine``, its local sklearn-backend reference, data name)."""
    logit = SPARK_TIGHT if engine == "spark" else {}
    ref_logit = TIGHT if engine == "spark" else {}
    pairs = {
        "LinearRegression": (
            so.LinearRegression(backend=engine),
            so.LinearRegression(backend="sklearn"),
            "reg",
        ),
        "LogisticRegression": (
            so.LogisticRegression(backend=engine, **logit),
            so.LogisticRegression(backend="sklearn", **ref_logit),
            "clf",
        ),
        "DecisionTreeClassifier": (
            so.DecisionTreeClassifier(max_depth=6, backend=engine),
            so.DecisionTreeClassifier(max_depth=6, random_state=0, backend="sklearn"),
            "clf",
        ),
        "DecisionTreeRegressor": (
            so.DecisionTreeRegressor(max_depth=6, backend=engine),
            so.DecisionTreeRegressor(max_depth=6, random_state=0, backend="sklearn"),
            "reg",
        ),
        "KMeans": (
            so.KMeans(4, random_state=0, backend=engine),
            so.KMeans(4, random_state=0, backend="sklearn"),
            "blobs",
        ),
        "PCA": (
            so.PCA(3, backend=engine),
            so.PCA(3, svd_solver="full", backend="sklearn"),
            "blobs",
        ),
        "Pipeline": (
            so.make_pipeline(so.PCA(4), so.LogisticRegression(**logit), backend=engine),
            so.make_pipeline(
                so.PCA(4, svd_solver="full"), so.LogisticRegression(**ref_logit), backend="sklearn"
            ),
            "clf",
        ),
    }
    return pairs[name]


def assert_parity(name: str, engine: str, model, ref, X, y) -> None:
    """The tolerances of tests/test_spark_backend.py and tests/test_dask_backend.py."""
    spark = engine == "spark"
    if name == "LinearRegression":
        assert _rel(model.coef_, ref.coef_) <= (1e-4 if spark else 1e-6)
        assert model.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-9)
    elif name == "LogisticRegression":
        assert model.coef_.shape == ref.coef_.shape == (3, 8)
        assert _rel(model.coef_, ref.coef_) <= 1e-3
        assert np.mean(model.predict(X) == ref.predict(X)) >= 0.999
    elif name.startswith("DecisionTree"):
        assert model.score(X, y) >= ref.score(X, y) - 0.01
        if spark:
            assert abs(model.score(X, y) - ref.score(X, y)) <= 0.01
        assert model.get_depth() <= 6
    elif name == "KMeans":
        assert model.cluster_centers_.shape == (4, 8)
        assert model.inertia_ / ref.inertia_ <= 1.01
    elif name == "PCA":
        rtol, atol = (1e-4, 1e-6) if spark else (1e-6, 1e-8)
        np.testing.assert_allclose(model.explained_variance_, ref.explained_variance_, rtol=rtol)
        np.testing.assert_allclose(model.components_, ref.components_, atol=atol)
        np.testing.assert_allclose(model.mean_, ref.mean_, atol=1e-10)
    else:  # the PCA + LogisticRegression pipeline
        assert abs(model.score(X, y) - ref.score(X, y)) <= 0.005
        np.testing.assert_allclose(
            model[0].transform(X), ref[0].transform(X), atol=1e-6 if spark else 1e-7
        )
        assert _rel(model[-1].coef_, ref[-1].coef_) <= 1e-3


def fit_on_cluster(name: str, engine: str, data: dict) -> tuple[object, object, np.ndarray]:
    model, ref, key = make_pair(name, engine)
    dataset, X, y = data[key]
    model.fit(dataset)
    ref.fit(dataset)
    assert_parity(name, engine, model, ref, X, y)
    return model, ref, X


def fitted_steps(model) -> list:
    return [step for _, step in model.steps] if hasattr(model, "steps") else [model]


@pytest.fixture(scope="module")
def dask_connected(dask_cluster):
    _, state = dask_cluster
    assert connect(state["address"]) == "dask"
    assert so.get_config()["dask_scheduler"] == state["address"]
    yield state
    _disconnect_dask(state["address"])


def _disconnect_dask(address: str) -> None:
    """Back to this machine, closing the cached client before the cluster goes down."""
    from scaleout.backends.dask import _CLIENTS

    connect(None)
    client = _CLIENTS.pop(address, None)
    if client is not None:
        client.close()


@pytest.mark.parametrize("name", ESTIMATORS)
def test_dask_cluster_fits(dask_connected, cluster_data, name):
    model, _, _ = fit_on_cluster(name, "dask", cluster_data)
    assert model.backend_ == "dask"
    for step in fitted_steps(model):
        assert step.backend_ == "dask"
        assert step.fit_stats_["scheduler"] == "distributed"
        assert step.fit_stats_["scheduler_address"] == dask_connected["address"]
        # one-pass fits stream the row groups; multi-pass fits keep them on the workers
        # (a pipeline's steps share its fit: PCA then LogisticRegression is multi-pass)
        one_pass = name in ("LinearRegression", "PCA")
        assert step.fit_stats_["storage"] == ("none" if one_pass else "cluster memory")


def test_dask_cluster_status_and_errors(dask_cluster):
    state_dir, state = dask_cluster
    proc = cli(state_dir, "cluster", "status")
    assert proc.returncode == 0 and state["address"] in proc.stdout
    assert proc.stdout.count(" alive ") == 3
    again = cli(state_dir, "cluster", "up", "--engine", "dask", "--port", str(free_port()))
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0
    assert "already up" in again.stderr


def test_dask_cluster_listens_on_loopback_only(dask_cluster):
    """Scheduler, dashboard, nannies, workers and the workers' HTTP servers: all on 127.0.0.1."""
    _, state = dask_cluster
    procs = cluster_processes(state)
    found = listeners(procs)
    assert [(pid, ip, port) for pid, ip, port in found if not is_loopback(ip)] == []
    ports = {port for _, _, port in found}
    assert {state["port"], state["ui_port"]} <= ports
    # scheduler 2 (comm, dashboard); per worker: nanny 1, worker 2 (comm, HTTP server)
    assert len(found) >= 2 + 3 * state["workers"]


def test_dask_cluster_credentials_are_private(dask_cluster):
    state_dir, state = dask_cluster
    assert state["address"].startswith("tls://127.0.0.1:")
    assert mode(state_dir) == 0o700
    assert mode(state_dir / "dask-credentials") == 0o700
    assert sorted(Path(p).name for p in state["security"].values()) == [
        "ca.pem",
        "cert.pem",
        "key.pem",
    ]
    for path in [state_dir / "dask.json", *state["security"].values()]:
        assert mode(path) == 0o600, path
    # this cluster's own log directory
    logs = Path(state["logs"])
    assert logs.parent == state_dir / "dask-logs" and mode(logs) == 0o700
    assert sorted(Path(p["log"]).name for p in state["processes"]) == [
        "scheduler.log",
        "worker-0.log",
        "worker-1.log",
    ]
    assert all(Path(p["log"]).parent == logs for p in state["processes"])


def test_dask_cluster_refuses_clients_without_credentials(dask_cluster):
    from distributed import Client, Security
    from distributed.comm.core import FatalCommClosedError

    _, state = dask_cluster
    address = state["address"]
    plain = "tcp://" + address[len("tls://") :]
    start = time.monotonic()
    with pytest.raises(OSError):  # the TLS server drops a plain-TCP handshake
        Client(plain, timeout=5, set_as_default=False)
    with pytest.raises(TypeError, match=r"TLS expects a `ssl_context` argument"):
        Client(address, timeout=5, set_as_default=False)
    with pytest.raises(FatalCommClosedError, match=r"TLS certificate does not match"):
        Client(address, security=Security.temporary(), timeout=5, set_as_default=False)
    assert time.monotonic() - start < 20
    with pytest.raises(
        so.exceptions.ClusterError, match=rf"the dask cluster at {plain} uses TLS: connect to"
    ):
        connect(plain)


def assert_down_leaves_nothing(state_dir: Path, engine: str) -> None:
    """`cluster down`; every pid `cluster status` listed (and its children) is gone."""
    status = json.loads(cli(state_dir, "cluster", "status", "--json").stdout)
    (entry,) = [c for c in status if c["engine"] == engine]
    pids = [p["pid"] for p in entry["processes"]]
    assert len(pids) == 3 and all(p["alive"] for p in entry["processes"])
    procs = [psutil.Process(pid) for pid in pids]
    procs += [child for proc in procs for child in proc.children(recursive=True)]
    down = cli(state_dir, "cluster", "down", "--engine", engine)
    assert down.returncode == 0 and f"stopped {engine} cluster" in down.stdout, down.stderr
    _, alive = psutil.wait_procs(procs, timeout=30)
    assert alive == []
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids
    )
    assert not (state_dir / f"{engine}.json").exists()


def test_dask_cluster_down_leaves_nothing(dask_cluster):
    state_dir, state = dask_cluster
    _disconnect_dask(state["address"])
    assert_down_leaves_nothing(state_dir, "dask")


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
    proc = cli(
        tmp_path,
        "cluster",
        "up",
        "--engine",
        "dask",
        "--workers",
        "1",
        "--port",
        "0",
        "--ui-port",
        "0",
        "--memory",
        "not-a-size",
        "--timeout",
        "60",
    )
    assert proc.returncode == 2
    assert "worker-0" in proc.stderr and "died on start" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


# --------------------------------------------------------------------------- Spark standalone
# The Spark part of this module (cluster up, spark-submit, seven fits through so.connect,
# cluster down) takes about 2 minutes on a quiet 2-core machine (4.6-5.3 minutes when the
# machine was shared by other jobs, load average 7-10); it runs in `make test`.


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
        state, holder["procs"] = start_cluster(state_dir, "spark", "--cores", "1", "--memory", "1g")
        with state_dir_of_this_process(state_dir):  # sessions find the secret there
            yield state_dir, state
    finally:
        stop_cluster(state_dir, "spark", holder["procs"])


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


def test_spark_submit_logistic_regression(spark_cluster, parquet, tmp_path):
    """`scaleout submit` of a LogisticRegression job on the cluster (before any session of
    this process holds the cluster's cores)."""
    reason = _spark_backend_reason()
    if reason:
        pytest.skip(reason)
    state_dir, state = spark_cluster
    out = tmp_path / "lr.scaleout"
    proc = cli(
        state_dir,  # where `cluster up` recorded the cluster's secret
        "submit",
        "--master",
        state["address"],
        "--algorithm",
        "logistic_regression",
        "--input",
        str(parquet / "bin.parquet"),
        "--target",
        "y",
        "--output",
        str(out),
        "--metrics",
        str(tmp_path / "m.json"),
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "spark-submit --master " + state["address"] in proc.stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["backend"] == "spark"
    assert metrics["fit_stats"]["spark_master"] == state["address"]
    data = so.read_parquet(parquet / "bin.parquet", target="y")
    X, y = data.to_numpy()
    model = so.load(out)
    assert model.backend_ == "spark" and model.fit_stats_["spark_master"] == state["address"]
    reference = so.LogisticRegression(backend="sklearn").fit(data)
    assert np.mean(model.predict(X) == reference.predict(X)) >= 0.999
    assert metrics["training_score"] == pytest.approx(np.mean(model.predict(X) == y), abs=1e-9)


def test_spark_cluster_refuses_an_app_without_the_secret(spark_cluster, tmp_path):
    """A SparkSession without ``spark.authenticate`` and the secret cannot register."""
    from scaleout.clusters.spark import master_json, spark_env

    state_dir, state = spark_cluster
    assert mode(state["properties_file"]) == 0o600 and mode(state_dir) == 0o700
    script = tmp_path / "intruder.py"
    script.write_text(
        "import time\n"
        "from pyspark.sql import SparkSession\n"
        f"SparkSession.builder.master({state['address']!r}).appName('intruder')"
        ".config('spark.driver.host', '127.0.0.1').config('spark.driver.bindAddress', "
        "'127.0.0.1').config('spark.ui.enabled', 'false').getOrCreate()\n"
        "time.sleep(120)\n"
    )
    out = tmp_path / "intruder.log"
    env = {**os.environ, **spark_env(), "SCALEOUT_STATE_DIR": str(tmp_path)}
    with open(out, "wb") as log:
        intruder = subprocess.Popen(
            [sys.executable, str(script)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 120
        while "Expected SaslMessage" not in out.read_text(errors="replace"):
            assert intruder.poll() is None, out.read_text()[-2000:]
            assert time.monotonic() < deadline, out.read_text()[-2000:]
            time.sleep(0.5)
        text = out.read_text(errors="replace")
        assert "Failed to connect to master 127.0.0.1:" in text
        info = master_json(state["ui_port"])
        names = [app["name"] for app in info["activeapps"] + info["completedapps"]]
        assert "intruder" not in names
    finally:
        procs = [psutil.Process(intruder.pid)]
        procs += procs[0].children(recursive=True)
        for proc in procs:
            proc.kill()
        psutil.wait_procs(procs, timeout=30)


@pytest.fixture(scope="module")
def spark_connected(spark_cluster):
    reason = _spark_backend_reason()
    if reason:
        pytest.skip(reason)
    _, state = spark_cluster
    try:
        assert connect(state["address"]) == "spark"
        yield state
    finally:
        connect(None)  # stops this process's session on the cluster


@pytest.mark.parametrize("name", ESTIMATORS)
def test_spark_cluster_fits(spark_connected, cluster_data, name):
    with so.config_context(progress=False):
        model, _, _ = fit_on_cluster(name, "spark", cluster_data)
    assert model.backend_ == "spark"
    for step in fitted_steps(model):
        assert step.backend_ == "spark"
        assert step.fit_stats_["spark_master"] == spark_connected["address"]


def test_spark_cluster_ran_the_session(spark_connected):
    """The fits' session is an application of the master, with executors on both workers."""
    from scaleout.backends.spark.session import get_session
    from scaleout.clusters.spark import master_json

    session = get_session()
    assert session.sparkContext.master == spark_connected["address"]
    apps = master_json(spark_connected["ui_port"])["activeapps"]
    assert [app["name"] for app in apps] == ["scaleout"]
    assert apps[0]["cores"] == 2  # one core of each of the two workers


def test_spark_cluster_listens_on_loopback_only(spark_connected):
    """Master, workers, their web UIs, the executors and this driver: all on 127.0.0.1; the
    secret is on no command line (which every local user can read)."""
    from scaleout.backends.spark.session import get_session
    from scaleout.clusters.credentials import read_properties

    get_session()  # the fits' session: its executors run on the workers
    state = spark_connected
    procs = cluster_processes(state)
    executors = [p for p in procs if "CoarseGrainedExecutorBackend" in " ".join(p.cmdline())]
    assert len(executors) == 2
    driver = living(psutil.Process().children(recursive=True))
    found = listeners(procs + driver)
    assert [(pid, ip, port) for pid, ip, port in found if not is_loopback(ip)] == []
    ports = {port for _, _, port in found}
    assert {state["port"], state["ui_port"]} <= ports
    assert 6066 not in ports  # the REST submission server is off
    secret = read_properties(state["properties_file"])["spark.authenticate.secret"]
    assert len(secret) == 64
    assert [p.pid for p in procs + driver if secret in " ".join(p.cmdline())] == []


def master_of(state: dict) -> psutil.Process:
    (entry,) = [p for p in state["processes"] if p["role"] == "master"]
    return psutil.Process(entry["pid"])


def test_spark_rest_server_is_off_by_default(spark_cluster):
    """The master listens on its RPC port and its web UI, nothing else (no REST server)."""
    _, state = spark_cluster
    assert state["rest_url"] is None and state["rest_port"] is None
    assert sorted(port for _, _, port in listeners([master_of(state)])) == sorted(
        [state["port"], state["ui_port"]]
    )


def test_spark_rest_server_when_asked_on_loopback_with_a_warning(tmp_path):
    """`cluster up --spark-rest`: the master's REST submission server listens on 127.0.0.1
    only, at the port recorded in the state and shown by `status`, with a warning."""
    pytest.importorskip("pyspark")
    started: list[psutil.Process] = []
    try:
        proc = cli(
            tmp_path, "cluster", "up", "--engine", "spark", "--workers", "1",
            "--port", str(free_port()), "--ui-port", "0", "--spark-rest", "--rest-port", "0",
            "--json",
        )
        started = recorded_pids(tmp_path, "spark")
        assert proc.returncode == 0, proc.stderr
        state = json.loads(proc.stdout)
        rest_port = state["rest_port"]
        assert state["rest_url"] == f"spark://127.0.0.1:{rest_port}"
        assert proc.stderr.strip().splitlines() == [
            f"scaleout: warning: Spark's REST submission server at spark://127.0.0.1:{rest_port} "
            "has no authentication: any account that can connect to it can submit a driver "
            "that runs code as you (spark.authenticate does not apply to it); turn it on only "
            "when you need it"
        ]
        found = listeners([master_of(state)])
        assert sorted(port for _, _, port in found) == sorted(
            [state["port"], state["ui_port"], rest_port]
        )
        assert [(ip, port) for _, ip, port in found if not is_loopback(ip)] == []
        # it is Spark's REST server (it answers in its protocol)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{rest_port}/v1/submissions/status/driver-0", timeout=10
        ) as response:
            answer = json.load(response)
        assert answer["action"] == "SubmissionStatusResponse" and answer["success"] is False
        status = cli(tmp_path, "cluster", "status")
        assert status.returncode == 0, status.stderr
        assert (
            f"  REST submission server spark://127.0.0.1:{rest_port} (no authentication)"
            in status.stdout.splitlines()
        )
        recorded = json.loads(cli(tmp_path, "cluster", "status", "--json").stdout)
        assert recorded[0]["rest_port"] == rest_port
    finally:
        stop_cluster(tmp_path, "spark", started)


def test_spark_down_leaves_nothing(spark_cluster):
    state_dir, _ = spark_cluster
    connect(None)  # stop the session while its master is still up
    assert_down_leaves_nothing(state_dir, "spark")
