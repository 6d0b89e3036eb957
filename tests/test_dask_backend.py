"""The dask engine end to end: Parquet in, the same model as scikit-learn out,
on this machine (threads, memory or spill cache) and on a real 2-worker
LocalCluster on 127.0.0.1."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import cluster, decomposition, linear_model, metrics, tree

import scaleout as so
from scaleout.datasets import make_blobs, make_classification, make_regression
from scaleout.exceptions import DataError, UnsupportedOnBackend

distributed = pytest.importorskip("distributed")

ROWS = 20_000


@pytest.fixture(scope="module")
def cluster_client():
    cluster_ = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    )
    client = distributed.Client(cluster_, set_as_default=False)
    yield client
    client.close()
    cluster_.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask-data")
    kw = {"chunk_rows": 2_500, "n_files": 4}
    return {
        "regression": make_regression(root / "reg", ROWS, 8, random_state=0, **kw),
        "binary": make_classification(root / "bin", ROWS, 8, random_state=1, **kw),
        "multiclass": make_classification(
            root / "multi", ROWS, 8, n_classes=3, random_state=2, **kw
        ),
        "blobs": make_blobs(root / "blobs", ROWS, 6, centers=5, random_state=3, **kw),
    }


def _arrays(info):
    return so.read_parquet(info.path, target="y").to_numpy()


def _where(engine, client):
    if engine == "cluster":
        return so.config_context(dask_scheduler=client.scheduler.address, dask_chunk_rows=2_500)
    return so.config_context(dask_scheduler="threads", dask_cache=engine, dask_chunk_rows=2_500)


ENGINES = ["memory", "spill", "cluster"]


@pytest.mark.parametrize("engine", ENGINES)
def test_linear_regression(engine, data_dir, cluster_client):
    info = data_dir["regression"]
    X, y = _arrays(info)
    with _where(engine, cluster_client):
        model = so.LinearRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    ref = linear_model.LinearRegression().fit(X, y)
    assert np.linalg.norm(model.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-6
    assert model.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-9)
    assert model.fit_stats_["passes"] == 1
    assert model.fit_stats_["rows"] == ROWS
    assert model.fit_stats_["partitions"] == 8  # 4 files x 2 row groups of 2,500 rows
    # one pass: the files are streamed, no decoded copy is kept on any engine
    assert model.fit_stats_["storage"] == "none"


@pytest.mark.parametrize("engine", ENGINES)
def test_pca(engine, data_dir, cluster_client):
    info = data_dir["blobs"]
    X, _ = _arrays(info)
    features = [f"x{j}" for j in range(X.shape[1])]
    with _where(engine, cluster_client):
        model = so.PCA(3, backend="dask").fit(so.read_parquet(info.path, features=features))
    ref = decomposition.PCA(3, svd_solver="full").fit(X)
    assert_allclose(model.explained_variance_, ref.explained_variance_, rtol=1e-6)
    assert_allclose(model.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-6)
    assert_allclose(model.components_, ref.components_, atol=1e-8)  # same signs
    assert_allclose(model.transform(X), ref.transform(X), atol=1e-7)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_logistic_regression(kind, engine, data_dir, cluster_client):
    info = data_dir[kind]
    X, y = _arrays(info)
    with _where(engine, cluster_client):
        model = so.LogisticRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    ref = linear_model.LogisticRegression().fit(X, y)
    assert model.coef_.shape == ref.coef_.shape  # 3 classes: multinomial (3, 8)
    assert np.linalg.norm(model.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-3
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.999
    # several passes: the decoded chunks are kept where the engine keeps them
    expected = {"memory": "memory", "spill": "spill", "cluster": "cluster memory"}[engine]
    assert model.fit_stats_["storage"] == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_kmeans(engine, data_dir, cluster_client):
    info = data_dir["blobs"]
    X, _ = _arrays(info)
    features = [f"x{j}" for j in range(X.shape[1])]
    with _where(engine, cluster_client):
        model = so.KMeans(5, random_state=0, backend="dask").fit(
            so.read_parquet(info.path, features=features)
        )
    ref = cluster.KMeans(5, random_state=0).fit(X)
    assert model.inertia_ <= 1.01 * ref.inertia_
    # labels_ as scikit-learn's: the closest final centre of each row, in row order
    assert model.labels_.dtype == np.int32 and model.labels_.shape == (ROWS,)
    assert_array_equal(model.labels_, model.predict(X))
    assert metrics.adjusted_rand_score(model.labels_, ref.labels_) >= 0.99


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_decision_tree(kind, engine, data_dir, cluster_client):
    info = data_dir[kind]
    X, y = _arrays(info)
    cls = so.DecisionTreeClassifier if kind == "binary" else so.DecisionTreeRegressor
    ref_cls = tree.DecisionTreeClassifier if kind == "binary" else tree.DecisionTreeRegressor
    with _where(engine, cluster_client):
        model = cls(max_depth=6, backend="dask").fit(so.read_parquet(info.path, target="y"))
    ref = ref_cls(max_depth=6, random_state=0).fit(X, y)
    ours, theirs = model.score(X, y), ref.score(X, y)
    assert ours >= theirs - 0.01
    assert model.tree_.max_depth <= 6
    assert model.fit_stats_["passes"] <= 6 + 4


def test_pipeline_pca_logistic_regression(data_dir, cluster_client):
    info = data_dir["multiclass"]
    X, y = _arrays(info)
    pipe = so.make_pipeline(so.PCA(4), so.LogisticRegression(), backend="dask")
    pipe.fit(so.read_parquet(info.path, target="y"))
    from sklearn.pipeline import make_pipeline

    ref = make_pipeline(
        decomposition.PCA(4, svd_solver="full"), linear_model.LogisticRegression()
    ).fit(X, y)
    assert pipe.backend_ == "dask"
    assert all(step.backend_ == "dask" for _, step in pipe.steps)
    assert abs(metrics.accuracy_score(y, pipe.predict(X)) - ref.score(X, y)) <= 0.005


def test_same_result_local_and_cluster(data_dir, cluster_client):
    info = data_dir["binary"]
    with so.config_context(dask_scheduler="threads"):
        local = so.LogisticRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    with so.config_context(dask_scheduler=cluster_client.scheduler.address):
        remote = so.LogisticRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    assert_allclose(local.coef_, remote.coef_, rtol=1e-10)
    assert remote.fit_stats_["scheduler"] == "distributed"


def test_nan_in_a_late_row_group_names_file_row_group_and_row(tmp_path):
    rng = np.random.default_rng(0)
    for k in range(4):
        X = rng.normal(size=(5_000, 3))
        if k == 3:
            X[4_000, 2] = np.nan
        table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": X[:, 0]})
        pq.write_table(table, tmp_path / f"part-{k}.parquet", row_group_size=2_500)
    with pytest.raises(
        DataError,
        match=r"column 'c'.*row 19000 of file '.*part-3\.parquet', "
        r"row group 1",
    ):
        so.LinearRegression(backend="dask").fit(so.read_parquet(tmp_path, target="y"))


def test_a_string_column_in_one_file_is_named_before_reading(tmp_path):
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [0.0, 1.0]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"a": ["x", "y"], "y": [0.0, 1.0]}), tmp_path / "part-1.parquet")
    with pytest.raises(DataError, match=r"part-1\.parquet.*column 'a'"):
        so.read_parquet(tmp_path, target="y")


def test_unsupported_options_are_named():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(UnsupportedOnBackend, match=r"PCA\(n_components='mle'\).*supported"):
        so.PCA("mle", backend="dask").fit(X)
    with pytest.raises(DataError, match=r"sample_weight.shape == \(49,\), expected \(50,\)"):
        so.LinearRegression(backend="dask").fit(X, X[:, 0], sample_weight=np.ones(49))
    negative = np.where(np.arange(50) == 3, -1.0, 1.0)
    with pytest.raises(DataError, match=r"non-negative; row 3 is -1\.0"):
        so.LinearRegression(backend="dask").fit(X, X[:, 0], sample_weight=negative)


def test_size_rule_picks_dask_above_the_budget(data_dir):
    ds = so.read_parquet(data_dir["regression"].path, target="y")
    with so.config_context(memory_budget=ds.estimated_nbytes - 1):
        decision = so.explain(so.LinearRegression(), ds)
    assert (decision.backend, decision.rule) == ("dask", "size")


def test_in_memory_input_on_dask_equals_sklearn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3_000, 5))
    y = X @ np.arange(1, 6) + rng.normal(size=3_000)
    with so.config_context(dask_scheduler="threads", dask_chunk_rows=700):
        model = so.LinearRegression(backend="dask").fit(X, y)
    assert model.fit_stats_["partitions"] == 5
    assert_array_equal(
        np.round(model.coef_, 8), np.round(linear_model.LinearRegression().fit(X, y).coef_, 8)
    )


def test_a_worker_killed_mid_fit_and_the_fit_completes(tmp_path, cluster_client):
    import os
    import signal
    import threading
    import time

    info = make_classification(
        tmp_path / "kill", 200_000, 8, n_classes=3, random_state=5, chunk_rows=25_000, n_files=4
    )
    with so.config_context(dask_scheduler="threads"):
        local = so.LogisticRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))

    result: dict[str, object] = {}

    def fit_on_cluster() -> None:
        with so.config_context(
            dask_scheduler=cluster_client.scheduler.address, dask_chunk_rows=25_000
        ):
            try:
                result["model"] = so.LogisticRegression(backend="dask").fit(
                    so.read_parquet(info.path, target="y")
                )
            except Exception as exc:  # reported below
                result["error"] = exc

    def loaded_chunks() -> int:
        keys = cluster_client.run_on_scheduler(
            lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks]
        )
        return sum("scaleout-pass" in k for k in keys)

    pids = cluster_client.run(os.getpid)
    thread = threading.Thread(target=fit_on_cluster)
    thread.start()
    deadline = time.monotonic() + 60
    while loaded_chunks() < 8 and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    assert thread.is_alive(), "the fit ended before a worker could be killed"
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    assert "error" not in result, result.get("error")
    model = result["model"]
    assert_allclose(model.coef_, local.coef_, rtol=1e-8, atol=1e-10)
    assert victim not in cluster_client.run(os.getpid).values()


@pytest.mark.parametrize("engine", ["threads", "cluster"])
def test_dask_dataframe_and_array_input(engine, data_dir, cluster_client):
    import dask.array as da
    import dask.dataframe as dd

    info = data_dir["regression"]
    X, y = _arrays(info)
    ref = linear_model.LinearRegression().fit(X, y)
    frame = dd.read_parquet(info.path)
    config = (
        {"dask_scheduler": cluster_client.scheduler.address}
        if engine == "cluster"
        else {"dask_scheduler": "threads"}
    )
    with so.config_context(**config):
        decision = so.explain(so.LinearRegression(), frame, "y")
        assert (decision.backend, decision.rule) == ("dask", "input type")
        from_frame = so.LinearRegression().fit(frame, "y")
        from_array = so.LinearRegression().fit(
            da.from_array(X, chunks=(3_000, -1)), da.from_array(y, chunks=3_000)
        )
    assert from_frame.backend_ == "dask"
    assert list(from_frame.feature_names_in_) == [f"x{j}" for j in range(8)]
    for model in (from_frame, from_array):
        assert np.linalg.norm(model.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-6
    assert from_array.fit_stats_["partitions"] == 7


def test_workers_read_their_own_row_groups(data_dir, cluster_client, monkeypatch):
    """On a cluster the client never loads a partition: break loading in this process
    and the fit still succeeds, because the workers (other processes) read the files."""
    from scaleout.data.partitions import ParquetPartition

    def no_reads_here(self):
        raise AssertionError("a partition was read by the client")

    monkeypatch.setattr(ParquetPartition, "load", no_reads_here)
    info = data_dir["regression"]
    with so.config_context(dask_scheduler=cluster_client.scheduler.address):
        model = so.LinearRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    assert model.fit_stats_["scheduler"] == "distributed"
    with pytest.raises(AssertionError, match="read by the client"):
        with so.config_context(dask_scheduler="threads"):
            so.LinearRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))


def test_an_active_client_is_used_without_config(data_dir, cluster_client):
    info = data_dir["regression"]
    with distributed.Client(cluster_client.scheduler.address) as client:
        assert distributed.default_client() is client
        model = so.LinearRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    assert model.fit_stats_["scheduler"] == "distributed"


def test_csv_and_fsspec_url_inputs_on_dask(data_dir, tmp_path):
    import fsspec
    import pyarrow.csv as pacsv

    info = data_dir["regression"]
    X, y = _arrays(info)
    ref = linear_model.LinearRegression().fit(X, y)
    table = pq.read_table(info.files)
    pacsv.write_csv(table, tmp_path / "reg.csv")
    memory = fsspec.filesystem("memory")
    for k, path in enumerate(info.files):
        with open(path, "rb") as src, memory.open(f"/dask-url/part-{k}.parquet", "wb") as dst:
            dst.write(src.read())
    with so.config_context(dask_scheduler="threads", dask_chunk_rows=4_000):
        from_csv = so.LinearRegression(backend="dask").fit(
            so.read_csv(tmp_path / "reg.csv", target="y")
        )
        from_url = so.LinearRegression(backend="dask").fit(
            so.read_parquet("memory://dask-url/*.parquet", target="y")
        )
    assert from_csv.fit_stats_["partitions"] == 5
    for model in (from_csv, from_url):
        assert np.linalg.norm(model.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-6


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "digits", "mnist"])
def test_real_data_linear_regression_and_pca_from_parquet(name, parquet_of):
    from sklearn.preprocessing import StandardScaler

    from tests.conftest import load_named

    X, y = load_named(name)
    X = StandardScaler().fit_transform(X)
    y = y.astype(float)
    path = parquet_of(X, y)
    with so.config_context(dask_scheduler="threads", dask_chunk_rows=500):
        lin = so.LinearRegression(backend="dask").fit(so.read_parquet(path, target="y"))
        pca = so.PCA(5, backend="dask").fit(
            so.read_parquet(path, features=[f"x{j}" for j in range(X.shape[1])])
        )
    ref_lin = linear_model.LinearRegression().fit(X, y)
    ref_pca = decomposition.PCA(5, svd_solver="full").fit(X)
    assert np.linalg.norm(lin.coef_ - ref_lin.coef_) / np.linalg.norm(ref_lin.coef_) <= 1e-6
    assert lin.rank_ == ref_lin.rank_
    assert_allclose(pca.explained_variance_, ref_pca.explained_variance_, rtol=1e-6)
    assert_allclose(np.abs(pca.components_ @ ref_pca.components_.T), np.eye(5), atol=1e-6)
    assert_allclose(pca.components_, ref_pca.components_, atol=1e-6)  # signs fixed alike


def test_ill_conditioned_linear_regression_warns():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    with (
        so.config_context(dask_scheduler="threads"),
        pytest.warns(RuntimeWarning, match="ill-conditioned"),
    ):
        model = so.LinearRegression(fit_intercept=False, backend="dask").fit(X, y.astype(float))
    assert model.coef_.shape == (30,)


def test_progress_line_per_pass_and_pass_count(data_dir, caplog):
    import logging

    info = data_dir["binary"]
    with (
        caplog.at_level(logging.INFO, logger="scaleout"),
        so.config_context(dask_scheduler="threads"),
    ):
        model = so.LogisticRegression(backend="dask").fit(so.read_parquet(info.path, target="y"))
    lines = [r.getMessage() for r in caplog.records if r.name == "scaleout"]
    assert len(lines) == model.fit_stats_["passes"] >= 3
    assert lines[0].startswith("pass 1 (") and f"{ROWS} rows in" in lines[0]
    assert lines[-1].startswith(f"pass {len(lines)} (") and lines[-1].endswith("rows/s")


# ------------------------------------------------------------- sample_weight
@pytest.mark.parametrize("engine", ENGINES)
def test_sample_weight_on_dask_equals_sklearn(engine, data_dir, cluster_client):
    reg = so.read_parquet(data_dir["regression"].path, target="y")
    multi = so.read_parquet(data_dir["multiclass"].path, target="y")
    blobs_info = data_dir["blobs"]
    blobs = so.read_parquet(blobs_info.path, features=[f"x{j}" for j in range(6)])
    Xr, yr = reg.to_numpy()
    Xc, yc = multi.to_numpy()
    Xb, _ = blobs.to_numpy()
    w = np.random.default_rng(0).integers(0, 4, ROWS).astype(float)
    with _where(engine, cluster_client):
        lin = so.LinearRegression(backend="dask").fit(reg, sample_weight=w)
        logit = so.LogisticRegression(backend="dask").fit(multi, sample_weight=w)
        dtc = so.DecisionTreeClassifier(max_depth=5, backend="dask").fit(multi, sample_weight=w)
        dtr = so.DecisionTreeRegressor(max_depth=5, backend="dask").fit(reg, sample_weight=w)
        km = so.KMeans(5, init=Xb[:5], n_init=1, backend="dask").fit(blobs, sample_weight=w)
    ref = linear_model.LinearRegression().fit(Xr, yr, sample_weight=w)
    assert np.linalg.norm(lin.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-6
    ref = linear_model.LogisticRegression().fit(Xc, yc, sample_weight=w)
    assert np.linalg.norm(logit.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-3
    assert np.mean(logit.predict(Xc) == ref.predict(Xc)) >= 0.999
    ref = tree.DecisionTreeClassifier(max_depth=5, random_state=0).fit(Xc, yc, sample_weight=w)
    assert dtc.score(Xc, yc, sample_weight=w) >= ref.score(Xc, yc, sample_weight=w) - 0.01
    ref = tree.DecisionTreeRegressor(max_depth=5, random_state=0).fit(Xr, yr, sample_weight=w)
    assert dtr.score(Xr, yr, sample_weight=w) >= ref.score(Xr, yr, sample_weight=w) - 0.01
    ref = cluster.KMeans(5, init=Xb[:5], n_init=1).fit(Xb, sample_weight=w)
    assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert_array_equal(km.labels_, ref.labels_)


def test_integer_sample_weight_on_dask_is_repeated_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3_000, 4))
    y = X @ np.arange(1.0, 5.0) + rng.normal(size=3_000)
    w = rng.integers(0, 3, 3_000)
    rows = np.repeat(np.arange(3_000), w)
    with so.config_context(dask_scheduler="threads", dask_chunk_rows=700):
        weighted = so.LinearRegression(backend="dask").fit(X, y, sample_weight=w)
        repeated = so.LinearRegression(backend="dask").fit(X[rows], y[rows])
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-9)
    with so.config_context(dask_scheduler="threads", dask_chunk_rows=700):
        scalar = so.LinearRegression(backend="dask").fit(X, y, sample_weight=2.0)
        plain = so.LinearRegression(backend="dask").fit(X, y)
    assert_allclose(scalar.coef_, plain.coef_, rtol=1e-9)  # a scalar weighs every row alike


# ------------------------------------------------------------ caches, spills
@pytest.fixture
def spill_root(tmp_path, monkeypatch):
    """The system temp dir, where the local executor makes its spill directory."""
    import tempfile

    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_a_one_pass_fit_over_the_budget_writes_no_spill(data_dir, spill_root):
    info = data_dir["regression"]
    ds = so.read_parquet(info.path, target="y")
    with so.config_context(dask_scheduler="threads", dask_chunk_rows=2_500):
        roomy = so.LinearRegression(backend="dask").fit(ds)
        with so.config_context(memory_budget=ds.estimated_nbytes // 10):
            tight = so.LinearRegression(backend="dask").fit(ds)
            pca = so.PCA(3, backend="dask").fit(
                so.read_parquet(info.path, features=[f"x{j}" for j in range(8)])
            )
    assert list(spill_root.iterdir()) == []
    assert tight.fit_stats_["storage"] == pca.fit_stats_["storage"] == "none"
    assert_array_equal(tight.coef_, roomy.coef_)
    assert tight.intercept_ == roomy.intercept_


def _spying_on_spills(monkeypatch, root, module, name, fail_at=None):
    """Wrap a kernel's chunk function: record the spill files it sees, fail on a call."""
    import importlib
    import os

    kernel = importlib.import_module(module)
    real = getattr(kernel, name)
    seen: dict[str, object] = {"files": set(), "calls": 0}

    def spy(*args, **kwargs):
        seen["calls"] += 1
        for directory in root.iterdir():
            seen["files"] |= set(os.listdir(directory))
        if fail_at is not None and seen["calls"] >= fail_at:
            raise RuntimeError("boom in a chunk")
        return real(*args, **kwargs)

    monkeypatch.setattr(kernel, name, spy)
    return seen


