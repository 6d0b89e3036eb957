"""Shared pieces of the dataset generators: argument checks, seeding and the
chunked Parquet writer.

Seeding scheme
--------------
Every generator derives its random streams from one integer seed:

* ``SeedSequence(seed, spawn_key=(0,))`` -- the *parameter* stream (true
  coefficients, class means, blob centers, ...), drawn once;
* ``SeedSequence(seed, spawn_key=(1, k))`` -- the stream of global chunk ``k``
  (rows ``k * chunk_rows`` to ``(k + 1) * chunk_rows``).

These are exactly the children ``SeedSequence(seed).spawn(2)[0]`` and
``SeedSequence(seed).spawn(2)[1].spawn(k + 1)[k]``, built directly so that no
list of ``n_chunks`` children is held in memory. Chunks are therefore
independent streams, and the rows depend only on ``(seed, n_rows,
chunk_rows)`` -- not on ``n_files``.
"""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scaleout.exceptions import InvalidParameterError

_PART_RE = re.compile(r"^part-\d{5}\.parquet(\.tmp)?$")


@dataclass(frozen=True)
class DatasetInfo:
    """Description of a generated Parquet dataset.

    Attributes
    ----------
    path : str
        The directory holding the files.
    files : list of str
        The Parquet files, in row order (``part-00000.parquet``, ...).
    n_rows : int
        Total number of rows over all files.
    n_features : int
        Number of feature columns.
    target : str
        Name of the target column (``"y"``).
    extra : dict
        Generator-specific facts: the true coefficients, class means, blob
        centers, the seed, the data source, ...
    """

    path: str
    files: list[str]
    n_rows: int
    n_features: int
    target: str
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------
def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int, or raise InvalidParameterError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            f"{name} must be an integer, got {value!r} ({type(value).__name__})"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    value: Any, name: str, *, minimum: float | None = None, strict: bool = False
) -> float:
    """Return ``value`` as a finite float (``> minimum`` when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"{name} must be a real number, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    if not np.isfinite(value):
        raise InvalidParameterError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict and value <= minimum:
            raise InvalidParameterError(f"{name} must be > {minimum}, got {value}")
        if not strict and value < minimum:
            raise InvalidParameterError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_seed(random_state: Any) -> int:
    """Return the integer seed; ``None`` draws fresh OS entropy."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    return check_int(random_state, "random_state", minimum=0)


def check_layout(n_rows: Any, chunk_rows: Any, n_files: Any) -> tuple[int, int, int]:
    """Validate the row count, chunk size and file count."""
    n_rows = check_int(n_rows, "n_rows", minimum=1)
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    n_files = check_int(n_files, "n_files", minimum=1)
    if n_files > n_rows:
        raise InvalidParameterError(
            f"n_files must be <= n_rows (every file holds at least one row), "
            f"got n_files={n_files}, n_rows={n_rows}"
        )
    return n_rows, chunk_rows, n_files


# --------------------------------------------------------------------------
# seeding
# --------------------------------------------------------------------------
def param_rng(seed: int) -> np.random.Generator:
    """Generator for the dataset's fixed parameters (coefficients, centers)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """Generator for global chunk number ``chunk``: an independent stream."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, chunk)))


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
def table_from_columns(
    columns: np.ndarray,
    names: list[str],
    target: np.ndarray,
    target_name: str = "y",
    extra_columns: dict[str, np.ndarray] | None = None,
) -> pa.Table:
    """Build an Arrow table from a feature matrix stored one column per *row*.

    ``columns`` has shape ``(n_features, n_rows)`` and is C-contiguous, so
    every feature column is a contiguous slice and ``pa.array`` wraps it
    without a copy.
    """
    arrays = [pa.array(col) for col in columns]
    all_names = list(names)
    arrays.append(pa.array(target))
    all_names.append(target_name)
    for name, values in (extra_columns or {}).items():
        arrays.append(pa.array(values))
        all_names.append(name)
    return pa.Table.from_arrays(arrays, names=all_names)


def file_row_counts(n_rows: int, n_files: int) -> list[int]:
    """Split ``n_rows`` as evenly as possible over ``n_files`` (first files larger)."""
    base, rem = divmod(n_rows, n_files)
    return [base + (1 if i < rem else 0) for i in range(n_files)]


def prepare_directory(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Create the output directory; refuse (or clear) old ``part-*`` files."""
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise InvalidParameterError(
            f"path must be a directory (or not exist yet), got the file {str(directory)!r}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    old = sorted(p for p in directory.iterdir() if _PART_RE.match(p.name))
    if old:
        if not overwrite:
            raise InvalidParameterError(
                f"path {str(directory)!r} already holds {len(old)} part-*.parquet "
                f"file(s) (e.g. {old[0].name!r}); pass overwrite=True to replace them"
            )
        for p in old:
            p.unlink()
    return directory


def write_chunked(
    path: str | os.PathLike[str],
    n_rows: int,
    chunk_rows: int,
    n_files: int,
    make_chunk: Callable[[int, int], pa.Table],
    *,
    progress: bool = False,
    desc: str = "rows",
    overwrite: bool = False,
) -> list[str]:
    """Write ``n_rows`` rows produced chunk by chunk into ``n_files`` files.

    ``make_chunk(k, n)`` returns the Arrow table of global chunk ``k`` with
    ``n`` rows. Only one chunk is alive at a time. A chunk that straddles a
    file boundary is sliced, so each file's row groups are the pieces of the
    chunks it holds. Each file is written under ``<name>.tmp`` and renamed
    when complete; on an error the files of this call are removed.

    Returns
    -------
    list of str
        The written file paths, in row order.
    """
    directory = prepare_directory(path, overwrite)
    counts = file_row_counts(n_rows, n_files)
    files = [directory / f"part-{i:05d}.parquet" for i in range(n_files)]

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_rows, unit="rows", desc=desc)

    def pieces() -> Iterator[pa.Table]:
        n_chunks = -(-n_rows // chunk_rows)
        for k in range(n_chunks):
            n = min(chunk_rows, n_rows - k * chunk_rows)
            yield make_chunk(k, n)

    chunks = pieces()
    pending: pa.Table | None = None
    writer: pq.ParquetWriter | None = None
    tmp: Path | None = None
    done: list[Path] = []
    try:
        for target, want in zip(files, counts, strict=True):
            tmp = target.with_name(target.name + ".tmp")
            writer = None
            left = want
            while left > 0:
                if pending is None or pending.num_rows == 0:
                    pending = None  # drop the spent chunk before making the next
                    pending = next(chunks)
                piece = pending.slice(0, min(left, pending.num_rows))
                pending = pending.slice(piece.num_rows)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, piece.schema)
                writer.write_table(piece, row_group_size=piece.num_rows)
                left -= piece.num_rows
                if bar is not None:
                    bar.update(piece.num_rows)
                del piece
            assert writer is not None
            writer.close()
            writer = None
            os.replace(tmp, target)
            done.append(target)
            tmp = None
    except BaseException:
        # leave no partial dataset behind: drop the temp file and the files
        # this call already completed
        if writer is not None:
            writer.close()
        for p in ([tmp] if tmp is not None else []) + done:
            p.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return [str(f) for f in files]
