"""Resolve a path, URL, glob or directory (or a list of them) into a list of data files.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..exceptions import DataError, DataFileNotFoundError

__all__ = ["FileList", "PathLike", "Source", "has_glob", "is_hidden", "resolve_files"]

PathLike = str | os.PathLike
#: What a reader accepts: one path / URL / glob / directory, or a list of them.
Source = PathLike | Sequence[PathLike]

_GLOB_CHARS = ("*", "?", "[")
#: A list of paths is shown by its first few in messages.
_SHOWN_PATHS = 3


def has_glob(path: str) -> bool:
    """Whether ``path`` has a glob character (``*``, ``?``, ``[``)."""
    return any(c in path for c in _GLOB_CHARS)


def _has_protocol(path: str) -> bool:
    return fsspec.core.split_protocol(path)[0] is not None


def is_hidden(relative: str) -> bool:
    """Spark/Hive bookkeeping files (``_SUCCESS``, ``_metadata``, ``.crc``...)."""
    return any(part.startswith(("_", ".")) for part in relative.split("/") if part)


@dataclass(frozen=True)
class FileList:
    """The files a dataset reads, and how to read them.

    Attributes
    ----------
    pattern : str
        The path / URL / glob the user gave; for a list of them, a
        description of the list (``"['a.parquet', 'b.parquet']"``).
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
    def quoted_pattern(self) -> str:
        """``"'/data/*.parquet'"``, or ``"['a.parquet', 'b.parquet']"`` for a list."""
        return self.pattern if self.pattern.startswith("[") else f"'{self.pattern}'"

    @property
    def description(self) -> str:
        """``"'/data/*.parquet' (12 files)"``."""
        n = len(self.paths)
        return f"{self.quoted_pattern} ({n} file{'s' if n != 1 else ''})"

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


def _describe_list(patterns: list[str]) -> str:
    shown = ", ".join(f"'{p}'" for p in patterns[:_SHOWN_PATHS])
    more = len(patterns) - _SHOWN_PATHS
    return f"[{shown}{f', ... {more} more' if more > 0 else ''}]"


def _resolve_list(
    paths: Sequence[PathLike],
    extensions: tuple[str, ...],
    storage_options: dict[str, Any] | None,
    kind: str,
) -> FileList:
    """Every item resolved in order (each a file, directory or glob); one filesystem."""
    if not paths:
        raise DataError(f"the list of {kind} paths is empty")
    lists = [
        resolve_files(p, extensions=extensions, storage_options=storage_options, kind=kind)
        for p in paths
    ]
    filesystems = {id(f.filesystem): f.filesystem for f in lists if f.filesystem is not None}
    filesystem = next(iter(filesystems.values()), None)
    if len(filesystems) > 1 or (
        filesystem is not None
        and not isinstance(filesystem, LocalFileSystem)
        and any(f.filesystem is None for f in lists)
    ):
        first = lists[0]
        other = next(f for f in lists[1:] if f.filesystem is not first.filesystem)
        raise DataError(
            f"a list of {kind} paths must be on one filesystem: '{first.pattern}' and "
            f"'{other.pattern}' are not; read them separately or copy them to one place"
        )
    files: list[str] = []
    for f in lists:
        if f.filesystem is None and filesystem is not None:
            # plain local paths next to file:// URLs: all read through fsspec's local filesystem
            files += [filesystem._strip_protocol(p) for p in f.paths]
        else:
            files += f.paths
    patterns = [f.pattern for f in lists]
    return FileList(pattern=_describe_list(patterns), paths=files, filesystem=filesystem)


def resolve_files(
    path: Source,
    *,
    extensions: tuple[str, ...],
    storage_options: dict[str, Any] | None = None,
    kind: str = "data",
) -> FileList:
    """List the files named by a path, directory, glob or fsspec URL.

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (every file under it, recursively, whose name ends
        with one of ``extensions``; names starting with ``_`` or ``.`` are
        skipped), a glob (every match; matched directories are expanded), an
        fsspec URL of any of these, or a list of any of these (in its order,
        all on one filesystem).
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
        When nothing matches; the message names the path (for a list, the
        first item that matches nothing).
    DataError
        For a list whose items are on different filesystems.
    """
    if isinstance(path, (list, tuple)):
        return _resolve_list(path, extensions, storage_options, kind)
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

    if has_glob(fs_path):
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
                and not is_hidden(posixpath.relpath(f, root) if root else f)
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
