"""Jobs that read and write ``s3://``: a real moto S3 server on 127.0.0.1 (no mocks in-process).

The job runs as ``python -m scaleout.jobs`` subprocesses (sklearn and dask backends) and
in-process on the test run's local Spark session (spark backend: local Parquet in, S3 out;
Spark itself cannot read ``s3a://`` here without hadoop-aws).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import scaleout as so
from scaleout import storage
from scaleout.datasets import make_classification
from scaleout.exceptions import StorageError
from tests.test_jobs import run_job as run_job_with

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

BUCKET = "scaleout-jobs"
ROWS = 4000


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on a free loopback port; the environment points boto3/s3fs at it."""
    import s3fs

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.delenv("AWS_PROFILE", raising=False)
        s3fs.S3FileSystem.clear_instance_cache()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        local = make_classification(
            tmp_path_factory.mktemp("s3-data") / "clf", ROWS, 6, random_state=1, n_files=2
        )
        fs = s3fs.S3FileSystem()
        for path in local.files:
            fs.put_file(path, f"{BUCKET}/data/clf/{Path(path).name}")
        yield {"env": env, "local": local, "fs": fs, "endpoint": env["AWS_ENDPOINT_URL"]}
        s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def run_job(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    """The job in a subprocess, with the S3 variables of ``env`` over this environment."""
    return run_job_with(*args, env={**os.environ, **env})


def keys(fs, prefix: str) -> list[str]:
    fs.invalidate_cache()
    return sorted(fs.find(f"{BUCKET}/{prefix}"))


@pytest.mark.parametrize("backend", ["sklearn", "dask"])
def test_job_reads_and_writes_s3(s3, backend):
    prefix = f"models/{backend}"
    model_url = f"s3://{BUCKET}/{prefix}/lr.scaleout"
    metrics_url = f"s3://{BUCKET}/{prefix}/metrics.json"
    job = ["--algorithm", "logistic_regression", "--param", "C=0.5", "--target", "y"]
    job += ["--input", f"s3://{BUCKET}/data/clf/", "--output", model_url]
    job += ["--metrics", metrics_url, "--backend", backend]
    proc = run_job(s3["env"], *job)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the two objects and nothing else (no temporary object left behind)
    assert keys(s3["fs"], prefix) == [
        f"{BUCKET}/{prefix}/lr.scaleout",
        f"{BUCKET}/{prefix}/metrics.json",
    ]

    metrics = json.loads(s3["fs"].cat(metrics_url))
    assert metrics["backend"] == backend and metrics["rows"] == ROWS
    assert metrics["input"] == f"s3://{BUCKET}/data/clf/" and metrics["output"] == model_url
    model = so.load(model_url)
    assert model.backend_ == backend and model.C == 0.5

    local = so.read_parquet(s3["local"].path, target="y")
    X, y = local.to_numpy()
    same_engine = so.LogisticRegression(C=0.5, backend=backend).fit(local)
    assert_allclose(model.coef_, same_engine.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(model.intercept_, same_engine.intercept_, rtol=1e-10, atol=1e-12)
    reference = so.LogisticRegression(C=0.5, backend="sklearn").fit(local)
    rel = np.linalg.norm(model.coef_ - reference.coef_) / np.linalg.norm(reference.coef_)
    assert rel <= 1e-3
    assert np.mean(model.predict(X) == reference.predict(X)) >= 0.999
    assert metrics["training_score"] == pytest.approx(np.mean(model.predict(X) == y), abs=1e-12)


def test_job_storage_options_instead_of_the_environment(s3, tmp_path):
    """The endpoint given in the job spec's storage_options (no AWS_ENDPOINT_URL)."""
    env = {k: v for k, v in s3["env"].items() if k != "AWS_ENDPOINT_URL"}
    spec = {
        "algorithm": "kmeans",
        "params": {"n_clusters": 3, "random_state": 0},
        "input": f"s3://{BUCKET}/data/clf/part-*.parquet",
        "features": [f"x{j}" for j in range(6)],
        "output": f"s3://{BUCKET}/models/opts/km.scaleout",
        "metrics": f"s3://{BUCKET}/models/opts/km.json",
        "backend": "sklearn",
        "storage_options": {"client_kwargs": {"endpoint_url": s3["endpoint"]}},
    }
    (tmp_path / "job.json").write_text(json.dumps(spec))
    environment = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    proc = run_job_with("--spec", str(tmp_path / "job.json"), env={**environment, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = so.load(spec["output"], storage_options=spec["storage_options"])
    X, _ = so.read_parquet(s3["local"].path, target="y").to_numpy()
    reference = so.KMeans(3, random_state=0, backend="sklearn").fit(X)
    assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-10)
    assert json.loads(s3["fs"].cat(spec["metrics"]))["score_name"] == "neg_inertia"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--input", f"s3://{BUCKET}/data/missing/", "--output", f"s3://{BUCKET}/m/x.scaleout"],
            f"data file or directory not found: 's3://{BUCKET}/data/missing/'",
        ),
        (
            ["--input", f"s3://{BUCKET}/data/clf/", "--output", "s3://no-such-bucket/x.scaleout"],
            "writing 's3://no-such-bucket/x.scaleout' failed",
        ),
    ],
)
def test_bad_s3_paths_exit_with_one_line(s3, args, message):
    proc = run_job(s3["env"], "--algorithm", "pca", "--backend", "sklearn", *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("scaleout job: error")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]


