"""One rule for data paths: ``model.fit(path)``, ``scaleout fit --data`` and jobs agree.

Every accepted input is fitted through the three entry points (the Python API,
the command line, the training job, all in this process) and must give the
same model; every rejected input must fail in all three with the same message.
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose

import scaleout as so
from scaleout import jobs
from scaleout.cli import main as cli_main
from scaleout.data import CsvDataset, NpyDataset, ParquetDataset, as_dataset, open_path
from scaleout.data.open import format_of, path_format
from scaleout.exceptions import DataError, DataFileNotFoundError

ROWS = 24


def _frame(start: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    return pd.DataFrame({"a": a, "b": b, "y": 3.0 * a - 2.0 * b + 0.5 + 0.01 * rng.random(n)})


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Every input form over the same 24 rows (in the same order), plus bad inputs."""
    root = tmp_path_factory.mktemp("paths")
    first, second = _frame(0, 10), _frame(1, ROWS - 10)
    truth = pd.concat([first, second], ignore_index=True)

    def parquet(path: Path, df: pd.DataFrame) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)

    parquet(root / "pq" / "part-0.parquet", first)
    parquet(root / "pq" / "part-1.parquet", second)
    (root / "pq" / "_SUCCESS").write_text("")  # Spark's marker: skipped in a directory
    parquet(root / "out.parquet" / "part-0.snappy.parquet", truth)  # Spark's directory name
    parquet(root / "one.pq", truth)
    parquet(root / "nosuffix" / "sub" / "part-0.parquet", truth)
    (root / "nosuffix" / "README.md").write_text("other files are ignored")
    (root / "csv").mkdir()
    first.to_csv(root / "csv" / "a.csv", index=False)
    with gzip.open(root / "csv" / "b.csv.gz", "wt") as fh:
        second.to_csv(fh, index=False)
    truth.to_csv(root / "one.csv", index=False)
    np.save(root / "X.npy", truth[["a", "b"]].to_numpy())
    np.save(root / "y.npy", truth["y"].to_numpy())
    # a directory with Parquet and CSV: Parquet (its other files are ignored)
    parquet(root / "mixed" / "data.parquet", truth)
    first.to_csv(root / "mixed" / "extra.csv", index=False)
    # bad inputs
    (root / "data.txt").write_text("a,b,y\n1,2,3\n")
    (root / "txt").mkdir()
    (root / "txt" / "part-0").write_text("no suffix")
    (root / "empty").mkdir()
    (root / "twonpy").mkdir()
    np.save(root / "twonpy" / "a.npy", np.ones((3, 2)))
    np.save(root / "twonpy" / "b.npy", np.ones((3, 2)))
    fs = fsspec.filesystem("memory")
    mem = f"/open-path-{uuid.uuid4().hex}"
    for name, df in (("part-0.parquet", first), ("part-1.parquet", second)):
        with fs.open(f"{mem}/pq/{name}", "wb") as fh:
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), fh)
    yield root, truth, f"memory://{mem}"
    fs.rm(mem, recursive=True)


# (sources relative to the tree, with {mem} the memory:// root; target; dataset type)
ACCEPTED = {
    "parquet directory": (["pq"], "y", ParquetDataset),
    "parquet directory, trailing slash": (["pq/"], "y", ParquetDataset),
    "parquet glob": (["pq/part-*.parquet"], "y", ParquetDataset),
    "glob without suffix": (["pq/part-*"], "y", ParquetDataset),
    "list of parquet files": (["pq/part-0.parquet", "pq/part-1.parquet"], "y", ParquetDataset),
    "spark directory named .parquet": (["out.parquet"], "y", ParquetDataset),
    ".pq file": (["one.pq"], "y", ParquetDataset),
    "directory of a directory": (["nosuffix"], "y", ParquetDataset),
    "directory with parquet and csv": (["mixed"], "y", ParquetDataset),
    "file URL": (["file://{root}/pq"], "y", ParquetDataset),
    "memory URL directory": (["{mem}/pq"], "y", ParquetDataset),
    "list of memory URLs": (
        ["{mem}/pq/part-0.parquet", "{mem}/pq/part-1.parquet"], "y", ParquetDataset
    ),
    "csv file": (["one.csv"], "y", CsvDataset),
    "csv directory (.csv and .csv.gz)": (["csv"], "y", CsvDataset),
    "csv glob": (["csv/*"], "y", CsvDataset),
    "list of .csv and .csv.gz": (["csv/a.csv", "csv/b.csv.gz"], "y", CsvDataset),
    "npy with a .npy target": (["X.npy"], "{root}/y.npy", NpyDataset),
}

