"""Nothing left behind (issue 15): temporary files, spill directories, permissions.

A run killed by SIGTERM (or Ctrl-C) removes its temporary model file and its
spill directory on the way out; one killed by SIGKILL cannot, and the next
run in the same directory removes them (their owner's pid is in the name).
Concurrent writers of one output each use a temporary of their own. Saved
files get ``0o666 & ~umask``, as any file the user creates.
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
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import scaleout as so
from scaleout import _tempfiles
from scaleout.storage import local_output

ROOT = Path(__file__).parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["TMPDIR"] = str(tmp_path / "tmp")  # where spill directories go
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _start(tmp_path: Path, body: str, argv: list[str]) -> subprocess.Popen:
    script = (
        "import sys, time, pathlib\nfrom scaleout.cli import main\n"
        + textwrap.dedent(body)
        + f"\nsys.exit(main({argv!r}))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=tmp_path, env=_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited early ({proc.returncode}): {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the run to reach its slow step")
        time.sleep(0.05)


@pytest.fixture
def data(tmp_path: Path) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    path = tmp_path / "d.parquet"
    table = pa.table({f"x{j}": X[:, j] for j in range(4)} | {"y": y})
    pq.write_table(table, path, row_group_size=500)
    return str(path)


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# A save that stops (forever) after it began writing its temporary file.
SLOW_SAVE = """
import zipfile
_write = zipfile.ZipFile.writestr
def slow(self, *args, **kwargs):
    _write(self, *args, **kwargs)
    pathlib.Path("saving").touch()
    time.sleep(300)
zipfile.ZipFile.writestr = slow
"""

# A dask fit that stops (forever) after the first pass that spilled its chunks to disk.
SLOW_FIT = """
import scaleout as so
from scaleout.backends.dask.executor import LocalPasses
so.set_config(dask_cache="spill", dask_chunk_rows=500, progress=False)
_map_reduce = LocalPasses._map_reduce
def slow(self, *args, **kwargs):
    result = _map_reduce(self, *args, **kwargs)
    if self._spill_dir is not None:  # a pass has spilled its chunks
        pathlib.Path("fitting").touch()
        time.sleep(300)
    return result