def test_a_multi_pass_fit_over_the_budget_spills_and_cleans_up(data_dir, spill_root, monkeypatch):
    info = data_dir["binary"]
    ds = so.read_parquet(info.path, target="y")
    X, y = ds.to_numpy()
    seen = _spying_on_spills(
        monkeypatch, spill_root, "scaleout.kernels.logistic", "_binary_loss_grad"
    )
    with so.config_context(
        dask_scheduler="threads", dask_chunk_rows=2_500, memory_budget=ds.estimated_nbytes // 10
    ):
        model = so.LogisticRegression(backend="dask").fit(ds)
    assert model.fit_stats_["storage"] == "spill"
    assert {f"{i}.X.npy" for i in range(8)} <= seen["files"]  # every chunk decoded once
    assert list(spill_root.iterdir()) == []  # removed at the end of the fit
    ref = linear_model.LogisticRegression().fit(X, y)
    assert np.linalg.norm(model.coef_ - ref.coef_) / np.linalg.norm(ref.coef_) <= 1e-3


def test_spill_files_are_removed_after_an_error_mid_fit(data_dir, spill_root, monkeypatch):
    info = data_dir["binary"]
    ds = so.read_parquet(info.path, target="y")
    seen = _spying_on_spills(
        monkeypatch, spill_root, "scaleout.kernels.logistic", "_binary_loss_grad", fail_at=20
    )
    with (
        so.config_context(
            dask_scheduler="threads", dask_chunk_rows=2_500, memory_budget=ds.estimated_nbytes // 10
        ),
        pytest.raises(RuntimeError, match="boom in a chunk"),
    ):
        so.LogisticRegression(backend="dask").fit(ds)
    assert seen["calls"] >= 20 and {f"{i}.X.npy" for i in range(8)} <= seen["files"]
    assert list(spill_root.iterdir()) == []


