"""EMR requests from the packaged templates: dry run, moto's mocked EMR, and the wheel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scaleout.cli import main
from scaleout.exceptions import ScaleoutError
from scaleout.jobs.validate import validate_spark_submit_args

REPO = Path(__file__).resolve().parents[1]

JOB = [
    "--algorithm",
    "logistic_regression",
    "--param",
    "C=0.5",
    "--input",
    "s3://bkt/data/train.parquet",
    "--target",
    "y",
    "--output",
    "s3://bkt/models/lr.scaleout",
    "--backend",
    "spark",
]
CREATE = [
    "emr",
    "create-cluster",
    "--name",
    "so-test",
    "--s3-bucket",
    "bkt",
    "--log-uri",
    "s3://bkt/logs/",
    "--release-label",
    "emr-7.5.0",
    "--core-nodes",
    "3",
    "--instance-type",
    "m5.xlarge",
    "--region",
    "us-east-1",
]
EXPECTED_ARGS = [
    "spark-submit",
    "--deploy-mode",
    "cluster",
    "--py-files",
    "s3://bkt/scaleout/scaleout.zip",
    "s3://bkt/scaleout/jobs/__main__.py",
    *JOB,
]


def run_cli(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_create_cluster_dry_run(capsys):
    req = run_cli(capsys, [*CREATE, "--dry-run"])
    assert req["Name"] == "so-test"
    assert req["ReleaseLabel"] == "emr-7.5.0"
    assert req["Applications"] == [{"Name": "Spark"}]
    assert req["LogUri"] == "s3://bkt/logs/"
    groups = {g["InstanceRole"]: g for g in req["Instances"]["InstanceGroups"]}
    assert set(groups) == {"MASTER", "CORE"}
    assert groups["MASTER"]["InstanceCount"] == 1 and groups["CORE"]["InstanceCount"] == 3
    assert {g["InstanceType"] for g in groups.values()} == {"m5.xlarge"}
    confs = {c["Classification"]: c for c in req["Configurations"]}
    props = confs["spark-defaults"]["Properties"]
    assert props["spark.sql.execution.arrow.pyspark.enabled"] == "true"
    export = confs["spark-env"]["Configurations"][0]
    assert export["Classification"] == "export"
    assert export["Properties"] == {"PYSPARK_PYTHON": "python3"}
    (boot,) = req["BootstrapActions"]
    assert boot["ScriptBootstrapAction"]["Path"] == "s3://bkt/scaleout/bootstrap.sh"
    assert boot["ScriptBootstrapAction"]["Args"] == ["scaleout[emr]"]
    assert req["ServiceRole"] == "EMR_DefaultRole"
    assert req["JobFlowRole"] == "EMR_EC2_DefaultRole"
    assert req["VisibleToAllUsers"] is True
    assert "${" not in json.dumps(req)


def test_submit_dry_run_args_exact(capsys):
    req = run_cli(
        capsys, ["emr", "submit", "--cluster-id", "j-ABC", "--s3-bucket", "bkt", "--dry-run", *JOB]
    )
    assert req["JobFlowId"] == "j-ABC"
    (step,) = req["Steps"]
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    assert step["HadoopJarStep"]["Args"] == EXPECTED_ARGS
    assert step["ActionOnFailure"] == "CONTINUE"


def test_requests_sent_to_moto(capsys, monkeypatch):
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        cluster_id = run_cli(capsys, CREATE)["ClusterId"]
        step_id = run_cli(
            capsys, ["emr", "submit", "--cluster-id", cluster_id, "--s3-bucket", "bkt", *JOB]
        )["StepId"]
        emr = boto3.client("emr", region_name="us-east-1")
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        assert cluster["Name"] == "so-test"
        assert cluster["ReleaseLabel"] == "emr-7.5.0"
        assert [a["Name"] for a in cluster["Applications"]] == ["Spark"]
        groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        counts = {g["InstanceGroupType"]: g["RequestedInstanceCount"] for g in groups}
        assert counts == {"MASTER": 1, "CORE": 3}
        (step,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
        assert step["Id"] == step_id
        assert step["Config"]["Jar"] == "command-runner.jar"
        assert step["Config"]["Args"] == EXPECTED_ARGS


def test_submit_without_cluster_id_is_an_error(capsys):
    assert main(["emr", "submit", "--s3-bucket", "bkt", *JOB]) == 2
    assert "--cluster-id" in capsys.readouterr().err


def test_validate_accepts_good_args():
    parsed = validate_spark_submit_args(EXPECTED_ARGS)
    assert parsed["options"]["--deploy-mode"] == "cluster"
    assert parsed["application"] == "s3://bkt/scaleout/jobs/__main__.py"
    assert parsed["job_args"] == JOB


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["spark-submit", "s3://b/jobs/__main__.py", "--master", "yarn", *JOB],
            "comes after the application",
        ),
        (["spark-submit", "--deploy-mode", "both", "s3://b/main.py", *JOB], "--deploy-mode"),
        (
            ["spark-submit", "--py-files", "s3://b/scaleout.tar", "s3://b/main.py", *JOB],
            "--py-files",
        ),
        (["spark-submit", "--master"], "needs a value"),
        (["spark-submit", "--deploy-mode", "cluster"], "no application"),
        (["spark-submit", "s3://b/main.jar", *JOB], ".py file"),
        (["spark-submit", "s3://b/main.py", "--algorithm", "pca"], "--input, --output"),
        (["spark-submit", "s3://b/main.py", *JOB, "--bogus", "1"], "unknown job flags"),
        (["spark-submit", "--frobnicate", "s3://b/main.py", *JOB], "unknown spark-submit"),
    ],
)
def test_validate_rejects_malformed(args, message):
    with pytest.raises(ScaleoutError, match=message.replace("-", r"\-")):
        validate_spark_submit_args(args)


def test_step_request_validates(monkeypatch):
    from scaleout import emr

    with pytest.raises(ScaleoutError, match="lack --input"):
        emr.step_request("bkt", ["--algorithm", "pca", "--output", "o"])


def test_templates_are_package_data():
    from scaleout.emr.templates import TEMPLATE_FILES, template_dir

    directory = template_dir()
    assert directory.parent.name == "emr" and directory.name == "resources"
    assert all((directory / name).is_file() for name in TEMPLATE_FILES)
    link = REPO / "cluster" / "emr"  # the deployment assets point at the package's copy
    assert link.is_symlink() and link.resolve() == directory.resolve()


def test_wheel_ships_the_templates_and_its_dry_run_works(tmp_path):
    """Build the wheel offline, run `emr create-cluster --dry-run` from the unpacked wheel
    alone (no source checkout on the path)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    pytest.importorskip("setuptools", minversion="77")
    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info beside it
    shutil.copytree(
        REPO / "scaleout", source / "scaleout", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("scaleout-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("cluster.json", "step.json", "bootstrap.sh"):
        assert f"scaleout/emr/resources/{name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if k != "SCALEOUT_EMR_TEMPLATES"}
    env["PYTHONPATH"] = str(site)
    code = (
        "import scaleout, sys; print(scaleout.__file__, file=sys.stderr); "
        "from scaleout.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *CREATE, "--dry-run"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.splitlines()[0].startswith(str(site))  # the wheel's copy ran
    request = json.loads(proc.stdout)
    assert request["Name"] == "so-test"
    assert request["BootstrapActions"][0]["ScriptBootstrapAction"]["Args"] == ["scaleout[emr]"]


def test_upload_dry_run_names_what_the_templates_use(capsys):
    urls = run_cli(capsys, ["emr", "upload", "--s3-bucket", "bkt", "--dry-run"])
    assert sorted(urls.values()) == [
        "s3://bkt/scaleout/bootstrap.sh",
        "s3://bkt/scaleout/jobs/__main__.py",
        "s3://bkt/scaleout/scaleout.zip",
    ]
    request = run_cli(capsys, [*CREATE, "--dry-run"])
    assert request["BootstrapActions"][0]["ScriptBootstrapAction"]["Path"] in urls.values()
    assert set(EXPECTED_ARGS) >= {
        "s3://bkt/scaleout/scaleout.zip",
        "s3://bkt/scaleout/jobs/__main__.py",
    }


def test_submit_sends_a_pipeline_spec_file_inline(capsys, tmp_path):
    spec = "steps:\n  - StandardScaler:\n  - LogisticRegression: {C: 2}\n"
    (tmp_path / "p.yaml").write_text(spec)
    job = ["--input", "s3://bkt/d/", "--output", "s3://bkt/m.scaleout", "--backend", "spark"]
    argv = ["emr", "submit", "--cluster-id", "j-ABC", "--s3-bucket", "bkt", "--dry-run"]
    req = run_cli(capsys, [*argv, "--pipeline", str(tmp_path / "p.yaml"), *job])
    args = req["Steps"][0]["HadoopJarStep"]["Args"]
    assert args[: len(EXPECTED_ARGS) - len(JOB)] == EXPECTED_ARGS[: -len(JOB)]
    assert args[-len(job) - 2] == "--pipeline" and args[-len(job) :] == job
    assert json.loads(args[-len(job) - 1]) == {
        "steps": [{"StandardScaler": None}, {"LogisticRegression": {"C": 2}}]
    }
    (tmp_path / "p.yaml").write_text("steps:\n  - LogisticRegression: {CC: 2}\n")
    assert main([*argv, "--pipeline", str(tmp_path / "p.yaml"), *job]) == 2
    assert "steps[0].LogisticRegression: unknown parameter 'CC'" in capsys.readouterr().err
