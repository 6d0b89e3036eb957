"""Tests of scaleout.data: lazy datasets over files and memory, and validation."""

from __future__ import annotations

import re
import uuid
import warnings
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse
from sklearn.exceptions import DataConversionWarning

from scaleout.data import (
    Batch,
    CsvDataset,
    Dataset,
    InMemoryDataset,
    NpyDataset,
    ParquetDataset,
    as_dataset,
    check_features,
    check_target,
    read_csv,
    read_npy,
    read_parquet,
)
from scaleout.exceptions import DataError, DataFileNotFoundError

# ------------------------------------------------------------------ fixtures
# Three files with different row counts; written in an order that differs from
# their sorted order, so the tests see that files are read sorted.
FILE_ROWS = {"part-1.parquet": 23, "part-0.parquet": 17, "part-2.parquet": 30}
ROW_GROUP = 8


def _frame(n: int, start: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": rng.standard_normal(n),
            "b": np.arange(start, start + n, dtype=np.int64),  # int: read as float64
            "c": rng.random(n) < 0.5,  # bool feature
            "label": rng.integers(0, 3, n),
        }
    )


@pytest.fixture
def parquet_dir(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A directory of Parquet files and the concatenated truth (sorted file order)."""
    rng = np.random.default_rng(0)
    frames = {}
    start = {"part-0.parquet": 0, "part-1.parquet": 17, "part-2.parquet": 40}
    for name, n in FILE_ROWS.items():
        df = _frame(n, start[name], rng)
        pq.write_table(
            pa.Table.from_pandas(df, preserve_index=False),
            tmp_path / name,
            row_group_size=ROW_GROUP,
        )
        frames[name] = df
    (tmp_path / "_SUCCESS").write_text("")  # Spark marker: must be skipped
    (tmp_path / "_temporary").mkdir()  # unfinished Spark output: skipped too
    pq.write_table(pa.table({"other": [1]}), tmp_path / "_temporary" / "part-9.parquet")
    truth = pd.concat([frames[k] for k in sorted(frames)], ignore_index=True)
    return tmp_path, truth


def _row_groups(path: Path) -> list[int]:
    md = pq.ParquetFile(path).metadata
    return [md.row_group(i).num_rows for i in range(md.num_row_groups)]


@pytest.fixture
def memfs():
    """A fresh directory in fsspec's (process-global) memory filesystem."""
    fs = fsspec.filesystem("memory")
    root = f"/scaleout-test-{uuid.uuid4().hex}"
    fs.mkdir(root)
    yield fs, root
    fs.rm(root, recursive=True)


# ================================================================== Parquet
def test_parquet_metadata_schema_and_size(parquet_dir):
    path, truth = parquet_dir
    ds = read_parquet(path, target="label")
    assert isinstance(ds, ParquetDataset)
    files = sorted(path.glob("*.parquet"))
    assert ds.files == [str(p) for p in files]
    # Row count straight from the footers.
    assert ds.n_rows == sum(pq.ParquetFile(p).metadata.num_rows for p in files) == len(truth)
    assert ds.feature_names == ["a", "b", "c"]
    assert ds.has_feature_names is True
    assert ds.target == "label"
    assert ds.n_features == 3
    assert ds.schema.names == ["a", "b", "c", "label"]
    assert [str(t) for t in ds.schema.types] == ["double", "int64", "bool", "int64"]
    assert ds.estimated_nbytes == 70 * (3 + 1) * 8
    assert ds.source == f"Parquet dataset '{path}' (3 files)"
    assert repr(ds) == f"<ParquetDataset '{path}' (3 files): 70 rows x 3 features, target 'label'>"


def test_parquet_to_numpy_exact_sorted_fortran(parquet_dir):
    path, truth = parquet_dir
    X, y = read_parquet(path, target="label").to_numpy()
    assert X.dtype == np.float64
    assert X.flags.f_contiguous
    np.testing.assert_array_equal(X, truth[["a", "b", "c"]].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(X[:, 1], np.arange(70))  # files in sorted order
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, truth["label"].to_numpy())


@pytest.mark.parametrize("group_bytes", [1, 200, 1500, 10**9])
def test_parquet_to_numpy_read_plan(parquet_dir, monkeypatch, group_bytes):
    # Bounded-memory reads: row groups of a large file, or several whole files.
    import scaleout.data.parquet as parquet_module

    monkeypatch.setattr(parquet_module, "READ_GROUP_BYTES", group_bytes)
    path, truth = parquet_dir
    ds = read_parquet(path, target="label")
    plan = ds._read_plan()
    read_rows = 0
    for files, groups in plan:
        if groups is None:  # whole files
            read_rows += sum(sum(ds._row_groups[k]) for k in files)
        else:  # some row groups of one file
            assert len(files) == 1
            read_rows += sum(ds._row_groups[files[0]][i] for i in groups)
    assert read_rows == 70
    if group_bytes == 1:
        assert len(plan) == 10  # one read per row group
    if group_bytes == 10**9:
        assert plan == [([0, 1, 2], None)]
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(X, truth[["a", "b", "c"]].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(y, truth["label"].to_numpy())


def test_parquet_features_select_and_order(parquet_dir):
    path, truth = parquet_dir
    ds = read_parquet(path, features=["c", "a"])
    assert ds.target is None
    assert ds.schema.names == ["c", "a"]
    assert ds.estimated_nbytes == 70 * 2 * 8
    X, y = ds.to_numpy()
    assert y is None
    np.testing.assert_array_equal(X, truth[["c", "a"]].to_numpy(dtype=np.float64))


def test_parquet_unsupervised_uses_all_columns(parquet_dir):
    path, truth = parquet_dir
    ds = read_parquet(path)
    assert ds.feature_names == ["a", "b", "c", "label"]
    X, _ = ds.to_numpy()
    np.testing.assert_array_equal(X, truth.to_numpy(dtype=np.float64))


def test_parquet_float32_kept_only_when_all_float32(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(10).astype(np.float32)
    b = rng.standard_normal(10).astype(np.float32)
    pq.write_table(pa.table({"a": a, "b": b, "c": np.arange(10.0)}), tmp_path / "f.parquet")
    X32, _ = read_parquet(tmp_path / "f.parquet", features=["a", "b"]).to_numpy()
    assert X32.dtype == np.float32
    np.testing.assert_array_equal(X32, np.column_stack([a, b]))
    (batch,) = read_parquet(tmp_path / "f.parquet", features=["a", "b"]).iter_batches()
    assert batch.X.dtype == np.float32
    X64, _ = read_parquet(tmp_path / "f.parquet").to_numpy()
    assert X64.dtype == np.float64
    np.testing.assert_array_equal(X64[:, 0], a.astype(np.float64))


def test_parquet_iter_batches_one_per_row_group(parquet_dir):
    path, _ = parquet_dir
    ds = read_parquet(path, target="label")
    batches = list(ds.iter_batches())
    expected = [
        (name, i, n) for name in sorted(FILE_ROWS) for i, n in enumerate(_row_groups(path / name))
    ]
    assert len(batches) == len(expected) == 3 + 3 + 4
    offset = 0
    for batch, (name, i, n) in zip(batches, expected, strict=True):
        assert isinstance(batch, Batch)
        assert batch.source == f"file '{path / name}', row group {i}"
        assert batch.row_offset == offset
        assert batch.X.shape == (n, 3)
        assert batch.y.shape == (n,)
        offset += n
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(np.concatenate([b.X for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b.y for b in batches]), y)


def test_parquet_iter_batches_regroups_to_batch_rows(parquet_dir):
    path, _ = parquet_dir
    ds = read_parquet(path, target="label")
    batches = list(ds.iter_batches(batch_rows=12))
    assert [len(b) for b in batches] == [12] * 5 + [10]
    assert [b.row_offset for b in batches] == [0, 12, 24, 36, 48, 60]
    # rows 12..23 span part-0 (rows 12-16, row group 1... 2) and part-1
    assert batches[1].source == (
        f"file '{path / 'part-0.parquet'}', row group 1 to "
        f"file '{path / 'part-1.parquet'}', row group 0"
    )
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(np.concatenate([b.X for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b.y for b in batches]), y)
    # Splitting a row group into smaller batches.
    small = list(ds.iter_batches(batch_rows=3))
    assert sum(len(b) for b in small) == 70
    assert all(len(b) == 3 for b in small[:-1])
    with pytest.raises(DataError, match="batch_rows must be a positive integer"):
        next(ds.iter_batches(batch_rows=0))


@pytest.mark.parametrize("form", ["directory", "glob", "single", "file_url", "pathlike"])
def test_parquet_path_forms(parquet_dir, form):
    path, truth = parquet_dir
    spec = {
        "directory": str(path),
        "glob": str(path / "part-*.parquet"),
        "single": str(path / "part-1.parquet"),
        "file_url": f"file://{path}",
        "pathlike": path,
    }[form]
    ds = read_parquet(spec, target="label")
    X, y = ds.to_numpy()
    expected = truth.iloc[17:40] if form == "single" else truth
    np.testing.assert_array_equal(X, expected[["a", "b", "c"]].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(y, expected["label"].to_numpy())
    assert ds.n_rows == len(expected)
    np.testing.assert_array_equal(np.concatenate([b.X for b in ds.iter_batches()]), X)
    if form == "file_url":
        assert ds.files[0] == f"file://{path / 'part-0.parquet'}"
        assert ds._files.filesystem is not None  # read through fsspec
    else:
        assert ds._files.filesystem is None  # plain local path: pyarrow native


def test_parquet_memory_url(memfs):
    fs, root = memfs
    rng = np.random.default_rng(2)
    parts = []
    for k in range(2):
        df = pd.DataFrame({"x": rng.standard_normal(9), "y": rng.standard_normal(9)})
        with fs.open(f"{root}/data/p{k}.parquet", "wb") as f:
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), f, row_group_size=4)
        parts.append(df)
    truth = pd.concat(parts, ignore_index=True)
    ds = read_parquet(f"memory://{root}/data", target="y")
    assert ds.n_rows == 18
    assert ds.source == f"Parquet dataset 'memory://{root}/data' (2 files)"
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(X[:, 0], truth["x"].to_numpy())
    np.testing.assert_array_equal(y, truth["y"].to_numpy())
    batches = list(ds.iter_batches())
    assert len(batches) == 6
    assert batches[-1].source == f"file 'memory://{root}/data/p1.parquet', row group 2"
    glob_ds = read_parquet(f"memory://{root}/data/*.parquet", target="y")
    np.testing.assert_array_equal(glob_ds.to_numpy()[0], X)


def test_parquet_pandas_index_is_not_a_feature(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]}, index=["r1", "r2"])
    df.to_parquet(tmp_path / "f.parquet")
    assert "__index_level_0__" in pq.read_schema(tmp_path / "f.parquet").names
    ds = read_parquet(tmp_path / "f.parquet", target="y")
    assert ds.feature_names == ["a"]
    np.testing.assert_array_equal(ds.to_numpy()[0], [[1.0], [2.0]])


