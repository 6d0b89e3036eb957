"""The training job entry point, run as ``python -m scaleout.jobs`` subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scaleout as so
from scaleout.datasets import make_classification, make_regression
from scaleout.exceptions import ScaleoutError
from scaleout.jobs import parse_job_args
from scaleout.jobs.validate import validate_spark_submit_args

REPO = Path(__file__).resolve().parents[1]


def run_job(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m scaleout.jobs ARGS`` (``env``: the whole environment; default: this one)."""
    return subprocess.run(
        [sys.executable, "-m", "scaleout.jobs", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env=env,
    )


@pytest.fixture(scope="module")
def clf_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("jobs") / "clf.parquet"
    make_classification(path, 4000, 6, random_state=1)
    return str(path)


@pytest.mark.parametrize("backend", ["sklearn", "dask"])
def test_job_flags_write_model_and_metrics(clf_data, tmp_path, backend):
    model_path, metrics_path = tmp_path / "m.scaleout", tmp_path / "metrics.json"
    proc = run_job(
        "--algorithm",
        "logistic_regression",
        "--param",
        "C=0.5",
        "--input",
        clf_data,
        "--target",
        "y",
        "--output",
        str(model_path),
        "--metrics",
        str(metrics_path),
        "--backend",
        backend,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(metrics_path.read_text())
    assert metrics["backend"] == backend
    assert metrics["rows"] == 4000
    assert metrics["passes"] >= 1 and metrics["seconds"] > 0
    assert metrics["score_name"] == "accuracy" and metrics["training_score"] > 0.7
    model = so.load(model_path)
    assert model.C == 0.5
    data = so.read_parquet(clf_data, target="y")
    X, y = data.to_numpy()
    accuracy = float(np.mean(model.predict(X) == y))
    assert accuracy == pytest.approx(metrics["training_score"], abs=1e-9)


def test_job_spec_file(tmp_path):
    data = tmp_path / "reg.parquet"
    make_regression(data, 3000, 4, random_state=2)
    spec = {
        "algorithm": "LinearRegression",
        "params": {},
        "input": str(data),
        "target": "y",
        "features": ["x0", "x1", "x2", "x3"],
        "output": str(tmp_path / "lr.scaleout"),
        "metrics": str(tmp_path / "lr.json"),
        "backend": "dask",
    }
    (tmp_path / "job.json").write_text(json.dumps(spec))
    proc = run_job("--spec", str(tmp_path / "job.json"))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "lr.json").read_text())
    assert metrics["score_name"] == "r2" and metrics["training_score"] > 0.9
    assert metrics["backend"] == "dask"
    model = so.load(tmp_path / "lr.scaleout")
    assert model.coef_.shape == (4,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--algorithm", "kmeans", "--input", "missing.parquet", "--output", "o"],
            "Parquet file or directory not found: 'missing.parquet'",
        ),
        (
            ["--algorithm", "random_forest", "--input", "{data}", "--output", "o"],
            "unknown algorithm 'random_forest'",
        ),
        (
            ["--algorithm", "kmeans", "--param", "bogus=1", "--input", "{data}", "--output", "o"],
            "KMeans has no parameter 'bogus'",
        ),
        (["--algorithm", "kmeans", "--input", "{data}"], "job needs --output"),
        (["--spec", "nope.json"], "job spec file 'nope.json' does not exist"),
    ],
)
def test_bad_input_exits_with_one_line(clf_data, args, message):
    proc = run_job(*[a.format(data=clf_data) for a in args])
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert errors[0].startswith("scaleout job: error: ")


def test_scaleout_job_subcommand(clf_data, tmp_path):
    from scaleout.cli import main

    out = tmp_path / "km.scaleout"
    code = main(
        [
            "job",
            "--algorithm",
            "kmeans",
            "--param",
            "n_clusters=3",
            "--input",
            clf_data,
            "--output",
            str(out),
            "--backend",
            "sklearn",
        ]
    )
    assert code == 0
    assert so.load(out).cluster_centers_.shape == (3, 7)


def test_parse_job_args_flags_override_spec(tmp_path):
    (tmp_path / "s.json").write_text(
        json.dumps({"algorithm": "pca", "params": {"n_components": 2}, "input": "a", "output": "b"})
    )
    spec = parse_job_args(
        ["--spec", str(tmp_path / "s.json"), "--param", "n_components=3", "--backend", "dask"]
    )
    assert spec.params == {"n_components": 3} and spec.backend == "dask"
    with pytest.raises(ScaleoutError, match="--param expects key=value"):
        parse_job_args(["--algorithm", "pca", "--input", "a", "--output", "b", "--param", "x"])


