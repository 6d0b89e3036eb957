"""`scaleout cluster` against itself and against damage: the state directory's lock, an `up`
killed or interrupted halfway, a damaged state file, an unreachable scheduler (real processes)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import scaleout as so
from scaleout import clusters
from scaleout.clusters.procs import free_port, tagged_processes
from scaleout.clusters.state import TAG_VARIABLE
from scaleout.exceptions import ClusterError, ScaleoutError

REPO = Path(__file__).resolve().parents[1]


def env_of(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "SCALEOUT_STATE_DIR": str(state_dir)}


def cli(state_dir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaleout.cli", *args],
        capture_output=True,
        text=True,
        env=env_of(state_dir),
        cwd=REPO,
        timeout=timeout,
    )


def up_command(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scaleout.cli",
        "cluster",
        "up",
        "--engine",
        "dask",
        "--port",
        str(free_port()),
        "--ui-port",
        "0",
        "--timeout",
        "120",
        *extra,
    ]


def tag_of(state_dir: Path) -> str:
    return f"{state_dir.absolute()}::dask"


def left_behind(state_dir: Path) -> list[psutil.Process]:
    """This user's processes started by a `cluster up` of ``state_dir`` still running."""
    return [p for p in tagged_processes(tag_of(state_dir)) if p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def state_dir(tmp_path):
    """A state directory; whatever a test left running in it is killed (by its tag)."""
    yield tmp_path
    procs = tagged_processes(tag_of(tmp_path))
    for proc in procs:
        proc.kill()
    psutil.wait_procs(procs, timeout=30)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


# ----------------------------------------------------------------------- damaged state file
DAMAGED = {
    "truncated": '{"engine": "dask", "address": "tls://127.0.0.1:1", "proc',
    "empty": "",
    "garbage": "\x00\x01 not json",
    "a list": "[1, 2]",
    "no pids": '{"address": "tls://127.0.0.1:1", "processes": [{"role": "scheduler"}]}',
}


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_state_file_is_named(state_dir, monkeypatch, content):
    monkeypatch.setenv("SCALEOUT_STATE_DIR", str(state_dir))
    path = state_dir / "dask.json"
    path.write_text(content)
    expected = (
        rf"the cluster state file {re.escape(str(path))} is damaged "
        r".*scaleout cluster down --engine dask --force"
    )
    for call in (
        lambda: clusters.status(),
        lambda: clusters.status("dask"),
        lambda: clusters.up("dask", 1, port=0, ui_port=0),
        lambda: clusters.down(),
    ):
        with pytest.raises(ClusterError, match=expected):
            call()
    assert path.read_text() == content  # nothing started, nothing removed
    assert clusters.status("spark") == []
    assert clusters.down("dask", force=True) == [
        {"engine": "dask", "address": "(damaged state file)", "stopped": []}
    ]
    assert not path.exists()
    assert clusters.status() == []


def test_damaged_state_file_cli(state_dir):
    path = state_dir / "dask.json"
    path.write_text(DAMAGED["truncated"])
    for args in (("status",), ("down",)):  # `up`: test_damaged_state_file_is_named
        message = one_line(cli(state_dir, "cluster", *args))
        assert f"the cluster state file {path} is damaged (not JSON:" in message
        assert "scaleout cluster down --engine dask --force" in message
    forced = cli(state_dir, "cluster", "down", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "stopped dask cluster (damaged state file)" in forced.stdout
    assert not path.exists()


# ----------------------------------------------------------------------- unreachable scheduler
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("scheme", ["tcp", "tls"])
def test_unreachable_scheduler_fails_fast(state_dir, monkeypatch, scheme):
    monkeypatch.setenv("SCALEOUT_STATE_DIR", str(state_dir))
    import distributed  # noqa: F401  (imported before the clock starts)

    address = f"{scheme}://127.0.0.1:{closed_port()}"
    with so.config_context():
        start = time.monotonic()
        with pytest.raises(
            ClusterError,
            match=rf"cannot reach the dask scheduler at {address}: Connection refused; "
            r"is the cluster up\? \(scaleout cluster status\)",
        ):
            so.connect(address)
        assert time.monotonic() - start < 3
        assert so.get_config()["dask_scheduler"] is None
        # a fit pointed at it by the config fails the same way
        with so.config_context(dask_scheduler=address):
            start = time.monotonic()
            with pytest.raises(ClusterError, match=f"cannot reach the dask scheduler at {address}"):
                so.LinearRegression(backend="dask").fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
            assert time.monotonic() - start < 10


def test_tls_scheduler_without_credentials_is_named(state_dir, monkeypatch):
    """Something listens, but no cluster of the state directory is there: no credentials."""
    monkeypatch.setenv("SCALEOUT_STATE_DIR", str(state_dir))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tls://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(
            ClusterError,
            match=rf"no credentials for the TLS dask scheduler at {address}: it is not the "
            rf"cluster recorded in {re.escape(str(state_dir))}",
        ):
            so.connect(address)
        assert time.monotonic() - start < 5


# ----------------------------------------------------------------------- against itself
def test_two_concurrent_up_start_one_cluster(state_dir):
    """Two `cluster up` at once: one starts the cluster, the other fails with one line and
    starts nothing; `down` then stops everything."""
    ups = [
        subprocess.Popen(
            up_command("--workers", "1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_of(state_dir),
            cwd=REPO,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=240), *p.communicate()) for p in ups]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    (_, _, err), = [r for r in results if r[0] == 2]
    assert err.strip().count("\n") == 0, err
    assert (
        "another scaleout cluster command (pid " in err and "is starting or stopping" in err
    ) or "a dask cluster is already up" in err, err
    state = json.loads((state_dir / "dask.json").read_text())
    assert state["ready"] is True and len(state["processes"]) == 2
    recorded = {p["pid"] for p in state["processes"]}
    # every process started by either `up` belongs to the recorded cluster
    running = left_behind(state_dir)
    roots = {p.pid for p in running if p.ppid() not in {q.pid for q in running}}
    assert roots == recorded
    down = cli(state_dir, "cluster", "down")
    assert down.returncode == 0 and "stopped dask cluster" in down.stdout, down.stderr
    assert left_behind(state_dir) == []
    assert not (state_dir / "dask.json").exists()


def start_and_interrupt(state_dir: Path, sig: int) -> tuple[subprocess.Popen, dict]:
    """Start `cluster up` (1 worker); send ``sig`` once both processes are recorded, before
    the cluster is ready; return the `up` process and the state it had recorded."""
    up = subprocess.Popen(
        up_command("--workers", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env_of(state_dir),
        cwd=REPO,
    )
    path = state_dir / "dask.json"
    deadline = time.monotonic() + 120
    while True:
        assert up.poll() is None, up.stderr.read() if up.stderr else ""
        assert time.monotonic() < deadline
        try:
            state = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            state = {}
        if len(state.get("processes", [])) == 2:
            break
        time.sleep(0.02)
    up.send_signal(sig)
    up.wait(timeout=60)
    assert state["ready"] is False  # interrupted halfway
    return up, state


def test_up_killed_halfway_then_down_stops_everything(state_dir):
    up, state = start_and_interrupt(state_dir, signal.SIGKILL)
    assert up.returncode == -signal.SIGKILL
    assert {p.pid for p in left_behind(state_dir)} >= {p["pid"] for p in state["processes"]}
    status = cli(state_dir, "cluster", "status")
    assert status.returncode == 0 and "(not ready:" in status.stdout, status.stderr
    down = cli(state_dir, "cluster", "down")
    assert down.returncode == 0 and "stopped dask cluster" in down.stdout, down.stderr
    assert left_behind(state_dir) == []
    assert not any(psutil.pid_exists(p["pid"]) for p in state["processes"])
    assert not (state_dir / "dask.json").exists()
    assert not (state_dir / "dask-credentials").exists()


def test_up_killed_halfway_with_damaged_state_then_down_force(state_dir):
    """Even when the state file is damaged, `down --force` finds the processes by their tag."""
    up, state = start_and_interrupt(state_dir, signal.SIGKILL)
    assert up.returncode == -signal.SIGKILL
    (state_dir / "dask.json").write_text('{"engine": "da')
    assert "is damaged" in one_line(cli(state_dir, "cluster", "down"))
    assert len(left_behind(state_dir)) >= 2
    for proc in left_behind(state_dir):
        assert proc.environ()[TAG_VARIABLE] == tag_of(state_dir)
    forced = cli(state_dir, "cluster", "down", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "stopped dask cluster (damaged state file)" in forced.stdout
    assert left_behind(state_dir) == []
    assert not any(psutil.pid_exists(p["pid"]) for p in state["processes"])


def test_up_terminated_halfway_stops_what_it_started(state_dir):
    """SIGTERM (or Ctrl-C) during `up`: it stops its own processes and forgets the cluster."""
    up, state = start_and_interrupt(state_dir, signal.SIGTERM)
    assert up.returncode == 2
    err = up.stderr.read()
    assert err.strip().count("\n") == 0, err
    assert "cluster up --engine dask was stopped by signal 15 (SIGTERM) before the cluster" in err
    assert left_behind(state_dir) == []
    assert not any(psutil.pid_exists(p["pid"]) for p in state["processes"])
    assert not (state_dir / "dask.json").exists()
    assert "no cluster is up" in cli(state_dir, "cluster", "status").stdout


# ----------------------------------------------------------------------- Spark REST option
def test_rest_server_is_a_spark_option(state_dir, monkeypatch):
    """`--spark-rest` is refused for Dask and `--rest-port` without it, before anything starts
    (the Spark cases with a real master: tests/test_clusters.py)."""
    monkeypatch.setenv("SCALEOUT_STATE_DIR", str(state_dir))
    for options in ({"rest": True}, {"rest_port": 6066}):
        with pytest.raises(
            ScaleoutError,
            match=r"^the REST submission server \(--spark-rest\) is a Spark option; "
            r"a dask cluster has none$",
        ):
            clusters.up("dask", 1, port=0, ui_port=0, **options)
    assert list(state_dir.iterdir()) == []
    message = one_line(cli(state_dir, "cluster", "up", "--engine", "spark", "--rest-port", "0"))
    assert "--rest-port needs --spark-rest" in message
    message = one_line(cli(state_dir, "cluster", "up", "--engine", "dask", "--spark-rest"))
    assert "is a Spark option; a dask cluster has none" in message
    assert left_behind(state_dir) == []