LocalPasses._map_reduce = slow
"""


def _fit_args(data: str, out: Path, backend: str) -> list[str]:
    return ["fit", "logistic_regression", "--data", data, "--target", "y", "-o", str(out),
            "--backend", backend]


def test_sigterm_during_save_leaves_nothing(tmp_path, data):
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    proc = _start(tmp_path, SLOW_SAVE, _fit_args(data, out_dir / "m.scaleout", "sklearn"))
    _wait_for(tmp_path / "saving", proc)
    (temporary,) = _entries(out_dir)  # the save's temporary file, named after its owner
    assert temporary.startswith(".scaleout-tmp-") and temporary.endswith(".scaleout")
    assert f"-{proc.pid}-" in temporary
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == "scaleout: terminated"
    assert _entries(out_dir) == []


def test_sigterm_during_fit_removes_the_spill_directory(tmp_path, data):
    proc = _start(tmp_path, SLOW_FIT, _fit_args(data, tmp_path / "m.scaleout", "dask"))
    _wait_for(tmp_path / "fitting", proc)
    spills = _entries(tmp_path / "tmp")
    assert len(spills) == 1 and spills[0].startswith("scaleout-spill-")
    assert f"-{proc.pid}-" in spills[0]
    assert any((tmp_path / "tmp" / spills[0]).iterdir())  # chunks were spilled
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert _entries(tmp_path / "tmp") == []
    assert not (tmp_path / "m.scaleout").exists()


def test_sigkill_leftovers_are_removed_by_the_next_run(tmp_path, data):
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    # killed while saving: a temporary model file stays
    proc = _start(tmp_path, SLOW_SAVE, _fit_args(data, out_dir / "m.scaleout", "sklearn"))
    _wait_for(tmp_path / "saving", proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert len(_entries(out_dir)) == 1
    # killed while fitting: a spill directory stays
    proc = _start(tmp_path, SLOW_FIT, _fit_args(data, tmp_path / "m2.scaleout", "dask"))
    _wait_for(tmp_path / "fitting", proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert len(_entries(tmp_path / "tmp")) == 1
    # the next run (a dask fit that spills, saved in the same directory) removes both
    proc = _start(tmp_path, "import scaleout as so\nso.set_config(dask_cache='spill', "
                  "dask_chunk_rows=500, progress=False)\n",
                  _fit_args(data, out_dir / "m.scaleout", "dask"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert _entries(out_dir) == ["m.scaleout"]
    assert _entries(tmp_path / "tmp") == []
    assert so.load(out_dir / "m.scaleout").predict(np.zeros((1, 4))).shape == (1,)


def test_concurrent_predict_to_one_output(tmp_path, data):
    model = tmp_path / "m.scaleout"
    X = pq.read_table(data).to_pandas()
    fitted = so.LogisticRegression(backend="sklearn").fit(X.drop(columns="y"), X["y"])
    fitted.save(model)
    out = tmp_path / "p.parquet"
    # each writer pauses after writing its temporary file, so that both are
    # writing at once (with one shared "<out>.tmp", as before, they collided)
    slow_write = """
        import pyarrow.parquet as pq
        _write = pq.write_table
        def slow(*args, **kwargs):
            _write(*args, **kwargs)
            time.sleep(2)
        pq.write_table = slow
    """
    procs = [
        _start(tmp_path, slow_write, ["predict", str(model), "--data", data,
                                      "--features", "x0,x1,x2,x3", "-o", str(out)])
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    expected = fitted.predict(X.drop(columns="y").to_numpy())
    np.testing.assert_array_equal(pd.read_parquet(out)["prediction"].to_numpy(), expected)
    assert _entries(tmp_path).count("p.parquet") == 1
    assert not [n for n in _entries(tmp_path) if n.startswith(".scaleout-tmp-")]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_saved_files_get_the_users_normal_permissions(tmp_path, umask):
    model = so.LinearRegression(backend="sklearn").fit(np.eye(3), [1.0, 2.0, 3.0])
    old = os.umask(umask)
    try:
        path = model.save(tmp_path / "m.scaleout")
        with local_output(tmp_path / "p.csv", suffix=".csv") as tmp:
            Path(tmp).write_text("x\n")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert os.stat(tmp_path / "p.csv").st_mode & 0o777 == 0o666 & ~umask


def test_current_umask_leaves_it_unchanged():
    old = os.umask(0o027)
    try:
        assert _tempfiles.current_umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(old)


# ------------------------------------------------------------------ the sweep
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_stale_entries_of_this_host(tmp_path):
    host = _tempfiles._host()
    dead = _dead_pid()
    stale_file = tmp_path / f".scaleout-tmp-{host}-{dead}-abc123.scaleout"
    stale_dir = tmp_path / f"scaleout-spill-{host}-{dead}-x_y9"
    live = tmp_path / f".scaleout-tmp-{host}-{os.getppid()}-abc123.scaleout"
    other_host = tmp_path / f".scaleout-tmp-{host}x-{dead}-abc123.scaleout"
    old_style = tmp_path / ".tmp-abc123.scaleout"  # no owner in its name: never touched
    user_file = tmp_path / f".scaleout-tmp-{host}-{dead}-notes.txt~"
    for path in (stale_file, live, other_host, old_style, user_file):
        path.write_text("x")
    stale_dir.mkdir()
    (stale_dir / "0.X.npy").write_bytes(b"0" * 100)

    removed = _tempfiles.sweep_stale(str(tmp_path), _tempfiles.TMP_PREFIX)
    assert removed == [str(stale_file)]
    removed = _tempfiles.sweep_stale(str(tmp_path), _tempfiles.SPILL_PREFIX)
    assert removed == [str(stale_dir)]
    assert sorted(_entries(tmp_path)) == sorted(
        p.name for p in (live, other_host, old_style, user_file)
    )


def test_temporary_names_are_unique_and_owned(tmp_path):
    names = {_tempfiles.make_temp_file(str(tmp_path), ".scaleout") for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert f"-{os.getpid()}-" in Path(name).name
        assert Path(name).name.endswith(".scaleout")
    # this process's own temporaries are never swept, however many
    assert _tempfiles.sweep_stale(str(tmp_path), _tempfiles.TMP_PREFIX) == []


def test_owner_alive():
    assert _tempfiles.owner_alive(os.getpid())
    assert not _tempfiles.owner_alive(_dead_pid())
    assert _tempfiles.owner_alive(0)


# --------------------------------------------- a URL upload's staging objects
# An upload to a URL whose filesystem has no atomic put goes to a staging
# object "<target>.tmp-<host>-<pid>-<random>" that is then moved onto the
# target. A writer killed in between leaves it; the next upload to the same
# target removes it, and never a live writer's.
SLOW_UPLOAD = """
import os, pathlib, time
import numpy as np
import scaleout as so
import staging_fs
staging_fs.register()
_put = staging_fs.StagingFileSystem.put_file
def slow(self, lpath, rpath, **kwargs):
    _put(self, lpath, rpath, **kwargs)
    pathlib.Path(f"uploaded-{os.getpid()}").touch()
    time.sleep(300)