# (sources, target, exception type, start of the message)
NOT_FOUND = "file or directory not found"
REJECTED = {
    "unknown suffix": (
        ["data.txt"], "y", DataError, "cannot tell the file format of '{root}/data.txt'"
    ),
    "missing, no suffix": (
        ["nope"], "y", DataFileNotFoundError, f"data {NOT_FOUND}: '{{root}}/nope'"
    ),
    "missing parquet": (
        ["nope.parquet"],
        "y",
        DataFileNotFoundError,
        f"Parquet {NOT_FOUND}: '{{root}}/nope.parquet'",
    ),
    "missing file in a list": (
        ["pq/part-0.parquet", "nope.parquet"],
        "y",
        DataFileNotFoundError,
        f"Parquet {NOT_FOUND}: '{{root}}/nope.parquet'",
    ),
    "missing memory URL in a list": (
        ["{mem}/pq/part-0.parquet", "{mem}/nope.parquet"],
        "y",
        DataFileNotFoundError,
        f"Parquet {NOT_FOUND}: '{{mem}}/nope.parquet'",
    ),
    "list of two formats": (
        ["pq/part-0.parquet", "one.csv"],
        "y",
        DataError,
        "a list of data paths must be of one format: '{root}/pq/part-0.parquet' is Parquet, "
        "'{root}/one.csv' is CSV",
    ),
    "glob of unknown files": (
        ["txt/*"],
        "y",
        DataError,
        "cannot tell the file format of 'file://{root}/txt/part-0' (matched by '{root}/txt/*')",
    ),
    "glob of two formats": (
        ["mixed/*"], "y", DataError, "the glob '{root}/mixed/*' matches files of more than one"
    ),
    "empty directory": (
        ["empty"], "y", DataFileNotFoundError, "no data files under '{root}/empty'; supported:"
    ),
    "no-suffix files only": (
        ["txt"], "y", DataFileNotFoundError, "no data files under '{root}/txt'"
    ),
    "column target for .npy": (
        ["X.npy"],
        "y",
        DataError,
        "the target of '{root}/X.npy' cannot be the column 'y': a .npy file has no column names",
    ),
    "list of .npy": (
        ["X.npy", "X.npy"], "{root}/y.npy", DataError, "a list of .npy files is not supported"
    ),
    "directory of two .npy": (
        ["twonpy"],
        "{root}/y.npy",
        DataError,
        "X must be a single .npy file, but '{root}/twonpy' matches 2",
    ),
}


def _fill(text: str | None, root: Path, mem: str) -> str | None:
    return None if text is None else text.format(root=root, mem=mem)


def _sources(names: list[str], root: Path, mem: str) -> list[str]:
    out = []
    for name in names:
        text = _fill(name, root, mem)
        out.append(text if "://" in text or text.startswith(str(root)) else f"{root}/{text}")
    return out


def _api(sources: list[str], target: str | None):
    return as_dataset(sources[0] if len(sources) == 1 else sources, target)


def _cli_args(sources: list[str], target: str | None) -> list[str]:
    args = [a for s in sources for a in ("--data", s)]
    return args + (["--target", target] if target else [])