def test_tree_bin_codes_spill_beyond_the_budget_and_are_removed(data_dir, spill_root, monkeypatch):
    from scaleout.kernels import tree as tree_kernel

    info = data_dir["binary"]
    ds = so.read_parquet(info.path, target="y")
    X, y = ds.to_numpy()
    seen = _spying_on_spills(monkeypatch, spill_root, "scaleout.kernels.tree", "_histogram")
    with so.config_context(
        dask_scheduler="threads", dask_chunk_rows=2_500, memory_budget=ds.estimated_nbytes // 10
    ):
        model = so.DecisionTreeClassifier(max_depth=4, backend="dask").fit(ds)
    assert model.fit_stats_["storage"] == "spill"
    assert any(name.startswith("store") and name.endswith("codes.npy") for name in seen["files"])
    assert list(spill_root.iterdir()) == []
    assert not hasattr(tree_kernel, "_memo")  # no process-wide cache left behind
    ref = tree.DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    assert model.score(X, y) >= ref.score(X, y) - 0.01


def test_cluster_chunks_are_released_after_a_multi_pass_fit(data_dir, cluster_client):
    info = data_dir["binary"]
    with so.config_context(dask_scheduler=cluster_client.scheduler.address):
        model = so.DecisionTreeClassifier(max_depth=3, backend="dask").fit(
            so.read_parquet(info.path, target="y")
        )
    assert model.fit_stats_["storage"] == "cluster memory"

    def scaleout_keys(dask_scheduler):
        return [str(k) for k in dask_scheduler.tasks if "scaleout-load" in str(k)]

    import time

    deadline = time.monotonic() + 10
    while cluster_client.run_on_scheduler(scaleout_keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cluster_client.run_on_scheduler(scaleout_keys) == []


def test_kept_chunks_report_their_size_to_the_workers():
    from dask.sizeof import sizeof

    from scaleout.backends.dask.executor import _Resident
    from scaleout.data import Batch
    from scaleout.kernels.passes import ChunkStore

    batch = Batch(np.zeros((100, 3)), np.zeros(100), "rows", 0, np.ones(100))
    resident = _Resident(batch, ChunkStore(1 << 20))
    assert sizeof(resident) == 2400 + 800 + 800
    resident.store.put("codes", np.zeros((100, 3), dtype=np.uint8))
    assert sizeof(resident) == 4000 + 300