staging_fs.StagingFileSystem.put_file = slow
model = so.LinearRegression(backend="sklearn").fit(np.eye(3), [1.0, 2.0, 3.0])
model.save(staging_fs.url(sys.argv[1]))
"""


def _start_upload(tmp_path: Path, target: Path) -> subprocess.Popen:
    env = _env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), env["PYTHONPATH"]])
    return subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + SLOW_UPLOAD, str(target)], cwd=tmp_path,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_killed_upload_staging_is_removed_by_the_next_save_but_a_live_writers_kept(tmp_path):
    import staging_fs

    staging_fs.register()
    out_dir = tmp_path / "bucket"
    out_dir.mkdir()
    target = out_dir / "m.scaleout"
    host = _tempfiles._host()
    killed = _start_upload(tmp_path, target)
    live = _start_upload(tmp_path, target)
    try:
        # both between their upload and their move (each swept before its
        # upload, while the other was alive: nothing to remove then)
        _wait_for(tmp_path / f"uploaded-{killed.pid}", killed)
        _wait_for(tmp_path / f"uploaded-{live.pid}", live)
        killed.kill()  # SIGKILL before the move
        killed.communicate(timeout=60)
        assert killed.returncode == -signal.SIGKILL
        left = _entries(out_dir)
        assert len(left) == 2, left
        assert {name.split("-")[-2] for name in left} == {str(killed.pid), str(live.pid)}
        for name in left:
            assert name.startswith(f"m.scaleout.tmp-{host}-"), name
        live_staging = next(n for n in left if f"-{live.pid}-" in n)

        model = so.LinearRegression(backend="sklearn").fit(np.eye(3), [4.0, 5.0, 6.0])
        model.save(staging_fs.url(target))

        assert live.poll() is None  # the live writer is still uploading ...
        assert _entries(out_dir) == ["m.scaleout", live_staging]  # ... and its object stays
        loaded = so.load(staging_fs.url(target))
        np.testing.assert_allclose(loaded.predict(np.eye(3)), [4.0, 5.0, 6.0], atol=1e-9)
    finally:
        for proc in (killed, live):
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=60)


def test_a_url_upload_leaves_only_the_target(tmp_path):
    import staging_fs

    staging_fs.register()
    target = tmp_path / "p.csv"
    from scaleout.storage import write_text

    write_text(staging_fs.url(target), "x\n1\n")
    write_text(staging_fs.url(target), "x\n2\n")
    assert _entries(tmp_path) == ["p.csv"]
    assert target.read_text() == "x\n2\n"


def test_stale_staging_lists_only_dead_owners_of_this_host_and_target():
    host = _tempfiles._host()
    dead = _dead_pid()
    target = "bucket/dir/m.scaleout"
    siblings = [
        "bucket/dir/m.scaleout",
        f"bucket/dir/m.scaleout.tmp-{host}-{dead}-0123456789ab",  # stale: removed
        f"bucket/dir/m.scaleout.tmp-{host}-{os.getppid()}-0123456789ab",  # live writer
        f"bucket/dir/m.scaleout.tmp-{host}-{os.getpid()}-0123456789ab",  # this process
        f"bucket/dir/m.scaleout.tmp-{host}x-{dead}-0123456789ab",  # another host
        "bucket/dir/m.scaleout.tmp-0123456789ab",  # no owner in its name
        f"bucket/dir/n.scaleout.tmp-{host}-{dead}-0123456789ab",  # another target's
        f"bucket/dir/m.scaleout.tmp-{host}-{dead}-0123456789ab.bak",  # not one of ours
    ]
    assert _tempfiles.stale_staging(target, siblings) == [siblings[1]]
    name = _tempfiles.staging_name(target)
    assert name.startswith(f"{target}.tmp-{host}-{os.getpid()}-")
    assert _tempfiles.stale_staging(target, [name]) == []  # its own: never stale
