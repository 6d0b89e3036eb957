"""Single files (models, metrics JSON) at a local path or any fsspec URL.

Reading datasets goes through :mod:`scaleout.data`; this module writes and
reads the small files a fit produces: ``model.scaleout`` and ``metrics.json``,
locally or at ``s3://...``, ``gs://...``, ``memory://...`` and any other
fsspec URL (``s3://`` needs ``s3fs``: ``pip install 'scaleout[emr]'``).

Writes are atomic-ish, readers never see half a file:

* a local path is written to a temporary file beside the target, then
  given the user's normal permissions (``0o666 & ~umask``) and renamed over
  it (``os.replace``). The temporary's name holds the writer's host and pid
  (:mod:`scaleout._tempfiles`): concurrent writers never share one, and the
  next write in the directory removes those a killed process left;
* a URL is written to a local temporary file first, then uploaded. On object
  stores whose uploads become visible only once complete (S3, including
  multipart uploads; GCS; Azure; fsspec's ``memory://``) that is one upload
  to the target. Elsewhere the upload goes to ``<target>.tmp-<host>-<pid>-<random>``
  beside it, which is then moved onto the target. A writer killed in
  between (SIGKILL) leaves that object behind: the next upload to the same
  target removes the ones whose owner process is gone from this machine
  (:func:`scaleout._tempfiles.stale_staging`), never a live writer's.

Credentials and endpoints come from the usual places of each filesystem
(for S3: ``AWS_ACCESS_KEY_ID`` ..., ``AWS_ENDPOINT_URL``, instance profiles)
or from ``storage_options``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import fsspec
import fsspec.implementations.local

from ._tempfiles import apply_umask, make_temp_file, staging_name, stale_staging
from .exceptions import StorageError

__all__ = [
    "ATOMIC_UPLOAD_PROTOCOLS",
    "check_writable",
    "exists",
    "filesystem",
    "is_url",
    "local_output",
    "local_path",
    "read_bytes",
    "storage_errors",
    "write_text",
]

#: Protocols whose uploads appear only when complete (no temporary object needed).
ATOMIC_UPLOAD_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})


def is_url(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a remote or in-memory file (a protocol other than ``file://``)."""
    protocol = fsspec.core.split_protocol(os.fspath(path))[0]
    return protocol not in (None, "file", "local")