def test_spark_job_writes_model_and_metrics_to_s3(spark, s3):
    """The spark engine fits (local Parquet: Spark reads it itself); the model and the
    metrics go to S3 through fsspec."""
    from scaleout.jobs import parse_job_args
    from scaleout.jobs import run_job as run_in_process

    model_url = f"s3://{BUCKET}/models/spark/lr.scaleout"
    spec = parse_job_args(
        [
            "--algorithm", "logistic_regression", "--input", s3["local"].path, "--target", "y",
            "--output", model_url, "--metrics", f"s3://{BUCKET}/models/spark/m.json",
            "--backend", "spark",
        ]
    )  # fmt: skip
    with so.config_context(progress=False):
        metrics = run_in_process(spec)
    assert metrics["backend"] == "spark"
    assert metrics["fit_stats"]["spark_master"].startswith("local")
    assert json.loads(s3["fs"].cat(spec.metrics))["rows"] == ROWS
    assert keys(s3["fs"], "models/spark") == [
        f"{BUCKET}/models/spark/lr.scaleout",
        f"{BUCKET}/models/spark/m.json",
    ]
    model = so.load(model_url)
    local = so.read_parquet(s3["local"].path, target="y")
    X, _ = local.to_numpy()
    reference = so.LogisticRegression(backend="sklearn").fit(local)
    assert model.backend_ == "spark"
    assert np.mean(model.predict(X) == reference.predict(X)) >= 0.999


def test_load_missing_s3_model_and_unknown_protocol(s3):
    from scaleout.exceptions import ModelFormatError

    with pytest.raises(ModelFormatError, match="no model file at 's3://"):
        so.load(f"s3://{BUCKET}/models/none.scaleout")
    with pytest.raises(StorageError, match=r"cannot open 'nope://x/m\.scaleout'"):
        storage.write_text("nope://x/m.scaleout", "{}")


def test_upload_through_a_temporary_object_where_puts_are_not_atomic(tmp_path):
    """Filesystems outside ATOMIC_UPLOAD_PROTOCOLS get ``<target>.tmp-*`` then a move."""
    from fsspec.implementations.local import LocalFileSystem

    from scaleout.storage import _upload

    source = tmp_path / "source.json"
    source.write_text('{"a": 1}')
    target = tmp_path / "out" / "metrics.json"
    target.parent.mkdir()
    _upload(str(source), f"file://{target}", LocalFileSystem(), str(target))
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_emr_upload_puts_what_the_templates_expect(s3, capsys):
    """`scaleout emr upload` writes the three files the cluster and step templates name."""
    import zipfile

    from scaleout import emr
    from scaleout.cli import main

    assert main(["emr", "upload", "--s3-bucket", BUCKET]) == 0
    uploaded = json.loads(capsys.readouterr().out)
    base = f"{BUCKET}/scaleout"
    expected = [f"{base}/bootstrap.sh", f"{base}/jobs/__main__.py", f"{base}/scaleout.zip"]
    assert keys(s3["fs"], "scaleout") == expected
    assert sorted(uploaded.values()) == [f"s3://{key}" for key in expected]
    bootstrap = (emr.template_dir() / "bootstrap.sh").read_bytes()
    assert s3["fs"].cat(f"{base}/bootstrap.sh") == bootstrap
    step_args = emr.step_request(BUCKET, ["--algorithm", "pca", "--input", "i", "--output", "o"])
    for url in step_args["HadoopJarStep"]["Args"]:
        if url.startswith("s3://"):  # the step's --py-files and application exist
            assert s3["fs"].exists(url), url
    with s3["fs"].open(f"{base}/scaleout.zip", "rb") as fh:
        names = zipfile.ZipFile(fh).namelist()
    assert "scaleout/jobs/__main__.py" in names and "scaleout/storage.py" in names
