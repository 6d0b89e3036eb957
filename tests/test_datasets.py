"""Tests of scaleout.datasets: IDX/MNIST loading and the Parquet generators."""

from __future__ import annotations

import gzip
import logging
import os
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from scaleout.datasets import (
    default_mnist_dir,
    load_mnist,
    make_blobs,
    make_classification,
    make_mnist8m,
    make_regression,
    read_idx,
)
from scaleout.datasets._common import write_chunked
from scaleout.datasets.mnist import FALLBACK_SOURCE
from scaleout.datasets.mnist8m import shift_images
from scaleout.exceptions import DataError, DataFileNotFoundError, InvalidParameterError

ENV = "SCALEOUT_MNIST_DIR"
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _real_mnist_dir() -> Path | None:
    env = os.environ.get(ENV)
    if env and Path(env).is_dir():
        return Path(env)
    return SHARED_MNIST if (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file() else None


needs_mnist = pytest.mark.skipif(_real_mnist_dir() is None, reason="no MNIST test split")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def idx_bytes(array: np.ndarray, type_code: int, magic_prefix: bytes = b"\x00\x00") -> bytes:
    """Encode an array as IDX by hand (struct header + big-endian payload)."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = magic_prefix + struct.pack(">BB", type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype[type_code]).tobytes()


def write_file(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read_dir(info) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in info.files])


def xy(table: pa.Table, n_features: int, prefix: str = "x") -> tuple[np.ndarray, np.ndarray]:
    X = np.column_stack([table.column(f"{prefix}{j}").to_numpy() for j in range(n_features)])
    return X, table.column("y").to_numpy()


def row_groups(path: str) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def shifted_reference(image: np.ndarray, dy: int, dx: int, k: int) -> np.ndarray:
    """Independent shift: pad by k, then cut the window; out[r, c] = img[r-dy, c-dx]."""
    h, w = image.shape
    padded = np.pad(image, k)
    return padded[k - dy : k - dy + h, k - dx : k - dx + w]


# ---------------------------------------------------------------------------
# read_idx
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("type_code", "values"),
    [
        (0x08, np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10),
        (0x09, np.array([-128, -1, 0, 5, 127], dtype=np.int8)),
        (0x0B, np.array([[-30000, 2], [3, 30000]], dtype=np.int16)),
        (0x0C, np.array([-(2**31), 7, 2**31 - 1], dtype=np.int32)),
        (0x0D, np.array([[1.5, -2.25, np.pi]], dtype=np.float32)),
        (0x0E, np.array([1e-300, -2.5, np.e], dtype=np.float64)),
    ],
)
def test_read_idx_roundtrip(tmp_path, gz, type_code, values):
    path = write_file(tmp_path / "data.idx", idx_bytes(values, type_code), gz=gz)
    out = read_idx(path)
    assert out.shape == values.shape
    assert out.dtype == values.dtype  # native byte order
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    out[...] = 0  # writable, owns its data


def test_read_idx_detects_gzip_by_magic_not_extension(tmp_path):
    values = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_raw = write_file(tmp_path / "raw-but-named.gz", idx_bytes(values, 0x08))
    raw_named_gz = write_file(tmp_path / "gzip-but-named.idx", idx_bytes(values, 0x08), gz=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), values)
    np.testing.assert_array_equal(read_idx(str(raw_named_gz)), values)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_names_file_and_sizes(tmp_path, gz):
    values = np.zeros((10, 28, 28), dtype=np.uint8)
    data = idx_bytes(values, 0x08)[:-100]
    path = write_file(tmp_path / "short.idx", data, gz=gz)
    with pytest.raises(DataError) as err:
        read_idx(path)
    msg = str(err.value)
    assert "short.idx" in msg and "truncated" in msg
    assert "7840" in msg and "7740" in msg  # expected and actual payload bytes


def test_read_idx_too_long(tmp_path):
    values = np.arange(6, dtype=np.int16)
    path = write_file(tmp_path / "long.idx", idx_bytes(values, 0x0B) + b"\x00\x01\x02")
    with pytest.raises(DataError, match=r"too long.*12.*15"):
        read_idx(path)


def test_read_idx_header_truncated(tmp_path):
    data = idx_bytes(np.zeros((2, 2), dtype=np.uint8), 0x08)[:9]
    with pytest.raises(DataError, match="header"):
        read_idx(write_file(tmp_path / "h.idx", data))
    with pytest.raises(DataError, match="too short"):
        read_idx(write_file(tmp_path / "tiny.idx", b"\x00\x00"))


def test_read_idx_bad_magic(tmp_path):
    values = np.zeros(4, dtype=np.uint8)
    path = write_file(tmp_path / "bad.idx", idx_bytes(values, 0x08, magic_prefix=b"\x12\x34"))
    with pytest.raises(DataError, match=r"bad\.idx.*magic"):
        read_idx(path)
    bad_type = idx_bytes(values, 0x08).replace(b"\x08", b"\x0a", 1)
    path = write_file(tmp_path / "badtype.idx", bad_type)
    with pytest.raises(DataError, match="type code 0x0A"):
        read_idx(path)
    with pytest.raises(DataError, match="0 dimensions"):
        read_idx(write_file(tmp_path / "nodim.idx", b"\x00\x00\x08\x00"))


def test_read_idx_missing_and_corrupt_gzip(tmp_path):
    with pytest.raises(DataFileNotFoundError, match=r"nope\.idx"):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(FileNotFoundError):  # also a built-in FileNotFoundError
        read_idx(tmp_path)  # a directory is not a file
    good = gzip.compress(idx_bytes(np.zeros(100, dtype=np.uint8), 0x08))
    path = write_file(tmp_path / "cut.gz", good[: len(good) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)


# ---------------------------------------------------------------------------
# load_mnist
# ---------------------------------------------------------------------------
@needs_mnist
def test_load_mnist_real():
    directory = _real_mnist_dir()
    X, y, source = load_mnist(directory, return_source=True)
    assert X.shape == (10000, 784) and X.dtype == np.float64
    assert y.shape == (10000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert source == f"mnist:{directory}"

    raw, y2 = load_mnist(directory, flatten=False, as_float=False)
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_allclose(X, raw.reshape(10000, 784) / 255.0)


@needs_mnist
def test_load_mnist_from_env(monkeypatch):
    directory = str(_real_mnist_dir())
    monkeypatch.setenv(ENV, directory)
    assert default_mnist_dir() == directory
    X, _, source = load_mnist(return_source=True)
    assert X.shape == (10000, 784) and source == f"mnist:{directory}"


def test_load_mnist_fallback_to_digits(monkeypatch, caplog):
    monkeypatch.delenv(ENV, raising=False)
    assert default_mnist_dir() is None
    with caplog.at_level(logging.INFO, logger="scaleout.datasets"):
        X, y, source = load_mnist(return_source=True)
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert 0.0 <= X.min() and X.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    assert source == FALLBACK_SOURCE
    assert "load_digits" in caplog.text
    images, _ = load_mnist(flatten=False, as_float=False)
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    monkeypatch.setenv(ENV, "")  # empty counts as unset
    assert default_mnist_dir() is None


def test_load_mnist_missing(tmp_path, monkeypatch):
    with pytest.raises(DataFileNotFoundError, match=r"t10k-images-idx3-ubyte.*does not exist"):
        load_mnist(tmp_path / "absent")
    monkeypatch.setenv(ENV, str(tmp_path / "absent"))  # a configured dir must exist
    with pytest.raises(DataFileNotFoundError):
        load_mnist()
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    write_file(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images, 0x08))
    with pytest.raises(DataFileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(DataFileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, split="train")
    with pytest.raises(InvalidParameterError, match="split"):
        load_mnist(tmp_path, split="validation")


def _fake_mnist(directory: Path, images: np.ndarray, labels: np.ndarray, split: str = "test"):
    prefix = "t10k" if split == "test" else "train"
    directory.mkdir(exist_ok=True)
    write_file(directory / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images, 0x08), gz=True)
    write_file(directory / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels, 0x08))


def test_load_mnist_handmade_train_split(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    _fake_mnist(tmp_path, images, labels, split="train")
    X, y = load_mnist(tmp_path, split="train")
    np.testing.assert_allclose(X, images.reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_checks(tmp_path):
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 3, 4], dtype=np.uint8)

    _fake_mnist(tmp_path / "count", images, labels[:3])
    with pytest.raises(DataError, match=r"4 images.*3 labels"):
        load_mnist(tmp_path / "count")

    _fake_mnist(tmp_path / "range", images, np.array([1, 2, 10, 4], dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.*label 10"):
        load_mnist(tmp_path / "range")

    _fake_mnist(tmp_path / "swapped", images, labels)
    d = tmp_path / "swapped"
    write_file(d / "t10k-images-idx3-ubyte.gz", idx_bytes(labels, 0x08), gz=True)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz.*2049.*expected 2051"):
        load_mnist(d)

    _fake_mnist(tmp_path / "float", images, labels)
    d = tmp_path / "float"
    write_file(d / "t10k-labels-idx1-ubyte", idx_bytes(labels.astype(np.float32), 0x0D))
    with pytest.raises(DataError, match="expected 2049"):
        load_mnist(d)


# ---------------------------------------------------------------------------
# synthetic generators
# ---------------------------------------------------------------------------
def test_make_regression_reproducible(tmp_path):
    a = make_regression(tmp_path / "a", 1200, 4, random_state=7, chunk_rows=500)
    b = make_regression(tmp_path / "b", 1200, 4, random_state=7, chunk_rows=500)
    c = make_regression(tmp_path / "c", 1200, 4, random_state=8, chunk_rows=500)
    assert read_dir(a).equals(read_dir(b))
    assert Path(a.files[0]).read_bytes() == Path(b.files[0]).read_bytes()
    np.testing.assert_array_equal(a.extra["coef"], b.extra["coef"])
    assert not np.allclose(xy(read_dir(a), 4)[0], xy(read_dir(c), 4)[0])
    assert not np.allclose(a.extra["coef"], c.extra["coef"])


def test_make_regression_chunks_and_files(tmp_path):
    info = make_regression(tmp_path / "one", 2500, 3, chunk_rows=1000)
    assert info.files == [str(tmp_path / "one" / "part-00000.parquet")]
    assert row_groups(info.files[0]) == [1000, 1000, 500]
    assert info.n_rows == 2500 and info.n_features == 3 and info.target == "y"

    table = pq.read_table(info.files[0])
    assert table.column_names == ["x0", "x1", "x2", "y"]
    assert all(t == pa.float64() for t in table.schema.types)

    split = make_regression(tmp_path / "three", 2500, 3, chunk_rows=1000, n_files=3)
    assert [Path(f).name for f in split.files] == [f"part-0000{i}.parquet" for i in range(3)]
    counts = [pq.ParquetFile(f).metadata.num_rows for f in split.files]
    assert counts == [834, 833, 833]
    assert row_groups(split.files[0]) == [834]
    assert row_groups(split.files[1]) == [166, 667]  # chunk 0's tail, then chunk 1's head
    # the rows do not depend on n_files
    assert read_dir(split).equals(table)
    assert sorted(os.listdir(tmp_path / "three")) == [Path(f).name for f in split.files]


def test_make_regression_recovers_coefficients(tmp_path):
    info = make_regression(
        tmp_path / "r", 6000, 6, n_informative=4, noise=0.5, random_state=3, chunk_rows=2000
    )
    coef = info.extra["coef"]
    assert coef.shape == (6,)
    assert np.count_nonzero(coef) == 4
    np.testing.assert_array_equal(np.flatnonzero(coef), info.extra["informative"])
    X, y = xy(read_dir(info), 6)
    model = LinearRegression().fit(X, y)
    # standard error is about noise / sqrt(n) = 0.0065
    np.testing.assert_allclose(model.coef_, coef, atol=0.05)
    assert abs(model.intercept_) < 0.05
    assert np.std(y - model.predict(X)) == pytest.approx(0.5, rel=0.05)


def test_make_classification_learnable(tmp_path):
    info = make_classification(
        tmp_path / "c",
        4000,
        8,
        n_classes=3,
        n_informative=4,
        class_sep=1.5,
        random_state=1,
        chunk_rows=1500,
    )
    table = read_dir(info)
    assert table.schema.field("y").type == pa.int64()
    X, y = xy(table, 8)
    assert set(np.unique(y)) == {0, 1, 2}
    assert np.bincount(y).min() > 1100  # roughly balanced
    Xtr, Xte, ytr, yte = X[:3000], X[3000:], y[:3000], y[3000:]
    acc = LogisticRegression(max_iter=500).fit(Xtr, ytr).score(Xte, yte)
    assert acc > 0.8  # chance is 1/3; class means are 3 apart
    tree_acc = DecisionTreeClassifier(max_depth=6, random_state=0).fit(Xtr, ytr).score(Xte, yte)
    assert tree_acc > 0.6
    means = info.extra["class_means"]
    assert means.shape == (3, 8)
    dist = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(3, 1)]
    np.testing.assert_allclose(dist, 3.0)
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(axis=0), means[k], atol=0.12)


def test_make_blobs_centers(tmp_path):
    info = make_blobs(
        tmp_path / "b", 3000, 5, centers=4, cluster_std=0.5, random_state=2, chunk_rows=700
    )
    centers = info.extra["centers"]
    assert centers.shape == (4, 5)
    assert np.all((centers >= -10) & (centers <= 10))
    table = read_dir(info)
    assert table.schema.field("y").type == pa.int64()
    X, y = xy(table, 5)
    for k in range(4):
        members = X[y == k]
        assert len(members) > 500
        np.testing.assert_allclose(members.mean(axis=0), centers[k], atol=0.1)
        assert members.std(axis=0).mean() == pytest.approx(0.5, rel=0.1)

    given = np.array([[0.0, 0.0], [100.0, 100.0]])
    info = make_blobs(tmp_path / "g", 1000, 2, centers=given, cluster_std=[0.1, 3.0])
    X, y = xy(read_dir(info), 2)
    np.testing.assert_array_equal(info.extra["centers"], given)
    assert X[y == 0].std() < 0.2 and X[y == 1].std() > 2.0


@pytest.mark.parametrize(
    ("func", "kwargs", "name"),
    [
        (make_regression, {"n_rows": 0}, "n_rows"),
        (make_regression, {"n_rows": 2.5}, "n_rows"),
        (make_regression, {"n_features": 0}, "n_features"),
        (make_regression, {"n_informative": 30}, "n_informative"),
        (make_regression, {"noise": -1.0}, "noise"),
        (make_regression, {"chunk_rows": 0}, "chunk_rows"),
        (make_regression, {"n_files": 0}, "n_files"),
        (make_regression, {"n_files": 11}, "n_files"),
        (make_regression, {"random_state": -1}, "random_state"),
        (make_regression, {"random_state": True}, "random_state"),
        (make_classification, {"n_classes": 1}, "n_classes"),
        (make_classification, {"class_sep": 0.0}, "class_sep"),
        (make_blobs, {"centers": 0}, "centers"),
        (make_blobs, {"centers": np.zeros((3, 4))}, "n_features"),
        (make_blobs, {"cluster_std": -1.0}, "cluster_std"),
        (make_blobs, {"cluster_std": [1.0, 2.0]}, "cluster_std"),
        (make_mnist8m, {"max_shift": 8}, "max_shift"),
        (make_mnist8m, {"noise": float("nan")}, "noise"),
    ],
)
def test_invalid_parameters(tmp_path, monkeypatch, func, kwargs, name):
    monkeypatch.delenv(ENV, raising=False)
    args = {"n_rows": 10, **kwargs}
    n_rows = args.pop("n_rows")
    with pytest.raises(InvalidParameterError, match=name):
        func(tmp_path / "out", n_rows, **args)
    assert not list((tmp_path).glob("out/*.parquet"))


def test_overwrite_and_cleanup(tmp_path):
    out = tmp_path / "d"
    make_regression(out, 30, 2, n_files=3)
    with pytest.raises(InvalidParameterError, match="overwrite"):
        make_regression(out, 30, 2)
    (out / "keep.txt").write_text("not ours")
    info = make_regression(out, 30, 2, overwrite=True, progress=True)
    assert sorted(os.listdir(out)) == ["keep.txt", "part-00000.parquet"]
    assert pq.read_metadata(info.files[0]).num_rows == 30
    with pytest.raises(InvalidParameterError, match="directory"):
        make_regression(out / "keep.txt", 10)


def test_write_chunked_failure_leaves_nothing(tmp_path):
    def make_chunk(k: int, n: int) -> pa.Table:
        if k == 3:
            raise RuntimeError("boom")
        return pa.table({"a": np.arange(n)})

    with pytest.raises(RuntimeError, match="boom"):
        write_chunked(tmp_path / "w", 100, 10, 4, make_chunk)
    assert os.listdir(tmp_path / "w") == []


def test_random_state_none_is_recorded(tmp_path):
    info = make_regression(tmp_path / "a", 50, 2, random_state=None)
    again = make_regression(tmp_path / "b", 50, 2, random_state=info.extra["random_state"])
    assert read_dir(info).equals(read_dir(again))


# ---------------------------------------------------------------------------
# make_mnist8m
# ---------------------------------------------------------------------------
def test_shift_images_matches_reference():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (4, 6, 5), dtype=np.uint8)
    k = 2
    grid = np.arange(-k, k + 1)
    dy, dx = (a.ravel() for a in np.meshgrid(grid, grid, indexing="ij"))
    source = rng.integers(0, 4, dy.size)
    out = shift_images(images, source, dy, dx)
    assert out.shape == (dy.size, 6, 5) and out.dtype == np.uint8
    for i in range(dy.size):
        np.testing.assert_array_equal(out[i], shifted_reference(images[source[i]], dy[i], dx[i], k))
    # explicit direction: +x moves right, +y moves down
    one = np.zeros((1, 3, 3), dtype=np.uint8)
    one[0, 1, 1] = 9
    moved = shift_images(one, np.array([0]), np.array([1]), np.array([-1]))
    assert moved[0, 2, 0] == 9 and moved.sum() == 9


def _check_mnist8m(info, images, labels, max_value, k):
    n_pixels = images.shape[1] * images.shape[2]
    table = read_dir(info)
    assert table.num_rows == info.n_rows
    assert table.schema.field("p0").type == pa.float32()
    assert table.schema.field("y").type == pa.int64()
    X, y = xy(table, n_pixels, prefix="p")
    assert X.dtype == np.float32 and X.min() >= 0 and X.max() <= 1
    source = table.column("source_index").to_numpy()
    sx = table.column("shift_x").to_numpy()
    sy = table.column("shift_y").to_numpy()
    assert np.abs(sx).max() == k and np.abs(sy).max() == k
    np.testing.assert_array_equal(y, labels[source])  # labels preserved
    h, w = images.shape[1:]
    for i in range(info.n_rows):
        expected = shifted_reference(images[source[i]], sy[i], sx[i], k)
        np.testing.assert_array_equal(
            X[i], (expected.astype(np.float32) / np.float32(max_value)).ravel()
        )
    unshifted = np.flatnonzero((sx == 0) & (sy == 0))
    assert unshifted.size > 0
    np.testing.assert_array_equal(
        X[unshifted] * max_value, images[source[unshifted]].reshape(-1, h * w)
    )
    return X


@needs_mnist
def test_make_mnist8m_real(tmp_path):
    directory = _real_mnist_dir()
    images, labels = load_mnist(directory, flatten=False, as_float=False)
    info = make_mnist8m(
        tmp_path / "m",
        600,
        mnist_dir=directory,
        random_state=5,
        chunk_rows=250,
        n_files=2,
        meta_columns=True,
    )
    assert info.n_features == 784 and info.extra["max_shift"] == 2
    assert info.extra["source"] == f"mnist:{directory}"
    assert [row_groups(f) for f in info.files] == [[250, 50], [200, 100]]
    _check_mnist8m(info, images, labels, 255, 2)
    plain = make_mnist8m(tmp_path / "p", 600, mnist_dir=directory, random_state=5, chunk_rows=250)
    assert pq.read_table(plain.files[0]).column_names == [f"p{j}" for j in range(784)] + ["y"]
    assert read_dir(plain).equals(
        read_dir(info).drop_columns(["source_index", "shift_x", "shift_y"])
    )


def test_make_mnist8m_digits_fallback(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    images, labels = load_mnist(flatten=False, as_float=False)
    info = make_mnist8m(tmp_path / "a", 400, random_state=1, chunk_rows=150, meta_columns=True)
    assert info.n_features == 64 and info.extra["max_shift"] == 1
    assert info.extra["source"] == FALLBACK_SOURCE
    assert row_groups(info.files[0]) == [150, 150, 100]
    X = _check_mnist8m(info, images, labels, 16, 1)

    again = make_mnist8m(tmp_path / "b", 400, random_state=1, chunk_rows=150, meta_columns=True)
    assert read_dir(again).equals(read_dir(info))
    other = make_mnist8m(tmp_path / "c", 400, random_state=2, chunk_rows=150)
    assert not np.array_equal(xy(read_dir(other), 64, prefix="p")[0], X)

    noisy = make_mnist8m(tmp_path / "n", 400, random_state=1, chunk_rows=150, noise=0.05)
    Xn = xy(read_dir(noisy), 64, prefix="p")[0]
    assert Xn.min() >= 0 and Xn.max() <= 1
    assert 0 < np.abs(Xn - X).mean() < 0.05