def test_parquet_string_and_categorical_targets(tmp_path):
    labels = ["cat", "dog", "cat", "bird"]
    pq.write_table(
        pa.table(
            {"x": [1.0, 2.0, 3.0, 4.0], "s": labels, "d": pa.array(labels).dictionary_encode()}
        ),
        tmp_path / "f.parquet",
    )
    for target in ("s", "d"):
        ds = read_parquet(tmp_path / "f.parquet", target=target, features=["x"])
        _, y = ds.to_numpy()
        assert y.dtype == object
        assert y.tolist() == labels
        assert next(ds.iter_batches()).y.tolist() == labels


def test_parquet_missing_file_and_glob(tmp_path):
    missing = tmp_path / "nope.parquet"
    with pytest.raises(DataFileNotFoundError, match=re.escape(str(missing))):
        read_parquet(missing)
    with pytest.raises(DataFileNotFoundError, match=re.escape(str(tmp_path / "*.parquet"))):
        read_parquet(tmp_path / "*.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileNotFoundError, match="no Parquet files"):
        read_parquet(tmp_path / "empty")
    # Also a FileNotFoundError, as a scikit-learn user would catch.
    with pytest.raises(FileNotFoundError):
        read_parquet("memory://definitely/not/here.parquet")


def test_parquet_list_of_paths_keeps_its_order(parquet_dir):
    path, truth = parquet_dir
    order = [path / "part-2.parquet", str(path / "part-0.parquet")]  # PathLike and str
    ds = read_parquet(order, target="label")
    expected = pd.concat([truth.iloc[40:70], truth.iloc[0:17]], ignore_index=True)
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(X, expected[["a", "b", "c"]].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(y, expected["label"].to_numpy())
    assert ds.n_rows == 47 and ds.files == [str(p) for p in order]
    assert ds.source == f"Parquet dataset ['{order[0]}', '{order[1]}'] (2 files)"
    np.testing.assert_array_equal(np.concatenate([b.X for b in ds.iter_batches()]), X)
    assert [p.row_offset for p in ds.partitions(target_rows=100)] == [0, 30]
    # items may be directories and globs; each expands sorted, the list keeps its order
    mixed = read_parquet([path / "part-2.parquet", path / "part-[01].parquet"], target="label")
    names = [Path(f).name for f in mixed.files]
    assert names == ["part-2.parquet", "part-0.parquet", "part-1.parquet"]
    assert read_parquet((path,), target="label").n_rows == 70


def test_parquet_list_of_urls_and_errors(parquet_dir, memfs):
    path, truth = parquet_dir
    fs, root = memfs
    for name in ("part-0.parquet", "part-1.parquet"):
        fs.pipe(f"{root}/{name}", (path / name).read_bytes())
    urls = [f"memory://{root}/part-1.parquet", f"memory://{root}/part-0.parquet"]
    ds = read_parquet(urls, target="label")
    assert ds.files == urls
    np.testing.assert_array_equal(
        ds.to_numpy()[1], np.concatenate([truth["label"][17:40], truth["label"][:17]])
    )
    # a missing item is named
    missing = f"memory://{root}/part-9.parquet"
    with pytest.raises(DataFileNotFoundError, match=re.escape(f"not found: '{missing}'")):
        read_parquet([urls[0], missing])
    with pytest.raises(DataFileNotFoundError, match=re.escape(str(path / "nope.parquet"))):
        read_parquet([path / "part-0.parquet", path / "nope.parquet"])
    with pytest.raises(DataError, match=r"on one filesystem: .*part-0.parquet' and 'memory"):
        read_parquet([path / "part-0.parquet", urls[0]])
    with pytest.raises(DataError, match="the list of Parquet paths is empty"):
        read_parquet([])
    # plain local paths and file:// URLs read together through fsspec's local filesystem
    local = read_parquet([path / "part-0.parquet", f"file://{path}/part-1.parquet"], "label")
    assert local.files == [f"file://{path}/part-0.parquet", f"file://{path}/part-1.parquet"]
    np.testing.assert_array_equal(local.to_numpy()[1], truth["label"][:40])


def test_parquet_missing_columns_list_available(parquet_dir):
    path, _ = parquet_dir
    with pytest.raises(DataError) as info:
        read_parquet(path, target="price")
    message = str(info.value)
    assert "target column 'price' not found" in message
    assert "available columns: 'a', 'b', 'c', 'label'" in message
    with pytest.raises(DataError, match=r"feature column 'zz' not found .*'a', 'b'"):
        read_parquet(path, target="label", features=["a", "zz"])
    with pytest.raises(DataError, match="target column 'label' is also listed in features"):
        read_parquet(path, target="label", features=["a", "label"])


def test_parquet_non_numeric_feature_named(tmp_path):
    pq.write_table(
        pa.table({"x": [1.0, 2.0], "city": ["a", "b"], "y": [0, 1]}), tmp_path / "f.parquet"
    )
    with pytest.raises(DataError, match="feature column 'city' has non-numeric type string"):
        read_parquet(tmp_path / "f.parquet", target="y")
    # Leaving it out works.
    ds = read_parquet(tmp_path / "f.parquet", target="y", features=["x"])
    assert ds.to_numpy()[0].tolist() == [[1.0], [2.0]]
    # A string target is fine (class labels); a list target is not.
    assert read_parquet(tmp_path / "f.parquet", target="city", features=["x"]).n_rows == 2
    pq.write_table(pa.table({"x": [1.0], "t": [[1, 2]]}), tmp_path / "g.parquet")
    with pytest.raises(DataError, match="target column 't' has unsupported type list"):
        read_parquet(tmp_path / "g.parquet", target="t")


def test_parquet_differing_schemas_name_the_file(tmp_path):
    pq.write_table(pa.table({"a": [1.0], "b": [2.0]}), tmp_path / "p0.parquet")
    pq.write_table(pa.table({"a": [1.0], "b": ["x"]}), tmp_path / "p1.parquet")
    with pytest.raises(DataError) as info:
        read_parquet(tmp_path)
    message = str(info.value)
    assert f"file '{tmp_path / 'p1.parquet'}' has a different schema" in message
    assert "column 'b' is string there but double" in message
    (tmp_path / "p1.parquet").unlink()
    pq.write_table(pa.table({"a": [3.0]}), tmp_path / "p2.parquet")
    with pytest.raises(DataError, match=r"p2\.parquet' has a different schema .* no column 'b'"):
        read_parquet(tmp_path)


def test_parquet_nan_in_late_row_group_located(parquet_dir):
    path, _ = parquet_dir
    df = pd.read_parquet(path / "part-2.parquet")
    df.loc[19, "a"] = np.nan  # part-2 row 19 → row group 2 (rows 16..23)
    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False),
        path / "part-2.parquet",
        row_group_size=ROW_GROUP,
    )
    ds = read_parquet(path, target="label")
    expected = (
        f"Input X contains NaN: column 'a' (feature 0), row {40 + 19} of file "
        f"'{path / 'part-2.parquet'}', row group 2."
    )
    with pytest.raises(DataError) as info:
        ds.to_numpy()
    assert str(info.value).startswith(expected)
    batches = ds.iter_batches()
    for _ in range(6):  # part-0 and part-1 are fine
        next(batches)
    with pytest.raises(DataError) as info:
        list(batches)
    assert str(info.value).startswith(expected)


