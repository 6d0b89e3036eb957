"""How ``scaleout`` ends (issue 15): one stderr line, a documented exit code, no raw traceback.

Each command runs in a subprocess, as a user runs it: the exit code and the
whole of stderr are checked. An internal error is provoked by replacing a
function of the command with one that raises (``_run`` below), and its
traceback file is read back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scaleout.cli import main
from scaleout.cli._errors import EXIT_INTERRUPTED, EXIT_TERMINATED, one_line

PRELUDE = """
import sys, time, pathlib
import scaleout.cli.fit as fit
from scaleout.cli import main
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")])
    return env


def _run(tmp_path: Path, body: str, argv: list[str], **kwargs) -> subprocess.Popen:
    """Start ``main(argv)`` in a new Python process after ``body`` (patches) has run."""
    script = PRELUDE + textwrap.dedent(body) + f"\nsys.exit(main({argv!r}))\n"
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.fixture
def data(tmp_path: Path) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": X @ [1, 2, 3]}), path)
    return str(path)


def _stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_scaleout_error_is_one_line_exit_2(tmp_path, data):
    proc = subprocess.run(
        [sys.executable, "-m", "scaleout.cli", "fit", "linear_regression", "--data",
         str(tmp_path / "missing.parquet"), "--target", "y", "-o", "m.scaleout"],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = _stderr_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("scaleout: error: ")
    assert "missing.parquet" in lines[0]


def test_multi_line_message_becomes_one_line(tmp_path, data):
    proc = _run(tmp_path, """
        from scaleout.exceptions import DataError
        def bad(*a, **k):
            raise DataError("first line\\n- second line\\n")
        fit.read_data = bad
    """, ["fit", "linear_regression", "--data", data, "--target", "y", "-o", "m.scaleout"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err == "scaleout: error: first line - second line\n"


def test_internal_error_names_its_traceback_file(tmp_path, data):
    proc = _run(tmp_path, """
        def boom(*a, **k):
            raise RuntimeError("boom in read_data")
        fit.read_data = boom
    """, ["fit", "linear_regression", "--data", data, "--target", "y", "-o", "m.scaleout"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    lines = _stderr_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("scaleout: internal error: RuntimeError: boom in read_data (")
    assert "Traceback" not in err
    path = Path(lines[0].split("full traceback in ")[1].split(";")[0])
    assert path.parent == tmp_path / "state" / "scaleout" / "tracebacks"
    text = path.read_text()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: boom in read_data" in text
    assert "in boom" in text  # the frame that raised
    assert "fit linear_regression --data" in text  # the command line


def test_traceback_files_are_unique(tmp_path, monkeypatch):
    from scaleout.cli._errors import write_traceback

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    paths = set()
    for _ in range(3):
        try:
            raise ValueError("x")
        except ValueError as exc:
            paths.add(write_traceback(exc, ["fit"]))
    assert len(paths) == 3
    assert all(Path(p).parent == tmp_path / "scaleout" / "tracebacks" for p in paths)
    assert all(Path(p).read_text().endswith("ValueError: x\n") for p in paths)


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [(signal.SIGINT, EXIT_INTERRUPTED, "scaleout: interrupted"),
     (signal.SIGTERM, EXIT_TERMINATED, "scaleout: terminated")],
)
def test_signals_exit_quietly(tmp_path, data, signum, code, line):
    marker = tmp_path / "started"
    proc = _run(tmp_path, f"""
        def slow(*a, **k):
            pathlib.Path({str(marker)!r}).touch()
            time.sleep(120)
        fit.read_data = slow
    """, ["fit", "linear_regression", "--data", data, "--target", "y", "-o", "m.scaleout"])
    _wait_for(marker, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert _stderr_lines(err) == [line]
    assert code == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum]


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.returncode} {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_one_line():
    assert one_line("a\n\n  b \nc") == "a b c"


# -------------------------------------------------- outputs checked before the work
def _no_read(*args, **kwargs):
    raise AssertionError("the data was read before the output was checked")


def test_fit_output_directory_missing_fails_before_the_fit(tmp_path, data, monkeypatch, capsys):
    import scaleout.cli.fit as fit

    monkeypatch.setattr(fit, "read_data", _no_read)
    out = tmp_path / "no" / "such" / "m.scaleout"
    assert main(["fit", "linear_regression", "--data", data, "--target", "y", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"scaleout: error: cannot write {str(out)!r}: the directory "
        f"{str(out.parent)!r} does not exist\n"
    )


def test_fit_output_that_is_a_directory(tmp_path, data, monkeypatch, capsys):
    import scaleout.cli.fit as fit

    monkeypatch.setattr(fit, "read_data", _no_read)
    assert main(["fit", "pca", "--data", data, "-o", str(tmp_path)]) == 2
    assert "it is a directory" in capsys.readouterr().err


def test_predict_output_checked_before_loading_the_model(tmp_path, data, capsys):
    out = tmp_path / "missing" / "p.parquet"
    # the model does not exist either: the output is what is reported, first
    assert main(["predict", str(tmp_path / "m.scaleout"), "--data", data, "-o", str(out)]) == 2
    assert f"cannot write {str(out)!r}" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere (see the next test)")
def test_fit_output_directory_not_writable(tmp_path, data, monkeypatch, capsys):
    import scaleout.cli.fit as fit

    monkeypatch.setattr(fit, "read_data", _no_read)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    out = locked / "m.scaleout"
    assert main(["fit", "pca", "--data", data, "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"scaleout: error: cannot write {str(out)!r}: no permission to create files in "
        f"{str(locked)!r}\n"
    )


# Directories no one may create files in, root included: the kernel's /proc and /sys.
# Their permission bits let root through (except /proc/sys): only creating a file tells.
UNWRITABLE_FOR_ALL = ["/proc/sys", "/proc", "/sys/kernel"]


@pytest.mark.parametrize("directory", UNWRITABLE_FOR_ALL)
def test_fit_output_directory_not_writable_even_for_root(data, monkeypatch, capsys, directory):
    import scaleout.cli.fit as fit

    if not os.path.isdir(directory):
        pytest.skip(f"no {directory} on this system")
    monkeypatch.setattr(fit, "read_data", _no_read)
    out = os.path.join(directory, "m.scaleout")
    for argv in (["fit", "pca", "--data", data, "-o", out],
                 ["predict", "no-model.scaleout", "--data", data, "-o", out]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"scaleout: error: cannot write {out!r}: "), err
        assert err.count("\n") == 1, err
        assert (
            f"no permission to create files in {directory!r}\n" in err
            or f"cannot create files in {directory!r} (" in err
        ), err
    assert not os.path.exists(out)


def test_check_writable_tries_a_file_where_the_bits_let_root_through(tmp_path):
    """Root's os.access says yes to /proc; creating a file there fails: the error says so."""
    from scaleout.exceptions import StorageError
    from scaleout.storage import check_writable

    if not os.access("/proc", os.W_OK | os.X_OK):
        pytest.skip("not root here: the permission bits already refuse /proc")
    with pytest.raises(
        StorageError,
        match=r"^cannot write '/proc/m\.scaleout': cannot create files in '/proc' "
        r"\(No such file or directory\)$",
    ):
        check_writable("/proc/m.scaleout")
    check_writable(tmp_path / "m.scaleout")  # a normal directory passes
    assert list(tmp_path.iterdir()) == []  # and the probe file is gone


def test_job_output_checked_before_the_fit(tmp_path, data, monkeypatch):
    import scaleout.jobs.run as run
    from scaleout.exceptions import StorageError
    from scaleout.jobs.spec import JobSpec

    monkeypatch.setattr(run, "read_input", _no_read)
    spec = JobSpec(algorithm="linear_regression", input=data, target="y",
                   output=str(tmp_path / "nowhere" / "m.scaleout"))
    with pytest.raises(StorageError, match=r"nowhere' does not exist"):
        run.run_job(spec)