def test_submit_command_and_zip(tmp_path):
    import zipfile

    from scaleout.jobs.submit import JOB_SCRIPT, build_zip, submit_command

    zpath = build_zip(tmp_path)
    names = zipfile.ZipFile(zpath).namelist()
    assert "scaleout/__init__.py" in names and "scaleout/jobs/__main__.py" in names
    cmd = submit_command(
        "spark://127.0.0.1:7077", ["--algorithm", "pca", "--input", "a", "--output", "b"], zpath
    )
    assert cmd[0].endswith("bin/spark-submit")
    assert cmd[cmd.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert "spark.driver.host=127.0.0.1" in cmd
    assert cmd[-9:] == [
        str(JOB_SCRIPT),
        "--algorithm",
        "pca",
        "--input",
        "a",
        "--output",
        "b",
        "--backend",
        "spark",
    ]
    validate_spark_submit_args(cmd)


def test_the_job_imports_no_command_line_code():
    """spark-submit runs scaleout/jobs/__main__.py: it must not need scaleout.cli."""
    code = (
        "import sys, scaleout.jobs, scaleout.jobs.submit, scaleout.jobs.validate\n"
        "bad = sorted(m for m in sys.modules if m.startswith('scaleout.cli'))\n"
        "assert not bad, bad\n"
        "scaleout.jobs.parse_job_args(['--algorithm', 'pca', '--input', 'a', '--output', 'b'])\n"
        "assert not [m for m in sys.modules if m.startswith('scaleout.cli')]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_job_input_list_from_flags_and_spec(tmp_path):
    spec = parse_job_args(
        ["--algorithm", "pca", "--input", "a.parquet", "--input", "b.parquet", "--output", "o"]
    )
    assert spec.input == ["a.parquet", "b.parquet"]
    assert parse_job_args(["--algorithm", "pca", "--input", "a", "--output", "o"]).input == "a"
    (tmp_path / "s.json").write_text(
        json.dumps({"algorithm": "pca", "input": ["a.csv", "b.csv"], "output": "o"})
    )
    assert parse_job_args(["--spec", str(tmp_path / "s.json")]).input == ["a.csv", "b.csv"]
    (tmp_path / "bad.json").write_text(json.dumps({"algorithm": "pca", "input": 3, "output": "o"}))
    with pytest.raises(ScaleoutError, match="job input must be a path or a list of paths, got 3"):
        parse_job_args(["--spec", str(tmp_path / "bad.json")])


def test_job_spec_with_a_pipeline(clf_data, tmp_path):
    """A job file naming a YAML pipeline spec: the model of the same pipeline from Python."""
    (tmp_path / "pipeline.yaml").write_text(
        "steps:\n  - StandardScaler: {with_std: false}\n  - LogisticRegression: {C: 0.5}\n"
    )
    job = {
        "pipeline": str(tmp_path / "pipeline.yaml"),
        "input": clf_data,
        "target": "y",
        "output": str(tmp_path / "p.scaleout"),
        "metrics": str(tmp_path / "p.json"),
        "backend": "dask",
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    proc = run_job("--spec", str(tmp_path / "job.json"))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "p.json").read_text())
    assert (metrics["algorithm"], metrics["backend"], metrics["rows"]) == ("Pipeline", "dask", 4000)
    assert metrics["pipeline"] == {
        "backend": "dask",
        "steps": [{"StandardScaler": {"with_std": False}}, {"LogisticRegression": {"C": 0.5}}],
    }
    data = so.read_parquet(clf_data, target="y")
    reference = so.make_pipeline(
        so.StandardScaler(with_std=False), so.LogisticRegression(C=0.5), backend="dask"
    ).fit(data)
    X, y = data.to_numpy()
    model = so.load(tmp_path / "p.scaleout")
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), rtol=1e-9)
    assert metrics["training_score"] == pytest.approx(float(np.mean(model.predict(X) == y)))
    # a bad spec: one line naming the file and the place, before the input is read
    (tmp_path / "pipeline.yaml").write_text("steps:\n  - LogisticRegression: {CC: 1}\n")
    proc = run_job("--spec", str(tmp_path / "job.json"), "--input", "missing.parquet")
    assert proc.returncode == 2
    assert "steps[0].LogisticRegression: unknown parameter 'CC'" in proc.stderr
