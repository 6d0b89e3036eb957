"""Resolve a path, URL, glob or directory into a sorted list of data files.

Listing goes through fsspec (``fsspec.core.url_to_fs``) so any fsspec URL
works. Reading then uses the fastest route: plain local paths are handed to
pyarrow as strings (pyarrow's native, multi-threaded local filesystem); any
URL with a protocol (``memory://``, ``file://``, ``s3://``, ...) is read
through the fsspec filesystem object, which pyarrow accepts as
``filesystem=``.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..exceptions import DataError, DataFileNotFoundError

__all__ = ["FileList", "PathLike", "resolve_files"]

PathLike = str | os.PathLike

_GLOB_CHARS = ("*", "?", "[")


def _has_protocol(path: str) -> bool:
    return fsspec.core.split_protocol(path)[0] is not None


def _is_hidden(relative: str) -> bool:
    """Spark/Hive bookkeeping files (``_SUCCESS``, ``_metadata``, ``.crc``...)."""
    return any(part.startswith(("_", ".")) for part in relative.split("/") if part)


@dataclass(frozen=True)
class FileList:
    """The files a dataset reads, and how to read them.

    Attributes
    ----------
    pattern : str
        The path / URL / glob the user gave.
    paths : list of str
        The files, sorted; plain local paths or filesystem-internal paths.
    filesystem : fsspec.AbstractFileSystem or None
        None for plain local paths (read natively by pyarrow), else the
        fsspec filesystem to read through.
    """

    pattern: str
    paths: list[str]
    filesystem: Any

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def description(self) -> str:
        """``"'/data/*.parquet' (12 files)"``."""
        n = len(self.paths)
        return f"'{self.pattern}' ({n} file{'s' if n != 1 else ''})"

    def display(self, path: str) -> str:
        """The path as the user would write it (with its protocol, if any)."""
        if self.filesystem is None:
            return path
        return self.filesystem.unstrip_protocol(path)

    def open(self, path: str, *, compression: str | None = None) -> IO[bytes]:
        """Open one file for binary reading.

        Parameters
        ----------
        path : str
            One of :attr:`paths`.
        compression : str, optional
            "infer" to decompress by file extension.
        """
        if self.filesystem is None:
            if compression == "infer":
                import pyarrow as pa

                return pa.input_stream(path, compression="detect")
            return open(path, "rb")
        return self.filesystem.open(path, "rb", compression=compression)

    def size(self, path: str) -> int:
        """Size of one file in bytes."""
        if self.filesystem is None:
            return os.path.getsize(path)
        return int(self.filesystem.size(path))


def resolve_files(
    path: PathLike,
    *,
    extensions: tuple[str, ...],
    storage_options: dict[str, Any] | None = None,
    kind: str = "data",
) -> FileList:
    """List the files named by a path, directory, glob or fsspec URL.

    Parameters
    ----------
    path : str or os.PathLike
        A file, a directory (every file under it, recursively, whose name ends
        with one of ``extensions``; names starting with ``_`` or ``.`` are
        skipped), a glob (every match; matched directories are expanded), or
        an fsspec URL of any of these.
    extensions : tuple of str
        Lower-case file name endings a directory listing keeps, e.g.
        ``(".parquet", ".pq")``.
    storage_options : dict, optional
        Passed to the fsspec filesystem (credentials, endpoint, ...).
    kind : str, default "data"
        File kind for messages ("Parquet", "CSV", ...).

    Returns
    -------
    FileList
        At least one file, sorted.

    Raises
    ------
    DataFileNotFoundError
        When nothing matches; the message names the path.
    """
    if isinstance(path, bytes):
        path = path.decode()
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"a {kind} path must be a str or os.PathLike, got {type(path).__name__}")
    pattern = os.fspath(path)
    try:
        fs, fs_path = fsspec.core.url_to_fs(pattern, **(storage_options or {}))
    except (ValueError, ImportError) as exc:
        raise DataError(f"cannot open {kind} path '{pattern}': {exc}") from None
    native = isinstance(fs, LocalFileSystem) and not _has_protocol(pattern)

    if any(c in fs_path for c in _GLOB_CHARS):
        matches = sorted(fs.glob(fs_path))
        if not matches:
            raise DataFileNotFoundError(f"no {kind} files match the glob '{pattern}'")
    elif fs.isdir(fs_path):
        matches = [fs_path]
    elif fs.exists(fs_path):
        matches = [fs_path]
    else:
        raise DataFileNotFoundError(f"{kind} file or directory not found: '{pattern}'")

    files: list[str] = []
    for match in matches:
        if fs.isdir(match):
            root = match.rstrip("/")
            found = sorted(
                f
                for f in fs.find(root)
                if f.lower().endswith(extensions)
                and not _is_hidden(posixpath.relpath(f, root) if root else f)
            )
            files.extend(found)
        else:
            files.append(match)
    if not files:
        raise DataFileNotFoundError(
            f"no {kind} files ({', '.join('*' + e for e in extensions)}) under '{pattern}'"
        )
    if native:
        files = [os.path.normpath(f) if os.sep != "/" else f for f in files]
    return FileList(pattern=pattern, paths=files, filesystem=None if native else fs)
