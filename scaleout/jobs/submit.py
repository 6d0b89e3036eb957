"""``scaleout submit``: run a job on a Spark cluster with pyspark's own spark-submit."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
JOB_SCRIPT = Path(__file__).resolve().with_name("__main__.py")


def build_zip(directory: str | os.PathLike[str]) -> Path:
    """Zip the ``scaleout`` package (Python files only) for ``--py-files``.

    Parameters
    ----------
    directory : path
        Where to write ``scaleout.zip``.

    Returns
    -------
    pathlib.Path
        The zip file.
    """
    target = Path(directory) / "scaleout.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(PACKAGE_DIR.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            zf.write(path, Path("scaleout") / path.relative_to(PACKAGE_DIR))
    return target


def submit_command(
    master: str,
    job_args: Sequence[str],
    py_files: str | os.PathLike[str],
    *,
    deploy_mode: str = "client",
    conf: dict[str, str] | None = None,
) -> list[str]:
    """The spark-submit command line that runs the scaleout job.

    Parameters
    ----------
    master : str
        ``spark://host:port``, ``yarn``, ``local[*]``...
    job_args : sequence of str
        The job's flags (``--algorithm ... --input ... --output ...``).
    py_files : path
        The scaleout zip for the executors.
    deploy_mode : {"client", "cluster"}
        Where the driver runs.
    conf : dict, optional
        Extra ``--conf`` settings (override the defaults).

    Returns
    -------
    list of str

    Notes
    -----
    For a master ``scaleout cluster up`` recorded (in ``$SCALEOUT_STATE_DIR``),
    ``--properties-file`` names its credentials (``spark.authenticate`` and the
    secret).
    """
    from ..clusters.credentials import spark_properties_file
    from ..clusters.spark import spark_home

    settings = {
        "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "spark.pyspark.driver.python": sys.executable,
        "spark.ui.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if "127.0.0.1" in master or "localhost" in master or master.startswith("local"):
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    settings.update(conf or {})
    cmd = [
        str(spark_home() / "bin" / "spark-submit"),
        "--master",
        master,
        "--deploy-mode",
        deploy_mode,
        "--py-files",
        str(py_files),
    ]
    # a cluster `scaleout cluster up` recorded: its secret, from its 0600 properties file
    # (never on the command line, which every local user can read)
    properties = spark_properties_file(master)
    if properties is not None:
        cmd += ["--properties-file", properties]
    for key, value in settings.items():
        cmd += ["--conf", f"{key}={value}"]
    args = list(job_args)
    if "--backend" not in args and "--spec" not in args:
        args += ["--backend", "spark"]
    return [*cmd, str(JOB_SCRIPT), *args]


def submit(
    master: str,
    job_args: Sequence[str],
    *,
    deploy_mode: str = "client",
    conf: dict[str, str] | None = None,
    echo: bool = True,
) -> int:
    """Package scaleout, run the job with spark-submit, return spark-submit's exit code.

    A local ``--spec`` or ``--pipeline`` file goes inline in the job's flags
    (:func:`~scaleout.jobs.spec.inline_spec_files`): the driver needs no file.
    """
    from ..clusters.spark import check_java, spark_env
    from .spec import inline_spec_files

    job_args = inline_spec_files(job_args)  # a bad spec file fails here, before spark-submit
    check_java()
    with tempfile.TemporaryDirectory(prefix="scaleout-submit-") as tmp:
        cmd = submit_command(master, job_args, build_zip(tmp), deploy_mode=deploy_mode, conf=conf)
        if echo:
            print("+ " + " ".join(cmd), flush=True)
        env = {**os.environ, **spark_env()}
        env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        env["PYSPARK_PYTHON"] = env.get("PYSPARK_PYTHON", sys.executable)
        return subprocess.call(cmd, env=env)