def _job_args(sources: list[str], target: str | None) -> list[str]:
    args = [a for s in sources for a in ("--input", s)]
    return args + (["--target", target] if target else [])


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_inputs_give_the_same_model_everywhere(tree, case, tmp_path, capsys):
    root, truth, mem = tree
    names, target, kind = ACCEPTED[case]
    sources, target = _sources(names, root, mem), _fill(target, root, mem)
    dataset = _api(sources, target)
    assert isinstance(dataset, kind)
    X, y = dataset.to_numpy()
    assert_allclose(X, truth[["a", "b"]].to_numpy(), rtol=1e-15)
    assert_allclose(y, truth["y"].to_numpy(), rtol=1e-15)

    source = sources[0] if len(sources) == 1 else sources
    api = so.LinearRegression(backend="sklearn").fit(source, target)
    cli_model, job_model = tmp_path / "cli.scaleout", tmp_path / "job.scaleout"
    assert cli_main(["fit", "linear_regression", *_cli_args(sources, target),
                     "--backend", "sklearn", "-o", str(cli_model)]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["rows"] == ROWS
    assert jobs.main(["--algorithm", "linear_regression", *_job_args(sources, target),
                      "--backend", "sklearn", "--output", str(job_model)]) == 0  # fmt: skip
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["rows"] == ROWS
    assert metrics["input"] == source
    for model in (so.load(cli_model), so.load(job_model)):
        assert_allclose(model.coef_, api.coef_, rtol=1e-12)
        assert_allclose(model.intercept_, api.intercept_, rtol=1e-12)
    assert_allclose(api.coef_, [3.0, -2.0], atol=0.01)


@pytest.mark.parametrize("case", list(REJECTED))
def test_rejected_inputs_fail_everywhere_with_one_message(tree, case, tmp_path, capsys):
    root, _, mem = tree
    names, target, error, expected = REJECTED[case]
    sources, target = _sources(names, root, mem), _fill(target, root, mem)
    expected = _fill(expected, root, mem)
    with pytest.raises(error) as info:
        _api(sources, target)
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message
    with pytest.raises(error) as info:
        source = sources[0] if len(sources) == 1 else sources
        so.LinearRegression(backend="sklearn").fit(source, target)
    assert str(info.value) == message

    out = str(tmp_path / "m.scaleout")
    assert cli_main(["fit", "linear_regression", *_cli_args(sources, target), "-o", out]) == 2
    assert capsys.readouterr().err == f"scaleout: error: {message}\n"
    assert jobs.main(["--algorithm", "linear_regression", *_job_args(sources, target),
                      "--output", out]) == 2  # fmt: skip
    assert capsys.readouterr().err == f"scaleout job: error: {message}\n"
    assert not Path(out).exists()


def test_unknown_suffix_message_lists_the_formats(tree):
    root, _, _ = tree
    with pytest.raises(DataError) as info:
        open_path(root / "data.txt")
    assert str(info.value) == (
        f"cannot tell the file format of '{root}/data.txt' from its name; supported: Parquet "
        "(.parquet, .pq, .parq files, or a directory or glob of them), CSV (.csv, .csv.gz, "
        ".csv.bz2, or a directory or glob of them), NumPy (one .npy file). Use "
        "scaleout.data.read_parquet / read_csv / read_npy to choose explicitly."
    )


def test_format_by_suffix_needs_no_listing():
    # A known suffix decides without touching the filesystem (these paths do not exist).
    assert path_format("s3://no-such-bucket/train/part-0.snappy.parquet") == "Parquet"
    assert path_format("/nowhere/*.csv") == "CSV"
    assert path_format("/nowhere/out.PARQUET/") == "Parquet"
    assert path_format("/nowhere/x.npy") == "NumPy .npy"
    assert format_of("a.csv.bz2") == "CSV" and format_of("a.gz") is None
    assert format_of("data/") is None


def test_features_and_storage_options_reach_the_reader(tree):
    root, truth, _ = tree
    ds = open_path(f"{root}/csv", "y", ["b"])
    assert ds.feature_names == ["b"]
    assert_allclose(ds.to_numpy()[0][:, 0], truth["b"].to_numpy(), rtol=1e-15)
    with pytest.raises(DataError, match=r"features=\['a'\] cannot select from"):
        open_path(root / "X.npy", features=["a"])
    ds = open_path(f"file://{root}/pq", "y", storage_options={"auto_mkdir": False})
    assert ds.n_rows == ROWS and ds.files[0] == f"file://{root}/pq/part-0.parquet"


def test_a_list_is_not_taken_for_rows_of_data():
    # rows of numbers stay in-memory data; a flat list of paths is opened
    assert as_dataset([[1.0, 2.0], [3.0, 4.0]]).n_rows == 2
    with pytest.raises(DataFileNotFoundError, match="not found: 'nope-1'"):
        as_dataset(["nope-1", "nope-2"])
