"""The scaleout command: fit, predict, explain, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import datasets as skdatasets

import scaleout as so
from scaleout.cli import main
from tests.conftest import mnist_dir


@pytest.fixture
def wine_parquet(parquet_of):
    X, y = skdatasets.load_wine(return_X_y=True)
    return X, y, parquet_of(X, y, "wine.parquet")


def test_fit_then_predict(wine_parquet, tmp_path, capsys):
    X, _, path = wine_parquet
    model_path = str(tmp_path / "tree.scaleout")
    assert (
        main(
            [
                "fit",
                "decision_tree_classifier",
                "--data",
                path,
                "--target",
                "y",
                "--param",
                "max_depth=3",
                "--param",
                "random_state=0",
                "-o",
                model_path,
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == len(X) and summary["backend"] == "sklearn"

    model = so.load(model_path)
    assert model.max_depth == 3
    out = str(tmp_path / "pred.parquet")
    assert (
        main(
            [
                "predict",
                model_path,
                "--data",
                path,
                "--features",
                ",".join(f"x{j}" for j in range(X.shape[1])),
                "-o",
                out,
            ]
        )
        == 0
    )
    predictions = pq.read_table(out).column("prediction").to_numpy()
    assert_array_equal(predictions, model.predict(X))


def test_explain_prints_the_decision(wine_parquet, capsys):
    _, _, path = wine_parquet
    assert main(["explain", "KMeans", "--data", path, "--param", "n_clusters=3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("backend: sklearn  (decided by: default)")
    assert "fits in memory" in out


def test_errors_are_one_line_with_exit_code_2(wine_parquet, tmp_path, capsys):
    _, _, path = wine_parquet
    assert main(["fit", "pca", "--data", str(tmp_path / "missing.parquet"), "-o", "x"]) == 2
    assert "missing.parquet" in capsys.readouterr().err
    assert main(["fit", "svm", "--data", path, "-o", "x"]) == 2
    assert "unknown algorithm 'svm'" in capsys.readouterr().err
    assert main(["fit", "pca", "--data", path, "--param", "colour=1", "-o", "x"]) == 2
    assert "get_params().keys()" in capsys.readouterr().err


@pytest.mark.slow  # ~2.5 min (six fits, Spark and a LocalCluster started): `make test-demo`, in CI
def test_demo_runs_the_six_demos(tmp_path):
    env_dir = mnist_dir()
    args = [sys.executable, "-m", "scaleout.cli", "demo", "--plot", str(tmp_path)]
    if env_dir:
        args += ["--mnist-dir", env_dir]
    # the command sees the engines this process sees (the test plug-in engine included)
    path = os.pathsep.join(p for p in sys.path if p)
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True, env=env)
    rows = [line.split("  ") for line in done.stdout.splitlines()[2:]]
    assert len(rows) == 6 * len(so.available_backends())
    values = {}
    for line in done.stdout.splitlines()[2:]:
        cells = [c for c in line.split("  ") if c.strip()]
        values[cells[0].strip()] = float(cells[-2])
    assert values["LinearRegression"] > 0.3  # R2 on diabetes
    assert values["LogisticRegression"] > 0.9  # iris
    assert values["DecisionTreeClassifier"] > 0.9  # breast cancer
    assert values["KMeans"] > 0.9  # adjusted Rand on blobs
    assert 0.5 < values["PCA"] <= 1.0  # variance kept by 50 components
    assert values["PCA + LogisticRegression"] > 0.85
    assert "[6/6]" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kmeans_clusters.png", "pca_mnist_2d.png"]
    assert np.all([p.stat().st_size > 10_000 for p in tmp_path.iterdir()])


def test_python_m_scaleout_cli_and_the_command_groups(capsys):
    done = subprocess.run(
        [sys.executable, "-m", "scaleout.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == f"scaleout {so.__version__}"
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    listed = capsys.readouterr().out
    commands = ("fit", "predict", "explain", "demo", "bench", "cluster", "job", "submit", "emr")
    assert all(command in listed for command in commands)
    # the algorithm table comes from the registry
    from scaleout.cli import algorithm_names

    assert "logistic_regression" in algorithm_names() and "pipeline" not in algorithm_names()


def test_unknown_flags_are_an_error_except_for_job_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explain", "pca", "--data", "x.parquet", "--bogus"])
    assert info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["submit", "--master", "local[1]", "--conf", "spark.x"]) == 2
    assert capsys.readouterr().err == "scaleout: error: --conf expects key=value, got 'spark.x'\n"


def test_fit_and_predict_on_several_data_files(wine_parquet, tmp_path, capsys):
    X, _, path = wine_parquet
    model_path = str(tmp_path / "lr.scaleout")
    args = ["fit", "linear_regression", "--data", path, "--data", path, "--target", "y"]
    assert main([*args, "-o", model_path]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 2 * len(X)
    out = str(tmp_path / "pred.csv")
    assert main(["predict", model_path, "--data", path, "--data", path, "--features",
                 ",".join(f"x{j}" for j in range(X.shape[1])), "-o", out]) == 0  # fmt: skip
    assert capsys.readouterr().out == f"wrote {2 * len(X)} predictions to {out}\n"
    model = so.load(model_path)
    predictions = np.loadtxt(out, delimiter=",", skiprows=1)
    assert_allclose(predictions, np.concatenate([model.predict(X)] * 2), rtol=1e-12)