def test_parquet_nulls_are_reported_as_nan(tmp_path):
    pq.write_table(
        pa.table({"a": pa.array([1, None, 3], pa.int64()), "b": [1, 2, 3], "y": [1.0, 2.0, None]}),
        tmp_path / "f.parquet",
    )
    where = f"of file '{tmp_path / 'f.parquet'}', row group 0"
    with pytest.raises(DataError, match=re.escape(f"column 'a' (feature 0), row 1 {where}")):
        read_parquet(tmp_path / "f.parquet", target="y").to_numpy()
    message = f"Input y contains NaN: target 'y', row 2 {where}"
    with pytest.raises(DataError, match=re.escape(message)):
        read_parquet(tmp_path / "f.parquet", target="y", features=["b"]).to_numpy()
    message = f"Input y contains NaN: target 'a', row 1 {where}"
    with pytest.raises(DataError, match=re.escape(message)):
        list(read_parquet(tmp_path / "f.parquet", target="a", features=["b"]).iter_batches())


# ====================================================================== CSV
@pytest.fixture
def csv_dir(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(3)
    frames = []
    for k, n in enumerate([40, 25]):
        df = pd.DataFrame(
            {
                "f1": np.round(rng.standard_normal(n), 6),
                "f2": np.arange(n) + 100 * k,
                "name": [f"n{i}" for i in range(n)],
                "target": rng.integers(0, 2, n),
            }
        )
        df.to_csv(tmp_path / f"d{k}.csv", index=False)
        frames.append(df)
    return tmp_path, pd.concat(frames, ignore_index=True)


def test_csv_dataset(csv_dir):
    path, truth = csv_dir
    ds = read_csv(path, target="target", features=["f2", "f1"])
    assert isinstance(ds, CsvDataset)
    assert ds.n_rows is None
    assert ds.feature_names == ["f2", "f1"]
    assert ds.has_feature_names
    assert ds.schema.names == ["f2", "f1", "target"]
    assert [str(t) for t in ds.schema.types] == ["double", "double", "int64"]
    total = sum((path / f"d{k}.csv").stat().st_size for k in range(2))
    # Rule: total_bytes / (10 bytes per value * 4 columns in the file) rows.
    assert ds.estimated_nbytes == int(total / (10 * 4) * 3 * 8)
    assert ds.source == f"CSV dataset '{path}' (2 files)"
    X, y = ds.to_numpy()
    assert X.flags.f_contiguous and X.dtype == np.float64
    np.testing.assert_array_equal(X, truth[["f2", "f1"]].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(y, truth["target"].to_numpy())


def test_csv_list_of_paths(csv_dir):
    path, truth = csv_dir
    ds = read_csv([path / "d1.csv", path / "d0.csv"], target="target", features=["f1"])
    X, y = ds.to_numpy()
    expected = pd.concat([truth.iloc[40:], truth.iloc[:40]], ignore_index=True)
    np.testing.assert_array_equal(X[:, 0], expected["f1"].to_numpy())
    np.testing.assert_array_equal(y, expected["target"].to_numpy())
    assert ds.source == f"CSV dataset ['{path / 'd1.csv'}', '{path / 'd0.csv'}'] (2 files)"
    with pytest.raises(DataFileNotFoundError, match=re.escape(str(path / "d9.csv"))):
        read_csv([path / "d0.csv", path / "d9.csv"])


def test_csv_iter_batches_stream_blocks(csv_dir):
    path, _ = csv_dir
    ds = read_csv(path, target="target", features=["f1", "f2"], block_size=256)
    batches = list(ds.iter_batches())
    assert len(batches) > 4  # several blocks per file
    offsets = np.cumsum([0] + [len(b) for b in batches[:-1]]).tolist()
    assert [b.row_offset for b in batches] == offsets
    assert batches[0].source == f"file '{path / 'd0.csv'}', block 0"
    assert batches[-1].source.startswith(f"file '{path / 'd1.csv'}', block ")
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(np.concatenate([b.X for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b.y for b in batches]), y)
    fixed = list(ds.iter_batches(batch_rows=16))
    assert [len(b) for b in fixed] == [16, 16, 16, 16, 1]


def test_csv_non_numeric_column_and_missing_target(csv_dir):
    path, _ = csv_dir
    with pytest.raises(DataError, match="feature column 'name' has non-numeric type string"):
        read_csv(path, target="target")
    with pytest.raises(DataError, match=r"target column 'price' not found .*'f1', 'f2', 'name'"):
        read_csv(path, target="price")
    with pytest.raises(DataFileNotFoundError, match=r"nothing\.csv"):
        read_csv(path / "nothing.csv")
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        read_csv(path, bogus=1)


def test_csv_later_block_non_numeric_names_file_and_column(tmp_path):
    lines = ["a,b,y"] + [f"{i},{i * 2},{i % 2}" for i in range(200)] + ["1.5,oops,0"]
    (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    ds = read_csv(tmp_path / "f.csv", target="y", block_size=512)
    assert str(ds.schema.field("b").type) == "double"
    message = f"CSV file '{tmp_path / 'f.csv'}': feature column 'b'"
    with pytest.raises(DataError, match=re.escape(message)):
        ds.to_numpy()
    with pytest.raises(DataError, match=re.escape(message)):
        list(ds.iter_batches())


def test_csv_int_then_float_in_later_block(tmp_path):
    lines = ["a,y"] + [f"{i},{i}" for i in range(300)] + ["2.5,7"]
    (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    ds = read_csv(tmp_path / "f.csv", target="y", block_size=256)
    X, y = ds.to_numpy()
    assert X[-1, 0] == 2.5 and y[-1] == 7
    assert np.concatenate([b.X for b in ds.iter_batches()])[-1, 0] == 2.5


def test_csv_nan_located_with_file_row(csv_dir):
    path, _ = csv_dir
    text = (path / "d1.csv").read_text().splitlines()
    fields = text[4].split(",")  # data row 3 of d1
    fields[0] = "inf"
    text[4] = ",".join(fields)
    (path / "d1.csv").write_text("\n".join(text) + "\n")
    ds = read_csv(path, target="target", features=["f1", "f2"])
    expected = (
        f"Input X contains infinity: column 'f1' (feature 0), row 43 of file "
        f"'{path / 'd1.csv'}' (data row 3 of that file)."
    )
    with pytest.raises(DataError) as info:
        ds.to_numpy()
    assert str(info.value).startswith(expected)
    with pytest.raises(DataError) as info:
        list(ds.iter_batches())
    assert str(info.value).startswith(expected)


def test_csv_options_and_memory_url(memfs):
    fs, root = memfs
    with fs.open(f"{root}/x.csv", "wb") as f:
        f.write(b"u;v;w\n1;2;3\n4;5;6\n")
    ds = read_csv(f"memory://{root}/x.csv", target="w", sep=";")
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(X, [[1.0, 2.0], [4.0, 5.0]])
    np.testing.assert_array_equal(y, [3, 6])


# ====================================================================== NPY
def test_npy_dataset(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 4)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    ds = read_npy(tmp_path / "X.npy", y=tmp_path / "y.npy")
    assert isinstance(ds, NpyDataset)
    assert ds.n_rows == 50 and ds.n_features == 4
    assert ds.feature_names == ["x0", "x1", "x2", "x3"]
    assert ds.has_feature_names is False
    assert ds.target == "y"
    assert ds.schema.names == ["x0", "x1", "x2", "x3", "y"]
    assert str(ds.schema.field("x0").type) == "float"
    assert ds.estimated_nbytes == 50 * 5 * 8
    X_out, y_out = ds.to_numpy()
    assert X_out.dtype == np.float32
    np.testing.assert_array_equal(X_out, X)
    np.testing.assert_array_equal(y_out, y)
    batches = list(ds.iter_batches(batch_rows=20))
    assert [(b.row_offset, len(b)) for b in batches] == [(0, 20), (20, 20), (40, 10)]
    assert batches[1].source == f"file '{tmp_path / 'X.npy'}', rows 20-39"
    np.testing.assert_array_equal(np.concatenate([b.X for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b.y for b in batches]), y)
    assert len(list(ds.iter_batches())) == 1


def test_npy_int_array_and_y_values(tmp_path):
    np.save(tmp_path / "X.npy", np.arange(12).reshape(6, 2))
    ds = read_npy(tmp_path / "X.npy", y=["a", "b", "a", "b", "a", "b"])
    X, y = ds.to_numpy()
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, np.arange(12.0).reshape(6, 2))
    assert y.tolist() == ["a", "b"] * 3


def test_npy_errors(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(5.0))
    np.save(tmp_path / "three.npy", np.zeros((2, 3, 4)))
    np.save(tmp_path / "X.npy", np.zeros((5, 2)))
    with pytest.raises(DataError, match="Expected 2D array, got 1D array instead"):
        read_npy(tmp_path / "one.npy")
    with pytest.raises(DataError, match=r"dim 3 .*shape=\(2, 3, 4\)"):
        read_npy(tmp_path / "three.npy")
    with pytest.raises(DataError, match=re.escape("inconsistent numbers of samples: [5, 4]")):
        read_npy(tmp_path / "X.npy", y=np.arange(4))
    np.save(tmp_path / "y.npy", np.arange(6))
    with pytest.raises(DataError, match=re.escape("[5, 6]")):
        read_npy(tmp_path / "X.npy", y=tmp_path / "y.npy")
    with pytest.raises(DataFileNotFoundError, match=r"missing\.npy"):
        read_npy(tmp_path / "missing.npy")
    bad = np.zeros((30, 3))
    bad[21, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    message = f"Input X contains NaN: column 'x2' (feature 2), row 21 of file '{tmp_path}"
    with pytest.raises(DataError, match=re.escape(message)):
        read_npy(tmp_path / "bad.npy").to_numpy()
    with pytest.raises(DataError, match=re.escape(message)):
        list(read_npy(tmp_path / "bad.npy").iter_batches(batch_rows=7))


def test_npy_memory_url(memfs):
    fs, root = memfs
    X = np.arange(20.0).reshape(10, 2)
    for name, order in (("c.npy", "C"), ("f.npy", "F")):
        with fs.open(f"{root}/{name}", "wb") as f:
            np.save(f, np.asarray(X, order=order))
        ds = read_npy(f"memory://{root}/{name}")
        assert ds.n_rows == 10
        np.testing.assert_array_equal(ds.to_numpy()[0], X)
        batches = list(ds.iter_batches(batch_rows=4))
        np.testing.assert_array_equal(np.concatenate([b.X for b in batches]), X)


# ================================================================ in memory
def test_in_memory_numpy_no_copy():
    X = np.random.default_rng(5).standard_normal((100, 3))
    y = np.arange(100.0)
    ds = InMemoryDataset(X, y)
    X_out, y_out = ds.to_numpy()
    assert X_out is X and y_out is y
    assert ds.feature_names == ["x0", "x1", "x2"] and not ds.has_feature_names
    assert ds.target == "y"
    assert ds.n_rows == 100
    assert ds.estimated_nbytes == 100 * 4 * 8
    assert ds.source == "in-memory numpy array"
    Xf = np.asfortranarray(X)
    assert InMemoryDataset(Xf).to_numpy()[0] is Xf
    batches = list(ds.iter_batches(batch_rows=40))
    assert [(b.row_offset, len(b)) for b in batches] == [(0, 40), (40, 40), (80, 20)]
    assert all(np.shares_memory(b.X, X) for b in batches)
    assert batches[0].source == "in-memory array"
    (whole,) = ds.iter_batches()
    assert whole.X is X


def test_in_memory_dataframe_names_and_schema():
    df = pd.DataFrame({"age": [30, 40, 50], "score": [0.5, 0.25, 1.0], "ok": [True, False, True]})
    ds = InMemoryDataset(df, pd.Series(["a", "b", "a"], name="grade"))
    assert ds.feature_names == ["age", "score", "ok"]
    assert ds.has_feature_names
    assert ds.target == "grade"
    assert [str(t) for t in ds.schema.types] == ["int64", "double", "bool", "string"]
    assert ds.schema.names == ["age", "score", "ok", "grade"]
    X, y = ds.to_numpy()
    np.testing.assert_array_equal(X, [[30, 0.5, 1], [40, 0.25, 0], [50, 1.0, 1]])
    assert y.tolist() == ["a", "b", "a"]
    numbered = InMemoryDataset(pd.DataFrame(np.ones((2, 2))))
    assert numbered.feature_names == ["x0", "x1"] and not numbered.has_feature_names
    float32 = pd.DataFrame({"a": np.ones(3, np.float32), "b": np.zeros(3, np.float32)})
    assert InMemoryDataset(float32).to_numpy()[0].dtype == np.float32


# =============================================================== as_dataset
def test_as_dataset_dispatch(parquet_dir, tmp_path):
    path, truth = parquet_dir
    ds = read_parquet(path, target="label")
    assert as_dataset(ds) is ds
    with pytest.raises(
        DataError, match="y must not be given when X is a Dataset; its target is 'label'"
    ):
        as_dataset(ds, np.zeros(70))
    by_dir = as_dataset(str(path), "label")
    assert isinstance(by_dir, ParquetDataset) and by_dir.target == "label"
    assert isinstance(as_dataset(path / "part-0.parquet"), ParquetDataset)
    assert as_dataset(str(path / "part-*.parquet"), "label").n_rows == 70
    truth.to_csv(tmp_path / "t.csv", index=False)
    by_csv = as_dataset(tmp_path / "t.csv", "label")
    assert isinstance(by_csv, CsvDataset) and by_csv.feature_names == ["a", "b", "c"]
    np.save(tmp_path / "X.npy", np.ones((70, 2)))
    by_npy = as_dataset(tmp_path / "X.npy", truth["label"].to_numpy())
    assert isinstance(by_npy, NpyDataset) and by_npy.target == "y"
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="cannot tell the file format"):
        as_dataset(tmp_path / "data.txt")
    missing = f"data file or directory not found: '{tmp_path / 'missing.txt'}'"
    with pytest.raises(DataFileNotFoundError, match=re.escape(missing)):
        as_dataset(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="y must be the name of the target column"):
        as_dataset(path, np.zeros(70))


def test_as_dataset_in_memory_inputs():
    ds = as_dataset([[1, 2], [3, 4]], [0, 1])
    assert isinstance(ds, InMemoryDataset) and isinstance(ds, Dataset)
    np.testing.assert_array_equal(ds.to_numpy()[0], [[1.0, 2.0], [3.0, 4.0]])
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "t": [0, 1]})
    by_name = as_dataset(df, "t")
    assert by_name.feature_names == ["a", "b"] and by_name.target == "t"
    np.testing.assert_array_equal(by_name.to_numpy()[1], [0, 1])
    # sparse X stays sparse: the very object given (tests/test_sparse_input.py for the fits)
    sparse_X = scipy.sparse.csr_matrix(np.eye(3))
    sparse_ds = as_dataset(sparse_X, [0, 1, 0])
    assert isinstance(sparse_ds, InMemoryDataset) and sparse_ds.is_sparse
    assert sparse_ds.to_numpy()[0] is sparse_X
    assert sparse_ds.estimated_nbytes == 3 * 8 + 3 * 4 + 4 * 4 + 3 * 8  # data, indices, indptr, y
    assert not by_name.is_sparse


def test_as_dataset_rejects_unknown_spark_and_dask_objects_without_importing_them():
    FakeSpark = type("Column", (), {"__module__": "pyspark.sql.column"})
    FakeDask = type("Bag", (), {"__module__": "dask.bag.core"})
    with pytest.raises(DataError, match="pyspark Column, which scaleout cannot read; supported"):
        as_dataset(FakeSpark())
    with pytest.raises(DataError, match="dask Bag, which scaleout cannot read; supported"):
        as_dataset(FakeDask())


# =============================================================== validation
def test_check_features_keeps_valid_float_arrays():
    rng = np.random.default_rng(6)
    for X in (
        rng.standard_normal((50, 3)),
        np.asfortranarray(rng.standard_normal((50, 3))),
        rng.standard_normal((50, 3)).astype(np.float32),
    ):
        assert check_features(X) is X
    assert check_features(np.ones((2, 2), dtype=np.int32)).dtype == np.float64
    assert check_features(np.ones((2, 2), dtype=bool)).dtype == np.float64
    assert check_features(np.ones((2, 2), dtype=np.float16)).dtype == np.float64
    # A sum of squares beyond the limit, of values each within it, passes (no copy).
    big = np.full((3, 2), 1e140)
    assert check_features(big) is big
    # A finite value whose square overflows is not mistaken for infinity: it is too large.
    with pytest.raises(DataError, match=r"Input X column 'x1' \(feature 1\) has values too large"):
        check_features(np.array([[1.0, 2.0], [3.0, -1e308]]))


def test_check_features_1d_message():
    with pytest.raises(DataError) as info:
        check_features(np.array([1.0, 2.0, 3.0]))
    assert str(info.value) == (
        "Expected 2D array, got 1D array instead: array=[1. 2. 3.]. Reshape your data either "
        "using array.reshape(-1, 1) if your data has a single feature or "
        "array.reshape(1, -1) if it contains a single sample."
    )
    with pytest.raises(DataError) as info:
        check_features(np.arange(100_000.0))
    assert "..." in str(info.value) and len(str(info.value)) < 400
    with pytest.raises(DataError, match=r"shape=\(2, 2, 2\)"):
        check_features(np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="got scalar array"):
        check_features(np.float64(3.0))


def test_check_features_empty_messages():
    with pytest.raises(DataError) as info:
        check_features(np.empty((0, 3)))
    assert str(info.value) == (
        "Found array with 0 sample(s) (shape=(0, 3)) while a minimum of 1 is required."
    )
    with pytest.raises(DataError) as info:
        check_features(np.empty((12, 0)))
    assert str(info.value) == (
        "Found array with 0 feature(s) (shape=(12, 0)) while a minimum of 1 is required."
    )
    # scikit-learn's own regex from its estimator checks.
    with pytest.raises(
        DataError,
        match=r"0 feature\(s\) \(shape=\(\d*, 0\)\) while a minimum "
        r"of \d* is required.",
    ):
        check_features(np.empty((12, 0)))


def test_check_features_bad_dtypes():
    with pytest.raises(DataError, match="Complex data not supported"):
        check_features(np.array([[1 + 2j, 3]]))
    with pytest.raises(DataError) as info:
        check_features(np.array([[1.0, 2.0], [3.0, {"k": 1}]], dtype=object))
    message = str(info.value)
    assert "float() argument must be a string or a real number, not 'dict'" in message
    assert "column 'x1' (feature 1), row 1" in message
    assert check_features(np.array([[1, 2.5]], dtype=object)).tolist() == [[1.0, 2.5]]
    with pytest.raises(DataError, match="sparse"):
        check_features(scipy.sparse.csr_matrix(np.eye(2)))
    with pytest.raises(DataError, match="string dtype"):
        check_features(np.array([["a", "b"]]))


def test_check_features_dataframe_non_numeric_column():
    df = pd.DataFrame({"a": [1.0, 2.0], "city": pd.Series(["x", "y"], dtype=object)})
    with pytest.raises(DataError) as info:
        check_features(df)
    assert str(info.value).startswith(
        "column 'city' has non-numeric dtype object (str); scaleout estimators need numeric "
        "features: encode it first (e.g. sklearn.preprocessing.OneHotEncoder)"
    )
    with pytest.raises(DataError, match="column 'when' has non-numeric dtype datetime64"):
        check_features(pd.DataFrame({"when": pd.to_datetime(["2020-01-01"])}))
    with pytest.raises(DataError, match="column 'c' has non-numeric dtype category"):
        check_features(pd.DataFrame({"c": pd.Categorical(["u", "v"])}))


def test_check_features_non_finite_located():
    df = pd.DataFrame({"a": np.zeros(20), "b": np.zeros(20)})
    df.loc[17, "b"] = np.inf
    with pytest.raises(DataError) as info:
        check_features(df)
    assert str(info.value).startswith("Input X contains infinity: column 'b' (feature 1), row 17.")
    X = np.zeros((10, 4))
    X[6, 3] = np.nan
    X[8, 0] = np.inf  # later row: the NaN in row 6 is reported first
    with pytest.raises(DataError) as info:
        check_features(X, source="file '/d/part-3.parquet', row group 2", row_offset=1_899_994)
    assert str(info.value).startswith(
        "Input X contains NaN: column 'x3' (feature 3), row 1900000 of file "
        "'/d/part-3.parquet', row group 2."
    )
    with pytest.raises(DataError, match=r"column 'n2' \(feature 3\), row 6 of somewhere"):
        check_features(X, feature_names=["n0", "n1", "n3", "n2"], source=lambda r: "somewhere")
    nullable = pd.DataFrame({"i": pd.array([1, None], dtype="Int64")})
    with pytest.raises(DataError, match=r"contains NaN: column 'i' \(feature 0\), row 1"):
        check_features(nullable)


def test_check_target():
    y = np.arange(5.0)
    assert check_target(y, n_rows=5) is y
    with pytest.warns(
        DataConversionWarning, match="A column-vector y was passed when a 1d array was expected"
    ):
        out = check_target(y.reshape(-1, 1), n_rows=5)
    assert out.shape == (5,)
    with pytest.raises(DataError, match=re.escape("multi-output targets (shape (5, 2))")):
        check_target(np.zeros((5, 2)), n_rows=5)
    with pytest.raises(DataError) as info:
        check_target(np.zeros(99), n_rows=100)
    assert str(info.value) == (
        "Found input variables with inconsistent numbers of samples: [100, 99]"
    )
    bad = np.zeros(10)
    bad[7] = np.nan
    with pytest.raises(DataError, match=r"Input y contains NaN: target 'price', row 7"):
        check_target(bad, n_rows=10, name="price")
    bad[7] = -np.inf
    with pytest.raises(DataError, match=r"Input y contains infinity: target 'y', row 7\."):
        check_target(bad, n_rows=10)
    labels = np.array(["a", "b"], dtype=object)
    assert check_target(labels, n_rows=2) is labels
    with pytest.raises(DataError, match=r"Input y contains missing values .*row 1"):
        check_target(np.array(["a", None], dtype=object), n_rows=2)
    with pytest.raises(DataError, match="Input y must be numeric"):
        check_target(["a", "b"], n_rows=2, allow_nonnumeric=False)
    with pytest.raises(DataError, match="sparse"):
        check_target(scipy.sparse.csr_matrix(np.ones((3, 1))), n_rows=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        series = pd.Series(pd.array([1, 2, 3], dtype="Int64"))
        assert check_target(series, n_rows=3).tolist() == [1, 2, 3]


def test_in_memory_y_errors():
    with pytest.raises(DataError, match=re.escape("[3, 2]")):
        InMemoryDataset(np.ones((3, 2)), [1, 2])
    with pytest.warns(DataConversionWarning):
        ds = InMemoryDataset(np.ones((3, 2)), np.ones((3, 1)))
    assert ds.to_numpy()[1].shape == (3,)


def test_parquet_target_bounds_come_from_the_statistics(tmp_path):
    """min/max of an integer or boolean target over every file, without reading rows."""
    x = np.arange(6.0)
    pq.write_table(pa.table({"x": x, "y": [3, 4, 3, 4, 3, 3]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": x, "y": [2, 3, 3, 3, 3, 3]}), tmp_path / "b.parquet")
    empty = pa.table({"x": pa.array([], pa.float64()), "y": pa.array([], pa.int64())})
    pq.write_table(empty, tmp_path / "c.parquet")
    assert read_parquet(tmp_path, target="y").target_bounds == (2, 4)
    assert read_parquet(tmp_path / "a.parquet", target="y").target_bounds == (3, 4)
    assert read_parquet(tmp_path / "a.parquet").target_bounds is None  # no target

    cases = {
        "nulls": pa.table({"x": x, "y": pa.array([0, 1, None, 1, 0, 1])}),
        "float": pa.table({"x": x, "y": [0.0, 1.0] * 3}),
        "strings": pa.table({"x": x, "y": ["a", "b"] * 3}),
    }
    for name, table in cases.items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
        assert read_parquet(tmp_path / f"{name}.parquet", target="y").target_bounds is None
    pq.write_table(pa.table({"x": x, "y": [True, False] * 3}), tmp_path / "bool.parquet")
    assert read_parquet(tmp_path / "bool.parquet", target="y").target_bounds == (False, True)
    pq.write_table(
        cases["float"].set_column(1, "y", pa.array([0, 1] * 3)),
        tmp_path / "n.parquet",
        write_statistics=False,
    )
    assert read_parquet(tmp_path / "n.parquet", target="y").target_bounds is None