def local_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a plain local path when it is one (``file://`` stripped), else unchanged."""
    text = os.fspath(path)
    protocol = fsspec.core.split_protocol(text)[0]
    if protocol in ("file", "local"):
        return fsspec.implementations.local.LocalFileSystem._strip_protocol(text)
    return text


def filesystem(
    path: str | os.PathLike[str], storage_options: dict[str, Any] | None = None
) -> tuple[Any, str]:
    """``(fsspec filesystem, path inside it)`` of ``path``.

    Raises
    ------
    StorageError
        When the protocol is unknown or its package (e.g. ``s3fs``) is missing.
    """
    text = os.fspath(path)
    try:
        return fsspec.core.url_to_fs(text, **(storage_options or {}))
    except ImportError as exc:
        hint = " (pip install 'scaleout[emr]')" if text.startswith(("s3://", "s3a://")) else ""
        raise StorageError(f"cannot open {text!r}: {exc}{hint}") from None
    except ValueError as exc:
        raise StorageError(f"cannot open {text!r}: {exc}") from None


def exists(path: str | os.PathLike[str], storage_options: dict[str, Any] | None = None) -> bool:
    """Whether a file or directory exists at ``path`` (a local path or a URL)."""
    if not is_url(path):
        return os.path.exists(local_path(path))
    fs, fs_path = filesystem(path, storage_options)
    with storage_errors("checking", path):
        return bool(fs.exists(fs_path))


def read_bytes(
    path: str | os.PathLike[str], storage_options: dict[str, Any] | None = None
) -> bytes:
    """The content of the file at ``path``.

    Raises
    ------
    FileNotFoundError
        When there is no file there.
    StorageError
        When the filesystem cannot be reached or read.
    """
    text = os.fspath(path)
    if not is_url(text):
        with open(local_path(text), "rb") as fh:
            return fh.read()
    fs, fs_path = filesystem(text, storage_options)
    with storage_errors("reading", text):
        if not fs.isfile(fs_path):
            raise FileNotFoundError(f"no file at {text!r}")
        return bytes(fs.cat_file(fs_path))


@contextlib.contextmanager
def local_output(
    path: str | os.PathLike[str],
    *,
    suffix: str = "",
    storage_options: dict[str, Any] | None = None,
) -> Iterator[str]:
    """A local temporary file to write; on success it becomes ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        The destination: a local path or an fsspec URL.
    suffix : str
        Suffix of the temporary file's name.
    storage_options : dict, optional
        Passed to the fsspec filesystem of a URL.

    Yields
    ------
    str
        The local file to write. On an exception inside the block it is
        deleted and nothing is published.

    Raises
    ------
    StorageError
        When the destination's filesystem is unavailable (checked before the
        block runs) or the upload fails.
    """
    text = local_path(path)
    remote = filesystem(text, storage_options) if is_url(text) else None
    if remote is None:
        check_writable(text)
    directory = tempfile.gettempdir() if remote else os.path.dirname(os.path.abspath(text))
    with storage_errors("writing", text):
        tmp = make_temp_file(directory, suffix)
    try:
        yield tmp
        if remote is None:
            apply_umask(tmp)
            with storage_errors("writing", text):
                os.replace(tmp, text)
        else:
            _upload(tmp, text, *remote)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_writable(
    path: str | os.PathLike[str], storage_options: dict[str, Any] | None = None
) -> None:
    """Check, before any work, that a file can be written at ``path``.

    A local path needs an existing directory this user may write to, and must
    not name a directory. The permission bits are checked first (a clear
    message), then a file is created there and removed: the only check that
    also holds for root, whom the bits do not stop, on read-only mounts and
    in kernel filesystems such as ``/proc`` and ``/sys``. For a URL only what
    is cheap is checked: that its filesystem (e.g. ``s3fs``) is available;
    the bucket is seen at the upload.

    Raises
    ------
    StorageError
        Naming the path and the reason.
    """
    text = local_path(path)
    if is_url(text):
        filesystem(text, storage_options)
        return
    if not text:
        raise StorageError("cannot write '': the output path is empty")
    target = os.path.abspath(text)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise StorageError(f"cannot write {text!r}: it is a directory; give a file name")
    if not os.path.isdir(directory):
        reason = "is not a directory" if os.path.exists(directory) else "does not exist"
        raise StorageError(f"cannot write {text!r}: the directory {directory!r} {reason}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StorageError(
            f"cannot write {text!r}: no permission to create files in {directory!r}"
        )
    try:  # the bits are not everything (root, read-only mounts, /proc): try it
        os.unlink(make_temp_file(directory, ".probe"))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StorageError(
            f"cannot write {text!r}: cannot create files in {directory!r} ({reason})"
        ) from None
    if os.path.exists(target) and not os.access(target, os.W_OK):
        # os.replace would succeed (the directory is writable), but the user
        # marked the file read-only: respect that, as open(path, "w") would.
        raise StorageError(f"cannot write {text!r}: the file is read-only")


def write_text(
    path: str | os.PathLike[str], text: str, storage_options: dict[str, Any] | None = None
) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`local_output`); return ``path``."""
    with local_output(path, suffix=".txt", storage_options=storage_options) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    return os.fspath(path)


def _upload(local: str, url: str, fs: Any, fs_path: str) -> None:
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    with storage_errors("writing", url):
        if ATOMIC_UPLOAD_PROTOCOLS.intersection(protocols):
            fs.put_file(local, fs_path)
            return
        _sweep_staging(fs, fs_path)
        staging = staging_name(fs_path)
        try:
            fs.put_file(local, staging)
            fs.mv(staging, fs_path)
        finally:
            with contextlib.suppress(OSError):
                if fs.exists(staging):
                    fs.rm_file(staging)


def _sweep_staging(fs: Any, fs_path: str) -> None:
    """Remove the staging objects of ``fs_path`` that writers killed on this machine left.

    A courtesy, never an error: a listing or removal that fails is ignored.
    """
    try:
        siblings = fs.ls(fs._parent(fs_path), detail=False)
    except (OSError, ValueError, NotImplementedError):
        return
    for stale in stale_staging(fs_path, siblings):
        with contextlib.suppress(OSError, ValueError, NotImplementedError):
            fs.rm_file(stale)


@contextlib.contextmanager
def storage_errors(action: str, path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a filesystem's failures (permissions, network, no bucket) into one clear line."""
    try:
        yield
    except FileNotFoundError:
        if action == "reading":
            raise
        raise StorageError(
            f"{action} {os.fspath(path)!r} failed: no such bucket or directory"
        ) from None
    except (OSError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"{action} {os.fspath(path)!r} failed: {detail}") from exc
